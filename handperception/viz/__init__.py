"""Drawing results onto images (OpenCV, pure numpy in and out)."""

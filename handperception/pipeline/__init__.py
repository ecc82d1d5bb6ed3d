"""Per-frame perception pipeline: crop boxes, crop cameras and hand tracks between detector and
pose net."""

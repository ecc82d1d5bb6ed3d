"""Camera geometry shared by synthesis, models and nodes: the pinhole camera, lifting, crops,
contact maths and gaze angles, one module each."""

from handperception.geometry.camera import PinholeCamera

__all__ = ["PinholeCamera"]

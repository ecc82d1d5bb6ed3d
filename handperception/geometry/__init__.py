"""Camera geometry shared by synthesis, models and nodes."""
from handperception.geometry.camera import PinholeCamera, recover_root_depth

__all__ = ["PinholeCamera", "recover_root_depth"]

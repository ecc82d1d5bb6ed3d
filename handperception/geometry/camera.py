"""Pinhole camera model: how pixels map to rays, through crops and resizes.

Why its own module: metric 3D needs the *real* intrinsics of the robot's camera (users'
most common complaint about hand trackers is a hard-coded focal length), and crops, resizes and
the synthetic renderer must all agree on how pixels map to rays.
Convention (OpenCV): the centre of pixel (0, 0) is at (0.0, 0.0); camera optical frame
x right, y down, z forward, metres.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class PinholeCamera:
    """Intrinsics of an undistorted pinhole camera (rectified images)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (self.fx > 0 and self.fy > 0):
            raise ValueError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"image size must be positive, got {self.width}x{self.height}")

    @classmethod
    def from_matrix(cls, k: np.ndarray, width: int, height: int) -> "PinholeCamera":
        k = np.asarray(k, dtype=np.float64).reshape(3, 3)
        return cls(float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), int(width), int(height))

    @classmethod
    def from_camera_info(cls, info) -> "PinholeCamera":
        """From a sensor_msgs/CameraInfo (or anything with k, width, height).

        Uses P (the rectified projection) when it is set, as image_proc does for rectified images,
        and K otherwise.
        """
        p = np.asarray(getattr(info, "p", np.zeros(12)), dtype=np.float64).reshape(3, 4)
        if p[0, 0] > 0 and p[1, 1] > 0:
            return cls.from_matrix(p[:, :3], info.width, info.height)
        k = np.asarray(info.k, dtype=np.float64)
        if k.size != 9 or not np.all(np.isfinite(k)) or k[0] <= 0:
            raise ValueError("CameraInfo has no valid intrinsics (K and P are zero or malformed)")
        return cls.from_matrix(k, info.width, info.height)

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float) -> "PinholeCamera":
        f = 0.5 * width / np.tan(np.radians(horizontal_fov_deg) / 2)
        return cls(f, f, (width - 1) / 2, (height - 1) / 2, width, height)

    @property
    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], dtype=np.float64)

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) metres, camera frame -> (..., 2) pixels. Points must have z > 0."""
        points = np.asarray(points, dtype=np.float64)
        z = points[..., 2]
        if np.any(z <= 0):
            raise ValueError("cannot project points at or behind the camera (z <= 0)")
        u = self.fx * points[..., 0] / z + self.cx
        v = self.fy * points[..., 1] / z + self.cy
        return np.stack([u, v], axis=-1)

    def unproject(self, pixels: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """(..., 2) pixels and (...) metric depth along z -> (..., 3) metres, camera frame."""
        pixels = np.asarray(pixels, dtype=np.float64)
        depth = np.asarray(depth, dtype=np.float64)
        x = (pixels[..., 0] - self.cx) / self.fx * depth
        y = (pixels[..., 1] - self.cy) / self.fy * depth
        return np.stack([x, y, depth], axis=-1)

    def crop(self, x0: float, y0: float, width: int, height: int) -> "PinholeCamera":
        """The camera that sees the crop whose top-left pixel is (x0, y0)."""
        return replace(self, cx=self.cx - x0, cy=self.cy - y0, width=int(width), height=int(height))

    def resize(self, width: int, height: int) -> "PinholeCamera":
        """The camera after resizing the whole image to width x height (pixel-centre aligned)."""
        sx, sy = width / self.width, height / self.height
        return PinholeCamera(
            self.fx * sx,
            self.fy * sy,
            (self.cx + 0.5) * sx - 0.5,
            (self.cy + 0.5) * sy - 0.5,
            int(width),
            int(height),
        )

"""Pinhole camera model and the 2.5D-to-3D lifting used by the hand pose networks.

Why its own module: metric 3D needs the *real* intrinsics of the robot's camera (users'
most common complaint about hand trackers is a hard-coded focal length), and crops, resizes and
the synthetic renderer must all agree on how pixels map to rays.
Convention (OpenCV): the centre of pixel (0, 0) is at (0.0, 0.0); camera optical frame
x right, y down, z forward, metres.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch


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


def recover_root_depth(
    normalized_xy: torch.Tensor,
    relative_depth: torch.Tensor,
    bone: tuple[int, int],
    bone_length: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """Absolute root depth from 2.5D keypoints (Iqbal et al., ECCV 2018).

    A 2.5D pose gives each joint's ray (normalized image coordinates ``K^-1 [u, v, 1]``) and its
    depth relative to the root. The absolute depth is the one that makes the reference bone
    (a, b) exactly ``bone_length`` long, the larger root of a quadratic. Networks predict
    relative depth in units of that bone, so ``bone_length=1`` then gives root depth in the same
    units; multiply by the metric bone length for metres.

    Args:
        normalized_xy: (B, J, 2) normalized image coordinates.
        relative_depth: (B, J) depth of each joint minus the root's, same unit as bone_length.
        bone: joint indices (a, b) of the reference bone.
        bone_length: length of that bone, scalar or (B,).
    Returns:
        (B,) root depth. Differentiable; clamped so it never goes below a small positive value.
    """
    a, b = bone
    xa, ya = normalized_xy[:, a, 0], normalized_xy[:, a, 1]
    xb, yb = normalized_xy[:, b, 0], normalized_xy[:, b, 1]
    za, zb = relative_depth[:, a], relative_depth[:, b]
    # |(x_a (z + z_a) - x_b (z + z_b), y_a (...) - y_b (...), z_a - z_b)|^2 = L^2, quadratic in z.
    dx, dy = xa - xb, ya - yb
    ex, ey = xa * za - xb * zb, ya * za - yb * zb
    qa = dx * dx + dy * dy
    qb = 2.0 * (dx * ex + dy * ey)
    length = torch.as_tensor(bone_length, dtype=normalized_xy.dtype, device=normalized_xy.device)
    qc = ex * ex + ey * ey + (za - zb) ** 2 - length**2
    discriminant = torch.clamp(qb * qb - 4.0 * qa * qc, min=0.0)
    root = (-qb + torch.sqrt(discriminant + 1e-12)) / (2.0 * qa.clamp(min=1e-12))
    return root.clamp(min=1e-3)


def recover_root_depth_from_bones(
    normalized_xy: np.ndarray,
    relative_depth: np.ndarray,
    bones: np.ndarray,
    bone_lengths: np.ndarray,
    depth_range: tuple[float, float] = (0.1, 4.0),
    samples: int = 96,
) -> np.ndarray:
    """Absolute root depth that makes *every* bone as long as the hand model says, least squares.

    ``recover_root_depth`` trusts one bone: an error of a few millimetres in that bone's relative
    depth (a network's typical error) can move the root by tens of centimetres, or leave its
    quadratic without a real root. Fitting all bones averages those errors. The cost is not
    convex in general, so it is searched on a grid over ``depth_range``, again on a finer grid
    around the best sample, and refined with a parabola through the best and its neighbours.

    Args:
        normalized_xy: (B, J, 2) normalized image coordinates ``K^-1 [u, v, 1]``.
        relative_depth: (B, J) joint depth minus the root's, metres.
        bones: (E, 2) joint index pairs (parent, child).
        bone_lengths: (E,) or (B, E) expected lengths, metres.
    Returns:
        (B,) root depth, metres.
    """
    xy = np.asarray(normalized_xy, dtype=np.float64)
    relative = np.asarray(relative_depth, dtype=np.float64)
    bones = np.asarray(bones)
    lengths = np.asarray(bone_lengths, dtype=np.float64)
    low, high = depth_range
    if not 0 < low < high or samples < 3:
        raise ValueError(f"need 0 < depth_range[0] < depth_range[1] and samples >= 3, got {depth_range}, {samples}")
    grid = np.linspace(low, high, samples)
    parent, child = bones[:, 0], bones[:, 1]

    def cost(depths: np.ndarray) -> np.ndarray:  # depths (B, G) -> (B, G)
        z = depths[..., None] + relative[:, None, :]
        x, y = xy[:, None, :, 0] * z, xy[:, None, :, 1] * z
        length = np.sqrt((x[..., child] - x[..., parent]) ** 2 + (y[..., child] - y[..., parent]) ** 2
                         + (z[..., child] - z[..., parent]) ** 2)
        expected = lengths if lengths.ndim == 1 else lengths[:, None, :]
        return ((length - expected) ** 2).sum(-1)

    rows = np.arange(len(xy))
    # Coarse to fine: the whole range, then the two cells around the best sample; then a
    # parabola through the finest best sample and its neighbours.
    depths = np.broadcast_to(grid, (len(xy), samples))
    for level in range(2):
        if level:
            depths = depths[rows, best][:, None] + step[:, None] * np.linspace(-1.0, 1.0, samples)[None, :]
        costs = cost(depths)
        best = np.clip(costs.argmin(axis=1), 1, samples - 2)
        step = depths[:, 1] - depths[:, 0]
    left, middle, right = costs[rows, best - 1], costs[rows, best], costs[rows, best + 1]
    curvature = left - 2 * middle + right
    safe = np.where(curvature > 1e-18, curvature, 1.0)
    shift = np.where(curvature > 1e-18, 0.5 * (left - right) / safe, 0.0)
    return depths[rows, best] + np.clip(shift, -1.0, 1.0) * step


def foreshortening_depth_bound(
    normalized_xy: np.ndarray,
    relative_depth: np.ndarray,
    bones: np.ndarray,
    bone_lengths: np.ndarray,
    outliers: int = 1,
) -> np.ndarray:
    """The root depth past which bones would span more of the view than they are long.

    A bone can be foreshortened, never stretched: its extent across the view, at root depth z,
    ``|n_c (z + r_c) - n_p (z + r_p)|``, grows with z and cannot exceed its length. Each bone so
    gives a depth the root cannot be beyond, reached when the bone lies across the view. Why it
    is needed: a network's relative depths come out flat and its 2D skeletons small, so every
    bone looks short and the all-bones fit (``recover_root_depth_from_bones``) puts the hand too
    far; the bones that lie across the view say how far it can be.

    Args:
        normalized_xy: (B, J, 2) normalized image coordinates; relative_depth (B, J) metres.
        bones: (E, 2) joint index pairs; bone_lengths (E,) or (B, E) metres.
        outliers: how many of the tightest bounds to pass over, for bones whose 2D came out too long.
    Returns:
        (B,) metres; inf where fewer than ``outliers + 1`` bones give a bound (e.g. all of them
        pointing at the camera).
    """
    xy = np.asarray(normalized_xy, dtype=np.float64)
    relative = np.asarray(relative_depth, dtype=np.float64)
    bones = np.asarray(bones)
    lengths = np.broadcast_to(np.asarray(bone_lengths, dtype=np.float64), (len(xy), len(bones)))
    if not 0 <= outliers < len(bones):
        raise ValueError(f"outliers must be in [0, {len(bones) - 1}], got {outliers}")
    parent, child = bones[:, 0], bones[:, 1]
    # |a z + b| = L with a = n_c - n_p, b = n_c r_c - n_p r_p: the larger root of a quadratic.
    a = xy[:, child] - xy[:, parent]
    b = xy[:, child] * relative[:, child, None] - xy[:, parent] * relative[:, parent, None]
    aa, ab, bb = (a * a).sum(-1), (a * b).sum(-1), (b * b).sum(-1)
    discriminant = ab * ab - aa * (bb - lengths**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = (-ab + np.sqrt(np.maximum(discriminant, 0.0))) / aa
    valid = (aa > 1e-12) & (discriminant >= 0) & (depth > 0)
    return np.sort(np.where(valid, depth, np.inf), axis=-1)[:, outliers]

"""Gaze angles, angular error and the MPIIGaze data normalisation.

Why its own module: the eye renderer, the gaze models, their losses and the gaze node must all
agree on one convention, and getting it subtly wrong (a flipped yaw, a gaze vector rotated by the
warp's scaling) silently costs degrees. Convention (MPIIGaze, camera frame x right, y down,
z forward): a gaze *vector* points from the eye towards what it looks at;
``pitch = arcsin(-y)``, ``yaw = arctan2(-x, -z)``, so (0, 0) looks straight into the camera (along
-z), positive pitch looks up and positive yaw looks towards the image's left (-x). Angles in
radians.

Normalisation (Zhang, Sugano, Bulling, ETRA 2018, "Revisiting data normalization for
appearance-based gaze estimation"): rotate a virtual camera to look straight at the eye centre,
with its x-axis in the plane of the head's x-axis (cancels head roll), and scale the image so the
eye appears at a fixed distance. Gaze vectors are rotated by R only (not scaled): g_n = R g.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from handperception.validation import float_array


def pitchyaw_to_vector(pitchyaw: np.ndarray) -> np.ndarray:
    """(..., 2) [pitch, yaw] radians -> (..., 3) unit gaze vectors, camera frame."""
    py = float_array(pitchyaw, "pitchyaw", (..., 2))
    pitch, yaw = py[..., 0], py[..., 1]
    return np.stack(
        [-np.cos(pitch) * np.sin(yaw), -np.sin(pitch), -np.cos(pitch) * np.cos(yaw)], axis=-1
    )


def vector_to_pitchyaw(vectors: np.ndarray) -> np.ndarray:
    """(..., 3) gaze vectors (any non-zero length) -> (..., 2) [pitch, yaw] radians."""
    v = _unit_vectors(vectors, "gaze vectors")
    return np.stack(
        [np.arcsin(np.clip(-v[..., 1], -1.0, 1.0)), np.arctan2(-v[..., 0], -v[..., 2])], axis=-1
    )


def angular_error_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between gaze vectors a and b (any non-zero length), (..., 3) each -> (...).

    The number every gaze result reports: networks regress (pitch, yaw), eye models give vectors,
    and both are scored as the angle between predicted and true directions."""
    a, b = _unit_vectors(a, "a"), _unit_vectors(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"gaze shapes differ: {a.shape} vs {b.shape}")
    # atan2(|a x b|, a.b) stays accurate for tiny angles, where arccos of a dot product does not.
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    return np.degrees(np.arctan2(cross, np.sum(a * b, axis=-1)))


def pitchyaw_error_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between gazes given as (..., 2) pitch/yaw radians -> (...)."""
    return angular_error_deg(pitchyaw_to_vector(a), pitchyaw_to_vector(b))


def _unit_vectors(vectors: np.ndarray, name: str) -> np.ndarray:
    v = float_array(vectors, name, (..., 3))
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    if np.any(norm < 1e-12):
        raise ValueError(f"{name} contains zero-length vectors; a direction is undefined")
    return v / norm


def pitchyaw_to_rotation(pitchyaw: np.ndarray, roll: float = 0.0) -> np.ndarray:
    """Head rotation (head frame -> camera frame) whose face points along the gaze of (pitch, yaw).

    The head frame is the camera frame of a frontal face: x right in the image, y down, and the
    face looking along -z. So ``R @ [0, 0, -1] == pitchyaw_to_vector(pitchyaw)``; ``roll`` (radians)
    turns the head about its own forward axis. Returns (3, 3).
    """
    py = float_array(pitchyaw, "head pitchyaw", (2,))
    if not np.isfinite(roll):
        raise ValueError("roll must be finite")
    cp, sp = np.cos(-py[0]), np.sin(-py[0])
    cy, sy = np.cos(py[1]), np.sin(py[1])
    cr, sr = np.cos(roll), np.sin(roll)
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return ry @ rx @ rz


def pitchyaw_to_vector_torch(pitchyaw: torch.Tensor) -> torch.Tensor:
    """(..., 2) pitch/yaw radians -> (..., 3) unit vectors; differentiable."""
    pitch, yaw = pitchyaw[..., 0], pitchyaw[..., 1]
    return torch.stack(
        [-torch.cos(pitch) * torch.sin(yaw), -torch.sin(pitch), -torch.cos(pitch) * torch.cos(yaw)],
        -1,
    )


def vector_to_pitchyaw_torch(vectors: torch.Tensor) -> torch.Tensor:
    """(..., 3) gaze vectors -> (..., 2) pitch/yaw radians; differentiable away from the poles."""
    v = vectors / vectors.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    return torch.stack(
        [torch.asin((-v[..., 1]).clamp(-1 + 1e-7, 1 - 1e-7)), torch.atan2(-v[..., 0], -v[..., 2])],
        -1,
    )


def angular_error_deg_torch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle in degrees between (..., 3) vectors; differentiable (atan2 form, no arccos
    NaNs at 0)."""
    cross = torch.linalg.cross(a, b, dim=-1).norm(dim=-1)
    return torch.rad2deg(torch.atan2(cross, (a * b).sum(-1)))


@dataclass(frozen=True)
class NormalizationSpec:
    """The virtual camera of the normalised space.

    Defaults are MPIIGaze's single-eye setting: 600 mm away, focal length 960 px, 60x36 patch
    (width x height). Distances in metres.
    """

    distance: float = 0.6
    focal: float = 960.0
    width: int = 60
    height: int = 36

    def __post_init__(self) -> None:
        if not (np.isfinite(self.distance) and self.distance > 0):
            raise ValueError(f"normalisation distance must be positive, got {self.distance}")
        if not (np.isfinite(self.focal) and self.focal > 0):
            raise ValueError(f"normalisation focal length must be positive, got {self.focal}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"patch size must be positive, got {self.width}x{self.height}")

    @property
    def camera_matrix(self) -> np.ndarray:
        """(3, 3) K of the virtual camera; principal point at the patch centre (OpenCV pixel
        centres)."""
        return np.array(
            [
                [self.focal, 0, (self.width - 1) / 2],
                [0, self.focal, (self.height - 1) / 2],
                [0, 0, 1],
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class EyeNormalization:
    """Result of normalising one eye.

    rotation: (3, 3) R, camera frame -> normalised camera frame.
    scale: (3, 3) S = diag(1, 1, distance / |eye centre|).
    warp: (3, 3) W = K_n S R K^-1, original pixels -> patch pixels (for cv2.warpPerspective).
    head_rotation: (3, 3) normalised head rotation R R_head (head frame -> normalised camera).
    """

    rotation: np.ndarray
    scale: np.ndarray
    warp: np.ndarray
    head_rotation: np.ndarray
    spec: NormalizationSpec

    def gaze_to_normalized(self, gaze: np.ndarray) -> np.ndarray:
        """(..., 3) gaze vectors, camera frame -> normalised frame (rotation only, per
        Zhang 2018)."""
        g = float_array(gaze, "gaze", (..., 3))
        return g @ self.rotation.T

    def gaze_from_normalized(self, gaze_n: np.ndarray) -> np.ndarray:
        """(..., 3) gaze vectors, normalised frame -> camera frame (predictions back to the
        robot)."""
        g = float_array(gaze_n, "normalised gaze", (..., 3))
        return g @ self.rotation

    def warp_image(self, image: np.ndarray) -> np.ndarray:
        """Crop the normalised (height, width[, C]) patch out of a camera image."""
        return cv2.warpPerspective(
            image, self.warp, (self.spec.width, self.spec.height), flags=cv2.INTER_LINEAR
        )


def normalize_eye(
    camera_matrix: np.ndarray,
    eye_centre: np.ndarray,
    head_rotation: np.ndarray,
    spec: NormalizationSpec = NormalizationSpec(),
) -> EyeNormalization:
    """Normalisation for one eye.

    Args:
        camera_matrix: (3, 3) K of the real camera.
        eye_centre: (3,) metres, camera frame; the point the virtual camera looks at.
        head_rotation: (3, 3) head frame -> camera frame (its first column is the head's x-axis).
        spec: the virtual camera.
    """
    k = float_array(camera_matrix, "camera_matrix", (3, 3))
    e = float_array(eye_centre, "eye_centre", (3,))
    rh = float_array(head_rotation, "head_rotation", (3, 3))
    if e[2] <= 0:
        raise ValueError(f"eye centre must be in front of the camera (z > 0), got {e}")
    distance = float(np.linalg.norm(e))
    z_axis = e / distance
    y_axis = np.cross(z_axis, rh[:, 0])
    if np.linalg.norm(y_axis) < 1e-6:
        raise ValueError("head x-axis is parallel to the viewing ray; normalisation is undefined")
    y_axis /= np.linalg.norm(y_axis)
    x_axis = np.cross(y_axis, z_axis)
    x_axis /= np.linalg.norm(x_axis)
    rotation = np.stack([x_axis, y_axis, z_axis])
    scale = np.diag([1.0, 1.0, spec.distance / distance])
    warp = spec.camera_matrix @ scale @ rotation @ np.linalg.inv(k)
    return EyeNormalization(rotation, scale, warp, rotation @ rh, spec)

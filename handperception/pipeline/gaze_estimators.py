"""Per-eye gaze estimators: Deep Pictorial Gaze, and the iris-geometry peer with no learning.

Why one interface: the gaze pipeline finds faces, fits head poses and normalises every eye once;
what turns an eye into a direction is swappable, so the node runs the network or the geometric
peer with one parameter and the benchmark compares them on the same eyes. Both take all eyes of
all faces of a frame as one ``EyeBatch`` (one network call per frame, not per eye) and return
camera-frame unit vectors, NaN rows where an eye gave no usable answer (the pipeline drops that
face with a reason; nothing NaN is published).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.gaze import EyeNormalization, pitchyaw_to_vector
from handperception.geometry.head_pose import EYEBALL_RADIUS
from handperception.models.gaze import (
    MIRROR_RIGHT_EYE,
    DeepPictorialGaze,
    eye_patch_tensor,
    mirror_eye_patches,
    mirror_pitchyaw,
)

IRIS_RADIUS = 0.006  # metres; the visible iris is 11-12.5 mm across in adults
# The iris landmark is the centre of the iris disc, which sits on the gaze axis this far from the
# eyeball centre (the disc's rim lies on the eyeball sphere), not a full eyeball radius.
IRIS_CENTRE_DEPTH = float(np.sqrt(EYEBALL_RADIUS**2 - IRIS_RADIUS**2))


@dataclass(frozen=True)
class EyeBatch:
    """The eyes of one frame, N = 2 per face, ordered (right, left) within each face.

    patches: (N, 36, 60) uint8 normalised grey patches; normalizations: N ``EyeNormalization``;
    is_left: (N,) bool, the subject's left eye; eyeball_centres: (N, 3) metres, camera frame (from
    the head pose); iris_px: (N, 2) iris centres in the ideal camera's pixels, or None when the
    face detector has no iris; camera: the ideal camera those pixels belong to.
    """

    patches: np.ndarray
    normalizations: list[EyeNormalization]
    is_left: np.ndarray
    eyeball_centres: np.ndarray
    camera: PinholeCamera
    iris_px: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.normalizations)


class EyeGazeEstimator(Protocol):
    """EyeBatch -> (N, 3) unit gaze vectors in the camera frame (NaN rows: no answer).
    ``needs_iris``: whether it needs ``EyeBatch.iris_px``."""

    needs_iris: bool

    def estimate(self, eyes: EyeBatch) -> np.ndarray: ...


NEEDS_IRIS = (
    "the geometric gaze backend needs iris landmarks, which only the MediaPipe face detector "
    "gives; use detector 'mediapipe' or backend 'network'"
)


class NetworkEyeGaze:
    """Deep Pictorial Gaze (``models.gaze``) on the normalised patches, de-normalised per eye.

    The network knows one eye side; patches of the other side are mirrored before it and the
    predicted yaw negated after (``MIRROR_RIGHT_EYE`` says which side that is).
    """

    needs_iris = False

    def __init__(self, model: DeepPictorialGaze, device: str = "cpu") -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    def estimate(self, eyes: EyeBatch) -> np.ndarray:
        """See ``EyeGazeEstimator``."""
        if len(eyes) == 0:
            return np.zeros((0, 3))
        mirrored = eyes.is_left != MIRROR_RIGHT_EYE
        patches = np.array(eyes.patches, copy=True)
        if mirrored.any():
            patches[mirrored] = mirror_eye_patches(patches[mirrored])
        pitchyaw, _ = self.model.estimate(eye_patch_tensor(patches).to(self.device))
        pitchyaw = pitchyaw.cpu().numpy().astype(np.float64)
        pitchyaw[mirrored] = mirror_pitchyaw(pitchyaw[mirrored])
        gazes = np.full((len(eyes), 3), np.nan)
        for index, (angles, normalization) in enumerate(zip(pitchyaw, eyes.normalizations)):
            if np.all(np.isfinite(angles)):
                gazes[index] = normalization.gaze_from_normalized(pitchyaw_to_vector(angles))
        return gazes


class IrisGeometryGaze:
    """The geometric peer: gaze from the iris landmark through a standard eyeball model.

    Per eye, the eyeball centre comes from the head pose (a fixed offset behind the eye-corner
    midpoint, ``geometry.head_pose``); the iris disc's centre is where the iris pixel's viewing
    ray meets the sphere of radius ``IRIS_CENTRE_DEPTH`` around it (the nearer hit; a ray that
    misses takes the sphere's point nearest to it); gaze = unit(iris centre - eyeball centre).
    It models the optical axis: real eyes look about 5 degrees off it (angle kappa), which only
    a per-person calibration recovers.
    """

    needs_iris = True

    def estimate(self, eyes: EyeBatch) -> np.ndarray:
        """See ``EyeGazeEstimator``."""
        if eyes.iris_px is None:
            raise ValueError(NEEDS_IRIS)
        k = eyes.camera.matrix
        pixels = np.concatenate([eyes.iris_px, np.ones((len(eyes), 1))], axis=1)
        rays = pixels @ np.linalg.inv(k).T
        rays /= np.linalg.norm(rays, axis=1, keepdims=True)
        centres = eyes.eyeball_centres
        along = np.sum(rays * centres, axis=1)  # ray distance of the point nearest the centre
        gap = np.sum(centres * centres, axis=1) - along**2  # squared distance ray <-> centre
        reach = np.sqrt(np.clip(IRIS_CENTRE_DEPTH**2 - gap, 0.0, None))
        hits = rays * (along - reach)[:, None]
        offsets = hits - centres
        lengths = np.linalg.norm(offsets, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            gazes = offsets / lengths
        gazes[~np.isfinite(gazes).all(axis=1) | (lengths[:, 0] < 1e-9)] = np.nan
        return gazes

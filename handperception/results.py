"""What the pipelines produce, as plain numpy dataclasses.

Why separate from messages: models and pipelines stay free of ROS (tested and reused offline),
and one validation step here guarantees a node never publishes NaNs or malformed arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.skeleton import NUM_JOINTS
from handperception.validation import float_array

# Where a camera can see a hand or an eye: in front of it (z > 0) and within MAX_DISTANCE_M.
# Anything else is a failed estimate (a noise image, absurd intrinsics, a mirrored head-pose
# solution), and a robot acting on it would reach behind itself or kilometres away. 20 m is
# beyond any hand or gaze a camera resolves (a hand 20 m from a 640-pixel, 60 deg camera spans
# under 3 pixels).
MAX_DISTANCE_M = 20.0
IMPLAUSIBLE_DEPTH = "implausible_depth"  # the drop reason of a result that is not

HANDEDNESS = ("left", "right", "unknown")
# A hand seen in a mirror (a selfie camera) looks like the person's other hand.
OTHER_SIDE = {"left": "right", "right": "left"}


def plausible_position(points) -> bool:
    """Whether every one of ``points`` (..., 3), metres in the camera frame, is where a camera
    can see a hand or an eye (see MAX_DISTANCE_M); False for any NaN or infinity too. Pipelines
    drop a result that fails it as IMPLAUSIBLE_DEPTH, so no node publishes one."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return bool(
        np.all(points[:, 2] > 0) and np.all(np.linalg.norm(points, axis=1) <= MAX_DISTANCE_M)
    )


def _check_unit(name: str, value: float, allow_unset: bool = False) -> float:
    value = float(value)
    if allow_unset and value == -1.0:
        return value
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


@dataclass
class HandEstimate:
    """One hand. joints_3d (21, 3) metres camera frame; joints_2d (21, 2) pixels."""

    joints_3d: np.ndarray
    joints_2d: np.ndarray
    joint_confidence: np.ndarray
    handedness: str = "unknown"
    handedness_score: float = 0.0
    score: float = 1.0
    track_id: int = 0
    plausibility: float = -1.0
    roi: tuple[int, int, int, int] = (0, 0, 0, 0)  # x, y, width, height in pixels

    def __post_init__(self) -> None:
        self.joints_3d = float_array(self.joints_3d, "joints_3d", (NUM_JOINTS, 3))
        self.joints_2d = float_array(self.joints_2d, "joints_2d", (NUM_JOINTS, 2))
        self.joint_confidence = float_array(
            self.joint_confidence, "joint_confidence", (NUM_JOINTS,)
        )
        if np.any((self.joint_confidence < 0) | (self.joint_confidence > 1)):
            raise ValueError("joint_confidence must lie in [0, 1]")
        if self.handedness not in HANDEDNESS:
            raise ValueError(f"handedness must be one of {HANDEDNESS}, got '{self.handedness}'")
        self.handedness_score = _check_unit("handedness_score", self.handedness_score)
        self.score = _check_unit("score", self.score)
        self.plausibility = _check_unit("plausibility", self.plausibility, allow_unset=True)
        if self.track_id < 0:
            raise ValueError(f"track_id must be non-negative, got {self.track_id}")


@dataclass
class GazeEstimate:
    """One face's gaze. origin/eye centres metres camera frame; direction a unit vector."""

    origin: np.ndarray
    direction: np.ndarray
    left_eye_center: np.ndarray
    right_eye_center: np.ndarray
    confidence: float = 1.0
    track_id: int = 0
    face_roi: tuple[int, int, int, int] = (0, 0, 0, 0)

    def __post_init__(self) -> None:
        self.origin = float_array(self.origin, "origin", (3,))
        self.direction = float_array(self.direction, "direction", (3,))
        norm = np.linalg.norm(self.direction)
        if not 0.5 < norm < 2.0:
            raise ValueError(f"gaze direction must be (close to) a unit vector, norm is {norm:.3g}")
        self.direction = self.direction / norm
        self.left_eye_center = float_array(self.left_eye_center, "left_eye_center", (3,))
        self.right_eye_center = float_array(self.right_eye_center, "right_eye_center", (3,))
        self.confidence = _check_unit("confidence", self.confidence)

    @property
    def pitch_yaw(self) -> tuple[float, float]:
        """Radians, MPIIGaze convention: pitch = asin(-y), yaw = atan2(-x, -z)."""
        x, y, z = self.direction
        return float(np.arcsin(np.clip(-y, -1.0, 1.0))), float(np.arctan2(-x, -z))


@dataclass
class GraspEstimate:
    """One proposed grasp: joints (21, 3) metres in the object frame."""

    joints: np.ndarray
    handedness: str = "right"
    score: float = 0.0
    penetration_depth: float = 0.0
    penetration_volume: float = 0.0
    contact_ratio: float = 0.0

    def __post_init__(self) -> None:
        self.joints = float_array(self.joints, "joints", (NUM_JOINTS, 3))
        if self.handedness not in HANDEDNESS:
            raise ValueError(f"handedness must be one of {HANDEDNESS}, got '{self.handedness}'")
        self.score = _check_unit("score", self.score)
        self.contact_ratio = _check_unit("contact_ratio", self.contact_ratio)
        for name in ("penetration_depth", "penetration_volume"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be finite and non-negative, got {value}")
            setattr(self, name, value)

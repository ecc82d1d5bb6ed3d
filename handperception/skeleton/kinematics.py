"""Parametric hand: shape, joint angles, forward and inverse kinematics, pose samplers.

Why: the synthetic data engine needs hands whose articulation is bounded by real biomechanical
joint limits (so networks never learn impossible poses), whose bone lengths vary like real
people's, and whose keypoints can be turned back into angles (to fit, to measure, to animate).

Conventions (right hand, *hand frame*, metres): origin at the wrist, +y from the wrist towards
the middle finger, +z dorsal (out of the back of the hand), +x ulnar (towards the little
finger). Left hands are the mirror image: x is negated in the hand frame before the global
rotation, so a left hand uses the same angles with the same anatomical meaning.

Pose: (N, 15, 3) radians, joint ``3 * finger + level`` (thumb CMC/MCP/IP, fingers MCP/PIP/DIP),
components (flexion, abduction, twist). Flexion bends the bone towards the palm (-z);
abduction swings it towards the radial (thumb) side; twist turns it about its own axis. A joint
rotation is ``Rz(abduction) @ Rx(-flexion) @ Ry(twist)`` in its parent bone's frame, whose +y is
the parent bone direction.

Shape: (N, 21): ``[global scale, 20 bone-length ratios]``; bone ``b`` is
``skeleton.BONES[b]`` (4 per finger: the rigid palm bone wrist->base, then 3 articulated bones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.skeleton.definition import BONES, NUM_JOINTS

NUM_FINGERS = 5
NUM_POSE_JOINTS = 15
NUM_BONES = NUM_JOINTS - 1
SHAPE_DIM = 1 + NUM_BONES
FLEXION, ABDUCTION, TWIST = 0, 1, 2

SCALE_RANGE = (0.75, 1.25)
# Relative bone-length variation across adults at fixed hand length is a few percent
# (anthropometric surveys of phalanx ratios); +-8 % covers it.
BONE_RATIO_RANGE = (0.92, 1.08)

# Mean adult right hand, hand frame: thumb CMC and the four MCP joints. Wrist to middle MCP is
# 9.5 cm; the MCP arch is slightly curved and the thumb CMC sits palmar of the palm plane.
_BASE_POSITIONS = np.array(
    [
        [-0.025, 0.030, -0.012],
        [-0.024, 0.088, 0.002],
        [-0.002, 0.095, 0.004],
        [0.018, 0.089, 0.002],
        [0.035, 0.079, -0.002],
    ]
)
# Articulated bone lengths (m), base to tip: thumb metacarpal/proximal/distal, fingers
# proximal/middle/distal (distal includes the fingertip pad).
_PHALANX_LENGTHS = np.array(
    [
        [0.044, 0.032, 0.027],
        [0.041, 0.025, 0.022],
        [0.045, 0.029, 0.023],
        [0.042, 0.028, 0.023],
        [0.034, 0.020, 0.021],
    ]
)
MEAN_BONE_LENGTHS = np.concatenate(
    [np.linalg.norm(_BASE_POSITIONS, axis=1)[:, None], _PHALANX_LENGTHS], axis=1
).reshape(NUM_BONES)
_BASE_DIRECTIONS = _BASE_POSITIONS / np.linalg.norm(_BASE_POSITIONS, axis=1, keepdims=True)


def _rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


# Frame of each finger's base joint at zero pose (+y = rest direction of the first articulated
# bone). Fingers fan out slightly; the thumb metacarpal points radially forward, dips palmar and
# is pronated so that its flexion sweeps it across the palm (opposition).
_REST_FRAMES = np.stack(
    [
        _rz(np.radians(32)) @ _rx(np.radians(-25)) @ _ry(np.radians(-60)),
        _rz(np.radians(6)),
        _rz(np.radians(0)),
        _rz(np.radians(-6)),
        _rz(np.radians(-12)),
    ]
)

# (flexion, abduction, twist) limits in degrees per joint, from published active ranges of
# motion (e.g. Hume et al. 1990; Lee & Kunii; Cobos et al. 2008). Thumb: CMC, MCP, IP.
_LIMITS_DEG = {
    "thumb": [
        ((-20, 50), (-15, 45), (-20, 20)),
        ((-10, 60), (-10, 10), (-5, 5)),
        ((-15, 80), (-5, 5), (-5, 5)),
    ],
    "finger": [
        ((-30, 90), (-20, 20), (-5, 5)),
        ((0, 110), (-5, 5), (-5, 5)),
        ((0, 90), (-5, 5), (-5, 5)),
    ],
}


@dataclass(frozen=True)
class JointLimits:
    """Per-joint angle bounds: lower and upper (15, 3) radians (flexion, abduction, twist)."""

    lower: np.ndarray
    upper: np.ndarray

    def __post_init__(self) -> None:
        if self.lower.shape != (NUM_POSE_JOINTS, 3) or self.upper.shape != (NUM_POSE_JOINTS, 3):
            raise ValueError(
                f"joint limits must be (15, 3), got {self.lower.shape} and {self.upper.shape}"
            )
        if np.any(self.lower > self.upper):
            raise ValueError("joint limits have lower > upper")

    @classmethod
    def default(cls) -> "JointLimits":
        table = np.array([_LIMITS_DEG["thumb"]] + [_LIMITS_DEG["finger"]] * 4, dtype=np.float64)
        table = np.radians(table.reshape(NUM_POSE_JOINTS, 3, 2))
        return cls(table[..., 0], table[..., 1])

    def contains(self, pose: np.ndarray, tolerance: float = 1e-9) -> np.ndarray:
        """(N, 15, 3) radians -> (N,) bool: every angle within its limits."""
        pose = check_pose(pose)
        inside = (pose >= self.lower - tolerance) & (pose <= self.upper + tolerance)
        return inside.all(axis=(1, 2))

    def clip(self, pose: np.ndarray) -> np.ndarray:
        return np.clip(pose, self.lower, self.upper)


JOINT_LIMITS = JointLimits.default()


def check_pose(pose) -> np.ndarray:
    """Validate and return a (N, 15, 3) float pose (a single (15, 3) pose gets N = 1)."""
    pose = np.asarray(pose, dtype=np.float64)
    if pose.ndim == 2:
        pose = pose[None]
    if pose.ndim != 3 or pose.shape[1:] != (NUM_POSE_JOINTS, 3):
        raise ValueError(f"pose must be (N, 15, 3) radians, got shape {pose.shape}")
    if not np.all(np.isfinite(pose)):
        raise ValueError("pose contains NaN or inf")
    return pose


def mean_shape(n: int = 1) -> np.ndarray:
    """(n, 21) shape of the mean hand: scale 1, every bone ratio 1."""
    return np.ones((n, SHAPE_DIM))


def sample_shapes(
    rng: np.random.Generator,
    n: int,
    scale_range: tuple[float, float] = SCALE_RANGE,
    ratio_range: tuple[float, float] = BONE_RATIO_RANGE,
) -> np.ndarray:
    """(n, 21) shapes: global scale uniform in scale_range, bone ratios uniform in ratio_range."""
    if not 0 < scale_range[0] <= scale_range[1]:
        raise ValueError(f"scale_range must be positive and ordered, got {scale_range}")
    if not 0 < ratio_range[0] <= ratio_range[1]:
        raise ValueError(f"ratio_range must be positive and ordered, got {ratio_range}")
    scale = rng.uniform(*scale_range, size=(n, 1))
    ratios = rng.uniform(*ratio_range, size=(n, NUM_BONES))
    return np.concatenate([scale, ratios], axis=1)


def _namespace(x):
    """numpy or torch, whichever x belongs to, so FK serves data generation and training losses."""
    if type(x).__module__.startswith("torch"):
        import torch

        return torch
    return np


def _constant(value: np.ndarray, like, xp):
    if xp is np:
        return np.asarray(value, dtype=np.float64)
    return xp.as_tensor(value, dtype=like.dtype, device=like.device)


def joint_rotations(pose, xp=np):
    """(N, 15, 3) angles -> (N, 15, 3, 3) local rotations Rz(abd) @ Rx(-flex) @ Ry(twist)."""
    flex, abd, twist = pose[..., 0], pose[..., 1], pose[..., 2]
    cf, sf = xp.cos(flex), xp.sin(flex)
    ca, sa = xp.cos(abd), xp.sin(abd)
    ct, st = xp.cos(twist), xp.sin(twist)
    # Closed form of the product, written out so numpy and torch share one expression.
    rows = [
        [ca * ct + sa * sf * st, -sa * cf, ca * st - sa * sf * ct],
        [sa * ct - ca * sf * st, ca * cf, sa * st + ca * sf * ct],
        [-cf * st, -sf, cf * ct],
    ]
    return xp.stack([xp.stack(row, axis=-1) for row in rows], axis=-2)


def forward_kinematics(pose, shape=None, global_rotation=None, translation=None, is_left=None):
    """Keypoints of hands with the given articulation, shape and placement.

    Args:
        pose: (N, 15, 3) radians (numpy array or torch tensor; the output follows).
        shape: (N, 21) [scale, bone ratios]; None = mean hand.
        global_rotation: (N, 3, 3) hand frame -> output frame; None = identity.
        translation: (N, 3) metres, wrist position in the output frame; None = origin.
        is_left: (N,) bool, mirror those hands; None = all right hands.
    Returns:
        (N, 21, 3) metres, skeleton order, in the output frame.
    """
    xp = _namespace(pose)
    if tuple(pose.shape[1:]) != (NUM_POSE_JOINTS, 3) or pose.ndim != 3:
        raise ValueError(f"pose must be (N, 15, 3), got {tuple(pose.shape)}")
    n = pose.shape[0]
    lengths = _constant(MEAN_BONE_LENGTHS, pose, xp)[None] * xp.ones_like(pose[:, 0, :1])
    if shape is not None:
        if tuple(shape.shape) != (n, SHAPE_DIM):
            raise ValueError(f"shape must be ({n}, {SHAPE_DIM}), got {tuple(shape.shape)}")
        lengths = lengths * shape[:, :1] * shape[:, 1:]
    rotations = joint_rotations(pose, xp)
    base_dirs = _constant(_BASE_DIRECTIONS, pose, xp)
    rest_frames = _constant(_REST_FRAMES, pose, xp)
    joints = [pose[:, 0, :] * 0.0]
    for finger in range(NUM_FINGERS):
        bone = 4 * finger
        position = base_dirs[finger] * lengths[:, bone : bone + 1]
        joints.append(position)
        frame = rest_frames[finger]
        for level in range(3):
            frame = frame @ rotations[:, 3 * finger + level]
            position = position + frame[..., :, 1] * lengths[:, bone + level + 1 : bone + level + 2]
            joints.append(position)
    keypoints = xp.stack(joints, axis=1)
    if is_left is not None:
        sign = 1.0 - 2.0 * _constant(is_left, pose, xp)
        keypoints = xp.stack(
            [keypoints[..., 0] * sign[:, None], keypoints[..., 1], keypoints[..., 2]], axis=-1
        )
    if global_rotation is not None:
        keypoints = keypoints @ global_rotation.swapaxes(-1, -2)
    if translation is not None:
        keypoints = keypoints + translation[:, None, :]
    return keypoints


@dataclass(frozen=True)
class HandParameters:
    """Everything forward_kinematics needs for N hands (numpy, shapes as in its docstring)."""

    pose: np.ndarray
    shape: np.ndarray
    global_rotation: np.ndarray
    translation: np.ndarray
    is_left: np.ndarray

    def keypoints(self) -> np.ndarray:
        return forward_kinematics(
            self.pose, self.shape, self.global_rotation, self.translation, self.is_left
        )


def _kabsch(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(N, M, 3) x (N, M, 3) -> (N, 3, 3) rotation R minimising |R source - target|."""
    covariance = np.einsum("nmi,nmj->nij", target, source)
    u, _, vt = np.linalg.svd(covariance)
    d = np.sign(np.linalg.det(u @ vt))
    correction = np.tile(np.eye(3), (len(source), 1, 1))
    correction[:, 2, 2] = d
    return u @ correction @ vt


def inverse_kinematics(keypoints, is_left=None) -> HandParameters:
    """Angles, shape and placement that reproduce the keypoints: FK(IK(k)) == k.

    Analytic, per finger in the palm's frame: the palm rotation is the best fit (Kabsch) of the
    five rigid palm bones; each articulated bone's direction, expressed in its parent's frame,
    gives flexion (asin) and abduction (atan2), choosing the solution with |abduction| <= 90 deg
    so flexion beyond 90 deg (PIP) is recovered as such. Twist about a bone leaves every keypoint
    unchanged, so it is unobservable from keypoints and returned as 0 (the twist-free solution).
    Angles are not clipped to the joint limits: noisy keypoints give what they imply.

    Args:
        keypoints: (N, 21, 3) metres, any frame.
        is_left: (N,) bool; None = all right hands.
    Returns:
        HandParameters whose shape has scale = middle palm bone / mean and ratio 1 for that bone.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"keypoints must be (N, 21, 3), got {keypoints.shape}")
    if not np.all(np.isfinite(keypoints)):
        raise ValueError("keypoints contain NaN or inf")
    n = len(keypoints)
    is_left = np.zeros(n, dtype=bool) if is_left is None else np.asarray(is_left, dtype=bool)
    mirror = np.where(is_left, -1.0, 1.0)
    # Reflecting a left hand's keypoints across x gives a right hand rotated by M R M.
    right = keypoints.copy()
    right[..., 0] *= mirror[:, None]
    translation = right[:, 0].copy()
    bones = right[:, 1:] - right[:, [parent for parent, _ in BONES]]
    lengths = np.linalg.norm(bones, axis=-1)
    if np.any(lengths < 1e-9):
        raise ValueError("keypoints have a zero-length bone")
    scale = lengths[:, 8] / MEAN_BONE_LENGTHS[8]
    shape = np.concatenate([scale[:, None], lengths / (scale[:, None] * MEAN_BONE_LENGTHS)], axis=1)
    base_bones = bones[:, 0::4] / lengths[:, 0::4, None]
    rotation = _kabsch(np.broadcast_to(_BASE_DIRECTIONS, base_bones.shape), base_bones)
    directions = np.einsum("nji,nbj->nbi", rotation, bones / lengths[..., None])
    pose = np.zeros((n, NUM_POSE_JOINTS, 3))
    for finger in range(NUM_FINGERS):
        frame = np.broadcast_to(_REST_FRAMES[finger], (n, 3, 3))
        for level in range(3):
            local = np.einsum("nji,nj->ni", frame, directions[:, 4 * finger + level + 1])
            flexion = np.arcsin(np.clip(-local[:, 2], -1.0, 1.0))
            abduction = np.arctan2(-local[:, 0], local[:, 1])
            flipped = np.abs(abduction) > np.pi / 2
            flexion = np.where(flipped, np.pi - flexion, flexion)
            abduction = np.where(flipped, abduction - np.pi * np.sign(abduction), abduction)
            pose[:, 3 * finger + level, FLEXION] = flexion
            pose[:, 3 * finger + level, ABDUCTION] = abduction
            frame = frame @ joint_rotations(pose[:, 3 * finger + level])
    global_rotation = _mirror_rotation(rotation, mirror)
    translation[:, 0] *= mirror
    return HandParameters(pose, shape, global_rotation, translation, is_left)


def _mirror_rotation(rotation: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """M R M with M = diag(mirror, 1, 1) per hand."""
    m = np.ones((len(rotation), 3))
    m[:, 0] = mirror
    return m[:, :, None] * rotation * m[:, None, :]

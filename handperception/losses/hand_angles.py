"""Flexion and abduction of every finger joint measured from 3D keypoints.

Why a measurement of its own: keypoints cannot say how much a bone is twisted about its own
axis, so the generating angles of ``skeleton.kinematics`` (Euler order Rz(abduction) Rx(-flexion)
Ry(twist)) are not recoverable from them; worse, that order is singular at 90 deg flexion (there
abduction spins the bone about itself), where a PIP joint spends a lot of time. The losses need
angles that are smooth functions of the keypoints everywhere a finger can go, so they are
measured in *swing* frames (Spurr et al., ECCV 2020), propagated along each finger:

* The frame of a finger's first joint is the kinematic model's rest frame of that finger,
  carried by the palm (built from the five unit root-bone directions, which are rigid in the
  model whatever the bone lengths).
* In a frame with columns (x flexion axis, y parent bone, z dorsal), a bone with unit direction
  d has abduction ``asin(-d_x)`` (its angle out of the flexion plane, towards radial positive)
  and flexion ``atan2(-d_z, d_y)`` (its angle within that plane, palmar positive; beyond 90 deg
  for a deeply bent PIP). Both are continuous for any abduction below 90 deg.
* The child's frame keeps the flexion axis as close to the parent's as possible: x is the
  parent's x made orthogonal to d (Gram-Schmidt), y = d, z = x cross y.

Left hands are mirrored (x negated) into right hands first, as ``forward_kinematics`` does, so
angles keep their anatomical meaning. ``derive_angle_limits`` turns the generating joint limits
into limits on these measured angles. Every function takes numpy arrays or torch tensors.
"""

from __future__ import annotations

import numpy as np
import torch

from handperception.skeleton.definition import FINGER_JOINTS, NUM_JOINTS, ROOT
from handperception.skeleton.kinematics import (
    JOINT_LIMITS,
    NUM_FINGERS,
    NUM_POSE_JOINTS,
    JointLimits,
    forward_kinematics,
    joint_rotations,
)

INDEX, MIDDLE, LITTLE = 1, 2, 4
_EPS = 1e-9


def _normalise(v, xp):
    return v / xp.sqrt((v * v).sum(-1, keepdims=True) + _EPS * _EPS)


def _cross(a, b, xp):
    return xp.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )


def _columns(x, y, z, xp):
    """Three (..., 3) axes -> (..., 3, 3) rotation with them as columns."""
    return xp.stack([x, y, z], axis=-1)


def local_angles(frame, direction, xp=torch):
    """(..., 3, 3) frame, (..., 3) unit bone direction -> (flexion, abduction), each (...)
    radians."""
    local = (frame.swapaxes(-1, -2) @ direction[..., None])[..., 0]
    abduction = xp.arcsin(xp.clip(-local[..., 0], -1.0 + 1e-7, 1.0 - 1e-7))
    flexion = xp.arctan2(-local[..., 2], local[..., 1])
    return flexion, abduction


def child_frame(frame, direction, xp=torch):
    """(..., 3, 3) parent frame, (..., 3) unit direction of the child bone -> child's swing
    frame."""
    x = frame[..., :, 0]
    x = _normalise(x - (x * direction).sum(-1, keepdims=True) * direction, xp)
    return _columns(x, direction, _cross(x, direction, xp), xp)


def palm_frame(root_directions, xp=torch):
    """(..., 5, 3) unit wrist->finger-base directions -> (..., 3, 3) palm frame.

    x towards the middle finger base, y towards the index side (index minus little direction,
    made orthogonal to x), z = x cross y. Uses directions only, so bone lengths do not move it.
    """
    x = root_directions[..., MIDDLE, :]
    across = root_directions[..., INDEX, :] - root_directions[..., LITTLE, :]
    y = _normalise(across - (across * x).sum(-1, keepdims=True) * x, xp)
    return _columns(x, y, _cross(x, y, xp), xp)


def _rest_frames_in_palm() -> np.ndarray:
    """(5, 3, 3) each finger's rest frame expressed in the palm frame of the kinematic model.

    Probed through forward_kinematics (mean hand, identity placement) rather than read from its
    private tables: y is the first articulated bone at zero pose, z is minus that bone after 90
    deg flexion of the base joint (Rx(-90 deg) maps +y to -z), x = y cross z.
    """
    zero = np.zeros((1, NUM_POSE_JOINTS, 3))
    flexed = zero.copy()
    flexed[0, 0::3, 0] = np.pi / 2
    rest, bent = forward_kinematics(zero)[0], forward_kinematics(flexed)[0]
    bases = [joints[0] for joints in FINGER_JOINTS]
    seconds = [joints[1] for joints in FINGER_JOINTS]
    y = _normalise(rest[seconds] - rest[bases], np)
    z = -_normalise(bent[seconds] - bent[bases], np)
    frames = _columns(_cross(y, z, np), y, z, np)
    palm = palm_frame(_normalise(rest[bases] - rest[ROOT], np), np)
    return palm.T[None] @ frames


REST_IN_PALM = _rest_frames_in_palm()


def canonical_right(joints, is_left=None, xp=torch):
    """(B, 21, 3) -> (B, 21, 3) with left hands (is_left (B,) bool) mirrored into right hands."""
    if is_left is None:
        return joints
    sign = 1.0 - 2.0 * (
        is_left.to(joints.dtype) if xp is torch else np.asarray(is_left, dtype=np.float64)
    )
    return xp.stack([joints[..., 0] * sign[:, None], joints[..., 1], joints[..., 2]], axis=-1)


def finger_angles(joints: torch.Tensor, is_left: torch.Tensor | None = None) -> torch.Tensor:
    """Measured (flexion, abduction) of the 15 finger joints.

    Args:
        joints: (B, 21, 3) keypoints, any unit, any frame (angles are scale and rotation free).
        is_left: (B,) bool; None = all right hands.
    Returns:
        (B, 15, 2) radians, joint ``3 * finger + level`` as in skeleton.kinematics.
    """
    if joints.ndim != 3 or tuple(joints.shape[1:]) != (NUM_JOINTS, 3):
        raise ValueError(f"joints must be (B, {NUM_JOINTS}, 3), got {tuple(joints.shape)}")
    joints = canonical_right(joints, is_left)
    bases = [chain[0] for chain in FINGER_JOINTS]
    palm = palm_frame(_normalise(joints[:, bases] - joints[:, ROOT : ROOT + 1], torch))
    rest = torch.as_tensor(REST_IN_PALM, dtype=joints.dtype, device=joints.device)
    angles = []
    for finger, chain in enumerate(FINGER_JOINTS):
        frame = palm @ rest[finger]
        for level in range(3):
            direction = _normalise(joints[:, chain[level + 1]] - joints[:, chain[level]], torch)
            angles.append(torch.stack(local_angles(frame, direction), dim=-1))
            frame = child_frame(frame, direction)
    return torch.stack(angles, dim=1)


def _ry(angle: np.ndarray) -> np.ndarray:
    zeros = np.zeros_like(angle)
    return joint_rotations(np.stack([zeros, zeros, angle], axis=-1))


def _measure_step(
    twist_in: np.ndarray, pose: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One joint seen from its swing frame, in that frame's coordinates.

    The generating frame of the parent bone is the swing frame turned by ``twist_in`` about the
    bone; the joint then applies the generating rotation of ``pose`` (N, 3) radians. Returns the
    measured flexion (N,), abduction (N,) and the twist of the child's generating frame about
    its swing frame (N,), the quantity that carries to the next joint.
    """
    generating = _ry(twist_in) @ joint_rotations(pose)
    direction = generating[..., :, 1]
    identity = np.broadcast_to(np.eye(3), generating.shape)
    flexion, abduction = local_angles(identity, direction, np)
    offset = child_frame(identity, direction, np).swapaxes(-1, -2) @ generating
    return flexion, abduction, np.arctan2(offset[..., 0, 2], offset[..., 0, 0])


def _grid(lower: np.ndarray, upper: np.ndarray, points: int) -> np.ndarray:
    """(M, 4) all combinations over (incoming twist, flexion, abduction, twist).

    `points` values per dimension (one where the range is empty), plus 90 deg flexion when it
    is inside, where the generating angles change character.
    """
    axes = [np.linspace(lo, hi, points if hi > lo else 1) for lo, hi in zip(lower, upper)]
    if lower[1] < np.pi / 2 < upper[1]:
        axes[1] = np.sort(np.append(axes[1], np.pi / 2))
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))


def derive_angle_limits(
    limits: JointLimits = JOINT_LIMITS, points: int = 11, margin_deg: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Limits of the measured (flexion, abduction) implied by the generating joint limits.

    The twist a swing frame cannot see accumulates along a finger (a parent's twist and its
    abduction taken at high flexion both turn the child's flexion plane), so the measured range
    of a distal joint is wider than its generating range. Interval propagation per finger: for
    each joint, evaluate ``_measure_step`` on a grid over (incoming twist range, flexion,
    abduction, twist limits), take the extremes of the measured angles and of the outgoing
    twist, and pad every extreme by margin_deg (covers the grid's spacing).

    Returns:
        lower, upper: (15, 2) radians, (flexion, abduction) per joint.
    """
    if points < 2 or margin_deg < 0:
        raise ValueError(f"need points >= 2 and margin_deg >= 0, got {points}, {margin_deg}")
    margin = np.radians(margin_deg)
    lower, upper = np.zeros((NUM_POSE_JOINTS, 2)), np.zeros((NUM_POSE_JOINTS, 2))
    for finger in range(NUM_FINGERS):
        twist_range = (0.0, 0.0)
        for level in range(3):
            joint = 3 * finger + level
            grid = _grid(
                np.concatenate([[twist_range[0]], limits.lower[joint]]),
                np.concatenate([[twist_range[1]], limits.upper[joint]]),
                points,
            )
            flexion, abduction, twist = _measure_step(grid[:, 0], grid[:, 1:])
            measured = np.stack([flexion, abduction], axis=-1)
            lower[joint], upper[joint] = measured.min(0) - margin, measured.max(0) + margin
            twist_range = (twist.min() - margin, twist.max() + margin)
    return lower, upper

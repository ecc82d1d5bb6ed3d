"""The joint orders of the real datasets, as index tables into the project's order.

Why tables built from names: a hand-typed permutation that swaps two fingers still "works" and
silently costs millimetres. Each dataset's order is written as the project's joint names
(``handperception.skeleton.JOINT_NAMES``) in the dataset's sequence, and the table is derived
from it; ``to_project_order(joints, TABLE)`` then gives ``joints[..., TABLE, :]``.

- FreiHAND: already the project order (it is the FreiHAND / MANO-21 order).
- HO-3D (v2, v3): MANO's 16 kinematic joints (wrist, index, middle, little, ring, thumb; each
  base to distal) followed by the five tips (thumb, index, middle, ring, little).
- InterHand2.6M: per hand, each finger (thumb, index, middle, ring, little) from tip to base,
  then the wrist last; right hand 0-20, left hand 21-41.
"""

from __future__ import annotations

import numpy as np

from handperception.skeleton import FINGER_JOINTS, FINGER_NAMES, JOINT_NAMES


def _finger(name: str) -> tuple[str, ...]:
    """A finger's four joint names in the project's order (base to tip)."""
    return tuple(JOINT_NAMES[j] for j in FINGER_JOINTS[FINGER_NAMES.index(name)])


def _table(dataset_order: tuple[str, ...]) -> tuple[int, ...]:
    """For each project joint, its index in ``dataset_order``."""
    if sorted(dataset_order) != sorted(JOINT_NAMES):
        raise ValueError("a dataset order must name each project joint exactly once")
    return tuple(dataset_order.index(name) for name in JOINT_NAMES)


HO3D_ORDER: tuple[str, ...] = (
    ("wrist",)
    + tuple(
        joint
        for finger in ("index", "middle", "little", "ring", "thumb")
        for joint in _finger(finger)[:3]
    )
    + tuple(_finger(finger)[3] for finger in ("thumb", "index", "middle", "ring", "little"))
)
INTERHAND_HAND_ORDER: tuple[str, ...] = tuple(
    joint for finger in FINGER_NAMES for joint in reversed(_finger(finger))
) + ("wrist",)

HO3D_TO_PROJECT: tuple[int, ...] = _table(HO3D_ORDER)
INTERHAND_TO_PROJECT: tuple[int, ...] = _table(INTERHAND_HAND_ORDER)
INTERHAND_HAND_JOINTS = len(INTERHAND_HAND_ORDER)  # 21 per hand; right 0-20, left 21-41


def to_project_order(joints: np.ndarray, table: tuple[int, ...]) -> np.ndarray:
    """(..., 21, C) in a dataset's order -> (..., 21, C) in the project's order."""
    joints = np.asarray(joints)
    if joints.ndim < 2 or joints.shape[-2] != len(table):
        raise ValueError(f"joints must have shape (..., {len(table)}, C), got {joints.shape}")
    return joints[..., list(table), :]

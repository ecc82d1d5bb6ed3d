"""Local frames attached to the hand skeleton."""
from __future__ import annotations

import numpy as np

from handperception.skeleton.definition import FINGER_JOINTS, ROOT

MIDDLE_MCP = FINGER_JOINTS[2][0]
INDEX_MCP = FINGER_JOINTS[1][0]
LITTLE_MCP = FINGER_JOINTS[4][0]


def wrist_frame(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation (3, 3) with columns x, y, z and origin (3,) of the wrist frame of (21, 3) joints.

    x towards the middle MCP, y towards the index side (little MCP -> index MCP made orthogonal
    to x), z = x cross y; the same definition as handperception_msgs/Hand.wrist_pose.
    Raises ValueError for a degenerate palm (coincident or collinear palm joints).
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.shape != (21, 3) or not np.all(np.isfinite(joints)):
        raise ValueError(f"wrist_frame needs finite (21, 3) joints, got shape {joints.shape}")
    x = joints[MIDDLE_MCP] - joints[ROOT]
    across = joints[INDEX_MCP] - joints[LITTLE_MCP]
    x_norm = np.linalg.norm(x)
    if x_norm < 1e-9:
        raise ValueError("degenerate palm: wrist and middle MCP coincide")
    x = x / x_norm
    y = across - np.dot(across, x) * x
    y_norm = np.linalg.norm(y)
    if y_norm < 1e-9:
        raise ValueError("degenerate palm: index and little MCPs lie on the wrist-middle line")
    y = y / y_norm
    return np.stack([x, y, np.cross(x, y)], axis=1), joints[ROOT].copy()


def chirality(joints: np.ndarray) -> float:
    """Signed curl of the fingers along the wrist frame's z, metres: > 0 a left hand, < 0 a right.

    Why it works: z = x cross y is the back-of-hand normal of a right hand and the palm normal
    of a left one (mirroring flips the frame's handedness), and fingers and thumb curl towards
    the palm. A crop alone hardly tells a right hand's back from a left hand's palm, but the 3D
    pose does, whenever the fingers are not dead straight. Raises ValueError like wrist_frame.
    """
    rotation, _ = wrist_frame(joints)
    normal = rotation[:, 2]
    fingers = [np.dot(joints[f[-1]] - joints[f[0]], normal) for f in FINGER_JOINTS[1:]]
    thumb = np.dot(joints[FINGER_JOINTS[0][-1]] - joints[FINGER_JOINTS[0][0]], normal)
    return float(np.mean(fingers) + 0.5 * thumb)

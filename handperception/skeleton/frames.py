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

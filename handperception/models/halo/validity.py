"""Which keypoints HALO can mesh, and why not the others.

Why a gate before meshing: HALO's part frames (``models.halo.frames``) need a palm that spans a
plane and bones that have a direction; NaN keypoints, a bone of zero length, a palm whose index
and little knuckles lie on the wrist-middle line, or a finger folded straight back onto itself
would give frames that are NaN or jump with the smallest noise, and a hand of two metres would
ask the network about sizes it never saw. Each case gets one short reason, which the mesh node
counts its drops by; nothing downstream ever sees a NaN.
"""

from __future__ import annotations

import numpy as np

from handperception.skeleton.definition import BONES, NUM_JOINTS, ROOT
from handperception.skeleton.frames import INDEX_MCP, LITTLE_MCP, MIDDLE_MCP
from handperception.skeleton.kinematics import MEAN_BONE_LENGTHS

REASONS = ("non_finite_keypoints", "degenerate_bones", "implausible_scale")
# A hand's size relative to the mean adult hand (total bone length) must lie in this range.
SCALE_RANGE = (0.4, 2.5)
# A bone shorter than this fraction of its mean length (times the hand's scale) has no reliable
# direction.
MIN_BONE_RATIO = 0.2
# The palm's width direction (little -> index MCP) must make at least this angle with the
# wrist -> middle MCP line (the mean hand: ~75 deg).
MIN_PALM_ANGLE_DEG = 10.0
# Two consecutive bones may turn by at most this much (a PIP flexes up to ~110 deg; 180 deg,
# folded back, is where a bone frame is undefined).
MAX_BEND_DEG = 150.0


def hand_keypoint_problem(keypoints) -> str | None:
    """None when HALO can mesh the hand with these (21, 3) keypoints (metres, any frame), else
    one of REASONS. A wrong shape is a programming error: ValueError."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.shape != (NUM_JOINTS, 3):
        raise ValueError(f"keypoints must be (21, 3) metres, got shape {keypoints.shape}")
    if not np.all(np.isfinite(keypoints)):
        return "non_finite_keypoints"
    parents = [parent for parent, _ in BONES]
    children = [child for _, child in BONES]
    vectors = keypoints[children] - keypoints[parents]
    lengths = np.linalg.norm(vectors, axis=1)
    scale = lengths.sum() / MEAN_BONE_LENGTHS.sum()
    if not np.all(lengths > MIN_BONE_RATIO * MEAN_BONE_LENGTHS * scale) or scale <= 0:
        return "degenerate_bones"
    if _palm_angle_deg(keypoints) < MIN_PALM_ANGLE_DEG or _max_bend_deg(vectors) > MAX_BEND_DEG:
        return "degenerate_bones"  # collinear palm, or a bone folded back: no stable frame
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        return "implausible_scale"
    return None


def _palm_angle_deg(keypoints: np.ndarray) -> float:
    """Angle between wrist -> middle MCP and little -> index MCP, folded into 0..90 deg."""
    forward = keypoints[MIDDLE_MCP] - keypoints[ROOT]
    across = keypoints[INDEX_MCP] - keypoints[LITTLE_MCP]
    sine = np.linalg.norm(np.cross(forward, across)) / (
        np.linalg.norm(forward) * np.linalg.norm(across) + 1e-300
    )
    return float(np.degrees(np.arcsin(np.clip(sine, 0.0, 1.0))))


def _max_bend_deg(vectors: np.ndarray) -> float:
    """The largest turn between a bone and its parent bone; a palm bone (wrist -> base) turns
    from the wrist -> middle MCP line, where its frame's swing starts."""
    units = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    child_of = {child: index for index, (_, child) in enumerate(BONES)}
    forward = units[child_of[MIDDLE_MCP]]
    cosines = [
        (forward if parent == ROOT else units[child_of[parent]]) @ units[index]
        for index, (parent, _) in enumerate(BONES)
    ]
    return float(np.degrees(np.arccos(np.clip(min(cosines), -1.0, 1.0))))

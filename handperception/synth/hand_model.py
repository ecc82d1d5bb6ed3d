"""The hand's surface as capsules, and the part-segmentation label set.

Why capsules: a capsule (all points within r of a segment) has a closed-form signed distance,
so grasp synthesis (``synth.hand_surface``, ``synth.grasps``) can test contact and penetration
cheaply, and a chain of overlapping capsules with tapering radii is a closed solid built from
the keypoints alone. The palm is a fan of metacarpal capsules plus transverse ones at the
knuckles and the wrist, dense enough to leave no holes. The renderer draws the real hand mesh
(``synth.hand_mesh``); its skin layout (``synth.skin``) and crop framing (``joint_radii``) still
use these segments.

Segmentation labels: ``skeleton.parts`` (re-exported here for the renderer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.skeleton.definition import FINGER_JOINTS, ROOT
from handperception.skeleton.parts import finger_label, palm_label

# Radii (m, mean hand) of the articulated bones, base to tip, thumb..little.
_PHALANX_RADII = np.array(
    [
        [0.0125, 0.0105, 0.0095],
        [0.0095, 0.0086, 0.0076],
        [0.0098, 0.0089, 0.0078],
        [0.0092, 0.0083, 0.0074],
        [0.0082, 0.0073, 0.0066],
    ]
)
_METACARPAL_RADIUS = 0.0130
_KNUCKLE_RADIUS = 0.0110
_PALM_RODS = 6
_WRIST_RADIUS = 0.0140
_THENAR_RADIUS = 0.0130


@dataclass(frozen=True)
class Capsules:
    """C capsules: segment ends a, b (C, 3) metres, radius (C,) metres, label (C,) uint8."""

    a: np.ndarray
    b: np.ndarray
    radius: np.ndarray
    label: np.ndarray

    @staticmethod
    def concatenate(parts: list["Capsules"]) -> "Capsules":
        return Capsules(
            np.concatenate([p.a for p in parts]),
            np.concatenate([p.b for p in parts]),
            np.concatenate([p.radius for p in parts]),
            np.concatenate([p.label for p in parts]),
        )


def hand_capsules(keypoints: np.ndarray, scale: float, is_left: bool) -> Capsules:
    """Capsules of one hand from its (21, 3) keypoints (metres, any frame) and shape scale.

    Built from the keypoints alone (no hand frame needed), so it works for mirrored hands and for
    keypoints that did not come from forward kinematics.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.shape != (21, 3):
        raise ValueError(f"keypoints must be (21, 3), got {keypoints.shape}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    wrist = keypoints[ROOT]
    starts, ends, radii, labels = [], [], [], []
    for finger, joints in enumerate(FINGER_JOINTS):
        for level in range(3):
            starts.append(keypoints[joints[level]])
            ends.append(keypoints[joints[level + 1]])
            radii.append(_PHALANX_RADII[finger, level] * scale)
            labels.append(finger_label(is_left, finger))
    palm = palm_label(is_left)
    mcps = keypoints[[joints[0] for joints in FINGER_JOINTS[1:]]]
    # Metacarpals converge towards the carpus but the wrist stays about 5 cm wide.
    carpals = wrist + 0.5 * (mcps - mcps[1]) + 0.05 * (mcps - wrist)
    # A dense fan of thick, heavily overlapping rods between the knuckle line and the carpal
    # line: their grooves are ~1.5 mm deep, so the palm reads as one smooth slab.
    knuckle_line, carpal_line = (
        _polyline_samples(mcps, _PALM_RODS),
        _polyline_samples(carpals, _PALM_RODS),
    )
    starts += list(carpal_line)
    ends += list(knuckle_line)
    radii += [_METACARPAL_RADIUS * scale] * _PALM_RODS
    starts += [mcps[0], carpals[0]]
    ends += [mcps[-1], carpals[-1]]
    radii += [_KNUCKLE_RADIUS * scale, _WRIST_RADIUS * scale]
    thumb_mcp = keypoints[FINGER_JOINTS[0][1]]
    starts.append(carpals[0])
    ends.append(0.6 * thumb_mcp + 0.4 * keypoints[FINGER_JOINTS[0][0]])
    radii.append(_THENAR_RADIUS * scale)
    labels += [palm] * (len(starts) - len(labels))
    return Capsules(
        np.array(starts), np.array(ends), np.array(radii), np.array(labels, dtype=np.uint8)
    )


def _polyline_samples(points: np.ndarray, count: int) -> np.ndarray:
    """(count, 3) points evenly spaced by arc length along the polyline through `points` (P, 3)."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    targets = np.linspace(0.0, arc[-1], count)
    return np.stack([np.interp(targets, arc, points[:, axis]) for axis in range(3)], axis=1)


def joint_radii(scale: float) -> np.ndarray:
    """(21,) metres: the thickest capsule radius around each keypoint (how deep it sits in the
    skin).

    Used for visibility: a joint is occluded only by surface nearer than its own skin.
    """
    radii = np.empty(21)
    radii[ROOT] = _WRIST_RADIUS
    for finger, joints in enumerate(FINGER_JOINTS):
        base_neighbour = _THENAR_RADIUS if finger == 0 else _METACARPAL_RADIUS
        radii[joints[0]] = max(_PHALANX_RADII[finger, 0], base_neighbour)
        # Radii taper distally, so the proximal capsule at each later joint is the thicker one.
        radii[list(joints[1:])] = _PHALANX_RADII[finger]
    return radii * scale

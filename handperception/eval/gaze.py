"""Gaze angular error, from 3D direction vectors or from MPIIGaze pitch/yaw angles.

Why both: gaze networks commonly regress (pitch, yaw) while geometric eye models produce
vectors; the reported number is always the angle between predicted and true gaze directions.
MPIIGaze convention (camera frame, x right, y down, z forward, gaze pointing away from the eye
towards the camera is -z): ``pitch = arcsin(-y)``, ``yaw = arctan2(-x, -z)`` for a unit vector,
so (0, 0) looks straight into the camera.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from handperception.eval._arrays import float_array


def pitchyaw_to_vector(pitchyaw: Any) -> np.ndarray:
    """(N, 2) [pitch, yaw] radians -> (N, 3) unit gaze vectors in the camera frame."""
    angles = float_array(pitchyaw, "pitchyaw", (None, 2))
    pitch, yaw = angles[:, 0], angles[:, 1]
    return np.stack([-np.cos(pitch) * np.sin(yaw), -np.sin(pitch), -np.cos(pitch) * np.cos(yaw)], axis=1)


def vector_to_pitchyaw(vectors: Any) -> np.ndarray:
    """(N, 3) gaze vectors (any non-zero length) -> (N, 2) [pitch, yaw] radians."""
    unit = _unit_vectors(vectors, "vectors")
    return np.stack([np.arcsin(np.clip(-unit[:, 1], -1.0, 1.0)), np.arctan2(-unit[:, 0], -unit[:, 2])], axis=1)


def angular_error_deg(pred_vectors: Any, gt_vectors: Any) -> np.ndarray:
    """(N,) angle in degrees between (N, 3) predicted and ground-truth gaze vectors (any length)."""
    pred = _unit_vectors(pred_vectors, "pred_vectors")
    gt = _unit_vectors(gt_vectors, "gt_vectors")
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt gaze shapes differ: {pred.shape} vs {gt.shape}")
    # atan2(|a x b|, a . b) stays accurate for tiny angles, where arccos(dot) loses digits.
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(pred, gt), axis=1), np.sum(pred * gt, axis=1)))


def angular_error_pitchyaw_deg(pred_pitchyaw: Any, gt_pitchyaw: Any) -> np.ndarray:
    """(N,) angular error in degrees between (N, 2) [pitch, yaw] radian predictions and ground truth."""
    return angular_error_deg(pitchyaw_to_vector(pred_pitchyaw), pitchyaw_to_vector(gt_pitchyaw))


def _unit_vectors(vectors: Any, name: str) -> np.ndarray:
    v = float_array(vectors, name, (None, 3))
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    if np.any(norms <= 1e-12):
        raise ValueError(f"{name} contains zero-length vectors; a direction is undefined")
    return v / norms

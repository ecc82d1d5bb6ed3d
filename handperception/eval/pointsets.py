"""F-score between two point sets (Tatarchenko et al., CVPR 2019; FreiHAND's mesh metric).

Why: vertex errors need a one-to-one correspondence, which reconstructions of different topology
(meshes, point clouds, SDF surfaces) do not have. The F-score at a distance threshold only asks
how much of each set lies near the other: precision penalises spurious predicted points, recall
missing parts. The hand literature reports it at 5 mm and 15 mm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from handperception.validation import float_array


@dataclass(frozen=True)
class FScore:
    """Precision, recall and their harmonic mean at one threshold, each in [0, 1]."""

    threshold: float
    precision: float
    recall: float
    fscore: float


def fscore(pred_points: Any, gt_points: Any, threshold: float) -> FScore:
    """F-score of ``pred_points`` against ``gt_points`` at a distance threshold.

    Args:
        pred_points: (P, 3) predicted surface points, any length unit.
        gt_points: (G, 3) ground-truth surface points, same unit.
        threshold: distance (same unit) under which a point counts as matched; e.g. 0.005 and
            0.015 for the literature's 5 mm and 15 mm when points are in metres.
    Returns:
        precision = fraction of predicted points whose nearest ground-truth point is within
        ``threshold`` (inclusive), recall = the converse, fscore = 2PR / (P + R) (0 when both
        are 0).
    """
    pred = float_array(pred_points, "pred_points", (None, 3))
    gt = float_array(gt_points, "gt_points", (None, 3))
    if pred.shape[0] == 0 or gt.shape[0] == 0:
        raise ValueError(
            f"F-score needs non-empty point sets, got {pred.shape[0]} predicted and "
            f"{gt.shape[0]} ground-truth points"
        )
    if not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"F-score threshold must be finite and > 0, got {threshold}")
    pred_to_gt, _ = cKDTree(gt).query(pred, k=1)
    gt_to_pred, _ = cKDTree(pred).query(gt, k=1)
    precision = float(np.mean(pred_to_gt <= threshold))
    recall = float(np.mean(gt_to_pred <= threshold))
    total = precision + recall
    score = 2.0 * precision * recall / total if total > 0 else 0.0
    return FScore(threshold=float(threshold), precision=precision, recall=recall, fscore=score)

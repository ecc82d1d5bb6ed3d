"""Hand-part segmentation scores: confusion matrix and mean IoU.

Why a confusion matrix: per-image IoUs averaged over a dataset over-weight small or empty images;
summing confusion matrices over the dataset first and computing IoU once is the standard
(PASCAL VOC / Cityscapes) way and lets evaluation stream over images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from handperception.validation import to_numpy


def confusion_matrix(
    pred: Any, gt: Any, num_classes: int, ignore_index: int | None = None
) -> np.ndarray:
    """(C, C) int64 counts, rows = ground-truth class, columns = predicted class.

    Args:
        pred, gt: integer label maps of the same shape (e.g. (H, W) or (N, H, W)).
        num_classes: C, labels must lie in 0..C-1.
        ignore_index: a ground-truth label (e.g. 255 for unlabelled pixels) whose pixels are
            skipped; predictions there do not count at all.
    """
    if int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes}")
    p, g = to_numpy(pred), to_numpy(gt)
    if p.shape != g.shape:
        raise ValueError(f"pred and gt label maps differ in shape: {p.shape} vs {g.shape}")
    for array, name in ((p, "pred"), (g, "gt")):
        if array.dtype.kind not in "iub":
            raise ValueError(f"{name} labels must be integers, got dtype {array.dtype}")
    p = p.astype(np.int64).ravel()
    g = g.astype(np.int64).ravel()
    if ignore_index is not None:
        keep = g != ignore_index
        p, g = p[keep], g[keep]
    for array, name in ((p, "pred"), (g, "gt")):
        if array.size and (array.min() < 0 or array.max() >= num_classes):
            raise ValueError(
                f"{name} has labels outside 0..{num_classes - 1} (and not the ignore index)"
            )
    counts = np.bincount(g * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


@dataclass(frozen=True)
class SegmentationScores:
    """IoU per class (NaN for classes in neither prediction nor ground truth) and their mean."""

    per_class_iou: np.ndarray
    miou: float


def iou_from_confusion(confusion: Any) -> SegmentationScores:
    """Per-class IoU = TP / (TP + FP + FN); mIoU averages the classes present in pred or gt.

    Classes absent from both are left out of the mean rather than counted as 0 or 1, so a
    test set without, say, any visible little finger neither rewards nor punishes a model.
    """
    conf = to_numpy(confusion).astype(np.float64)
    if conf.ndim != 2 or conf.shape[0] != conf.shape[1]:
        raise ValueError(f"confusion matrix must be square (C, C), got {conf.shape}")
    if not np.all(np.isfinite(conf)) or np.any(conf < 0):
        raise ValueError("confusion matrix must hold finite non-negative counts")
    true_positive = np.diag(conf)
    union = conf.sum(axis=0) + conf.sum(axis=1) - true_positive
    present = union > 0
    if not present.any():
        raise ValueError("confusion matrix is empty: no labelled pixels to score")
    iou = np.full(conf.shape[0], np.nan)
    iou[present] = true_positive[present] / union[present]
    return SegmentationScores(per_class_iou=iou, miou=float(iou[present].mean()))


def mean_iou(
    pred: Any, gt: Any, num_classes: int, ignore_index: int | None = None
) -> SegmentationScores:
    """IoU scores of one label map (or a stacked batch); see ``confusion_matrix`` for arguments."""
    return iou_from_confusion(confusion_matrix(pred, gt, num_classes, ignore_index))

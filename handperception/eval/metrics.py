"""Keypoint metrics of the 3D hand pose literature: MPJPE variants, PCK/AUC, MRRPE, handedness.

Why one module: every model, split and claim must be scored by the *same* code, or numbers in
the HANDS'19-style report would not be comparable. Conventions:

* Inputs are numpy arrays or torch tensors; (J, D) single poses are treated as a batch of one.
* Errors come out in the unit of the inputs (metres in, metres out); ``report.evaluate_keypoints``
  is the place that converts to millimetres for reporting.
* Every keypoint metric takes an optional (N, J) validity mask (e.g. joints annotated as
  visible); averages are pooled over all valid (sample, joint) pairs, so a sample with few valid
  joints weighs less than a complete one. NaNs in inputs raise ValueError: mark missing joints
  with the mask instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from handperception.eval._arrays import joint_mask, masked_mean, point_batches
from handperception.eval.procrustes import MIN_ALIGNMENT_POINTS, procrustes_align
from handperception.skeleton import ROOT
from handperception.validation import float_array, to_numpy

ALIGNMENTS = ("none", "root", "procrustes")


def keypoint_errors(
    pred: Any, gt: Any, mask: Any = None, alignment: str = "none"
) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint Euclidean errors after an optional alignment, with the mask they are valid under.

    Args:
        pred: (N, J, D) or (J, D) predicted keypoints, D = 2 (pixels) or 3 (any length unit).
        gt: same shape and unit.
        mask: optional (N, J) or (J,) booleans, True where the ground-truth joint is valid.
        alignment: ``"none"`` (absolute error), ``"root"`` (both poses translated so joint 0,
            the wrist, is at the origin; samples whose root is invalid become invalid) or
            ``"procrustes"`` (prediction similarity-aligned to the ground truth on the valid
            joints; samples with fewer than 3 valid joints become invalid; 3D only).
    Returns:
        errors: (N, J) distances in the input unit (entries that are invalid hold finite junk).
        valid: (N, J) booleans; average ``errors[valid]``.
    """
    if alignment not in ALIGNMENTS:
        raise ValueError(f"unknown alignment {alignment!r}; choose one of {ALIGNMENTS}")
    pred_a, gt_a = point_batches(pred, gt, dims=(2, 3))
    valid = joint_mask(mask, pred_a.shape[:2])
    if alignment == "root":
        pred_a = pred_a - pred_a[:, ROOT : ROOT + 1]
        gt_a = gt_a - gt_a[:, ROOT : ROOT + 1]
        valid = valid & valid[:, ROOT : ROOT + 1]
    elif alignment == "procrustes":
        if pred_a.shape[-1] != 3:
            raise ValueError("Procrustes alignment needs 3D keypoints")
        alignable = valid.sum(axis=1) >= MIN_ALIGNMENT_POINTS
        valid = valid & alignable[:, None]
        if alignable.any():
            transform = procrustes_align(pred_a[alignable], gt_a[alignable], valid[alignable])
            pred_a = pred_a.copy()
            pred_a[alignable] = transform.apply(pred_a[alignable])
    errors = np.linalg.norm(pred_a - gt_a, axis=-1)
    return errors, valid


def mpjpe(pred: Any, gt: Any, mask: Any = None) -> float:
    """Mean per-joint position error (EPE), no alignment; unit of the inputs. Shapes as
    ``keypoint_errors``."""
    errors, valid = keypoint_errors(pred, gt, mask, "none")
    return masked_mean(errors, valid, "MPJPE")


def root_relative_mpjpe(pred: Any, gt: Any, mask: Any = None) -> float:
    """MPJPE after subtracting joint 0 (wrist) from both poses; unit of the inputs."""
    errors, valid = keypoint_errors(pred, gt, mask, "root")
    return masked_mean(errors, valid, "root-relative MPJPE")


def pa_mpjpe(pred: Any, gt: Any, mask: Any = None) -> float:
    """MPJPE after Procrustes alignment with scale (no reflections); unit of the inputs."""
    errors, valid = keypoint_errors(pred, gt, mask, "procrustes")
    return masked_mean(errors, valid, "PA-MPJPE")


def per_joint_errors(pred: Any, gt: Any, mask: Any = None, alignment: str = "none") -> np.ndarray:
    """(J,) mean error of each joint over the samples where it is valid; NaN for a never-valid
    joint."""
    errors, valid = keypoint_errors(pred, gt, mask, alignment)
    counts = valid.sum(axis=0)
    sums = np.where(valid, errors, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


@dataclass(frozen=True)
class PCKCurve:
    """Percentage of correct keypoints as a function of the error threshold.

    Attributes:
        thresholds: (T,) increasing thresholds, in the unit of the errors (mm or px).
        values: (T,) fraction in [0, 1] of valid keypoints with error <= threshold.
        auc: trapezoidal area under ``values`` over the thresholds divided by the threshold
            range, so it lies in [0, 1] (1 = every error at or below the lowest threshold).
    """

    thresholds: np.ndarray
    values: np.ndarray
    auc: float

    def to_dict(self) -> dict:
        return {
            "thresholds": self.thresholds.tolist(),
            "values": self.values.tolist(),
            "auc": self.auc,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "PCKCurve":
        thresholds = np.asarray(data["thresholds"], dtype=np.float64)
        return cls(thresholds, np.asarray(data["values"], dtype=np.float64), float(data["auc"]))


def _valid_errors(errors: Any, valid: Any) -> np.ndarray:
    """The 1D array of errors selected by ``valid`` (all if None); must be non-negative and
    non-empty."""
    e = float_array(errors, "errors")
    if valid is None:
        selected = e.ravel()
    else:
        v = to_numpy(valid)
        if v.shape != e.shape:
            raise ValueError(f"valid mask shape {v.shape} differs from errors shape {e.shape}")
        selected = e[v.astype(bool)]
    if selected.size == 0:
        raise ValueError("no valid errors to compute PCK from")
    if np.any(selected < 0):
        raise ValueError("errors must be non-negative distances")
    return selected


def pck(errors: Any, threshold: float, valid: Any = None) -> float:
    """Fraction of valid errors ``<= threshold`` (same unit as ``errors``), in [0, 1]."""
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"PCK threshold must be finite and >= 0, got {threshold}")
    return float(np.mean(_valid_errors(errors, valid) <= threshold))


def pck_curve(
    errors: Any, low: float, high: float, steps: int = 100, valid: Any = None
) -> PCKCurve:
    """PCK at ``steps`` thresholds ``np.linspace(low, high, steps)`` (both ends included) and
    its AUC.

    The 3D hand literature reports two conventions, both with 100 evenly spaced thresholds:
    0-50 mm (FreiHAND and most recent work) and 20-50 mm (Zimmermann & Brox 2017 on RHD/STB).
    The AUC is the trapezoidal integral divided by ``high - low``; e.g. every error at 10 mm
    over 0-50 mm with 100 steps gives (79 + 0.5) / 99 = 0.803 (the continuous limit is 0.8).

    Args:
        errors: any-shape array of distances (e.g. (N, J) in mm).
        low, high: threshold range in the unit of ``errors``; ``0 <= low < high``.
        steps: number of thresholds, >= 2.
        valid: optional booleans of the same shape as ``errors``.
    """
    if not (np.isfinite(low) and np.isfinite(high) and 0 <= low < high):
        raise ValueError(f"PCK threshold range must satisfy 0 <= low < high, got [{low}, {high}]")
    if int(steps) != steps or steps < 2:
        raise ValueError(f"PCK curve needs an integer steps >= 2, got {steps}")
    selected = np.sort(_valid_errors(errors, valid))
    thresholds = np.linspace(low, high, int(steps))
    values = np.searchsorted(selected, thresholds, side="right") / selected.size
    area = float(np.sum((values[1:] + values[:-1]) * np.diff(thresholds)) / 2.0)
    return PCKCurve(thresholds=thresholds, values=values, auc=area / (high - low))


def pck_2d(pred_2d: Any, gt_2d: Any, threshold_px: float, mask: Any = None) -> float:
    """2D PCK: fraction of valid keypoints within ``threshold_px`` pixels.

    Args:
        pred_2d, gt_2d: (N, J, 2) or (J, 2) pixel coordinates.
        threshold_px: distance threshold in pixels.
        mask: optional (N, J) or (J,) validity.
    """
    pred_a, gt_a = point_batches(pred_2d, gt_2d, dims=(2,))
    errors, valid = keypoint_errors(pred_a, gt_a, mask, "none")
    return pck(errors, threshold_px, valid)


def mrrpe(
    pred_right_root: Any,
    pred_left_root: Any,
    gt_right_root: Any,
    gt_left_root: Any,
    valid: Any = None,
) -> float:
    """Mean relative-root position error for two hands (InterHand2.6M).

    The error of the left root's position relative to the right root:
    ``|| (pred_left - pred_right) - (gt_left - gt_right) ||``, averaged over valid samples. It
    measures whether the two hands are placed correctly with respect to each other, which
    root-relative MPJPE of each hand alone cannot see.

    Args:
        pred_right_root, pred_left_root, gt_right_root, gt_left_root: (N, 3) root (wrist)
            positions, same unit (the result is in it).
        valid: optional (N,) booleans, True where both hands are annotated.
    """
    arrays = [
        float_array(a, name, (None, 3))
        for a, name in (
            (pred_right_root, "pred_right_root"),
            (pred_left_root, "pred_left_root"),
            (gt_right_root, "gt_right_root"),
            (gt_left_root, "gt_left_root"),
        )
    ]
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        raise ValueError(
            "MRRPE inputs must all have the same number of samples, "
            f"got {[a.shape[0] for a in arrays]}"
        )
    pr, pl, gr, gl = arrays
    errors = np.linalg.norm((pl - pr) - (gl - gr), axis=-1)
    v = np.ones(n, dtype=bool) if valid is None else to_numpy(valid).astype(bool)
    if v.shape != (n,):
        raise ValueError(f"valid must have shape ({n},), got {v.shape}")
    return masked_mean(errors, v, "MRRPE")


def handedness_accuracy(pred: Any, gt: Any, valid: Any = None) -> float:
    """Fraction of samples whose predicted handedness label equals the ground truth.

    Args:
        pred, gt: (N,) labels of any comparable kind (0/1, booleans or "left"/"right").
        valid: optional (N,) booleans selecting the samples to score.
    """
    p = to_numpy(pred)
    g = to_numpy(gt)
    if p.ndim != 1 or p.shape != g.shape:
        raise ValueError(
            f"handedness pred and gt must be equal-length 1D arrays, got {p.shape} and {g.shape}"
        )
    for array, name in ((p, "pred"), (g, "gt")):
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ValueError(f"handedness {name} contains NaN or infinite values")
    v = np.ones(p.shape, dtype=bool) if valid is None else to_numpy(valid).astype(bool)
    if v.shape != p.shape:
        raise ValueError(f"valid must have shape {p.shape}, got {v.shape}")
    return masked_mean((p == g).astype(np.float64), v, "handedness accuracy")

"""The metrics' own input rules (prediction/ground-truth batches, joint masks, masked means),
on top of the package's array checks in ``handperception.validation``."""

from __future__ import annotations

from typing import Any

import numpy as np

from handperception.validation import check_shape, float_array, to_numpy


def point_batches(
    pred: Any, gt: Any, dims: tuple[int, ...] = (3,)
) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and ground truth as matching (N, J, D) float arrays.

    A single pose (J, D) is promoted to a batch of one so callers can score one frame directly.
    """
    pred_a = to_numpy(pred)
    gt_a = to_numpy(gt)
    if pred_a.ndim == 2:
        pred_a = pred_a[None]
    if gt_a.ndim == 2:
        gt_a = gt_a[None]
    pred_a = float_array(pred_a, "pred", (None, None, None))
    gt_a = float_array(gt_a, "gt", (None, None, None))
    if pred_a.shape != gt_a.shape:
        raise ValueError(f"pred and gt shapes differ: {pred_a.shape} vs {gt_a.shape}")
    if pred_a.shape[-1] not in dims:
        raise ValueError(
            f"points must have {' or '.join(map(str, dims))} coordinates, got {pred_a.shape[-1]}"
        )
    if pred_a.shape[0] == 0 or pred_a.shape[1] == 0:
        raise ValueError(f"pred and gt are empty: shape {pred_a.shape}")
    return pred_a, gt_a


def joint_mask(mask: Any, shape: tuple[int, int]) -> np.ndarray:
    """The (N, J) boolean validity mask; all True when ``mask`` is None.

    A (J,) mask is broadcast to every sample. Non-boolean masks must hold only 0 and 1, so a
    confidence map passed by mistake is caught instead of being truncated.
    """
    if mask is None:
        return np.ones(shape, dtype=bool)
    m = to_numpy(mask)
    if m.ndim == 1:
        check_shape(m, "mask", shape[1:])
        m = np.broadcast_to(m, shape)
    check_shape(m, "mask", shape)
    if m.dtype != bool:
        if not np.all(np.isin(m, (0, 1))):
            raise ValueError("mask must be boolean or hold only 0 and 1")
        m = m.astype(bool)
    return np.array(m, dtype=bool)


def masked_mean(values: np.ndarray, mask: np.ndarray, what: str) -> float:
    """Mean of ``values`` over True entries of ``mask``; ValueError if none is valid."""
    if not mask.any():
        raise ValueError(f"no valid entries to compute {what} (the mask is all False)")
    return float(values[mask].mean())

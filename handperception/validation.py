"""Array checks shared across the package: one place decides what a valid array is.

Why: a NaN averaged into a metric, or a (21, 3) pose broadcast against a (N, 21, 3) batch,
gives a plausible-looking wrong number, and a node must never publish one. Functions that take
arrays from outside convert through these helpers, so torch tensors are accepted, NaNs are
refused and shapes are checked with the argument's name in the error message.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(value: Any) -> np.ndarray:
    """A numpy array from a numpy array, a torch tensor (any device, grad or not) or a sequence."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def float_array(value: Any, name: str, shape: tuple[Any, ...] | None = None) -> np.ndarray:
    """``value`` as float64, checked to be finite and, if given, to match ``shape``.

    ``shape`` entries that are None match any size, e.g. ``(None, 21, 3)`` for a batch of poses;
    a leading ``...`` matches any leading dimensions, e.g. ``(..., 3)`` for points.
    """
    array = to_numpy(value).astype(np.float64, copy=False)
    if shape is not None:
        check_shape(array, name, shape)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def check_shape(array: np.ndarray, name: str, shape: tuple[Any, ...]) -> None:
    """Raise ValueError unless ``array.shape`` matches ``shape`` (None = any size, a leading
    ``...`` = any leading dimensions, none included)."""
    if shape and shape[0] is Ellipsis:
        trailing = shape[1:]
        ok = array.ndim >= len(trailing) and _sizes_match(
            array.shape[array.ndim - len(trailing) :], trailing
        )
    else:
        ok = array.ndim == len(shape) and _sizes_match(array.shape, shape)
    if not ok:
        sizes = ["..." if s is Ellipsis else "N" if s is None else str(s) for s in shape]
        pretty = "(" + ", ".join(sizes) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {pretty}, got {array.shape}")


def _sizes_match(actual: tuple[int, ...], wanted: tuple[Any, ...]) -> bool:
    return all(want is None or want == got for want, got in zip(wanted, actual))

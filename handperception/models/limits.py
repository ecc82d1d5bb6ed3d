"""Checks of the scalar values a model's config declares, shared by the models' ``check_config``.

Why a module of its own: a checkpoint's config is read from a file, so any field may hold any
plain type (a bool, a float, a string, an integer of a million digits); each model bounds its
fields with these before anything is built (``models.checkpoint.load_checkpoint``), and the
checkpoint module, which imports the models, cannot be what they import.
"""

from __future__ import annotations

import math


def is_number(value) -> bool:
    """A finite int or float, not a bool: what a numeric config field read from a file must be."""
    return type(value) in (int, float) and math.isfinite(value)


def check_integer(name: str, value, low: int, high: int) -> None:
    """ValueError, in one line, unless ``value`` is an int (not a bool, float or string) in
    ``low..high``."""
    if type(value) is not int or not low <= value <= high:
        allowed = f"{low}" if low == high else f"in {low}..{high}"
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r:.60}")


def check_choice(name: str, value, allowed: tuple) -> None:
    """ValueError, in one line, unless ``value`` is one of ``allowed`` and of its type (a file's
    ``true`` is not the integer 1, nor ``4.0`` the stride 4)."""
    if not any(value == a and type(value) is type(a) for a in allowed):
        raise ValueError(f"{name} must be one of {allowed}, got {value!r:.60}")

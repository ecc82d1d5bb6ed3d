"""HANDS'19-style train/test splits over the synthetic generator's four variation axes.

Why: "how well does it generalise" is only answerable per axis. HANDS'19 (Armagan et al., ECCV
2020) evaluates *interpolation* (test drawn like train) and *extrapolation* along shape,
articulation, viewpoint and object, where test samples lie outside the training range on one
axis and inside it on the others. A split is a set of ranges per axis parameter plus a mode:

- ``interpolation``: train and test partitions both sample every parameter from its train range;
- ``extrapolation:<axis>``: the test partition samples that axis from its test range, rejecting
  points inside the train box; every other axis stays within its train range.

Ranges live in YAML (``config/splits/hands19.yaml``):
``axes: {viewpoint: {azimuth_deg: {train: [-90, 90], test: [-180, 180]}, ...}, ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

# Parameters of each axis and the interval every range of that parameter must lie in.
AXIS_PARAMETERS: dict[str, dict[str, tuple[float, float]]] = {
    "shape": {"scale": (0.5, 2.0)},
    "articulation": {"amplitude": (0.0, 1.0)},
    "viewpoint": {"azimuth_deg": (-180.0, 180.0), "elevation_deg": (-90.0, 90.0)},
    "object": {"size_m": (0.005, 1.0)},
}
MODES = ("interpolation", "extrapolation")
PARTITIONS = ("train", "test")
DEFAULT_RANGES_FILE = Path(__file__).resolve().parents[2] / "config" / "splits" / "hands19.yaml"
# Extrapolation test regions must keep at least this fraction of the test box (else rejection
# sampling would stall on a sliver).
_MIN_OUTSIDE_FRACTION = 0.02
_MAX_REJECTIONS = 10_000


@dataclass(frozen=True)
class ParameterRange:
    """Train and test intervals (lo, hi) of one parameter."""

    train: tuple[float, float]
    test: tuple[float, float]


@dataclass(frozen=True)
class SplitSpec:
    """mode in MODES; axis the extrapolated axis (None for interpolation); ranges[axis][param]."""

    mode: str
    axis: str | None
    ranges: dict[str, dict[str, ParameterRange]]

    @property
    def name(self) -> str:
        return self.mode if self.axis is None else f"{self.mode}:{self.axis}"

    def sample(self, rng: np.random.Generator, axis: str, partition: str) -> dict[str, float]:
        """One draw of every parameter of `axis` for `partition` ('train' or 'test')."""
        if axis not in self.ranges:
            raise ValueError(f"unknown axis {axis!r}; expected one of {sorted(self.ranges)}")
        if partition not in PARTITIONS:
            raise ValueError(f"unknown partition {partition!r}; expected one of {PARTITIONS}")
        params = self.ranges[axis]
        if partition == "train" or self.axis != axis:
            return {name: float(rng.uniform(*r.train)) for name, r in params.items()}
        for _ in range(_MAX_REJECTIONS):
            draw = {name: float(rng.uniform(*r.test)) for name, r in params.items()}
            if not all(r.train[0] <= draw[name] <= r.train[1] for name, r in params.items()):
                return draw
        raise RuntimeError(f"could not sample outside the train range of {axis!r}")


def _interval(value, where: str, bounds: tuple[float, float]) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{where} must be a [low, high] pair, got {value!r}")
    lo, hi = (float(v) for v in value)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{where} must be finite, got {value!r}")
    if lo < bounds[0] or hi > bounds[1]:
        if bounds[0] >= 0 and lo < 0:
            raise ValueError(f"{where} must not be negative, got {value!r}")
        raise ValueError(f"{where} must lie within {list(bounds)}, got {value!r}")
    if not lo < hi:
        raise ValueError(f"{where} is an empty range (low must be < high), got {value!r}")
    return lo, hi


def _outside_fraction(params: dict[str, ParameterRange]) -> float:
    """Fraction of the test box lying outside the train box (uniform measure)."""
    inside = 1.0
    for r in params.values():
        overlap = max(0.0, min(r.test[1], r.train[1]) - max(r.test[0], r.train[0]))
        inside *= overlap / (r.test[1] - r.test[0])
    return 1.0 - inside


def parse_ranges(data: dict) -> dict[str, dict[str, ParameterRange]]:
    """Validate the ``axes`` mapping of a ranges file; every axis and parameter is required."""
    if not isinstance(data, dict):
        raise ValueError(f"split ranges must be a mapping of axes, got {type(data).__name__}")
    unknown = set(data) - set(AXIS_PARAMETERS)
    if unknown:
        raise ValueError(f"unknown axis {sorted(unknown)}; expected {sorted(AXIS_PARAMETERS)}")
    ranges: dict[str, dict[str, ParameterRange]] = {}
    for axis, bounds_of in AXIS_PARAMETERS.items():
        params = data.get(axis)
        if not isinstance(params, dict):
            raise ValueError(f"axis {axis!r} is missing or not a mapping")
        unknown = set(params) - set(bounds_of)
        if unknown:
            raise ValueError(
                f"unknown parameter {sorted(unknown)} on axis {axis!r}; "
                f"expected {sorted(bounds_of)}"
            )
        ranges[axis] = {}
        for name, bounds in bounds_of.items():
            entry = params.get(name)
            if not isinstance(entry, dict) or set(entry) != {"train", "test"}:
                raise ValueError(f"{axis}.{name} must have exactly 'train' and 'test' ranges")
            ranges[axis][name] = ParameterRange(
                _interval(entry["train"], f"{axis}.{name}.train", bounds),
                _interval(entry["test"], f"{axis}.{name}.test", bounds),
            )
    return ranges


def make_split(name: str, ranges: dict[str, dict[str, ParameterRange]]) -> SplitSpec:
    """``'interpolation'`` or ``'extrapolation:<axis>'`` over validated ranges."""
    mode, _, axis = name.partition(":")
    if mode not in MODES:
        raise ValueError(
            f"unknown split mode {mode!r} in {name!r}; "
            "expected 'interpolation' or 'extrapolation:<axis>'"
        )
    if mode == "interpolation":
        if axis:
            raise ValueError(f"interpolation takes no axis, got {name!r}")
        return SplitSpec(mode, None, ranges)
    if axis not in AXIS_PARAMETERS:
        raise ValueError(
            f"unknown axis {axis!r} in {name!r}; expected one of {sorted(AXIS_PARAMETERS)}"
        )
    if _outside_fraction(ranges[axis]) < _MIN_OUTSIDE_FRACTION:
        raise ValueError(
            f"the test range of axis {axis!r} lies (almost) entirely inside its train range"
        )
    return SplitSpec(mode, axis, ranges)


def load_split(name: str, ranges_file: str | Path | None = None) -> SplitSpec:
    """The split `name` over the ranges in a YAML file (default config/splits/hands19.yaml)."""
    path = Path(ranges_file) if ranges_file is not None else DEFAULT_RANGES_FILE
    if not path.is_file():
        raise ValueError(f"split ranges file {path} does not exist")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or "axes" not in data:
        raise ValueError(f"{path} must contain an 'axes' mapping")
    return make_split(name, parse_ranges(data["axes"]))

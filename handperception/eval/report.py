"""Evaluation reports in the HANDS 2019 way: one result per split, written as JSON, Markdown and
a plot.

Why splits: HANDS'19 (Armagan et al., ECCV 2020) showed that a single test error hides *which*
kind of novelty breaks a model. The synthetic benchmark therefore scores an ``interpolation``
split (seen shapes, poses, views, objects) and one ``extrapolation:<axis>`` split per axis of
novelty; real test sets appear under their dataset names. ``evaluate_keypoints`` fixes the
standard metric set so every model is reported the same way.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from handperception.eval._arrays import masked_mean, point_batches
from handperception.eval.metrics import PCKCurve, keypoint_errors, pck, pck_curve

EXTRAPOLATION_AXES: tuple[str, ...] = ("shape", "articulation", "viewpoint", "object")
INTERPOLATION = "interpolation"
_DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def check_split_name(name: str) -> str:
    """Return ``name`` if it is ``interpolation``, ``extrapolation:<axis>`` or a dataset name.

    Raises ValueError for an unknown extrapolation axis (a typo there would silently create a
    new row in every table) or a name that is empty or holds spaces or punctuation.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"split name must be a non-empty string, got {name!r}")
    if name.startswith("extrapolation"):
        axis = name.split(":", 1)[1] if ":" in name else ""
        if axis not in EXTRAPOLATION_AXES:
            raise ValueError(
                f"unknown extrapolation axis {axis!r}; choose one of {EXTRAPOLATION_AXES}"
            )
        return name
    if name != INTERPOLATION and not _DATASET_NAME.match(name):
        raise ValueError(
            f"split name {name!r} is neither a benchmark split nor a plain dataset name "
            "([A-Za-z0-9_.-])"
        )
    return name


@dataclass
class SplitResult:
    """Scores of one model on one split.

    Attributes:
        name: split name (see ``check_split_name``).
        metrics: metric name -> value; names carry their unit (``mpjpe_mm``, ``epe_2d_px``).
        curves: curve name -> PCK curve (e.g. ``pck_3d_rr`` over 0-50 mm).
        num_samples: number of evaluated samples.
    """

    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    curves: dict[str, PCKCurve] = field(default_factory=dict)
    num_samples: int = 0

    def __post_init__(self) -> None:
        check_split_name(self.name)
        if self.num_samples < 0:
            raise ValueError(f"num_samples must be >= 0, got {self.num_samples}")
        self.metrics = {key: float(value) for key, value in self.metrics.items()}
        bad = [key for key, value in self.metrics.items() if not math.isfinite(value)]
        if bad:
            raise ValueError(f"split {self.name!r} has non-finite metrics {bad}")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "num_samples": self.num_samples,
            "metrics": dict(self.metrics),
            "curves": {key: curve.to_dict() for key, curve in self.curves.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> "SplitResult":
        curves = {key: PCKCurve.from_dict(value) for key, value in data.get("curves", {}).items()}
        return cls(
            name=data["name"],
            metrics=data.get("metrics", {}),
            curves=curves,
            num_samples=int(data.get("num_samples", 0)),
        )


@dataclass
class EvaluationReport:
    """All splits of one model's evaluation, with writers for the three output formats."""

    model: str
    splits: dict[str, SplitResult] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def add(self, split: SplitResult) -> None:
        """Add a split; a second result for the same split name is an error, not an overwrite."""
        if split.name in self.splits:
            raise ValueError(f"split {split.name!r} is already in the report")
        self.splits[split.name] = split

    def metric_names(self) -> list[str]:
        """Metric names in order of first appearance over the splits."""
        names: dict[str, None] = {}
        for split in self.splits.values():
            names.update(dict.fromkeys(split.metrics))
        return list(names)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "metadata": self.metadata,
            "splits": [s.to_dict() for s in self.splits.values()],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "EvaluationReport":
        report = cls(model=data["model"], metadata=dict(data.get("metadata", {})))
        for split in data.get("splits", []):
            report.add(SplitResult.from_dict(split))
        return report

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")
        return path

    def markdown(self) -> str:
        """A GitHub-flavoured Markdown table, one row per split, one column per metric."""
        names = self.metric_names()
        lines = [f"## {self.model}", "", "| split | samples | " + " | ".join(names) + " |"]
        lines.append("|" + "---|" * (len(names) + 2))
        for split in self.splits.values():
            cells = [f"{split.metrics[n]:.4g}" if n in split.metrics else "-" for n in names]
            lines.append(f"| {split.name} | {split.num_samples} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def write_markdown(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.markdown())
        return path

    def plot(
        self,
        path: str | Path,
        bar_metric: str = "mpjpe_mm",
        curve: str = "pck_3d_rr",
        threshold_unit: str = "mm",
    ) -> Path:
        """PNG with ``bar_metric`` per split as bars (left) and each split's ``curve`` (right).

        ``threshold_unit`` labels the curve's x axis (``"px"`` for ``pck_2d``).

        Splits lacking the metric or the curve are left out of that panel; asking for a metric
        or curve no split has is a ValueError (an empty figure would look like a bug elsewhere).
        """
        from matplotlib.figure import Figure

        bars = [
            (s.name, s.metrics[bar_metric]) for s in self.splits.values() if bar_metric in s.metrics
        ]
        curves = [(s.name, s.curves[curve]) for s in self.splits.values() if curve in s.curves]
        if not bars:
            raise ValueError(
                f"no split has metric {bar_metric!r}; available: {self.metric_names()}"
            )
        if not curves:
            raise ValueError(f"no split has curve {curve!r}")
        figure = Figure(figsize=(11, 4.2), layout="constrained")
        bar_axes, curve_axes = figure.subplots(1, 2)
        positions = np.arange(len(bars))
        bar_axes.bar(positions, [value for _, value in bars], color="tab:blue")
        bar_axes.set_xticks(positions, [name for name, _ in bars], rotation=30, ha="right")
        bar_axes.set_ylabel(bar_metric)
        bar_axes.set_title(f"{self.model}: {bar_metric} per split")
        for name, pck_values in curves:
            curve_axes.plot(
                pck_values.thresholds, pck_values.values, label=f"{name} (AUC {pck_values.auc:.3f})"
            )
        curve_axes.set_xlabel(f"threshold ({threshold_unit})")
        curve_axes.set_ylabel("PCK")
        curve_axes.set_ylim(0.0, 1.02)
        curve_axes.set_title(curve)
        curve_axes.legend(fontsize="small", loc="lower right")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
        return path

    def write(self, out_dir: str | Path, stem: str = "evaluation") -> dict[str, Path]:
        """Write ``<stem>.json``, ``<stem>.md`` and ``<stem>.png`` (when plottable) into
        ``out_dir``."""
        out = Path(out_dir)
        paths = {
            "json": self.write_json(out / f"{stem}.json"),
            "markdown": self.write_markdown(out / f"{stem}.md"),
        }
        splits = self.splits.values()
        if any("mpjpe_mm" in s.metrics for s in splits) and any(
            "pck_3d_rr" in s.curves for s in splits
        ):
            paths["plot"] = self.plot(out / f"{stem}.png")
        return paths


def evaluate_keypoints(
    pred_3d: Any,
    gt_3d: Any,
    mask: Any = None,
    pred_2d: Any = None,
    gt_2d: Any = None,
    metres_to_mm: float = 1000.0,
    pck_2d_threshold_px: float = 10.0,
    steps: int = 100,
) -> dict:
    """The standard keypoint metric set, so that every model is scored identically.

    Args:
        pred_3d, gt_3d: (N, 21, 3) joints in the camera frame, metres (``metres_to_mm`` scales
            other units to millimetres).
        mask: optional (N, 21) joint validity, used for 3D and 2D alike.
        pred_2d, gt_2d: optional (N, 21, 2) pixel coordinates; both or neither.
        pck_2d_threshold_px: threshold of the reported single 2D PCK value.
        steps: thresholds per PCK curve.
    Returns:
        ``{"metrics": {...}, "curves": {...}, "num_samples": N}``, ready for
        ``SplitResult(name, **result)``. Metrics: ``mpjpe_mm`` (absolute), ``rr_mpjpe_mm``
        (root-relative), ``pa_mpjpe_mm`` (Procrustes), ``auc_0_50`` and ``auc_20_50``
        (root-relative 3D PCK AUC over 0-50 mm and 20-50 mm), ``pa_auc_0_50`` (FreiHAND's
        convention), and with 2D input ``epe_2d_px``, ``pck_2d_<t>px`` and ``auc_2d_0_30px``.
        Curves: ``pck_3d_rr`` and ``pck_3d_pa`` over 0-50 mm, ``pck_2d`` over 0-30 px.
    """
    if not np.isfinite(metres_to_mm) or metres_to_mm <= 0:
        raise ValueError(f"metres_to_mm must be finite and > 0, got {metres_to_mm}")
    if (pred_2d is None) != (gt_2d is None):
        raise ValueError("pass both pred_2d and gt_2d, or neither")
    errors_abs, valid_abs = keypoint_errors(pred_3d, gt_3d, mask, "none")
    errors_rr, valid_rr = keypoint_errors(pred_3d, gt_3d, mask, "root")
    errors_pa, valid_pa = keypoint_errors(pred_3d, gt_3d, mask, "procrustes")
    curve_rr = pck_curve(errors_rr * metres_to_mm, 0.0, 50.0, steps, valid_rr)
    curve_pa = pck_curve(errors_pa * metres_to_mm, 0.0, 50.0, steps, valid_pa)
    metrics = {
        "mpjpe_mm": masked_mean(errors_abs, valid_abs, "MPJPE") * metres_to_mm,
        "rr_mpjpe_mm": masked_mean(errors_rr, valid_rr, "root-relative MPJPE") * metres_to_mm,
        "pa_mpjpe_mm": masked_mean(errors_pa, valid_pa, "PA-MPJPE") * metres_to_mm,
        "auc_0_50": curve_rr.auc,
        "auc_20_50": pck_curve(errors_rr * metres_to_mm, 20.0, 50.0, steps, valid_rr).auc,
        "pa_auc_0_50": curve_pa.auc,
    }
    curves = {"pck_3d_rr": curve_rr, "pck_3d_pa": curve_pa}
    if pred_2d is not None:
        pixels_pred, pixels_gt = point_batches(pred_2d, gt_2d, dims=(2,))
        errors_2d, valid_2d = keypoint_errors(pixels_pred, pixels_gt, mask, "none")
        if errors_2d.shape != errors_abs.shape:
            raise ValueError(
                f"2D keypoints cover {errors_2d.shape} (samples, joints) "
                f"but 3D cover {errors_abs.shape}"
            )
        curve_2d = pck_curve(errors_2d, 0.0, 30.0, steps, valid_2d)
        metrics["epe_2d_px"] = masked_mean(errors_2d, valid_2d, "2D EPE")
        metrics[f"pck_2d_{pck_2d_threshold_px:g}px"] = pck(errors_2d, pck_2d_threshold_px, valid_2d)
        metrics["auc_2d_0_30px"] = curve_2d.auc
        curves["pck_2d"] = curve_2d
    return {"metrics": metrics, "curves": curves, "num_samples": int(errors_abs.shape[0])}

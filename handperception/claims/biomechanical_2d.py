"""Spurr et al., ECCV 2020: with biomechanical constraints, 2D-only labelled data lowers 3D error.

The experiment: one small set with 3D labels, one larger set used with 2D labels only. Three
variants train the same tiny network for the same steps: 3D set alone; plus the 2D-only set
without constraints; plus the 2D-only set with the constraints. The claim holds when the
constrained variant has the lower root-relative 3D error than the unconstrained one (the paper
reports the gain mostly in depth, so depth error is reported too).
"""
from __future__ import annotations

import numpy as np

from handperception.eval.claims import ClaimContext, ClaimResult, register_claim

_FULL = {"labelled_3d": 200, "labelled_2d_only": 4000, "steps": 3000, "test": 300, "crop_size": 64}
_QUICK = {"labelled_3d": 16, "labelled_2d_only": 16, "steps": 6, "test": 8, "crop_size": 48}


def _relative_depth(joints: np.ndarray) -> np.ndarray:
    return joints[..., 2] - joints[..., :1, 2]


def _depth_error_mm(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean |root-relative z| error, mm: the component a single view determines worst."""
    return float(np.abs(_relative_depth(predicted) - _relative_depth(truth)).mean() * 1000.0)


@register_claim(
    "biomechanical-2d-data",
    paper="Spurr et al., Weakly supervised 3D hand pose estimation via biomechanical constraints, ECCV 2020",
    statement="adding 2D-only labelled data with biomechanical constraints lowers root-relative 3D error "
    "more than adding it without them",
)
def biomechanical_2d_claim(context: ClaimContext) -> ClaimResult:
    from handperception.eval.report import evaluate_keypoints
    from handperception.pipeline.pose_estimator import CropPoseEstimator
    from handperception.train.data import synthetic_crops
    from handperception.train.hand import train_hand

    size = _QUICK if context.quick else _FULL
    cache = context.out_dir.parent / "cache"
    test = synthetic_crops("interpolation", "test", size["test"], size["crop_size"], context.seed + 7, cache)
    truth = test.arrays["keypoints_3d"][:, 0]
    variants = {
        "3d_only": (0, False),
        "plus_2d_no_constraints": (size["labelled_2d_only"], False),
        "plus_2d_with_constraints": (size["labelled_2d_only"], True),
    }
    results = {}
    for name, (two_d, biomech) in variants.items():
        run = train_hand(
            {
                "data": {"crop_size": size["crop_size"], "labelled_3d": size["labelled_3d"], "labelled_2d_only": two_d,
                         "seed": context.seed, "cache_dir": str(cache)},
                "train": {"steps": size["steps"], "batch_size": 32 if not context.quick else 4, "biomech": biomech,
                          "device": "cpu"},
                "out": str(context.out_dir / f"{name}.pt"),
            },
            progress=not context.quick,
        )
        estimator = CropPoseEstimator(run["model"])
        predicted = estimator(test.arrays["rgb"], test.arrays["K"]).joints_3d
        scores = evaluate_keypoints(predicted, truth)["metrics"]
        results[name] = {
            "rr_mpjpe_mm": scores["rr_mpjpe_mm"],
            "pa_mpjpe_mm": scores["pa_mpjpe_mm"],
            "depth_error_mm": _depth_error_mm(predicted, truth),
            "auc_0_50": scores["auc_0_50"],
        }
    return ClaimResult.compare(
        results, "rr_mpjpe_mm", better="plus_2d_with_constraints", worse="plus_2d_no_constraints",
        note=f"{size['labelled_3d']} 3D + {size['labelled_2d_only']} 2D-only crops of {size['crop_size']} px, "
        f"{size['steps']} steps, tiny backbone, interpolation test set of {size['test']}",
    )

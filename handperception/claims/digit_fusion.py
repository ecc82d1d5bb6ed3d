"""Fan et al., 3DV 2021 (DIGIT): feeding the per-pixel part *probabilities* into the pose layers
lowers the pose error of interacting hands, compared with not feeding the segmentation at all and
with feeding its hard argmax mask.

The paper's ablation (InterHand2.6M) trains the same network three ways: segmentation only as an
auxiliary task, a hard one-hot mask of the predicted parts concatenated to the pose features, and
the soft probabilities concatenated (DIGIT); the probabilities gave the lowest MPJPE on two
interacting hands. Here the three fusions of ``models.digit.TwoHandNet`` (``FUSIONS``) train on
the same synthetic mixed crops (two hands, one or none; ``synth.two_hand_items``) of the
interpolation split, with the same seed, batches and steps, and are scored on the same test crops
(``eval.two_hands``). The metric is the root-relative MPJPE of the hands in two-hand crops
(``mpjpe_interacting_mm``, each hand placed at its labelled wrist depth and size, the InterHand
protocol). The claim holds when the probabilities' error is lower than both others'.

Each variant also reports the one-hand MPJPE, the part segmentation mIoU, the MRRPE of the
network's wrist offset and its final training loss; docs/claims.md lists measured runs.
"""

from __future__ import annotations

import numpy as np

from handperception.claims.harness import ClaimContext, ClaimResult, register_claim

PAPER = (
    "Fan et al., Learning to Disambiguate Strongly Interacting Hands via Probabilistic Per-pixel "
    "Part Segmentation (DIGIT), 3DV 2021"
)
SPLIT = "interpolation"
BETTER = "probabilities"
VARIANTS = ("probabilities", "hard", "none")
METRIC = "mpjpe_interacting_mm"
# Numbers reported per variant (those the test set has items for).
REPORTED = (
    "mpjpe_interacting_mm",
    "mpjpe_single_mm",
    "segmentation_miou",
    "hand_miou",
    "mrrpe_mm",
    "handedness_accuracy",
)
_FULL = {"items": 8000, "steps": 900, "batch_size": 32, "test": 300, "crop_size": 128}
_QUICK = {"items": 16, "steps": 3, "batch_size": 4, "test": 6, "crop_size": 64}
DEFAULT_CACHE = "data/cache"


def fusion_held(errors: dict[str, float]) -> bool:
    """Whether the probabilities' error is strictly lower than every other variant's."""
    return all(errors[BETTER] < value for name, value in errors.items() if name != BETTER)


@register_claim(
    "digit-probability-fusion",
    paper=PAPER,
    statement="feeding the part-segmentation probabilities into the pose layers lowers the "
    "MPJPE of interacting hands, compared with no segmentation input and with a hard part mask",
)
def digit_fusion_claim(context: ClaimContext) -> ClaimResult:
    import torch

    from handperception.eval.two_hands import evaluate_two_hand_model, synthetic_test_items
    from handperception.models.checkpoint import save_checkpoint
    from handperception.models.digit import TwoHandNet
    from handperception.train.two_hands import fit_two_hands, merge_config, training_set

    size = _QUICK if context.quick else _FULL
    progress = not context.quick
    # A quick run renders in memory, leaving no cache behind.
    cache = None if context.quick else (getattr(context, "cache_dir", None) or DEFAULT_CACHE)
    data = merge_config(
        {
            "data": {
                "split": SPLIT,
                "crop_size": size["crop_size"],
                "count": size["items"],
                "seed": context.seed,
                "cache_dir": None if cache is None else str(cache),
            }
        }
    )["data"]
    dataset = training_set(data, progress)
    test = synthetic_test_items(SPLIT, size["test"], context.seed, size["crop_size"], progress)
    results: dict[str, dict[str, float]] = {}
    for fusion in VARIANTS:
        torch.manual_seed(context.seed)
        model = TwoHandNet("tiny", 4, fusion)
        history = fit_two_hands(
            model,
            dataset,
            size["steps"],
            size["batch_size"],
            device="cpu",
            seed=context.seed,
            progress=progress,
        )
        metrics = evaluate_two_hand_model(model, test)
        if METRIC not in metrics:
            raise ValueError(
                f"the {size['test']} test crops hold no two-hand crop: no {METRIC} to compare"
            )
        last = history[-50:]
        results[fusion] = {name: metrics[name] for name in REPORTED if name in metrics}
        results[fusion]["final_loss"] = float(np.mean([step["total"] for step in last]))
        save_checkpoint(
            context.out_dir / f"{fusion}.pt",
            model,
            "two_hand_net",
            model.config,
            {"crop_size": size["crop_size"], "steps": size["steps"], "set_size": len(dataset)},
        )
    errors = {name: values[METRIC] for name, values in results.items()}
    counts = {name: int(metrics[name]) for name in ("single", "interacting", "empty")}
    return ClaimResult(
        results,
        METRIC,
        fusion_held(errors),
        note=f"held if {BETTER} < both others; interacting-hand MPJPE (mm): "
        + ", ".join(f"{name} {value:.1f}" for name, value in errors.items())
        + f"; {size['items']} training crops of {size['crop_size']} px ({SPLIT}, 60/30/10 % "
        f"two/one/no hand), {size['steps']} steps of {size['batch_size']}, tiny backbone, same "
        f"seed and batches per variant; {size['test']} test crops ({counts['interacting']} with "
        f"two hands, {counts['single']} with one, {counts['empty']} with none)",
    )

"""HALO / GraspTTA: refining a generative model's grasps through a differentiable hand lowers
their penetration and raises their contact on objects the generator never saw.

HALO (Karunratanakul et al., 3DV 2021) optimises grasps sampled from a keypoint-space generator
through its implicit hand occupancy, as GraspTTA (Jiang et al., ICCV 2021) does through a mesh
hand's contact terms; both report lower interpenetration and higher contact after refinement.
Here the generator is ``models.grasp_vae.GraspVAE`` trained on synthetic grasps of the
interpolation split's training objects (``train.grasp``), the hand is the shipped HALO
checkpoint, and refinement is ``pipeline.grasp_refinement.refine_grasps``. Held-out objects:
the test partitions of ``interpolation`` (new objects, sizes as in training) and
``extrapolation:object`` (sizes outside the training range); ``train.grasp_evaluation`` scores
the same samples raw and refined. The claim holds when, on every held-out set, the refined
grasps have both a lower mean interpenetration volume and a higher mean contact ratio.

Each variant also reports penetration depth (cm) and diversity (k-means entropy, k = 20);
docs/claims.md lists measured runs.
"""

from __future__ import annotations

from handperception.claims.harness import ClaimContext, ClaimResult, register_claim

PAPER = (
    "Karunratanakul et al., A Skeleton-Driven Neural Occupancy Representation for Articulated "
    "Hands (HALO), 3DV 2021; Jiang et al., Hand-Object Contact Consistency Reasoning (GraspTTA), "
    "ICCV 2021"
)
SPLITS = ("interpolation", "extrapolation:object")
METRIC = "penetration_volume_cm3"
CONTACT = "contact_ratio_pct"
HALO_CHECKPOINT = "checkpoints/halo_tiny.pt"
# Full: the trainer's own tiny config (~3 min of grasps, cached; ~6 min of training) and 20
# held-out objects x 10 samples per split (~1 s each to refine): ~12 minutes on the 2-core CPU.
_FULL = {
    "objects": 300,
    "grasps_per_object": 6,
    "steps": 3000,
    "test_objects": 20,
    "samples": 10,
    "refine_steps": 20,
}
_QUICK = {
    "objects": 3,
    "grasps_per_object": 2,
    "steps": 5,
    "test_objects": 2,
    "samples": 3,
    "refine_steps": 3,
}
DEFAULT_CACHE = "data/cache"


def refinement_held(variants: dict[str, dict[str, float]]) -> bool:
    """Whether, on every split, refined grasps have less volume inside the object and touch
    with more fingers than the raw samples (strictly)."""
    return all(
        variants[f"refined {split}"][METRIC] < variants[f"raw {split}"][METRIC]
        and variants[f"refined {split}"][CONTACT] > variants[f"raw {split}"][CONTACT]
        for split in {name.split(" ", 1)[1] for name in variants}
    )


@register_claim(
    "grasp-refinement",
    paper=PAPER,
    statement="refining sampled grasps through HALO's occupancy lowers their interpenetration "
    "volume and raises their contact ratio on held-out objects",
)
def grasp_refinement_claim(context: ClaimContext) -> ClaimResult:
    import torch

    from handperception.models.checkpoint import load_checkpoint, save_checkpoint
    from handperception.models.grasp_vae import GraspVAE
    from handperception.runtime.paths import package_root
    from handperception.train.grasp import cached_grasp_set, fit_grasp_vae, merge_config
    from handperception.train.grasp_evaluation import evaluate_grasp_generator

    size = _QUICK if context.quick else _FULL
    progress = not context.quick
    halo, _ = load_checkpoint(package_root() / HALO_CHECKPOINT, expected_model="halo")
    config = merge_config(
        {
            "data": {
                "objects": size["objects"],
                "grasps_per_object": size["grasps_per_object"],
                "seed": context.seed,
                # A quick run makes its few grasps in memory, leaving no cache behind.
                "cache_dir": None if context.quick else DEFAULT_CACHE,
            },
            "train": {"steps": size["steps"]},
        }
    )
    data, train = config["data"], config["train"]
    threads = torch.get_num_threads()
    torch.set_num_threads(train["threads"])
    try:
        torch.manual_seed(context.seed)
        grasps = cached_grasp_set(data, "train", data["objects"], progress)
        model = GraspVAE(**config["model"])
        history = fit_grasp_vae(
            model,
            grasps,
            train["steps"],
            train["batch_size"],
            train["lr"],
            train["kl_weight"],
            context.seed,
            progress,
        )
        save_checkpoint(
            context.out_dir / "grasp_vae.pt",
            model,
            "grasp_vae",
            model.config,
            {"data": data, "train": train},
        )
        variants: dict[str, dict[str, float]] = {}
        for split in SPLITS:
            scores = evaluate_grasp_generator(
                model,
                halo,
                split,
                size["test_objects"],
                size["samples"],
                context.seed,
                size["refine_steps"],
                progress,
            )
            for name in ("raw", "refined"):
                variants[f"{name} {split}"] = {
                    **scores[name],
                    "rejected_pct": scores["rejected_pct"],
                    "refine_s_mean": scores["timing"]["refine_s_mean"],
                }
    finally:
        torch.set_num_threads(threads)
    final_loss = sum(r["total"] for r in history[-50:]) / len(history[-50:])

    def change(split: str, metric: str, digits: int) -> str:
        return (
            f"{variants[f'raw {split}'][metric]:.{digits}f} -> "
            f"{variants[f'refined {split}'][metric]:.{digits}f}"
        )

    return ClaimResult(
        variants,
        METRIC,
        refinement_held(variants),
        note="held if refined < raw on interpenetration volume and refined > raw on contact "
        "ratio (5 mm), on every split: "
        + "; ".join(
            f"{split}: volume {change(split, METRIC, 2)} cm^3, "
            f"contact {change(split, CONTACT, 0)} %"
            for split in SPLITS
        )
        + f"; generator: {len(grasps['keypoints'])} grasps on {data['objects']} objects, "
        f"{train['steps']} steps (final loss {final_loss:.2f}); {size['test_objects']} held-out "
        f"objects x {size['samples']} samples per split, {size['refine_steps']} refinement steps",
    )

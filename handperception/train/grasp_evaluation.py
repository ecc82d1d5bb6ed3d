"""The grasp generator on held-out objects: raw CVAE samples against the same samples refined
through HALO.

Why: the generator is worth its refinement only if, on objects it never saw, refining lowers
penetration and raises contact without collapsing the grasps onto one (GraspTTA's protocol,
Jiang et al. ICCV 2021). Held-out objects come from a split's test partition
(``synth.grasps.sample_split_object``): ``interpolation`` draws them like the training ones (new
shapes and poses, sizes in the training range), ``extrapolation:object`` from sizes outside it.

Why in the train layer: this runs a model through the pipeline's refinement
(``pipeline.grasp_refinement``) and scores it with ``eval``'s metric maths, so it sits above
both, beside the trainer whose checkpoints it judges.

Metrics (``pipeline.grasp_refinement.measure_grasps`` on the exact object SDF): interpenetration
volume (cm^3), penetration depth (cm), contact ratio (% of fingers touching, within 5 mm), all
means over grasps; diversity: the normalised entropy of a k-means clustering of all the set's
grasps with k = 20 (``eval.grasp.summarise_grasps``). Each object is given ``samples`` grasps of
one side (alternating right and left by object); samples HALO cannot take
(``models.halo.hand_keypoint_problem``: a collapsed bone, a folded palm) are dropped before both
variants are scored, and counted (``rejected_pct``).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from tqdm import tqdm

from handperception.eval.grasp import summarise_grasps
from handperception.models.halo import hand_keypoint_problem
from handperception.pipeline.grasp_refinement import (
    GraspMetrics,
    GraspObject,
    measure_grasps,
    refine_grasps,
)
from handperception.synth.grasps import OBJECT_POINTS, object_item, sample_split_object
from handperception.synth.objects import ObjectSample
from handperception.synth.splits import load_split

# Surface samples refinement reads the object's signed distance from (~2.5 mm apart on a 10 cm
# object); the generator reads the first OBJECT_POINTS of them, as many as it was trained on.
REFINEMENT_POINTS = 2048


def object_in_own_frame(obj: ObjectSample, count: int = OBJECT_POINTS) -> GraspObject:
    """The object's surface samples, normals and exact SDF in its own frame (the frame its
    grasps' ``keypoints_object`` are in): what the generator and refinement are given."""
    item = object_item(obj, count)
    rotation, centre = obj.pose[:3, :3], obj.pose[:3, 3]
    return GraspObject(
        (item["object_points"] - centre) @ rotation,
        item["object_normals"] @ rotation,
        obj.local_sdf,
    )


def _summary(metrics: list[GraspMetrics], keypoints: list[np.ndarray]) -> dict[str, float]:
    return summarise_grasps(
        *(
            np.concatenate([getattr(m, name) for m in metrics])
            for name in ("penetration_depth", "penetration_volume", "contact_ratio")
        ),
        np.concatenate(keypoints),
    )


def evaluate_grasp_generator(
    generator,
    halo,
    split: str = "interpolation",
    objects: int = 20,
    samples: int = 10,
    seed: int = 0,
    steps: int = 20,
    progress: bool = True,
) -> dict[str, dict[str, float]]:
    """{"raw": metrics, "refined": metrics, "timing": {...}, "rejected_pct"} of ``samples`` grasps
    on each of ``objects`` test objects of ``split`` (data set ``seed``), refined ``steps``
    steps. ``generator`` is a ``models.grasp_vae.GraspVAE``, ``halo`` a ``HaloNet``."""
    if objects < 1 or samples < 1:
        raise ValueError(f"need objects >= 1 and samples >= 1, got {objects}, {samples}")
    spec = load_split(split)
    raw_metrics, refined_metrics, raw_keypoints, refined_keypoints, seconds = [], [], [], [], []
    rejected = 0
    generator = generator.eval()
    for index in tqdm(range(objects), desc=f"grasps {split}", unit="object", disable=not progress):
        grasp_object = object_in_own_frame(
            sample_split_object(spec, "test", seed, index), REFINEMENT_POINTS
        )
        is_left = bool(index % 2)
        raw = (
            generator.sample(
                torch.as_tensor(grasp_object.points[:OBJECT_POINTS], dtype=torch.float32),
                samples,
                is_left,
                torch.Generator().manual_seed(seed * 100_003 + index),
            )
            .double()
            .numpy()
        )
        valid = np.array([hand_keypoint_problem(hand) is None for hand in raw])
        rejected += int(np.count_nonzero(~valid))
        raw = raw[valid]
        if len(raw) == 0:
            continue
        raw_metrics.append(measure_grasps(raw, is_left, grasp_object.sdf))
        start = time.perf_counter()
        refined = refine_grasps(raw, is_left, grasp_object, halo, steps=steps)
        seconds.append(time.perf_counter() - start)
        refined_metrics.append(refined.metrics)
        raw_keypoints.append(raw)
        refined_keypoints.append(refined.keypoints)
    if not raw_keypoints:
        raise ValueError(f"all {objects * samples} samples were rejected: nothing to score")
    return {
        "raw": _summary(raw_metrics, raw_keypoints),
        "refined": _summary(refined_metrics, refined_keypoints),
        "timing": {"refine_s_mean": float(np.mean(seconds)), "samples": float(samples)},
        "rejected_pct": 100.0 * rejected / (objects * samples),
    }

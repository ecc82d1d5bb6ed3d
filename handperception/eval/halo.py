"""How well a HALO network knows the hand's solid: volumetric IoU on held-out hands, and how far
its extracted meshes lie from the true skin.

Why these two: IoU (as in HALO and Occupancy Networks) scores the occupancy function itself,
everywhere in the hand's box; the Chamfer distance scores what a user gets, the marching-cubes
mesh, in millimetres. Both against the synthetic capsule solid (``synth.halo_samples``), exact.

Sets (HANDS'19 axes, ``synth.splits``; test partitions, seeds disjoint from training's):
``interpolation`` (held-out poses: new hands drawn like the training ones),
``extrapolation:shape`` (held-out shapes: hand scales outside the training range) and
``extrapolation:articulation`` (poses flexed beyond the training range).

Definitions: IoU of one hand = |predicted inside AND truly inside| / |either|, over
``points_per_hand`` points uniform in the keypoints' box grown by 3 cm times the hand's scale
(``synth.halo_samples.hand_box``); reported as the mean, median and 10th percentile over hands.
Chamfer distance (``chamfer_mm``) = the mean of the two directed mean distances, mesh to skin
(exact, from the solid's signed distance) and skin to mesh (to a dense sampling of the mesh),
millimetres.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree

from handperception.models.halo import extract_mesh, extract_mesh_dense
from handperception.synth.halo_samples import (
    HaloHands,
    capsule_sdf,
    hand_box,
    occupancy_labels,
    sample_halo_hands,
    skin_samples,
)
from handperception.synth.hand_model import Capsules
from handperception.synth.splits import load_split

HALO_SPLITS: tuple[str, ...] = (
    "interpolation",
    "extrapolation:shape",
    "extrapolation:articulation",
)
SPLIT_LABELS = {
    "interpolation": "held-out poses",
    "extrapolation:shape": "held-out shapes",
    "extrapolation:articulation": "extrapolated articulation",
}
# Test hands are drawn with this offset on the seed, disjoint from any training pool's seed.
TEST_SEED_OFFSET = 1_000_000
CHAMFER_SAMPLES = 20_000
MESH_SAMPLES = 200_000


def test_hands(split: str, count: int, seed: int = 1) -> HaloHands:
    """``count`` test hands of a split (deterministic in seed)."""
    index = HALO_SPLITS.index(split) if split in HALO_SPLITS else len(HALO_SPLITS)
    rng = np.random.default_rng([seed + TEST_SEED_OFFSET, index])
    return sample_halo_hands(rng, load_split(split), "test", count)


def hand_ious(
    model,
    hands: HaloHands,
    points_per_hand: int = 20_000,
    seed: int = 0,
    device: str | torch.device = "cpu",
    batch: int = 8,
) -> np.ndarray:
    """(N,) volumetric IoU of each hand (module docstring)."""
    rng = np.random.default_rng(seed)
    count = len(hands.scale)
    points = np.empty((count, points_per_hand, 3))
    truth = np.empty((count, points_per_hand), dtype=bool)
    for i in range(count):
        low, high = hand_box(hands.keypoints[i], float(hands.scale[i]))
        points[i] = rng.uniform(low, high, (points_per_hand, 3))
        truth[i] = occupancy_labels(points[i], hands.capsules(i))
    predicted = np.empty_like(truth)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, count, batch):
            rows = slice(start, start + batch)
            logits = model(
                torch.as_tensor(points[rows], dtype=torch.float32, device=device),
                torch.as_tensor(hands.keypoints[rows], dtype=torch.float32, device=device),
                torch.as_tensor(hands.is_left[rows], device=device),
            )
            predicted[rows] = (logits > 0).cpu().numpy()
    model.train(was_training)
    union = (predicted | truth).sum(axis=1)
    return (predicted & truth).sum(axis=1) / np.maximum(union, 1)


def chamfer_mm(vertices: np.ndarray, faces: np.ndarray, capsules: Capsules, seed: int = 0) -> float:
    """Chamfer distance (mm) between a mesh and the true skin of ``capsules``: the mean of
    (mesh -> skin) the exact distance of CHAMFER_SAMPLES points sampled on the mesh to the skin
    (the solid's signed distance) and (skin -> mesh) the distance of as many skin samples to the
    nearest of MESH_SAMPLES points on the mesh (a 0.1-0.2 mm floor, a tenth of a 128^3 cell);
    inf for an empty mesh."""
    import trimesh

    if len(faces) == 0:
        return float("inf")
    rng = np.random.default_rng(seed)
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    dense, _ = trimesh.sample.sample_surface(mesh, MESH_SAMPLES, seed=seed)
    to_skin = np.abs(capsule_sdf(dense[:CHAMFER_SAMPLES], capsules)).mean()
    skin = skin_samples(capsules, CHAMFER_SAMPLES, rng)
    to_mesh = cKDTree(dense).query(skin)[0].mean()
    return float(500.0 * (to_skin + to_mesh))


def surface_distance_mm(
    vertices: np.ndarray, faces: np.ndarray, reference: np.ndarray, seed: int = 0
) -> float:
    """Symmetric mean distance (mm) between two meshes given as (vertices, faces) and
    ``reference`` = (vertices, faces) of the other, both sampled with MESH_SAMPLES points."""
    import trimesh

    samples = [
        trimesh.sample.sample_surface(
            trimesh.Trimesh(v, f, process=False), MESH_SAMPLES, seed=seed
        )[0]
        for v, f in ((vertices, faces), reference)
    ]
    one = cKDTree(samples[1]).query(samples[0][:CHAMFER_SAMPLES])[0].mean()
    two = cKDTree(samples[0]).query(samples[1][:CHAMFER_SAMPLES])[0].mean()
    return float(500.0 * (one + two))


def mesh_scores(
    model,
    hands: HaloHands,
    resolution: int = 128,
    coarse_resolution: int = 32,
    device: str | torch.device = "cpu",
    dense: bool = False,
    seed: int = 0,
) -> dict[str, float]:
    """Over the coarse-to-fine meshes of ``hands`` (and dense ones with ``dense``): mean Chamfer
    distance (mm; over the non-empty meshes, left out when all are empty), watertight fraction,
    queries per hand and the number of empty meshes."""
    scores: dict[str, list[float]] = {"chamfer_mm": [], "watertight": [], "queries": []}
    if dense:
        scores.update({"chamfer_dense_mm": [], "queries_dense": []})
    empty = 0
    for i in range(len(hands.scale)):
        capsules = hands.capsules(i)
        keypoints, is_left = hands.keypoints[i], bool(hands.is_left[i])
        meshes = {
            "": extract_mesh(model, keypoints, is_left, resolution, coarse_resolution, device)
        }
        if dense:
            meshes["_dense"] = extract_mesh_dense(model, keypoints, is_left, resolution, device)
        for suffix, mesh in meshes.items():
            scores[f"queries{suffix}"].append(mesh.queries)
            if len(mesh.faces):
                scores[f"chamfer{suffix}_mm"].append(
                    chamfer_mm(mesh.vertices, mesh.faces, capsules, seed)
                )
        scores["watertight"].append(float(meshes[""].watertight))
        empty += int(len(meshes[""].faces) == 0)
    result = {
        ("watertight_fraction" if name == "watertight" else name): float(np.mean(values))
        for name, values in scores.items()
        if values
    }
    return {**result, "empty_meshes": empty}


def evaluate_halo(
    model,
    splits: tuple[str, ...] = HALO_SPLITS,
    hands: int = 100,
    seed: int = 1,
    device: str | torch.device = "cpu",
    points_per_hand: int = 20_000,
    mesh_hands: int = 10,
    resolution: int = 128,
    coarse_resolution: int = 32,
) -> dict[str, dict[str, float]]:
    """Per split: items, iou (mean), iou_median, iou_p10 and, over the first ``mesh_hands``
    hands, chamfer_mm, watertight_fraction and queries of coarse-to-fine meshes."""
    results = {}
    for split in splits:
        sampled = test_hands(split, hands, seed)
        ious = hand_ious(model, sampled, points_per_hand, seed, device)
        metrics = {
            "items": hands,
            "iou": float(ious.mean()),
            "iou_median": float(np.median(ious)),
            "iou_p10": float(np.percentile(ious, 10)),
        }
        if mesh_hands:
            subset = HaloHands(
                sampled.keypoints[:mesh_hands],
                sampled.scale[:mesh_hands],
                sampled.is_left[:mesh_hands],
            )
            metrics.update(
                mesh_scores(model, subset, resolution, coarse_resolution, device, seed=seed)
            )
        results[split] = metrics
    return results


def halo_markdown(results: dict[str, dict[str, float]], model: str) -> str:
    """A Markdown table, one row per split."""
    lines = [
        f"## {model}",
        "",
        "| split | hands | IoU mean | IoU median | IoU p10 | Chamfer (mm) | watertight | queries |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for split, m in results.items():
        label = f"{split} ({SPLIT_LABELS[split]})" if split in SPLIT_LABELS else split
        chamfer = f"{m['chamfer_mm']:.2f}" if "chamfer_mm" in m else "-"
        watertight = (
            f"{100 * m['watertight_fraction']:.0f} %" if "watertight_fraction" in m else "-"
        )
        queries = f"{m['queries']:.0f}" if "queries" in m else "-"
        lines.append(
            f"| {label} | {m['items']} | {m['iou']:.3f} | {m['iou_median']:.3f} | "
            f"{m['iou_p10']:.3f} | {chamfer} | {watertight} | {queries} |"
        )
    return "\n".join(lines) + "\n"


def write_halo_report(
    results: dict[str, dict[str, float]],
    out_dir: str | Path,
    model: str,
    metadata: dict | None = None,
    stem: str = "evaluation",
) -> dict[str, Path]:
    """Write ``<stem>.json`` ({"model", "metadata", "splits"}) and ``<stem>.md``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / f"{stem}.json", "markdown": out / f"{stem}.md"}
    document = {"model": model, "metadata": dict(metadata or {}), "splits": results}
    paths["json"].write_text(json.dumps(document, indent=2))
    paths["markdown"].write_text(halo_markdown(results, model))
    return paths

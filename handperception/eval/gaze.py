"""Evaluation protocol of the eye-patch gaze model: angular error on synthetic and real eyes.

Why these sets: one synthetic test error hides *which* novelty breaks a gaze model (the HANDS'19
lesson, ``eval.report``). So the model is scored on the synthetic interpolation set (the test
partition of the training distribution: odd seeds, ``synth.item_shards``), on head poses beyond
the training ranges, on gaze directions beyond them, and on real eyes (MPIIGaze's evaluation
subset; MPIIFaceGaze's faces, whose two eyes are averaged into the face gaze its labels give).
The extrapolation sets are defined here only (``EXTRAPOLATION_SPECS``): each is a few EyeSpecs,
one per side of the exceeded range, sampled in equal shares.

Metrics (degrees, the angle between predicted and true gaze vectors, ``geometry.gaze``):
``mean_deg``, ``median_deg``, ``p90_deg``. Reports are ``eval.report.EvaluationReport`` (JSON +
Markdown), one row per set.
"""

from __future__ import annotations

import numpy as np
import torch

from handperception.eval.report import EvaluationReport, SplitResult
from handperception.geometry.gaze import pitchyaw_error_deg, pitchyaw_to_vector, vector_to_pitchyaw
from handperception.models.gaze import (
    MIRROR_RIGHT_EYE,
    eye_patch_tensor,
    mirror_eye_patches,
    mirror_pitchyaw,
)
from handperception.synth.eye_model import EyeSpec

INTERPOLATION = "interpolation"
HEAD_POSE_EXTRAPOLATION = "head_pose_extrapolation"
GAZE_EXTRAPOLATION = "gaze_range_extrapolation"
SYNTHETIC_SETS = (INTERPOLATION, HEAD_POSE_EXTRAPOLATION, GAZE_EXTRAPOLATION)

# Training ranges (EyeSpec's defaults): gaze pitch +-25, yaw +-35; head pitch +-20, yaw +-30 deg.
# A turned head keeps the eye within 45 deg of its forward direction (max_eye_in_head_deg), so
# the head-pose sets draw the gaze from the part of the training range that such a head allows.
EXTRAPOLATION_SPECS: dict[str, tuple[EyeSpec, ...]] = {
    HEAD_POSE_EXTRAPOLATION: (
        EyeSpec(head_yaw_deg=(30.0, 45.0), gaze_yaw_deg=(-5.0, 35.0)),
        EyeSpec(head_yaw_deg=(-45.0, -30.0), gaze_yaw_deg=(-35.0, 5.0)),
        EyeSpec(head_pitch_deg=(20.0, 30.0), gaze_pitch_deg=(-5.0, 25.0)),
        EyeSpec(head_pitch_deg=(-30.0, -20.0), gaze_pitch_deg=(-25.0, 5.0)),
    ),
    GAZE_EXTRAPOLATION: (
        EyeSpec(gaze_yaw_deg=(35.0, 45.0)),
        EyeSpec(gaze_yaw_deg=(-45.0, -35.0)),
        EyeSpec(gaze_pitch_deg=(25.0, 32.0)),
        EyeSpec(gaze_pitch_deg=(-32.0, -25.0)),
    ),
}
BATCH = 256


def _test_seed(seed: int, part: int) -> int:
    """Odd data-set seeds only: the train partition draws even ones (``synth.item_shards``)."""
    return 2 * (seed + 1000 * part) + 1


def interpolation_patches(count: int, seed: int = 0, progress: bool = True) -> dict:
    """``count`` patches of the synthetic test partition (the shards' odd seed ``2 seed + 1``)."""
    from handperception.synth.eyes import render_eye_batch

    return render_eye_batch(EyeSpec(), _test_seed(seed, 0), 0, count, progress=progress)


def extrapolation_patches(name: str, count: int, seed: int = 0, progress: bool = True) -> dict:
    """``count`` patches of an extrapolation set, equal shares from each of its EyeSpecs."""
    from handperception.synth.eyes import render_eye_batch

    if name not in EXTRAPOLATION_SPECS:
        raise ValueError(
            f"unknown extrapolation set {name!r}; known: {sorted(EXTRAPOLATION_SPECS)}"
        )
    specs = EXTRAPOLATION_SPECS[name]
    shares = np.diff(np.linspace(0, count, len(specs) + 1).round().astype(int))
    parts = [
        render_eye_batch(spec, _test_seed(seed, part), 0, int(share), progress=progress)
        for part, (spec, share) in enumerate(zip(specs, shares), start=1)
        if share > 0
    ]
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def predict_pitchyaw(
    model: torch.nn.Module, images: np.ndarray, mirrored: np.ndarray | None = None
) -> np.ndarray:
    """(N, 36, 60) uint8 patches -> (N, 2) predicted pitch/yaw radians.

    ``mirrored``: (N,) bool, patches to mirror before the network and un-mirror after (the eyes
    of the side the network was not trained on, see ``models.gaze.MIRROR_RIGHT_EYE``).
    """
    images = np.asarray(images)
    flags = np.zeros(len(images), bool) if mirrored is None else np.asarray(mirrored, bool)
    if flags.shape != (len(images),):
        raise ValueError(f"mirrored must be ({len(images)},) booleans, got {flags.shape}")
    if not len(images):
        raise ValueError("no eye patches to evaluate")
    device = next(model.parameters()).device
    model.eval()
    predictions = []
    for start in range(0, len(images), BATCH):
        chunk = images[start : start + BATCH]
        flip = flags[start : start + BATCH]
        chunk = np.where(flip[:, None, None], mirror_eye_patches(chunk), chunk)
        pitchyaw = model.estimate(eye_patch_tensor(chunk).to(device))[0].cpu().numpy()
        predictions.append(np.where(flip[:, None], mirror_pitchyaw(pitchyaw), pitchyaw))
    return np.concatenate(predictions).astype(np.float64)


def error_metrics(errors_deg: np.ndarray) -> dict[str, float]:
    """Mean, median and 90th percentile of angular errors in degrees."""
    errors = np.asarray(errors_deg, dtype=np.float64)
    if not len(errors) or not np.all(np.isfinite(errors)):
        raise ValueError("angular errors must be a non-empty array of finite numbers")
    return {
        "mean_deg": float(errors.mean()),
        "median_deg": float(np.median(errors)),
        "p90_deg": float(np.percentile(errors, 90)),
    }


def evaluate_gaze_model(model: torch.nn.Module, patches: dict) -> dict[str, float]:
    """Metrics of ``model`` on patches {"image" (N, 36, 60) uint8, "gaze_pitchyaw" (N, 2)} (right
    eyes, as rendered)."""
    predicted = predict_pitchyaw(model, patches["image"])
    return error_metrics(pitchyaw_error_deg(predicted, patches["gaze_pitchyaw"]))


def evaluate_synthetic(
    model: torch.nn.Module,
    name: str,
    sets: tuple[str, ...] = SYNTHETIC_SETS,
    count: int = 500,
    seed: int = 0,
    progress: bool = True,
) -> EvaluationReport:
    """One report row per synthetic set (``SYNTHETIC_SETS``), ``count`` patches each."""
    report = EvaluationReport(model=name, metadata={"patches_per_set": count, "seed": seed})
    for split in sets:
        if split == INTERPOLATION:
            patches = interpolation_patches(count, seed, progress)
        else:
            patches = extrapolation_patches(split, count, seed, progress)
        report.add(SplitResult(split, evaluate_gaze_model(model, patches), num_samples=count))
    return report


def mirror_flags(sides: list[str]) -> np.ndarray:
    """(N,) bool: which eyes (sides "left"/"right" of the subject) the network sees mirrored."""
    unknown = set(sides) - {"left", "right"}
    if unknown:
        raise ValueError(f"eye sides must be 'left' or 'right', got {sorted(unknown)}")
    mirrored_side = "right" if MIRROR_RIGHT_EYE else "left"
    return np.array([side == mirrored_side for side in sides], bool)


def evaluate_mpiigaze(
    model: torch.nn.Module, root, persons: tuple[str, ...] | None = None, progress: bool = True
) -> SplitResult:
    """MPIIGaze's evaluation subset (``data.mpiigaze``), each eye on its own.

    MPIIGaze's "left"/"right" name the subject's eyes (its 6-point face model's order), so the
    side the network was not trained on is mirrored.
    """
    from handperception.data.mpiigaze import MPIIGazeDataset

    dataset = MPIIGazeDataset(root, "evaluation", persons, progress)
    if not len(dataset):
        raise ValueError(f"MPIIGaze at {root}: the evaluation subset is empty")
    sides = [key[3] for key in dataset.keys]
    gaze = dataset.gaze / np.linalg.norm(dataset.gaze, axis=1, keepdims=True)
    predicted = predict_pitchyaw(model, dataset.images, mirror_flags(sides))
    errors = pitchyaw_error_deg(predicted, vector_to_pitchyaw(gaze))
    return SplitResult("mpiigaze", error_metrics(errors), num_samples=len(errors))


def evaluate_mpiifacegaze(
    model: torch.nn.Module, root, persons: tuple[str, ...] | None = None, progress: bool = True
) -> SplitResult:
    """MPIIFaceGaze normalised faces (``data.mpiifacegaze``): both eyes' patches, their predicted
    vectors averaged into the face's gaze (its label starts at the face centre, between the eyes).
    """
    from handperception.data.mpiifacegaze import MPIIFaceGazeDataset

    dataset = MPIIFaceGazeDataset(root, persons, progress=progress)
    if not len(dataset):
        raise ValueError(f"MPIIFaceGaze at {root}: no samples")
    right, left = dataset.eye_patches()
    count = len(right)
    images = np.concatenate([right, left])
    flags = mirror_flags(["right"] * count + ["left"] * count)
    vectors = pitchyaw_to_vector(predict_pitchyaw(model, images, flags))
    face = vector_to_pitchyaw(vectors[:count] + vectors[count:])
    errors = pitchyaw_error_deg(face, dataset.gaze_pitchyaw)
    return SplitResult("mpiifacegaze", error_metrics(errors), num_samples=count)

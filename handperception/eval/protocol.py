"""The HANDS'19 protocol on the synthetic benchmark: one model, the interpolation test set and
one extrapolation test set per axis, scored with the same metric set.

Why a predictor callable: the protocol must score any model (ours, a checkpoint trained
elsewhere, MediaPipe) on identical bytes, so it only asks
``predict(rgb, K) -> (3D, 2D[, P(left)])``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from tqdm import tqdm

from handperception.data.crops import labelled_hand_crops
from handperception.eval.report import EvaluationReport, SplitResult, evaluate_keypoints

HAND_POSE_SPLITS: tuple[str, ...] = (
    "interpolation",
    "extrapolation:shape",
    "extrapolation:articulation",
    "extrapolation:viewpoint",
)

# predict(rgb (B, H, W, 3) uint8, K (B, 3, 3)) -> (joints_3d (B, 21, 3) metres, joints_2d (B, 21, 2)
# pixels) or, for a predictor that also tells handedness, (joints_3d, joints_2d, P(left) (B,)).
Predictor = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]


def evaluate_hand_pose(
    predict: Predictor,
    model_name: str,
    splits: tuple[str, ...] = HAND_POSE_SPLITS,
    samples_per_split: int = 500,
    seed: int = 1,
    size: int = 128,
    batch_size: int = 32,
    progress: bool = True,
) -> EvaluationReport:
    """Score ``predict`` on the synthetic single-hand *test* partition of every split."""
    from handperception.synth.dataset import SynthHandDataset
    from handperception.synth.splits import load_split

    if samples_per_split < 1 or batch_size < 1:
        raise ValueError("samples_per_split and batch_size must be >= 1")
    report = EvaluationReport(
        model=model_name,
        metadata={"samples_per_split": samples_per_split, "seed": seed, "size": size},
    )
    for split in splits:
        dataset = SynthHandDataset(
            load_split(split), "test", "hands", samples_per_split, seed, size
        )
        predictions_3d, predictions_2d, truth_3d, truth_2d, left_guesses, is_left = (
            [],
            [],
            [],
            [],
            [],
            [],
        )
        starts = range(0, samples_per_split, batch_size)
        for start in tqdm(
            starts, desc=f"evaluating {split}", unit="batch", disable=not progress, leave=False
        ):
            items = [dataset[i] for i in range(start, min(start + batch_size, samples_per_split))]
            rgb = np.stack([item["rgb"] for item in items])
            k = np.stack([item["K"] for item in items])
            joints_3d, joints_2d, *handedness = predict(rgb, k)
            predictions_3d.append(np.asarray(joints_3d))
            predictions_2d.append(np.asarray(joints_2d))
            left_guesses += [np.asarray(h, dtype=np.float64).reshape(-1) for h in handedness]
            truth_3d.append(np.stack([item["keypoints_3d"][0] for item in items]))
            truth_2d.append(np.stack([item["keypoints_2d"][0] for item in items]))
            is_left.append(np.array([bool(item["is_left"][0]) for item in items]))
        scores = evaluate_keypoints(
            np.concatenate(predictions_3d),
            np.concatenate(truth_3d),
            pred_2d=np.concatenate(predictions_2d),
            gt_2d=np.concatenate(truth_2d),
        )
        if left_guesses:
            guessed_left = np.concatenate(left_guesses) > 0.5
            scores["metrics"]["handedness_acc"] = float(
                np.mean(guessed_left == np.concatenate(is_left))
            )
        report.add(SplitResult(split, **scores))
    return report


def evaluate_hand_pose_dataset(
    predict: Predictor,
    model_name: str,
    dataset,
    name: str,
    max_samples: int = 1000,
    crop_size: int = 96,
    batch_size: int = 32,
    progress: bool = True,
) -> EvaluationReport:
    """Score ``predict`` on a real dataset (handperception.data common format), 3D metrics only.

    Each labelled hand is cropped around its ground-truth 2D keypoints: the dataset protocols score
    pose given the hand's location."""
    predictions, truth, masks, batch = [], [], [], []

    def flush():
        predicted = predict(
            np.stack([hand["rgb"] for hand in batch]), np.stack([hand["K"] for hand in batch])
        )[0]
        predictions.append(np.asarray(predicted))
        truth.append(np.stack([hand["keypoints_3d"][0] for hand in batch]))
        masks.append(np.stack([hand["visibility"][0] for hand in batch]))
        batch.clear()

    count = min(len(dataset), max_samples)
    for index in tqdm(range(count), desc=f"evaluating {name}", unit="sample", disable=not progress):
        for hand in labelled_hand_crops(dataset[index], crop_size):
            batch.append(hand)
            if len(batch) == batch_size:
                flush()
    if batch:
        flush()
    if not predictions:
        raise ValueError(f"{name}: no labelled hands in the first {count} samples")
    report = EvaluationReport(
        model=model_name, metadata={"dataset": name, "samples": count, "crop_size": crop_size}
    )
    scores = evaluate_keypoints(
        np.concatenate(predictions), np.concatenate(truth), mask=np.concatenate(masks)
    )
    report.add(SplitResult(name, **scores))
    return report

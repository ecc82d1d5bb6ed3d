"""Train and evaluate the hand detector on synthetic full frames generated on the fly.

Why on the fly: a synthetic frame at detector resolution (160 x 120) renders in ~10 ms, about
as long as its share of a training step, so every step sees new frames and there is no dataset to
store. Frames are rendered small with a correspondingly scaled camera (the generator picks the
FOV, not the pixel count), in a few aspect ratios and sometimes at twice the size, and always go
through the same ``Letterbox`` as at run time, so bars and downscaling are part of training.

Targets (CenterNet): per hand with at least MIN_VISIBLE_JOINTS visible joints, a Gaussian peak
in its side's heatmap channel at the centre of its box (keypoint box padded by
DETECTION_BOX_PADDING, clipped to the frame), and its size and sub-cell offset at that cell.
Hands with fewer visible joints are neither positives nor negatives (their box is ignored).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from handperception.geometry.crops import DETECTION_BOX_PADDING, box_iou, keypoint_bbox, scale_box
from handperception.models.detector import (
    CHANNEL_HANDEDNESS,
    DEFAULT_INPUT_SIZE,
    STRIDE,
    DetectorOutput,
    HandDetector,
    Letterbox,
)
from handperception.synth.render import HandFrame
from handperception.synth.scenes import full_frame
from handperception.synth.splits import SplitSpec, load_split

MIN_VISIBLE_JOINTS = 5
SIZE_LOSS_WEIGHT = 0.1  # CenterNet's weight: sizes are in cells, offsets in fractions of one
# Render aspect ratios (width / height) and their odds; 4:3 is the common camera.
RENDER_ASPECTS = ((4 / 3, 0.6), (16 / 9, 0.25), (1.0, 0.15))
SUPERSAMPLE_PROBABILITY = 0.25  # render at 2x and let the letterbox shrink it, as at run time


@dataclass(frozen=True)
class HandBoxes:
    """Ground truth of one frame: boxes (N, 4) frame pixels, is_left (N,), valid (N,) (enough
    visible joints)."""

    boxes: np.ndarray
    is_left: np.ndarray
    valid: np.ndarray


def hand_boxes(frame: HandFrame, min_visible: int = MIN_VISIBLE_JOINTS) -> HandBoxes:
    """The detector's box of every hand in a rendered frame (see the module docstring)."""
    height, width = frame.rgb.shape[:2]
    limit = np.array([width, height, width, height]) - 0.5
    boxes = [
        np.clip(scale_box(keypoint_bbox(k), DETECTION_BOX_PADDING), -0.5, limit)
        for k in frame.keypoints_2d
    ]
    return HandBoxes(
        np.array(boxes, dtype=np.float64).reshape(-1, 4),
        np.asarray(frame.is_left, dtype=bool),
        np.asarray(frame.visibility, dtype=bool).reshape(len(boxes), -1).sum(axis=1) >= min_visible
        if boxes
        else np.zeros(0, dtype=bool),
    )


def gaussian_sigma(width_cells: float, height_cells: float) -> float:
    """Peak spread in grid cells: wider for bigger boxes, where a 1-cell miss costs little IoU."""
    return max(0.8, 0.15 * min(width_cells, height_cells))


def make_targets(truth: HandBoxes, letterbox: Letterbox) -> dict[str, np.ndarray]:
    """Dense targets on the stride-4 grid of the letterboxed input.

    Returns heatmap (2, h, w) in [0, 1] (exactly 1 at each centre cell), size (2, h, w) box
    (width, height) in cells, offset (2, h, w) centre minus its cell, mask (h, w) 1 at centres,
    ignore (h, w) 1 inside the boxes of hands with too few visible joints.
    """
    h, w = letterbox.input_height // STRIDE, letterbox.input_width // STRIDE
    heatmap = np.zeros((len(CHANNEL_HANDEDNESS), h, w), np.float32)
    size, offset = np.zeros((2, h, w), np.float32), np.zeros((2, h, w), np.float32)
    mask, ignore = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    ys, xs = np.mgrid[0:h, 0:w]
    for box, is_left, valid in zip(truth.boxes, truth.is_left, truth.valid):
        corners = (letterbox.to_input(box.reshape(2, 2)) + 0.5) / STRIDE - 0.5  # grid cells
        if not valid:
            inside = (
                (xs >= corners[0, 0])
                & (xs <= corners[1, 0])
                & (ys >= corners[0, 1])
                & (ys <= corners[1, 1])
            )
            ignore[inside] = 1.0
            continue
        centre = corners.mean(axis=0)
        cell = np.clip(np.round(centre).astype(int), 0, [w - 1, h - 1])
        extent = corners[1] - corners[0]
        sigma = gaussian_sigma(*extent)
        peak = np.exp(-((xs - cell[0]) ** 2 + (ys - cell[1]) ** 2) / (2 * sigma * sigma))
        channel = 0 if is_left else 1
        heatmap[channel] = np.maximum(heatmap[channel], peak)
        size[:, cell[1], cell[0]] = extent
        offset[:, cell[1], cell[0]] = centre - cell
        mask[cell[1], cell[0]] = 1.0
    ignore[mask > 0] = 0.0
    return {"heatmap": heatmap, "size": size, "offset": offset, "mask": mask, "ignore": ignore}


def focal_loss(logits: torch.Tensor, target: torch.Tensor, ignore: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, summed and divided by the number of centres.

    logits, target (B, C, h, w); ignore (B, h, w) cells left out of the negatives.
    """
    log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)
    p = torch.sigmoid(logits)
    positive = (target >= 1.0).float()
    keep = 1.0 - ignore[:, None]
    positive_loss = -((1 - p) ** 2) * log_p * positive
    negative_loss = -((1 - target) ** 4) * p**2 * log_not_p * (1 - positive) * keep
    return (positive_loss.sum() + negative_loss.sum()) / positive.sum().clamp(min=1.0)


def detector_loss(
    outputs: DetectorOutput, targets: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """{'total', 'heatmap', 'size', 'offset'} scalars; size and offset L1 only at centre cells."""
    mask = targets["mask"][:, None]
    count = targets["mask"].sum().clamp(min=1.0)
    heat = focal_loss(outputs.heatmap, targets["heatmap"], targets["ignore"])
    size = ((outputs.size - targets["size"]).abs() * mask).sum() / count
    offset = ((outputs.offset - targets["offset"]).abs() * mask).sum() / count
    return {
        "total": heat + SIZE_LOSS_WEIGHT * size + offset,
        "heatmap": heat,
        "size": size,
        "offset": offset,
    }


def render_size(rng: np.random.Generator, image_size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) to render a training frame at: a random aspect fitted to image_size,
    maybe 2x."""
    aspects, odds = zip(*RENDER_ASPECTS)
    aspect = aspects[int(rng.choice(len(aspects), p=odds))]
    width, height = image_size
    if aspect >= width / height:
        height = max(8, round(width / aspect))
    else:
        width = max(8, round(height * aspect))
    factor = 2 if rng.random() < SUPERSAMPLE_PROBABILITY else 1
    return width * factor, height * factor


def synthetic_batch(
    spec: SplitSpec, partition: str, seed: int, indices: list[int], image_size: tuple[int, int]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Frames `indices` of (seed, partition), letterboxed: (B, 3, H, W) in [0, 1] and stacked
    targets."""
    images, targets = [], []
    for index in indices:
        rng = np.random.default_rng([seed, index, 7])
        width, height = render_size(rng, image_size)
        frame = full_frame(spec, partition, seed, index, width, height)
        letterbox = Letterbox(width, height, *image_size)
        images.append(letterbox.apply(frame.rgb))
        targets.append(make_targets(hand_boxes(frame), letterbox))
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    stacked = {key: torch.from_numpy(np.stack([t[key] for t in targets])) for key in targets[0]}
    return batch, stacked


class SyntheticBatches(torch.utils.data.Dataset):
    """Batch s of a training run (frames s * batch_size ...), so a DataLoader worker can render
    ahead."""

    def __init__(
        self, spec: SplitSpec, seed: int, steps: int, batch_size: int, image_size: tuple[int, int]
    ) -> None:
        self.spec, self.seed, self.steps, self.batch_size, self.image_size = (
            spec,
            seed,
            steps,
            batch_size,
            image_size,
        )

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        first = step * self.batch_size
        return synthetic_batch(
            self.spec,
            "train",
            self.seed,
            list(range(first, first + self.batch_size)),
            self.image_size,
        )


def train_detector(
    steps: int,
    batch_size: int = 16,
    lr: float = 2e-3,
    device: str = "cpu",
    seed: int = 0,
    image_size: tuple[int, int] = DEFAULT_INPUT_SIZE,
    progress: bool = True,
    size: str = "tiny",
    split: str = "interpolation",
    workers: int = 0,
    model: HandDetector | None = None,
) -> tuple[HandDetector, list[dict[str, float]]]:
    """Train a HandDetector for `steps` AdamW steps (cosine learning-rate decay).

    Starts from scratch, or continues training `model` (then `size` and `image_size` come from
    it); use another `seed` to continue on new frames.

    Returns the model (eval mode) and the per-step history [{'step', 'total', 'heatmap', 'size',
    'offset'}] (plot it with ``train.plots.plot_history``). Step s uses training frames
    s * batch_size ... (s + 1) * batch_size - 1; `workers` > 0 renders them in that many
    background processes while the model trains.
    """
    if steps <= 0 or batch_size <= 0 or not lr > 0 or workers < 0:
        raise ValueError(
            "need steps > 0, batch_size > 0, lr > 0, workers >= 0; "
            f"got {steps}, {batch_size}, {lr}, {workers}"
        )
    torch.manual_seed(seed)
    spec = load_split(split)
    if model is None:
        model = HandDetector(size, *image_size)
    image_size = (model.input_width, model.input_height)
    model = model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps, eta_min=lr * 0.05)
    history = []
    batches = torch.utils.data.DataLoader(
        SyntheticBatches(spec, seed, steps, batch_size, image_size),
        batch_size=None,
        num_workers=workers,
    )
    bar = tqdm(batches, desc="detector", disable=not progress)
    for step, (images, targets) in enumerate(bar):
        losses = detector_loss(
            model(images.to(device)), {k: v.to(device) for k, v in targets.items()}
        )
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        optimizer.step()
        record = {"step": step, **{k: v.item() for k, v in losses.items()}}
        schedule.step()
        history.append(record)
        bar.set_postfix(loss=f"{record['total']:.3f}")
    return model.eval(), history


def match_frame(detections: list, truth: HandBoxes, iou_threshold: float = 0.5) -> dict[str, int]:
    """Score one frame's detections (sorted by score) against its ground truth.

    Each detection takes the free hand it overlaps most (IoU >= iou_threshold); on a hand with too
    few visible joints it counts neither way. Returns true_positives, false_positives,
    false_negatives (expected hands left unmatched), correct_side (matches with the right
    handedness) and correct_count (1 when the detections not on ignored hands number exactly the
    expected hands, else 0).
    """
    iou = box_iou(np.array([d.box_xyxy for d in detections]).reshape(-1, 4), truth.boxes)
    taken: set[int] = set()
    counts = dict.fromkeys(
        ("true_positives", "false_positives", "false_negatives", "correct_side"), 0
    )
    ignored = 0
    for d, detection in enumerate(detections):
        free = [h for h in range(len(truth.boxes)) if h not in taken and iou[d, h] >= iou_threshold]
        if not free:
            counts["false_positives"] += 1
            continue
        hand = max(free, key=lambda h: iou[d, h])
        taken.add(hand)
        if not truth.valid[hand]:
            ignored += 1
            continue
        counts["true_positives"] += 1
        counts["correct_side"] += int(
            detection.handedness == ("left" if truth.is_left[hand] else "right")
        )
    expected = int(truth.valid.sum())
    counts["false_negatives"] = expected - counts["true_positives"]
    counts["correct_count"] = int(len(detections) - ignored == expected)
    return counts


def evaluate_detector(
    model: HandDetector,
    n_frames: int = 200,
    split: str = "interpolation",
    partition: str = "test",
    seed: int = 1,
    frame_size: tuple[int, int] = (640, 480),
    score_threshold: float = 0.3,
    iou_threshold: float = 0.5,
    progress: bool = True,
) -> dict[str, float]:
    """Detection quality on n_frames freshly rendered full frames of frame_size (see match_frame).

    Returns precision, recall, handedness_accuracy (on matches), count_accuracy (share of frames
    with exactly as many detections as expected hands) and the summed raw counts.
    """
    if n_frames <= 0:
        raise ValueError(f"n_frames must be positive, got {n_frames}")
    spec = load_split(split)
    model.eval()
    totals: dict[str, int] = {}
    for index in tqdm(range(n_frames), desc="evaluate detector", disable=not progress):
        frame = full_frame(spec, partition, seed, index, *frame_size)
        detections = model.detect([frame.rgb], score_threshold, max_hands=4)[0]
        for key, value in match_frame(detections, hand_boxes(frame), iou_threshold).items():
            totals[key] = totals.get(key, 0) + value
    found = totals["true_positives"]
    return {
        "precision": found / max(found + totals["false_positives"], 1),
        "recall": found / max(found + totals["false_negatives"], 1),
        "handedness_accuracy": totals["correct_side"] / max(found, 1),
        "count_accuracy": totals["correct_count"] / n_frames,
        "frames": n_frames,
        **totals,
    }

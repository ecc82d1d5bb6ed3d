"""Evaluation of the two-hand network (DIGIT): pose of each hand, the hands relative to each other,
which hands are there, and the part segmentation, on crops with no hand, one hand or two.

Why these numbers: DIGIT's point is that two touching hands are harder than one, so the pose error
is reported separately for crops with one hand (``single``) and with two (``interacting``), in
InterHand2.6M's root-relative protocol (each hand placed with its labelled wrist depth and size,
so only the network's 2.5D is scored). What the node publishes goes further: metric 3D lifted
without knowing the hand's size (``geometry.lifting``), and the two hands placed relative to each
other with the network's wrist offset (MRRPE). A crop's hands sit in two fixed slots (the
leftmost wrist in the image first; ``synth.two_hand_items``) with a presence score and a
handedness each, so "which hands" is scored as presence, hand count and handedness. The
segmentation is scored over its 13 part labels and over the three hand labels {background,
slot 0, slot 1} (the network labels hands by slot, ``models.digit``; how well a hand's side is
named is the handedness accuracy).

Metrics (``evaluate_two_hand_model``'s docstring has the definitions): millimetres (``_mm``),
pixels (``_px``), fractions in [0, 1] (accuracies, mIoU) and item counts. A metric whose items
are absent from the set (no one-hand crop, no part labels) is left out, never NaN.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from handperception.eval.metrics import handedness_accuracy, keypoint_errors, mrrpe
from handperception.eval.segmentation import confusion_matrix, iou_from_confusion
from handperception.geometry.lifting import backproject_2p5d, lift_all_bones, lift_hand_pair
from handperception.losses.biomechanical import reference_length
from handperception.models.digit import TwoHandPrediction, predict_crops
from handperception.skeleton.definition import NUM_JOINTS, ROOT
from handperception.skeleton.parts import HAND_SIDES, NUM_LABELS, hand_of_label
from handperception.synth.two_hand_items import TWO_HAND_FIELDS
from handperception.validation import check_shape, float_array

TWO_HAND_SPLITS: tuple[str, ...] = (
    "interpolation",
    "extrapolation:shape",
    "extrapolation:articulation",
    "extrapolation:viewpoint",
)
# Test items are drawn with this offset on the seed, disjoint from any training set's seed.
TEST_SEED_OFFSET = 1_000_000
NUM_HANDS = len(HAND_SIDES)
# Table columns (metric, header, kind): kind "mm"/"px" one decimal, "pct" a fraction shown in %,
# "count" an integer.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("items", "items", "count"),
    ("single", "one hand", "count"),
    ("interacting", "two hands", "count"),
    ("empty", "no hand", "count"),
    ("mpjpe_single_mm", "MPJPE one (mm)", "mm"),
    ("mpjpe_interacting_mm", "MPJPE two (mm)", "mm"),
    ("mpjpe_lifted_mm", "MPJPE lifted (mm)", "mm"),
    ("mrrpe_mm", "MRRPE (mm)", "mm"),
    ("mrrpe_independent_mm", "MRRPE indep. (mm)", "mm"),
    ("epe_2d_px", "2D EPE (px)", "px"),
    ("handedness_accuracy", "handedness (%)", "pct"),
    ("presence_accuracy", "presence (%)", "pct"),
    ("hand_count_accuracy", "hand count (%)", "pct"),
    ("count_accuracy_none", "count, none (%)", "pct"),
    ("count_accuracy_one", "count, one (%)", "pct"),
    ("count_accuracy_two", "count, two (%)", "pct"),
    ("segmentation_miou", "part mIoU (%)", "pct"),
    ("hand_miou", "hand mIoU (%)", "pct"),
)
PLOTTED = ("mpjpe_single_mm", "mpjpe_interacting_mm", "mrrpe_mm")
_PREDICTION_SHAPES = {
    "uv": (NUM_HANDS, NUM_JOINTS, 2),
    "depth": (NUM_HANDS, NUM_JOINTS),
    "presence": (NUM_HANDS,),
    "left_probability": (NUM_HANDS,),
    "root_offset": (),
}


def predict_two_hands(
    model: torch.nn.Module,
    rgb: np.ndarray,
    device: str | torch.device = "cpu",
    batch_size: int = 64,
) -> dict[str, np.ndarray]:
    """``models.digit.predict_crops`` over (N, S, S, 3) uint8 crops in batches of
    ``batch_size``: numpy arrays uv, depth, confidence, presence, left_probability, root_offset
    and labels (N, S, S), as ``TwoHandPrediction``'s fields."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8 or not len(rgb):
        raise ValueError(
            f"rgb must be a non-empty (N, H, W, 3) uint8 array, got {rgb.shape} {rgb.dtype}"
        )
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    model = model.to(device)
    chunks = [
        predict_crops(model, rgb[start : start + batch_size], device)
        for start in range(0, len(rgb), batch_size)
    ]
    return {
        field.name: np.concatenate([getattr(chunk, field.name) for chunk in chunks])
        for field in fields(TwoHandPrediction)
    }


def check_two_hand_arrays(arrays: dict[str, Any]) -> dict[str, np.ndarray]:
    """Stacked item fields (``synth.two_hand_items.TWO_HAND_FIELDS``) as checked numpy arrays;
    one-line ValueError naming the field that is missing or of the wrong shape."""
    missing = [name for name in TWO_HAND_FIELDS if name not in arrays]
    if missing:
        raise ValueError(f"two-hand items lack the fields {missing}")
    rgb = np.asarray(arrays["rgb"])
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8 or not len(rgb):
        raise ValueError(f"rgb must be a non-empty (N, S, S, 3) uint8 array, got {rgb.shape}")
    count, height, width = rgb.shape[:3]
    checked = {"rgb": rgb}
    segmentation = np.asarray(arrays["segmentation"])
    check_shape(segmentation, "segmentation", (count, height, width))
    if segmentation.dtype.kind not in "iu":
        raise ValueError(f"segmentation must hold integer labels, got {segmentation.dtype}")
    checked["segmentation"] = segmentation
    for name, shape in (
        ("has_segmentation", (count,)),
        ("labelled", (count, NUM_HANDS, NUM_JOINTS)),
        ("visibility", (count, NUM_HANDS, NUM_JOINTS)),
        ("present", (count, NUM_HANDS)),
        ("is_left", (count, NUM_HANDS)),
    ):
        flags = np.asarray(arrays[name])
        check_shape(flags, name, shape)
        checked[name] = flags.astype(bool)
    for name, shape in (
        ("keypoints_2d", (count, NUM_HANDS, NUM_JOINTS, 2)),
        ("keypoints_3d", (count, NUM_HANDS, NUM_JOINTS, 3)),
        ("K", (count, 3, 3)),
    ):
        checked[name] = float_array(arrays[name], name, shape)
    return checked


def _check_prediction(prediction: dict[str, Any], count: int, size: tuple[int, int]) -> dict:
    missing = [name for name in (*_PREDICTION_SHAPES, "labels") if name not in prediction]
    if missing:
        raise ValueError(f"the prediction lacks {missing}")
    checked = {
        name: float_array(prediction[name], f"predicted {name}", (count, *shape))
        for name, shape in _PREDICTION_SHAPES.items()
    }
    labels = np.asarray(prediction["labels"])
    check_shape(labels, "predicted labels", (count, *size))
    if labels.dtype.kind not in "iu":
        raise ValueError(f"predicted labels must be integers, got {labels.dtype}")
    checked["labels"] = labels
    return checked


def evaluate_two_hand_model(
    model: torch.nn.Module,
    arrays: dict[str, Any],
    device: str | torch.device = "cpu",
    batch_size: int = 64,
) -> dict[str, float]:
    """Score ``model`` on stacked two-hand items (``arrays``: TWO_HAND_FIELDS, N items).

    Returns ``two_hand_metrics`` of its ``predict_two_hands`` predictions.
    """
    checked = check_two_hand_arrays(arrays)
    prediction = predict_two_hands(model, checked["rgb"], device, batch_size)
    return two_hand_metrics(prediction, checked)


def two_hand_metrics(prediction: dict[str, Any], arrays: dict[str, Any]) -> dict[str, float]:
    """The metrics of predictions (``predict_two_hands``' fields) against labelled items.

    A labelled hand is scored in its slot (``synth.two_hand_items``' order); all 21 joints count
    (the synthetic labels are complete; the items' ``labelled`` mask is not read). Items are
    ``single`` (one present hand), ``interacting`` (two) or ``empty`` (none).

    * ``items``, ``single``, ``interacting``, ``empty``: item counts.
    * ``mpjpe_single_mm``, ``mpjpe_interacting_mm``: root-relative MPJPE (mm) of the hands of
      one-hand and of two-hand items, InterHand2.6M's protocol: the predicted 2.5D placed at the
      label's wrist depth with the label's reference bone (``backproject_2p5d``), the wrists
      then subtracted. Only the network's 2.5D is scored.
    * ``mpjpe_lifted_mm``: root-relative MPJPE (mm) of every labelled hand after the run-time
      lifting, which does not know the hand's size: ``lift_hand_pair`` (with the predicted
      ``root_offset``) on two-hand items, ``lift_all_bones`` on one-hand items. Its gap to the
      two above is the cost of the unknown size (and of the perspective at a wrong distance).
    * ``mrrpe_mm``: MRRPE (mm, ``eval.metrics.mrrpe``) of two-hand items, one wrist's position
      relative to the other's, from ``lift_hand_pair`` (the network's root offset);
      ``mrrpe_independent_mm``: the same with each hand lifted alone by ``lift_all_bones``.
    * ``epe_2d_px``: mean 2D distance (pixels) of the joints of labelled hands.
    * ``handedness_accuracy``: labelled hands whose P(left) > 0.5 is their side.
    * ``presence_accuracy``: slots (2 per item) where ``presence > 0.5`` equals ``present``.
    * ``hand_count_accuracy``: items whose number of slots above 0.5 equals their number of
      hands; ``count_accuracy_none``, ``_one``, ``_two``: the same over empty, one-hand and
      two-hand items.
    * ``segmentation_miou``: mean IoU over the 13 part labels (``skeleton.parts``, hand blocks
      by slot), one confusion matrix summed over the items with ``has_segmentation`` (labels
      absent from both prediction and truth are left out of the mean); ``hand_miou``: the same
      over {background, slot-0 hand, slot-1 hand} (``hand_of_label``).

    Metrics whose items are absent (e.g. no one-hand item, no part labels) are left out.
    """
    arrays = check_two_hand_arrays(arrays)
    count = len(arrays["rgb"])
    prediction = _check_prediction(prediction, count, arrays["rgb"].shape[1:3])
    present = arrays["present"]
    hands = present.sum(1)
    single, interacting, empty = hands == 1, hands == 2, hands == 0
    metrics = {
        "items": float(count),
        "single": float(single.sum()),
        "interacting": float(interacting.sum()),
        "empty": float(empty.sum()),
    }
    xyz, K = arrays["keypoints_3d"], arrays["K"]
    uv, depth = prediction["uv"], prediction["depth"]

    # Pose of each labelled hand (slot of its true side), placed as the labels say.
    items, slots = np.nonzero(present)
    if len(items):
        truth = xyz[items, slots]
        placed = _placed_at_label_root(uv[items, slots], depth[items, slots], K[items], truth)
        errors, _ = keypoint_errors(placed, truth, alignment="root")
        for name, kind in (("mpjpe_single_mm", single), ("mpjpe_interacting_mm", interacting)):
            chosen = kind[items]
            if chosen.any():
                metrics[name] = 1000.0 * float(errors[chosen].mean())
        distances = np.linalg.norm(uv[items, slots] - arrays["keypoints_2d"][items, slots], axis=-1)
        metrics["epe_2d_px"] = float(distances.mean())
        metrics.update(_lifted_metrics(prediction, arrays, single, interacting))

    presence = prediction["presence"]
    found = presence > 0.5
    metrics["presence_accuracy"] = float((found == present).mean())
    right_count = found.sum(1) == hands
    metrics["hand_count_accuracy"] = float(right_count.mean())
    for name, kind in (("none", empty), ("one", single), ("two", interacting)):
        if kind.any():
            metrics[f"count_accuracy_{name}"] = float(right_count[kind].mean())
    if present.any():
        metrics["handedness_accuracy"] = handedness_accuracy(
            prediction["left_probability"][present] > 0.5, arrays["is_left"][present]
        )

    labelled = arrays["has_segmentation"]
    if labelled.any():
        truth_labels = arrays["segmentation"][labelled]
        if truth_labels.min() < 0 or truth_labels.max() >= NUM_LABELS:
            raise ValueError(f"segmentation labels must lie in 0..{NUM_LABELS - 1}")
        predicted_labels = prediction["labels"][labelled]
        parts = confusion_matrix(predicted_labels, truth_labels, NUM_LABELS)
        sides = confusion_matrix(hand_of_label(predicted_labels), hand_of_label(truth_labels), 3)
        metrics["segmentation_miou"] = iou_from_confusion(parts).miou
        metrics["hand_miou"] = iou_from_confusion(sides).miou
    return metrics


def _placed_at_label_root(
    uv: np.ndarray, depth: np.ndarray, K: np.ndarray, truth: np.ndarray
) -> np.ndarray:
    """(M, 21, 2), (M, 21), (M, 3, 3), labelled (M, 21, 3) metres -> (M, 21, 3) the 2.5D placed
    at the label's wrist depth with the label's reference-bone length."""
    uv_t, depth_t, k_t, label = (
        torch.as_tensor(a, dtype=torch.float64) for a in (uv, depth, K, truth)
    )
    length = reference_length(label)
    if not bool(torch.all(length > 0)):
        raise ValueError("a labelled hand has a zero-length reference bone (wrist -> middle MCP)")
    return backproject_2p5d(uv_t, depth_t, k_t, label[:, ROOT, 2], length).numpy()


def _lifted_metrics(
    prediction: dict, arrays: dict, single: np.ndarray, interacting: np.ndarray
) -> dict[str, float]:
    """mpjpe_lifted_mm, mrrpe_mm and mrrpe_independent_mm (see ``two_hand_metrics``)."""
    xyz, K, present = arrays["keypoints_3d"], arrays["K"], arrays["present"]
    uv, depth = prediction["uv"], prediction["depth"]
    lifted, truth, metrics = [], [], {}
    if single.any():
        slot = present[single].argmax(1)
        rows = np.nonzero(single)[0]
        lifted.append(lift_all_bones(uv[rows, slot], depth[rows, slot], K[rows]))
        truth.append(xyz[rows, slot])
    if interacting.any():
        pair = lift_hand_pair(
            uv[interacting],
            depth[interacting],
            K[interacting],
            prediction["root_offset"][interacting],
        )
        pair_truth = xyz[interacting]
        lifted.append(pair.reshape(-1, NUM_JOINTS, 3))
        truth.append(pair_truth.reshape(-1, NUM_JOINTS, 3))
        pairs = len(pair)
        alone = lift_all_bones(
            uv[interacting].reshape(-1, NUM_JOINTS, 2),
            depth[interacting].reshape(-1, NUM_JOINTS),
            np.repeat(K[interacting], NUM_HANDS, axis=0),
        ).reshape(pairs, NUM_HANDS, NUM_JOINTS, 3)
        # The second wrist relative to the first (MRRPE's right/left, in slot order).
        gt_second, gt_first = pair_truth[:, 1, ROOT], pair_truth[:, 0, ROOT]
        metrics["mrrpe_mm"] = 1000.0 * mrrpe(
            pair[:, 1, ROOT], pair[:, 0, ROOT], gt_second, gt_first
        )
        metrics["mrrpe_independent_mm"] = 1000.0 * mrrpe(
            alone[:, 1, ROOT], alone[:, 0, ROOT], gt_second, gt_first
        )
    errors, _ = keypoint_errors(np.concatenate(lifted), np.concatenate(truth), alignment="root")
    metrics["mpjpe_lifted_mm"] = 1000.0 * float(errors.mean())
    return metrics


def synthetic_test_items(
    split: str, count: int, seed: int = 0, size: int = 128, progress: bool = True
) -> dict[str, np.ndarray]:
    """``count`` stacked mixed crops (``synth.two_hand_items.mixed_item``) of ``split``'s test
    partition, drawn with seed ``seed + TEST_SEED_OFFSET`` (disjoint from a training set's)."""
    from handperception.synth.splits import load_split
    from handperception.synth.two_hand_items import mixed_item

    if int(count) != count or count < 1 or size < 8:
        raise ValueError(f"need count >= 1 and size >= 8, got {count}, {size}")
    spec = load_split(split)
    items = [
        mixed_item(spec, "test", seed + TEST_SEED_OFFSET, index, size)
        for index in tqdm(
            range(count), desc=f"two-hand test crops {split}", disable=not progress, leave=False
        )
    ]
    return {name: np.stack([item[name] for item in items]) for name in TWO_HAND_FIELDS}


def evaluate_two_hands_synthetic(
    model: torch.nn.Module,
    splits: tuple[str, ...] = TWO_HAND_SPLITS,
    count: int = 300,
    seed: int = 0,
    size: int = 128,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> dict[str, dict[str, float]]:
    """{split: ``evaluate_two_hand_model`` metrics} on ``count`` synthetic test crops of side
    ``size`` per split (``synthetic_test_items``)."""
    if not splits:
        raise ValueError("no splits to evaluate")
    return {
        split: evaluate_two_hand_model(
            model, synthetic_test_items(split, count, seed, size, progress), device
        )
        for split in splits
    }


def _cell(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "count":
        return str(int(round(value)))
    if kind == "pct":
        return f"{100.0 * value:.1f}"
    return f"{value:.1f}"


def two_hands_markdown(results: dict[str, dict[str, float]], model: str) -> str:
    """A Markdown table, one row per split: mm and px with one decimal, accuracies and mIoU in
    percent, "-" where a split lacks the metric."""
    lines = [
        f"## {model}",
        "",
        "| split | " + " | ".join(header for _, header, _ in COLUMNS) + " |",
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    for split, metrics in results.items():
        cells = [_cell(metrics.get(name), kind) for name, _, kind in COLUMNS]
        lines.append(f"| {split} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_two_hands(results: dict[str, dict[str, float]], path: str | Path, model: str) -> Path:
    """PNG bar chart: per split, MPJPE of one-hand and two-hand items and MRRPE (mm); a metric a
    split lacks is a missing bar."""
    from matplotlib.figure import Figure

    if not results:
        raise ValueError("no results to plot")
    splits = list(results)
    figure = Figure(figsize=(max(6.0, 2.2 * len(splits) + 2), 4.2), layout="constrained")
    axes = figure.subplots()
    width = 0.8 / len(PLOTTED)
    positions = np.arange(len(splits))
    for offset, name in enumerate(PLOTTED):
        values = [results[split].get(name, np.nan) for split in splits]
        axes.bar(positions + (offset - (len(PLOTTED) - 1) / 2) * width, values, width, label=name)
    axes.set_xticks(positions, splits, rotation=20, ha="right")
    axes.set_ylabel("mm")
    axes.set_title(f"{model}: two-hand errors per split")
    axes.legend(fontsize="small")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def write_two_hands_report(
    results: dict[str, dict[str, float]],
    out_dir: str | Path,
    model: str,
    metadata: dict | None = None,
    stem: str = "evaluation",
) -> dict[str, Path]:
    """Write ``<stem>.json`` (``eval.report.EvaluationReport``'s layout, one split per entry),
    ``<stem>.md`` (``two_hands_markdown``) and ``<stem>.png`` (``plot_two_hands``)."""
    from handperception.eval.report import EvaluationReport, SplitResult

    report = EvaluationReport(model=model, metadata=dict(metadata or {}))
    for split, metrics in results.items():
        report.add(SplitResult(split, metrics, num_samples=int(metrics.get("items", 0))))
    out = Path(out_dir)
    markdown = out / f"{stem}.md"
    paths = {"json": report.write_json(out / f"{stem}.json"), "markdown": markdown}
    markdown.write_text(two_hands_markdown(results, model))
    paths["plot"] = plot_two_hands(results, out / f"{stem}.png", model)
    return paths

"""The two-hand evaluation (eval.two_hands) on hand-computed cases: a stand-in "network" that
answers with the labels scores zero error and full accuracy, one that swaps the slots finds the
one-hand crop's hand in the wrong slot, one that calls every hand the other side gets handedness
all wrong, and malformed inputs are refused."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from handperception.eval.two_hands import (
    evaluate_two_hand_model,
    predict_two_hands,
    synthetic_test_items,
    two_hand_metrics,
    two_hands_markdown,
)
from handperception.losses.pose import relative_depth
from handperception.losses.two_hands import wrist_depth_offset
from handperception.models.digit import TwoHandOutput
from handperception.skeleton.kinematics import forward_kinematics
from handperception.skeleton.parts import NUM_LABELS


class LabelNet(nn.Module):
    """Answers each crop with its labels: the crop's index is written in its first pixel.

    ``swap`` exchanges the two slots; ``wrong_side`` calls every hand the other side."""

    def __init__(self, arrays: dict, swap: bool = False, wrong_side: bool = False):
        super().__init__()
        present = torch.as_tensor(arrays["present"])
        xyz = torch.as_tensor(arrays["keypoints_3d"], dtype=torch.float64)
        safe = torch.where(
            present[..., None, None], xyz, xyz.new_ones(()) + torch.arange(21)[:, None]
        )
        depth = relative_depth(safe.flatten(0, 1)).view(-1, 2, 21)
        both = present.all(1)
        offset = torch.where(both, wrist_depth_offset(safe), torch.zeros(()))
        labels = torch.as_tensor(arrays["segmentation"]).long()
        self.answers = {
            "segmentation_logits": 10.0 * F.one_hot(labels, NUM_LABELS).permute(0, 3, 1, 2).float(),
            "uv": torch.as_tensor(arrays["keypoints_2d"]).float(),
            "depth": torch.where(present[..., None], depth, torch.zeros(())).float(),
            "presence_logit": torch.where(present, 10.0, -10.0),
            "handedness_logit": torch.where(torch.as_tensor(arrays["is_left"]), 10.0, -10.0),
            "root_offset": offset.float(),
        }
        if wrong_side:
            self.answers["handedness_logit"] = -self.answers["handedness_logit"]
        if swap:
            for name in ("uv", "depth", "presence_logit", "handedness_logit"):
                self.answers[name] = self.answers[name].flip(1)
            self.answers["root_offset"] = -self.answers["root_offset"]

    def forward(self, images: torch.Tensor) -> TwoHandOutput:
        index = (images[:, 0, 0, 0] * 255).round().long()
        picked = {name: value[index] for name, value in self.answers.items()}
        batch = len(images)
        maps = torch.zeros(batch, 2, 21, 1, 1)
        return TwoHandOutput(
            heatmaps=maps,
            probabilities=maps,
            confidence=torch.ones(batch, 2, 21),
            palm_facing_logit=torch.zeros(batch, 2),  # the evaluation reads the handedness only
            **picked,
        )


def _indexed(arrays: dict) -> dict:
    """A copy whose crop i has value i in its first pixel (what LabelNet reads)."""
    arrays = dict(arrays)
    arrays["rgb"] = arrays["rgb"].copy()
    arrays["rgb"][:, 0, 0, 0] = np.arange(len(arrays["rgb"]))
    return arrays


@pytest.fixture(scope="module")
def rendered():
    # Test seed 0: crops 0..4 hold no hand, two, two, two and one hand.
    return _indexed(synthetic_test_items("interpolation", 5, seed=0, size=64, progress=False))


def _mean_hands() -> dict:
    """Two crops of mean-size hands (what the run-time lifting assumes), 64 px, f = 80 px:
    a left and a right hand side by side, and a left hand alone."""
    pose = np.zeros((3, 15, 3))
    pose[:, :, 0] = 0.3  # every finger a little flexed: the hands are not flat
    angle = 0.4
    rotation = np.array(
        [[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]]
    )
    joints = forward_kinematics(
        pose,
        global_rotation=np.repeat(rotation[None], 3, axis=0),
        translation=np.array([[-0.06, -0.05, 0.5], [0.05, -0.04, 0.56], [0.0, -0.06, 0.45]]),
        is_left=np.array([True, False, True]),
    )
    K = np.array([[80.0, 0, 32], [0, 80.0, 32], [0, 0, 1]])
    keypoints_3d = np.zeros((2, 2, 21, 3))
    keypoints_3d[0, 0], keypoints_3d[0, 1], keypoints_3d[1, 0] = joints
    projected = keypoints_3d @ K.T
    with np.errstate(invalid="ignore", divide="ignore"):
        keypoints_2d = np.nan_to_num(projected[..., :2] / projected[..., 2:])
    segmentation = np.zeros((2, 64, 64), np.uint8)
    segmentation[0, 10:30, 5:25] = 1  # left palm
    segmentation[0, 10:30, 35:55] = 9  # right index finger
    segmentation[1, 20:40, 20:40] = 3  # left index finger
    present = np.array([[True, True], [True, False]])
    return _indexed(
        {
            "rgb": np.zeros((2, 64, 64, 3), np.uint8),
            "segmentation": segmentation,
            "has_segmentation": np.array([True, True]),
            "keypoints_2d": keypoints_2d.astype(np.float32),
            "keypoints_3d": keypoints_3d.astype(np.float32),
            "labelled": present[..., None].repeat(21, axis=-1),
            "visibility": present[..., None].repeat(21, axis=-1),
            "present": present,
            "is_left": np.array([[True, False], [True, False]]),
            "K": np.repeat(K[None], 2, axis=0).astype(np.float32),
        }
    )


def test_the_labels_as_prediction_score_no_error_and_full_accuracy(rendered):
    metrics = evaluate_two_hand_model(LabelNet(rendered), rendered)
    assert (metrics["items"], metrics["single"], metrics["interacting"], metrics["empty"]) == (
        5,
        1,
        3,
        1,
    )
    assert metrics["mpjpe_single_mm"] == pytest.approx(0.0, abs=1e-2)
    assert metrics["mpjpe_interacting_mm"] == pytest.approx(0.0, abs=1e-2)
    assert metrics["epe_2d_px"] == pytest.approx(0.0, abs=1e-3)
    for name in (
        "handedness_accuracy",
        "presence_accuracy",
        "hand_count_accuracy",
        "count_accuracy_none",
        "count_accuracy_one",
        "count_accuracy_two",
        "segmentation_miou",
        "hand_miou",
    ):
        assert metrics[name] == pytest.approx(1.0), name
    # The rendered hands are not of the mean size the run-time lifting assumes: finite, not 0.
    for name in ("mpjpe_lifted_mm", "mrrpe_mm", "mrrpe_independent_mm"):
        assert np.isfinite(metrics[name]) and metrics[name] >= 0, name


def test_mean_size_hands_lift_exactly_and_the_exact_offset_places_them():
    arrays = _mean_hands()
    metrics = evaluate_two_hand_model(LabelNet(arrays), arrays)
    assert (metrics["single"], metrics["interacting"], metrics["empty"]) == (1, 1, 0)
    assert metrics["mpjpe_lifted_mm"] < 0.5
    assert metrics["mrrpe_mm"] < 1.0
    assert metrics["mrrpe_independent_mm"] < 1.0
    # Two labels in crop 0 and one in crop 1 (and background): every one found exactly.
    assert metrics["segmentation_miou"] == pytest.approx(1.0)
    # A root offset one reference bone off moves the wrists that much apart in depth.
    prediction = predict_two_hands(LabelNet(arrays), arrays["rgb"])
    prediction["root_offset"] = prediction["root_offset"] + 1.0
    shifted = two_hand_metrics(prediction, arrays)
    assert shifted["mrrpe_mm"] > 40.0
    assert shifted["mrrpe_independent_mm"] == pytest.approx(metrics["mrrpe_independent_mm"])
    assert shifted["mpjpe_interacting_mm"] == pytest.approx(metrics["mpjpe_interacting_mm"])


def test_swapped_slots_put_the_lone_hand_in_the_wrong_slot(rendered):
    metrics = evaluate_two_hand_model(LabelNet(rendered, swap=True), rendered)
    # Both slots of the one-hand crop are wrong; the other four crops' presence is symmetric.
    assert metrics["presence_accuracy"] == pytest.approx(8 / 10)
    assert metrics["hand_count_accuracy"] == 1.0  # still one hand found where there is one
    assert metrics["mpjpe_single_mm"] > 10.0


def test_every_hand_called_the_other_side_scores_no_handedness(rendered):
    metrics = evaluate_two_hand_model(LabelNet(rendered, wrong_side=True), rendered)
    assert metrics["handedness_accuracy"] == 0.0
    assert metrics["presence_accuracy"] == 1.0 and metrics["epe_2d_px"] == pytest.approx(0.0)


def test_metrics_of_absent_kinds_are_left_out(rendered):
    two_hands_only = {name: value[1:4] for name, value in rendered.items()}
    two_hands_only["has_segmentation"] = np.zeros(3, bool)
    metrics = evaluate_two_hand_model(LabelNet(rendered), two_hands_only)
    for name in (
        "mpjpe_single_mm",
        "count_accuracy_none",
        "count_accuracy_one",
        "segmentation_miou",
        "hand_miou",
    ):
        assert name not in metrics
    assert all(np.isfinite(value) for value in metrics.values())


def test_wrong_inputs_raise(rendered):
    model = LabelNet(rendered)
    flat = dict(rendered, keypoints_3d=rendered["keypoints_3d"][:, 0])
    with pytest.raises(ValueError, match="keypoints_3d"):
        evaluate_two_hand_model(model, flat)
    with pytest.raises(ValueError, match="lack the fields"):
        evaluate_two_hand_model(model, {k: v for k, v in rendered.items() if k != "present"})
    with pytest.raises(ValueError, match="uint8"):
        predict_two_hands(model, rendered["rgb"].astype(np.float32))
    with pytest.raises(ValueError, match="uint8"):
        predict_two_hands(model, rendered["rgb"].transpose(0, 3, 1, 2))
    prediction = predict_two_hands(model, rendered["rgb"])
    with pytest.raises(ValueError, match="predicted presence"):
        two_hand_metrics(dict(prediction, presence=prediction["presence"][:, 0]), rendered)
    with pytest.raises(ValueError, match="count"):
        synthetic_test_items("interpolation", 0)


def test_markdown_shows_millimetres_and_percent():
    table = two_hands_markdown(
        {"interpolation": {"items": 4.0, "mpjpe_interacting_mm": 12.345, "hand_miou": 0.5}}, "m"
    )
    row = table.strip().splitlines()[-1]
    assert row.startswith("| interpolation | 4 |")
    assert "| 12.3 |" in row and "| 50.0 |" in row and "| - |" in row

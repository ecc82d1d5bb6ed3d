import numpy as np
import pytest

from handperception.eval.protocol import evaluate_hand_pose
from handperception.synth.dataset import SynthHandDataset
from handperception.synth.splits import load_split


def test_protocol_scores_a_known_error_on_every_split(tmp_path):
    """A 'model' that answers the truth shifted 10 mm along x: MPJPE 10 mm, root-relative 0."""
    splits = ("interpolation", "extrapolation:viewpoint")
    truth = {
        split: SynthHandDataset(load_split(split), "test", "hands", 6, 1, 48) for split in splits
    }
    calls = []

    def shifted_truth(rgb, k):
        split = splits[len(calls) // 2]
        start = 4 * (len(calls) % 2)
        items = [truth[split][i] for i in range(start, start + len(rgb))]
        assert all(np.array_equal(item["rgb"], image) for item, image in zip(items, rgb))
        calls.append(split)
        joints = np.stack([item["keypoints_3d"][0] for item in items]) + [0.01, 0.0, 0.0]
        return joints, np.stack([item["keypoints_2d"][0] for item in items])

    report = evaluate_hand_pose(
        shifted_truth, "oracle", splits, samples_per_split=6, size=48, batch_size=4, progress=False
    )
    assert list(report.splits) == list(splits)
    for split in report.splits.values():
        assert split.num_samples == 6
        assert split.metrics["mpjpe_mm"] == pytest.approx(10.0)
        assert split.metrics["rr_mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)
        assert split.metrics["epe_2d_px"] == pytest.approx(0.0, abs=1e-9)
        assert (
            split.metrics["auc_0_50"] > 0.99
        )  # all errors ~0 (trapezoid over 100 thresholds from 0 mm)
    paths = report.write(tmp_path)
    assert all(path.exists() for path in paths.values())


def test_a_predictor_that_tells_handedness_gets_its_accuracy():
    """Always answering 'left' is right exactly on the left hands of the test set."""
    items = SynthHandDataset(load_split("interpolation"), "test", "hands", 8, 1, 32)
    left_share = np.mean([items[i]["is_left"][0] for i in range(8)])
    assert 0 < left_share < 1  # both sides occur, so the accuracy is not trivially 0 or 1

    some_hand = np.random.default_rng(0).normal(0.0, 0.03, (21, 3)) + [0.0, 0.0, 0.5]

    def always_left(rgb, k):
        return np.tile(some_hand, (len(rgb), 1, 1)), np.zeros((len(rgb), 21, 2)), np.ones(len(rgb))

    report = evaluate_hand_pose(
        always_left,
        "left",
        ("interpolation",),
        samples_per_split=8,
        size=32,
        batch_size=3,
        progress=False,
    )
    assert report.splits["interpolation"].metrics["handedness_acc"] == pytest.approx(left_share)

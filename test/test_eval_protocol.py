import numpy as np
import pytest

from handperception.eval.protocol import evaluate_hand_pose
from handperception.synth.dataset import SynthHandDataset
from handperception.synth.splits import load_split


def test_protocol_scores_a_known_error_on_every_split(tmp_path):
    """A 'model' that answers the truth shifted 10 mm along x: MPJPE 10 mm, root-relative 0."""
    splits = ("interpolation", "extrapolation:viewpoint")
    truth = {split: SynthHandDataset(load_split(split), "test", "hands", 6, 1, 48) for split in splits}
    calls = []

    def shifted_truth(rgb, k):
        split = splits[len(calls) // 2]
        start = 4 * (len(calls) % 2)
        items = [truth[split][i] for i in range(start, start + len(rgb))]
        assert all(np.array_equal(item["rgb"], image) for item, image in zip(items, rgb))
        calls.append(split)
        joints = np.stack([item["keypoints_3d"][0] for item in items]) + [0.01, 0.0, 0.0]
        return joints, np.stack([item["keypoints_2d"][0] for item in items])

    report = evaluate_hand_pose(shifted_truth, "oracle", splits, samples_per_split=6, size=48, batch_size=4, progress=False)
    assert list(report.splits) == list(splits)
    for split in report.splits.values():
        assert split.num_samples == 6
        assert split.metrics["mpjpe_mm"] == pytest.approx(10.0)
        assert split.metrics["rr_mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)
        assert split.metrics["epe_2d_px"] == pytest.approx(0.0, abs=1e-9)
        assert split.metrics["auc_0_50"] > 0.99  # all errors ~0 (trapezoid over 100 thresholds from 0 mm)
    paths = report.write(tmp_path)
    assert all(path.exists() for path in paths.values())

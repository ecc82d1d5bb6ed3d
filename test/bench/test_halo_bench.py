"""The halo_mesh benchmark suite: its figures, its skip, its goal."""

import numpy as np
import torch
from torch import nn

from handperception.bench.halo import bench_halo_mesh, bench_mesh_extraction
from handperception.bench.report import LATENCY_GOALS_MS, goals_met
from handperception.synth.halo_samples import capsule_sdf
from handperception.synth.hand_model import hand_capsules


class _CapsuleHand(nn.Module):
    """The capsule solid of whatever hand it is asked about (mean thickness), as logits."""

    def forward(self, points, keypoints, is_left):
        capsules = hand_capsules(keypoints[0].double().numpy(), 1.0, bool(is_left[0]))
        sdf = capsule_sdf(points[0].double().numpy(), capsules)
        return torch.as_tensor(-sdf / 0.0005, dtype=torch.float32)[None]


def test_suite_reports_both_extractions_side_by_side():
    result = bench_mesh_extraction(
        _CapsuleHand(), repeats=2, hands=2, resolution=32, coarse_resolution=16
    )
    assert result["coarse_to_fine"]["n"] == 2 and result["coarse_to_fine"]["p50_ms"] > 0
    assert result["dense"]["p50_ms"] > 0
    for hand in result["hands"]:
        assert hand["queries_dense"] == 33**3 and hand["queries"] < hand["queries_dense"]
        assert hand["watertight"]
        assert np.isfinite(hand["chamfer_mm"]) and np.isfinite(hand["chamfer_dense_mm"])
    assert result["mean"]["query_reduction"] > 1.0
    judged = goals_met({"halo_mesh": result})
    assert judged["halo_mesh/coarse_to_fine"]["goal_p50_ms"] == 100.0


def test_without_a_checkpoint_the_suite_says_why(tmp_path):
    threads = torch.get_num_threads()
    result = bench_halo_mesh(checkpoint=tmp_path / "missing.pt")
    assert "no HALO checkpoint" in result["skipped"]
    assert torch.get_num_threads() == threads
    assert "halo_mesh/coarse_to_fine" in LATENCY_GOALS_MS

"""The gaze pipeline benchmark: per-face times and accuracy for each backend that loads, and the
reason for one that cannot."""

import pytest

from handperception.bench.gaze import bench_gaze_pipeline


def test_each_backend_is_timed_on_the_same_frames_or_says_why_not(tmp_path):
    pytest.importorskip("mediapipe")  # the geometric peer's face mesh
    results = bench_gaze_pipeline("cpu", frames=3, checkpoint=str(tmp_path / "missing.pt"))
    assert results["frames"] == 3
    assert "missing.pt does not exist" in results["network"]["skipped"]
    geometric = results["geometric"]
    assert geometric["n"] == 3 and 0 < geometric["p50_ms"] <= geometric["p95_ms"]
    assert geometric["faces_per_frame"] >= 1  # the rendered face is found
    assert 0 <= geometric["median_angular_error_deg"] < 45
    assert 0 <= geometric["median_origin_error_m"] < 0.1

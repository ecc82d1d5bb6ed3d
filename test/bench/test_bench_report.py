import json

import numpy as np
import pytest

from handperception.bench.report import LATENCY_GOALS_MS, goals_met, latency_rows, write_report
from handperception.bench.synth import benchmark_grasps
from handperception.runtime.timing import summarize_ms, time_calls
from handperception.synth.grasps import sample_grasp
from handperception.synth.splits import load_split


def test_summary_percentiles_are_hand_computed():
    summary = summarize_ms([10.0] * 98 + [20.0, 30.0])
    assert summary["p50_ms"] == 10.0 and summary["mean_ms"] == pytest.approx(10.3)
    assert summary["p99_ms"] == pytest.approx(
        20.1
    )  # linear interpolation between the 99th and 100th
    assert summary["per_s"] == pytest.approx(1000 / 10.3, rel=1e-3)
    with pytest.raises(ValueError):
        summarize_ms([])
    calls = []
    assert time_calls(calls.append, 4, warmup=2).shape == (4,) and calls[2:] == [0, 1, 2, 3]


def test_report_collects_every_latency_and_writes_json_and_plot(tmp_path):
    results = {
        "machine": {"cores": 2, "device": "cpu"},
        "benchmarks": {
            "graph": {
                "topics": {
                    "/hands": {
                        "latency_p50_ms": 20.0,
                        "latency_p95_ms": 30.0,
                        "latency_p99_ms": 35.0,
                    },
                    "/idle": {"latency_p50_ms": None, "latency_p95_ms": None},
                },
                "nodes": {
                    "source": {"latency_p50_ms": float("nan"), "latency_p95_ms": float("nan")}
                },
            },
            "model": {"p50_ms": 5.0, "p95_ms": 6.0, "p99_ms": 7.0},
        },
    }
    assert latency_rows(results["benchmarks"]) == [
        ("graph/topics/hands", 20.0, 30.0, 35.0),
        ("model", 5.0, 6.0, 7.0),
    ]
    json_path, plot_path = write_report(results, tmp_path)
    assert json.loads(json_path.read_text())["machine"]["cores"] == 2
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_latencies_with_a_goal_are_judged_by_it_and_marked_on_the_plot(tmp_path):
    assert LATENCY_GOALS_MS["two_hand_pose_node/topics/two_hands"] == (60.0, 90.0)

    def node(p50, p95):
        latency = {"latency_p50_ms": p50, "latency_p95_ms": p95, "latency_p99_ms": p95}
        return {"topics": {"/two_hands": latency}}

    judged = goals_met({"two_hand_pose_node": node(55.0, 95.0), "other": node(1.0, 2.0)})
    assert judged == {
        "two_hand_pose_node/topics/two_hands": {
            "goal_p50_ms": 60.0,
            "goal_p95_ms": 90.0,
            "p50_ms": 55.0,
            "p95_ms": 95.0,
            "met": False,
        }
    }
    assert goals_met({"two_hand_pose_node": node(60.0, 90.0)})[
        "two_hand_pose_node/topics/two_hands"
    ]["met"]
    assert goals_met({}) == {}
    results = {"machine": {}, "benchmarks": {"two_hand_pose_node": node(55.0, 95.0)}}
    _, plot_path = write_report(results, tmp_path)
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_peer_comparison_ratios():
    from handperception.cli.bench import peer_comparison

    topics = lambda p50, rate: {"topics": {"/hands": {"latency_p50_ms": p50, "rate_hz": rate}}}  # noqa: E731
    assert peer_comparison(
        {"hand_pose_node": topics(20.0, 30.0), "hand_pose_node_mediapipe": topics(50.0, 15.0)}
    ) == {"mediapipe_over_native_latency_p50": 2.5, "mediapipe_over_native_rate": 0.5}
    assert peer_comparison({"hand_pose_node": topics(20.0, 30.0)}) == {}


def test_benchmark_counts_the_attempts_of_the_grasps_it_times():
    result = benchmark_grasps(3)
    expected = np.mean(
        [sample_grasp(load_split("interpolation"), "train", 0, i).attempts for i in range(3)]
    )
    assert result["n"] == 3 and result["mean_attempts"] == pytest.approx(expected)

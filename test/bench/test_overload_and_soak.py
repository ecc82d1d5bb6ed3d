"""The arithmetic of the overload and soak reports, on made-up numbers (the runs take minutes)."""

import json

import pytest

from handperception.bench.overload import accounting, latency_summary, recovery
from handperception.bench.soak import SoakSample, plot, samples_as_dicts, summarise


def test_latency_summary_in_milliseconds_and_empty_as_none():
    summary = latency_summary([0.010, 0.020, 0.030, 0.100])
    assert summary["count"] == 4 and summary["max_ms"] == 100.0
    assert summary["p50_ms"] == pytest.approx(25.0)
    assert latency_summary([]) == {"count": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}


def test_recovery_is_the_first_result_within_the_factor_of_the_settled_latency():
    after = [(0.0, 0.400), (0.1, 0.200), (0.2, 0.035), (0.3, 0.030), (0.4, 0.030), (0.5, 0.031)]
    result = recovery(after)
    assert result["first_result_ms"] == 400.0 and result["settled_p50_ms"] == 30.0
    assert result["recovered_after_s"] == 0.2
    assert recovery([])["recovered_after_s"] is None


def test_accounting_leaves_what_no_counter_holds():
    stats = {"count": 50, "drops": {"superseded": 40, "bad_image": 2}, "received": 95}
    result = accounting(100, stats)
    assert result == {
        "sent": 100,
        "received": 95,
        "processed": 50,
        "superseded": 40,
        "dropped": {"bad_image": 2},
        "unaccounted": 8,
    }


def _samples(rss, latency):
    return [
        SoakSample(t_s=10.0 * i, rss_mb=r, latency_p50_ms={"hand_pose": lat})
        for i, (r, lat) in enumerate(zip(rss, latency))
    ]


def test_summary_leaves_out_the_warm_up_and_measures_growth_and_drift():
    samples = _samples([100, 300, 400, 401, 402, 404], [20, 20, 20, 21, 30, 30])
    summary = summarise(samples, warmup_s=20.0)
    assert summary["rss_after_warmup_mb"] == 400 and summary["rss_growth_percent"] == 1.0
    assert summary["rss_goal_met"]
    drift = summary["latency_drift"]["hand_pose"]
    assert drift["first_p50_ms"] == 20 and drift["last_p50_ms"] == 30
    assert not summary["latency_goal_met"]


def test_plot_and_json_of_the_samples(tmp_path):
    samples = _samples([100, 101, 102], [20, None, 21])
    assert plot(samples, 10.0, tmp_path / "soak.png").stat().st_size > 0
    json.dumps(samples_as_dicts(samples), allow_nan=False)

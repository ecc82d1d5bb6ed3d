"""The hand_mesh_node benchmark suite: the stamp its listener reads off raw bytes, its rate goal,
and the suite itself in its quick form (structure and sane values, no timing thresholds)."""

import json
import math
import subprocess
import sys

import pytest

from handperception.bench.report import RATE_GOALS_HZ, goals_met, latency_rows, write_report

GOAL = "hand_mesh_node/topics/hand_meshes"


def test_the_stamp_is_read_off_a_serialised_message():
    from builtin_interfaces.msg import Time
    from rclpy.serialization import serialize_message
    from std_msgs.msg import Header

    from handperception.ros.bench_graph import _stamp_ns
    from handperception_msgs.msg import HandMeshArray

    header = Header(stamp=Time(sec=1_796_324_769, nanosec=688_629_462), frame_id="camera")
    serialized = serialize_message(HandMeshArray(header=header))
    assert _stamp_ns(serialized) == 1_796_324_769_688_629_462


def test_the_rate_goal_is_judged_on_the_meshes_topic():
    assert RATE_GOALS_HZ[GOAL] == 10.0

    def suite(rate_hz):
        return {"hand_mesh_node": {"topics": {"/hand_meshes": {"count": 9, "rate_hz": rate_hz}}}}

    assert goals_met(suite(12.5))[GOAL] == {"goal_rate_hz": 10.0, "rate_hz": 12.5, "met": True}
    assert goals_met(suite(10.0))[GOAL]["met"]
    assert not goals_met(suite(4.3))[GOAL]["met"]
    assert GOAL not in goals_met({"hand_mesh_node": {"skipped": "no checkpoint"}})


@pytest.mark.ros
@pytest.mark.slow
def test_the_quick_suite_reports_the_nodes_rate_latency_and_drops(tmp_path):
    # In its own interpreter, as `make bench` runs it: the graph's rclpy context, once torn
    # down in this process, broke the next test's executor (InvalidHandle in its spin thread).
    command = [sys.executable, "-m", "handperception.cli.main", "bench", "--quick"]
    command += ["--only", "hand_mesh_node", "--device", "cpu", "--out", str(tmp_path / "run")]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    result = json.loads((tmp_path / "run" / "results.json").read_text())["benchmarks"]
    result = result["hand_mesh_node"]

    assert result["hands_per_array"] == 1 and result["input_rate_hz"] == 30.0
    assert result["frames_published"] == 60
    meshes = result["topics"]["/hand_meshes"]
    assert 2 <= meshes["count"] <= 60 and meshes["rate_hz"] > 0
    assert math.isfinite(meshes["latency_p50_ms"]) and meshes["latency_p50_ms"] > 0
    assert meshes["latency_p95_ms"] >= meshes["latency_p50_ms"]
    # someone listened to the markers, so the node built them (a few may be lost at the start)
    assert result["topics"]["/hand_mesh/markers"]["count"] >= 1
    node = result["nodes"]["hand_mesh"]
    assert meshes["count"] <= node["count"] <= node["received"] <= 60
    # every array taken was meshed or superseded (or still in flight when the run ended, or
    # left pending as the node stopped): one valid hand each, never dropped for another reason
    assert set(node["drops"]) <= {"superseded", "inactive"}
    assert node["received"] - 1 <= node["count"] + node["dropped"] <= node["received"]
    assert node["result_drops"] == {}
    assert result["frames_dropped"]["/hand_meshes"] == 60 - meshes["count"]
    assert result["process"]["cpu_percent"] > 0

    judged = goals_met({"hand_mesh_node": result})[GOAL]
    assert judged["goal_rate_hz"] == 10.0 and judged["rate_hz"] == meshes["rate_hz"]
    rows = [row[0] for row in latency_rows({"hand_mesh_node": result})]
    assert GOAL in rows
    json_path, plot_path = write_report(
        {"machine": {"cores": 2, "device": "cpu"}, "benchmarks": {"hand_mesh_node": result}},
        tmp_path,
    )
    assert json_path.is_file() and plot_path.stat().st_size > 0

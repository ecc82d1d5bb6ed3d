"""Benchmark results: the machine they were measured on, a JSON file and a latency plot, and
the latency goals the results are judged by (``LATENCY_GOALS_MS``)."""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path

# Latency goals, ms: the path of a distribution in the results' "benchmarks" (as latency_rows
# names it) -> (p50, p95) it must stay at or under, on the 2-core CPU of docs/benchmarks.md.
LATENCY_GOALS_MS: dict[str, tuple[float, float]] = {
    # per face, the pipeline alone (issue #15; bench/gaze.py)
    "gaze_pipeline/network": (15.0, 25.0),
    # the two-hand node alone, 640x480 synthetic:two_hands at 30 Hz, image stamp -> /two_hands
    "two_hand_pose_node/topics/two_hands": (60.0, 90.0),
    # one HALO hand mesh at an effective 128^3, coarse to fine, model only (issue #17)
    "halo_mesh/coarse_to_fine": (100.0, 150.0),
    # tabletop detection per 640x480 depth frame, the pipeline alone (issue #18; bench/tabletop.py)
    "tabletop/detection": (50.0, 80.0),
    # ten refined grasp proposals for one object, the pipeline alone (issue #18; bench/grasps.py)
    "grasp_synthesis/ten_proposals": (2000.0, 3000.0),
}
# Rate goals, Hz: the path of a topic's statistics in "benchmarks" (with "rate_hz") -> the rate it
# must reach, on the same CPU. A node that supersedes what it cannot keep up with is judged by
# the rate of what it publishes; its latency (a result's age) says less of that.
RATE_GOALS_HZ: dict[str, float] = {
    # the hand_mesh node alone, one hand per array at 30 Hz, markers listened to (issue #17)
    "hand_mesh_node/topics/hand_meshes": 10.0,
}


def goals_met(benchmarks: dict) -> dict:
    """Each goal of LATENCY_GOALS_MS that the benchmarks measured: its p50/p95 goal, what was
    measured and whether both are met; and each of RATE_GOALS_HZ: its rate goal, the rate
    measured and whether it is reached."""
    measured = {label: (p50, p95) for label, p50, p95, _ in latency_rows(benchmarks)}
    judged = {}
    for label, (goal_p50, goal_p95) in LATENCY_GOALS_MS.items():
        if label not in measured:
            continue
        p50, p95 = measured[label]
        judged[label] = {
            "goal_p50_ms": goal_p50,
            "goal_p95_ms": goal_p95,
            "p50_ms": p50,
            "p95_ms": p95,
            "met": p50 <= goal_p50 and p95 <= goal_p95,
        }
    for label, goal_hz in RATE_GOALS_HZ.items():
        rate = _at(benchmarks, label).get("rate_hz")
        if rate is not None:
            judged[label] = {"goal_rate_hz": goal_hz, "rate_hz": rate, "met": rate >= goal_hz}
    return judged


def _at(benchmarks: dict, label: str) -> dict:
    """The dict at a results path ("suite/topics/name", a topic's leading / left out as
    latency_rows leaves it); {} where there is none."""
    node = benchmarks
    for key in label.split("/"):
        if not isinstance(node, dict):
            return {}
        node = next((v for k, v in node.items() if str(k).strip("/") == key), {})
    return node if isinstance(node, dict) else {}


def machine_description(device: str) -> dict:
    import torch

    cpu = platform.processor() or ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    description = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    if device.startswith("cuda"):
        description["gpu"] = torch.cuda.get_device_name(device)
    return description


def latency_rows(results: dict) -> list[tuple[str, float, float, float]]:
    """(label, p50, p95, p99) in ms for every latency distribution found in the results."""
    rows = []

    def visit(prefix: str, node) -> None:
        if isinstance(node, dict):
            p50 = node.get("latency_p50_ms", node.get("p50_ms"))
            p95 = node.get("latency_p95_ms", node.get("p95_ms"))
            p99 = node.get("latency_p99_ms", node.get("p99_ms"))
            if p50 is not None and p95 is not None:
                values = (float(p50), float(p95), float(p99 if p99 is not None else p95))
                if all(math.isfinite(v) and v > 0 for v in values):
                    rows.append((prefix, *values))
                return
            for key, value in node.items():
                key = str(key).strip("/")
                visit(f"{prefix}/{key}" if prefix else key, value)

    visit("", results)
    return rows


def write_report(results: dict, out_dir: str | Path) -> tuple[Path, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "results.json"
    json_path.write_text(json.dumps(results, indent=2))
    rows = latency_rows(results.get("benchmarks", {}))
    figure, axis = plt.subplots(figsize=(10, 0.45 * max(len(rows), 4) + 1.5))
    if rows:
        labels = [row[0] for row in rows]
        positions = np.arange(len(rows))
        for offset, (column, name, colour) in enumerate(
            ((1, "p50", "#4c72b0"), (2, "p95", "#dd8452"), (3, "p99", "#c44e52"))
        ):
            axis.barh(
                positions + (offset - 1) * 0.27,
                [row[column] for row in rows],
                height=0.27,
                label=name,
                color=colour,
            )
        # A goal: a black tick across its p50 bar and one across its p95 bar.
        ticks = [
            (goal, position + offset)
            for position, label in enumerate(labels)
            if label in LATENCY_GOALS_MS
            for goal, offset in zip(LATENCY_GOALS_MS[label], (-0.27, 0.0))
        ]
        if ticks:
            axis.scatter(
                *zip(*ticks), marker="|", s=220, linewidths=2.5, color="black", label="goal"
            )
        axis.set_yticks(positions, labels, fontsize=8)
        axis.invert_yaxis()
        axis.set_xscale("log")
        axis.legend()
    machine = results.get("machine", {})
    axis.set_xlabel("milliseconds (log scale)")
    cores, device = machine.get("cores", "?"), machine.get("device", "?")
    axis.set_title(f"handperception latencies on {cores} cores, {device}", fontsize=10)
    figure.tight_layout()
    plot_path = out / "latency.png"
    figure.savefig(plot_path, dpi=110)
    plt.close(figure)
    return json_path, plot_path

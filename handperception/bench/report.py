"""Benchmark results: the machine they were measured on, a JSON file and a latency plot."""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path


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

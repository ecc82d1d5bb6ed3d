"""What a soak run says: memory growth after warm-up, latency drift, crashes, and a plot of RSS
and each node's latency over time.

Why: a leak of a few kilobytes per frame or a latency that creeps up with an internal queue
never shows in a 10 s benchmark, and a robot runs for hours. The graph is run by ``ros.stress``;
the arithmetic and the plot live here, tested without ROS.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

RSS_GROWTH_GOAL_PERCENT = 5.0  # after warm-up, over the whole run
LATENCY_DRIFT_GOAL_PERCENT = 25.0  # p50 of the last third of the run vs the first third


@dataclass
class SoakSample:
    """One look at the running graph: seconds since start, resident memory (MiB), and per node
    the p50 latency (ms) of the results it published since the previous sample, and its
    counters so far."""

    t_s: float
    rss_mb: float
    latency_p50_ms: dict[str, float | None] = field(default_factory=dict)
    processed: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)


def _thirds(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    third = max(len(values) // 3, 1)
    return values[:third], values[-third:]


def summarise(samples: list[SoakSample], warmup_s: float) -> dict:
    """RSS growth after warm-up (percent and MiB per minute, by a line fit), each node's latency
    drift (p50 of the last third of the samples after warm-up against the first third), and
    whether both meet their goals."""
    settled = [s for s in samples if s.t_s >= warmup_s] or samples[-1:]
    times = np.array([s.t_s for s in settled])
    rss = np.array([s.rss_mb for s in settled])
    slope = float(np.polyfit(times, rss, 1)[0]) * 60.0 if len(settled) > 1 else 0.0
    growth = 100.0 * (rss[-1] - rss[0]) / rss[0] if rss.size else 0.0
    drift = {}
    for node in sorted({name for s in settled for name in s.latency_p50_ms}):
        values = np.array(
            [s.latency_p50_ms.get(node) for s in settled if s.latency_p50_ms.get(node) is not None]
        )
        if values.size < 2:
            continue
        first, last = (float(np.median(part)) for part in _thirds(values))
        drift[node] = {
            "first_p50_ms": round(first, 2),
            "last_p50_ms": round(last, 2),
            "drift_percent": round(100.0 * (last - first) / first, 1) if first > 0 else None,
        }
    return {
        "samples": len(samples),
        "warmup_s": warmup_s,
        "rss_after_warmup_mb": round(float(rss[0]), 1) if rss.size else None,
        "rss_end_mb": round(float(rss[-1]), 1) if rss.size else None,
        "rss_growth_percent": round(float(growth), 2),
        "rss_slope_mb_per_min": round(slope, 3),
        "latency_drift": drift,
        "rss_goal_met": bool(growth < RSS_GROWTH_GOAL_PERCENT),
        "latency_goal_met": all(
            d["drift_percent"] is not None and d["drift_percent"] < LATENCY_DRIFT_GOAL_PERCENT
            for d in drift.values()
        ),
    }


def samples_as_dicts(samples: list[SoakSample]) -> list[dict]:
    return [asdict(sample) for sample in samples]


def plot(samples: list[SoakSample], warmup_s: float, path: str | Path) -> Path:
    """RSS (top) and each node's p50 latency (bottom) against time, warm-up shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    times = [s.t_s / 60.0 for s in samples]
    figure, (memory, latency) = plt.subplots(2, 1, sharex=True, figsize=(10, 6))
    memory.plot(times, [s.rss_mb for s in samples], color="#4c72b0")
    memory.set_ylabel("RSS, MiB")
    for node in sorted({name for s in samples for name in s.latency_p50_ms}):
        points = [
            (s.t_s / 60.0, s.latency_p50_ms[node])
            for s in samples
            if s.latency_p50_ms.get(node) is not None
        ]
        if points:
            latency.plot(*zip(*points), label=node, marker=".", linewidth=1)
    latency.set_ylabel("p50 latency, ms")
    latency.set_xlabel("minutes")
    latency.legend(loc="upper right")
    for axis in (memory, latency):
        axis.axvspan(0, warmup_s / 60.0, color="0.9", label="warm-up")
        axis.grid(alpha=0.3)
    memory.set_title("soak: the demo graph at 30 Hz")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path

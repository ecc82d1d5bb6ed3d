"""What an overload run says: latency while a camera sends faster than a node can work, whether
it recovers the moment the rate drops, and whether every frame sent is accounted for.

Why apart from the graph that produces the numbers (``ros.stress``): the arithmetic is tested
without ROS, and a node's claim "keeps only the newest frame" is judged by the same numbers for
every node.
"""

from __future__ import annotations

import numpy as np

from handperception.runtime.timing import percentiles_ms

# After the rate drops, a node has recovered once its latency is back within this factor of its
# settled latency at the low rate (the p50 of the last half of that phase).
RECOVERED_FACTOR = 1.5


def latency_summary(latencies_s) -> dict:
    """count, p50/p95/max milliseconds of result latencies (now - image stamp, seconds)."""
    values = np.asarray(latencies_s, dtype=np.float64) * 1e3
    summary = {"count": int(values.size), **percentiles_ms(values, (50, 95), digits=2)}
    summary["max_ms"] = round(float(values.max()), 2) if values.size else None
    return summary


def recovery(after_drop: list[tuple[float, float]]) -> dict:
    """How soon latency settles once the rate drops: ``after_drop`` holds (seconds since the
    drop, latency seconds) of each result. Returns the first result's latency, the settled p50
    and the seconds until a result's latency was within RECOVERED_FACTOR of it (None if never).
    """
    if not after_drop:
        return {"first_result_ms": None, "settled_p50_ms": None, "recovered_after_s": None}
    times = np.array([t for t, _ in after_drop])
    latencies = np.array([latency for _, latency in after_drop]) * 1e3
    settled = float(np.median(latencies[len(latencies) // 2 :]))
    within = np.flatnonzero(latencies <= RECOVERED_FACTOR * settled)
    return {
        "first_result_ms": round(float(latencies[0]), 2),
        "settled_p50_ms": round(settled, 2),
        "recovered_after_s": round(float(times[within[0]]), 3) if within.size else None,
    }


def accounting(sent: int, node_stats: dict) -> dict:
    """Frames sent against the node's own counters (``RateLatencyMonitor.snapshot().as_dict``):
    processed, superseded, every other drop, received where the node counts it, and what is
    left: frames that vanished without a count anywhere (lost before the node's callback, or
    uncounted by it)."""
    drops = dict(node_stats.get("drops", {}))
    superseded = drops.pop("superseded", 0)
    processed = int(node_stats.get("count", 0))
    dropped = sum(drops.values())
    return {
        "sent": sent,
        "received": node_stats.get("received"),
        "processed": processed,
        "superseded": superseded,
        "dropped": drops,
        "unaccounted": sent - processed - superseded - dropped,
    }

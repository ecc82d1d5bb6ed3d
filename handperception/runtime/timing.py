"""Timing statistics: the one place percentiles of durations are computed.

Why one module: the benchmarks, the nodes' running latency diagnostics, the runner's topic
summary and the renderer's throughput all report p50/p95/p99, and they must mean the same thing
(numpy's linear interpolation over the samples, milliseconds).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np


def percentiles_ms(
    times_ms, quantiles=(50, 95, 99), digits: int | None = None
) -> dict[str, float | None]:
    """{"p50_ms": ..., ...} of the samples (milliseconds); None for each when there are none,
    so an empty window reads as strict JSON. ``digits`` rounds when given."""
    times = np.asarray(times_ms, dtype=np.float64)
    result: dict[str, float | None] = {}
    for quantile in quantiles:
        if times.size == 0:
            result[f"p{quantile}_ms"] = None
            continue
        value = float(np.percentile(times, quantile))
        result[f"p{quantile}_ms"] = round(value, digits) if digits is not None else value
    return result


def summarize_ms(times_ms) -> dict[str, float]:
    """n, mean, p50/p95/p99 and calls per second of a benchmark's timings (milliseconds)."""
    times = np.asarray(times_ms, dtype=np.float64)
    if times.size == 0:
        raise ValueError("no timings to summarise")
    return {
        "n": int(times.size),
        "mean_ms": round(float(times.mean()), 3),
        **percentiles_ms(times, digits=3),
        "per_s": round(float(1000.0 / times.mean()), 2),
    }


def time_calls(call: Callable[[int], object], repeats: int, warmup: int = 3) -> np.ndarray:
    """Milliseconds of ``call(i)`` for i in range(repeats), after ``warmup`` untimed calls."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for index in range(warmup):
        call(10_000_000 + index)
    times = np.empty(repeats)
    for index in range(repeats):
        start = time.perf_counter()
        call(index)
        times[index] = (time.perf_counter() - start) * 1e3
    return times

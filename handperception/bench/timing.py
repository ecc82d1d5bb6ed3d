"""Timing of repeated calls and percentile summaries, shared by every benchmark."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np


def summarize_ms(times_ms) -> dict[str, float]:
    times = np.asarray(times_ms, dtype=np.float64)
    if times.size == 0:
        raise ValueError("no timings to summarise")
    return {
        "n": int(times.size),
        "mean_ms": round(float(times.mean()), 3),
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
        "p99_ms": round(float(np.percentile(times, 99)), 3),
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

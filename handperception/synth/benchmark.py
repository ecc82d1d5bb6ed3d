"""Throughput of the synthetic renderer, for ``make bench``.

Why end to end: what limits training on the fly is the whole item (sampling, background,
rasterising, shading, effects), so that is what is timed, per frame, after a short warm-up.
"""
from __future__ import annotations

import numpy as np

from handperception.bench.timing import time_calls
from handperception.synth.scenes import full_frame, hand_crop
from handperception.synth.splits import load_split


def benchmark_renderer(n_frames: int = 100, seed: int = 0, crop_size: int = 128, frame_size: tuple[int, int] = (640, 480)) -> dict[str, dict[str, float]]:
    """Frames/s and per-frame p50/p95 milliseconds of single-hand crops and 2-hand full frames.

    Returns {"crop_128x128": {...}, "frame_640x480": {...}} with keys fps (from the mean),
    p50_ms, p95_ms, n_frames.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    spec = load_split("interpolation")
    width, height = frame_size
    cases = {
        f"crop_{crop_size}x{crop_size}": lambda i: hand_crop(spec, "train", seed, i, crop_size),
        f"frame_{width}x{height}": lambda i: full_frame(spec, "train", seed, i, width, height, n_hands=2),
    }
    results = {}
    for name, make_frame in cases.items():
        times = time_calls(make_frame, n_frames)
        results[name] = {
            "fps": float(1000.0 / times.mean()),
            "p50_ms": float(np.percentile(times, 50)),
            "p95_ms": float(np.percentile(times, 95)),
            "n_frames": n_frames,
        }
    return results

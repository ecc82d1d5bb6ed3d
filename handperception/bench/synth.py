"""Throughput of the synthetic engine (renderer, grasp sampler, object SDFs), for ``make bench``.

Why end to end: what limits training on the fly is the whole item (sampling, background,
rasterising, shading, effects; for grasps, rejected attempts included), so that is what is
timed, per item, after a short warm-up.
"""

from __future__ import annotations

import numpy as np

from handperception.runtime.timing import percentiles_ms, time_calls
from handperception.synth.grasps import sample_grasp
from handperception.synth.objects import ObjectSpec, sample_object
from handperception.synth.scenes import full_frame, hand_crop
from handperception.synth.splits import load_split


def benchmark_renderer(
    n_frames: int = 100,
    seed: int = 0,
    crop_size: int = 128,
    frame_size: tuple[int, int] = (640, 480),
) -> dict[str, dict[str, float]]:
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
        f"frame_{width}x{height}": lambda i: full_frame(
            spec, "train", seed, i, width, height, n_hands=2
        ),
    }
    results = {}
    for name, make_frame in cases.items():
        times = time_calls(make_frame, n_frames)
        results[name] = {
            "fps": float(1000.0 / times.mean()),
            **percentiles_ms(times, (50, 95)),
            "n_frames": n_frames,
        }
    return results


def benchmark_grasps(n: int = 20, seed: int = 0, split: str = "interpolation") -> dict[str, float]:
    """Grasps per second and per-grasp p50/p95 milliseconds (rejected attempts included).
    Returns {"grasps_per_s", "p50_ms", "p95_ms", "mean_attempts", "n"}."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    spec = load_split(split)
    attempts = np.empty(n)

    def sample(index: int) -> None:
        grasp = sample_grasp(spec, "train", seed, index)
        if index < n:
            attempts[index] = grasp.attempts

    times = time_calls(sample, n, warmup=0)
    return {
        "grasps_per_s": float(1000.0 / times.mean()),
        **percentiles_ms(times, (50, 95)),
        "mean_attempts": float(attempts.mean()),
        "n": n,
    }


def benchmark_object_sdf(n_points: int = 100_000, repeats: int = 10) -> dict[str, float]:
    """Milliseconds to evaluate one sampled object's signed distance at ``n_points`` points (the
    grasp sampler's inner loop). Returns {"points", "p50_ms", "p95_ms", "points_per_s"}."""
    obj = sample_object(ObjectSpec(kinds=("convex",)), 0, 0)
    points = np.random.default_rng(0).normal(size=(n_points, 3)) * 0.1
    times = time_calls(lambda _index: obj.sdf(points), repeats)
    return {
        "points": n_points,
        **percentiles_ms(times, (50, 95)),
        "points_per_s": float(n_points * 1000.0 / times.mean()),
    }

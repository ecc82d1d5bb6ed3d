"""Benchmark every node and model: end-to-end latency (p50/p95/p99) from the source image's
stamp to the published result at a 30 Hz 640x480 input, rates, drops, CPU and memory; model-only
times; intra- vs inter-process image transport; synthesis throughput.

Writes bench/results.json and bench/latency.png. Takes minutes; not a test.
"""

from __future__ import annotations

import argparse
import traceback


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="bench", help="output folder")
    parser.add_argument(
        "--frames", type=int, default=300, help="camera frames per graph benchmark (30 Hz)"
    )
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--only", nargs="*", default=None, help="run only these suites")
    parser.add_argument(
        "--quick", action="store_true", help="fewer frames and repeats (a smoke run)"
    )


def _suites(args):
    """name -> zero-argument callable returning that suite's results."""
    from handperception.bench.models import bench_models
    from handperception.bench.synth import (
        benchmark_grasps,
        benchmark_object_sdf,
        benchmark_renderer,
    )
    from handperception.ros.bench_graph import bench_graph, bench_image_transport, bench_node
    from handperception.ros.graph_config import package_config_dir

    frames = 60 if args.quick else args.frames
    repeats = 10 if args.quick else 100
    device = args.resolved_device
    hand_pose_overrides = {"hand_pose": {"device": device}}
    return {
        "hand_pose_node": lambda: bench_node(
            package_config_dir() / "hand_pose.yaml", frames, overrides=hand_pose_overrides
        ),
        "hand_pose_node_mediapipe": lambda: bench_node(
            package_config_dir() / "hand_pose.yaml",
            frames,
            overrides={"hand_pose": {"backend": "mediapipe"}},
        ),
        "models": lambda: bench_models(device, repeats),
        "transport": lambda: bench_image_transport(frames),
        "demo_graph": lambda: bench_graph(
            package_config_dir() / "demo.yaml", frames, hand_pose_overrides
        ),
        "synth_renderer": lambda: benchmark_renderer(repeats),
        "synth_grasps": lambda: benchmark_grasps(5 if args.quick else 40),
        "synth_object_sdf": lambda: benchmark_object_sdf(repeats=3 if args.quick else 10),
    }


def peer_comparison(benchmarks: dict) -> dict:
    """MediaPipe Hands vs this project's hand pose node on the same frames: latency and rate
    ratios."""
    native = benchmarks.get("hand_pose_node", {}).get("topics", {}).get("/hands")
    peer = benchmarks.get("hand_pose_node_mediapipe", {}).get("topics", {}).get("/hands")
    if not native or not peer or not native.get("latency_p50_ms") or not native.get("rate_hz"):
        return {}
    return {
        "mediapipe_over_native_latency_p50": round(
            peer["latency_p50_ms"] / native["latency_p50_ms"], 3
        ),
        "mediapipe_over_native_rate": round(peer["rate_hz"] / native["rate_hz"], 3),
    }


def run(args: argparse.Namespace) -> int:
    from handperception.bench.report import machine_description, write_report
    from handperception.runtime.device import resolve_device

    device = resolve_device(args.device)
    args.resolved_device = device
    suites = _suites(args)
    unknown = set(args.only or []) - set(suites)
    if unknown:
        raise SystemExit(f"unknown suite(s) {sorted(unknown)}; known: {sorted(suites)}")
    results = {"machine": machine_description(device), "benchmarks": {}, "errors": {}}
    for name, suite in suites.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        try:
            results["benchmarks"][name] = suite()
        except Exception:
            results["errors"][name] = traceback.format_exc()
            print(results["errors"][name], flush=True)
    results["comparisons"] = peer_comparison(results["benchmarks"])
    json_path, plot_path = write_report(results, args.out)
    print(f"wrote {json_path} and {plot_path}")
    return 1 if results["errors"] else 0

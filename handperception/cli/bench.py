"""Benchmark every node and model: end-to-end latency (p50/p95/p99) from the source image's
stamp to the published result at a 30 Hz 640x480 input, rates, drops, CPU and memory; the same
node fed by a replayed 30 Hz bag; what tf and compressed input add; the gaze pipeline's time per
face beside its geometric peer; the two-hand node on two hands; the hand-mesh node's rate on
one hand; model-only times; intra- vs inter-process image transport; synthesis throughput; each
perception node overloaded (120 Hz) and how it recovers (10 Hz). Latencies and rates with a goal
(``bench.report.LATENCY_GOALS_MS``, ``RATE_GOALS_HZ``) are judged against it.

Writes bench/results.json and bench/latency.png. Takes minutes; not a test.
"""

from __future__ import annotations

import argparse
import traceback

from handperception.cli.arguments import CommandLineError


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
    from handperception.bench.gaze import bench_gaze_pipeline
    from handperception.bench.grasps import bench_grasp_synthesis
    from handperception.bench.halo import bench_halo_mesh
    from handperception.bench.models import bench_models
    from handperception.bench.synth import (
        benchmark_grasps,
        benchmark_object_sdf,
        benchmark_renderer,
    )
    from handperception.bench.tabletop import bench_tabletop
    from handperception.ros.bench_graph import (
        CAMERA_TO_TWO_HANDS,
        bench_bag_replay,
        bench_compressed_input,
        bench_demo_graph,
        bench_hand_mesh_node,
        bench_image_transport,
        bench_node,
        bench_tf,
    )
    from handperception.ros.graph_config import package_config_dir
    from handperception.ros.stress import bench_overload, overload_kinds

    frames = 60 if args.quick else args.frames
    repeats = 10 if args.quick else 100
    device = args.resolved_device
    hand_pose_overrides = {"hand_pose": {"device": device}}
    hand_pose = package_config_dir() / "hand_pose.yaml"
    gaze = package_config_dir() / "gaze.yaml"
    two_hand_pose = package_config_dir() / "two_hand_pose.yaml"
    # One face in view, max_faces 1: the per-face cost (bench/gaze.py says why).
    gaze_overrides = {"gaze": {"device": device, "max_faces": 1}}
    return {
        "hand_pose_node": lambda: bench_node(hand_pose, frames, overrides=hand_pose_overrides),
        "hand_pose_bag_replay": lambda: bench_bag_replay(hand_pose, frames, hand_pose_overrides),
        "hand_pose_tf": lambda: bench_tf(hand_pose, frames, hand_pose_overrides),
        "hand_pose_compressed_input": lambda: bench_compressed_input(
            hand_pose, frames, hand_pose_overrides
        ),
        "hand_pose_node_mediapipe": lambda: bench_node(
            hand_pose, frames, overrides={"hand_pose": {"backend": "mediapipe"}}
        ),
        "gaze_pipeline": lambda: bench_gaze_pipeline(device, 30 if args.quick else 150),
        "gaze_node": lambda: bench_node(
            gaze, frames, scene="synthetic:face", overrides=gaze_overrides
        ),
        "gaze_node_geometric": lambda: bench_node(
            gaze,
            frames,
            scene="synthetic:face",
            overrides={
                "gaze": {**gaze_overrides["gaze"], "backend": "geometric", "detector": "mediapipe"}
            },
        ),
        # Both hands of one person in view (synthetic:two_hands, 640x480); the monitor listens
        # to the part segmentation too, so the node publishes it as for the demo's recorder.
        "two_hand_pose_node": lambda: bench_node(
            two_hand_pose,
            frames,
            scene="synthetic:two_hands",
            overrides={"two_hand_pose": {"device": device}},
            delays=CAMERA_TO_TWO_HANDS,
        ),
        # One held-out hand a HandArray at 30 Hz into the hand_mesh node alone (config/
        # hand_mesh.yaml), its markers listened to as rviz would (issue #17: >= 10 Hz).
        "hand_mesh_node": lambda: bench_hand_mesh_node(
            package_config_dir() / "hand_mesh.yaml",
            frames,
            hands=1,
            overrides={"hand_mesh": {"device": device}},
        ),
        "models": lambda: bench_models(device, repeats),
        # HALO meshes of held-out hands at 128^3: coarse to fine (timed) vs dense (once per hand)
        "halo_mesh": lambda: bench_halo_mesh(device, 5 if args.quick else 30),
        # plane + objects from a synthetic 640x480 tabletop depth frame, the pipeline alone
        "tabletop": lambda: bench_tabletop(10 if args.quick else 60),
        # ten refined proposals for one held-out object, the pipeline alone (issue #18: <= 2 s)
        "grasp_synthesis": lambda: bench_grasp_synthesis(3 if args.quick else 10),
        "transport": lambda: bench_image_transport(frames),
        "demo_graph": lambda: bench_demo_graph(
            package_config_dir() / "demo.yaml", frames, hand_pose_overrides
        ),
        "synth_renderer": lambda: benchmark_renderer(repeats),
        "synth_grasps": lambda: benchmark_grasps(5 if args.quick else 40),
        "synth_object_sdf": lambda: benchmark_object_sdf(repeats=3 if args.quick else 10),
        # 640x480 at 120 Hz into each perception node for 10 s (3 s quick), then 10 Hz for 5 s
        "overload": lambda: {
            kind: bench_overload(
                kind, fast_s=3.0 if args.quick else 10.0, overrides={kind: {"device": device}}
            )
            for kind in overload_kinds()
        },
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


def gaze_comparison(benchmarks: dict) -> dict:
    """The geometric peer vs the network backend on the same frames: p50 time per face."""
    pipeline = benchmarks.get("gaze_pipeline", {})
    network, peer = pipeline.get("network", {}), pipeline.get("geometric", {})
    if not network.get("p50_ms") or not peer.get("p50_ms"):
        return {}
    return {"gaze_geometric_over_network_p50": round(peer["p50_ms"] / network["p50_ms"], 3)}


def replay_comparison(benchmarks: dict) -> dict:
    """The hand pose node fed by the live synthetic camera and by a 30 Hz bag of its frames
    replayed as recorded: p50/p95 (ms) from each frame's CameraInfo to its hands, side by side
    (a replay keeps its recorded stamps, so this delay and not ``now - stamp`` compares)."""
    delays = {
        source: benchmarks.get(suite, {}).get("delays", {}).get("camera_info_to_hands")
        for source, suite in (("live", "hand_pose_node"), ("bag_replay", "hand_pose_bag_replay"))
    }
    if not all(delays.values()):
        return {}
    side_by_side = {
        source: {key: delay[key] for key in ("p50_ms", "p95_ms")}
        for source, delay in delays.items()
    }
    return {"replay_beside_live": side_by_side}


def run(args: argparse.Namespace) -> int:
    from handperception.bench.report import goals_met, machine_description, write_report
    from handperception.runtime.device import resolve_device

    device = resolve_device(args.device)
    args.resolved_device = device
    suites = _suites(args)
    unknown = set(args.only or []) - set(suites)
    if unknown:
        raise CommandLineError(f"unknown suite(s) {sorted(unknown)}; known: {sorted(suites)}")
    results = {"machine": machine_description(device), "benchmarks": {}, "errors": {}}
    chosen = [name for name in suites if not args.only or name in args.only]
    for number, name in enumerate(chosen, 1):
        suite = suites[name]
        print(f"== {name} ({number}/{len(chosen)})", flush=True)
        try:
            results["benchmarks"][name] = suite()
        except Exception:
            results["errors"][name] = traceback.format_exc()
            print(results["errors"][name], flush=True)
    benchmarks = results["benchmarks"]
    results["comparisons"] = {
        **peer_comparison(benchmarks),
        **replay_comparison(benchmarks),
        **gaze_comparison(benchmarks),
    }
    results["goals"] = goals_met(benchmarks)
    json_path, plot_path = write_report(results, args.out)
    print(f"wrote {json_path} and {plot_path}")
    return 1 if results["errors"] else 0

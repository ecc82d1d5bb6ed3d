"""Run the nodes of a config file in one process, print per-topic rates and latencies.

Example: handperception run --config config/demo.yaml --frames 90 --out out/demo
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from handperception.cli.arguments import CommandLineError
from handperception.ros.graph_config import graph_nodes, parse_overrides

# node -> (its output file parameter, the file's name under --out)
OUTPUT_FILES = {
    "annotator": ("video_path", "annotated.mp4"),
    "bag_recorder": ("path", "recording.mcap"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", required=True, help="ROS 2 parameters YAML naming the nodes to run"
    )
    parser.add_argument(
        "--frames",
        type=int,
        default=0,
        help="stop the camera source after N frames (0: its own setting)",
    )
    parser.add_argument(
        "--out", default="", help="folder for the annotated video, the bag and summary.json"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="stop after this wall time whatever happens",
    )
    parser.add_argument(
        "--executor-threads",
        type=int,
        default=1,
        help="threads dispatching callbacks (image nodes also run their own worker thread)",
    )
    parser.add_argument(
        "--namespace",
        default="",
        help="put every node of the graph under this namespace (its topics follow)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NODE.PARAM=VALUE",
        help="override a parameter (value parsed as YAML), e.g. --set camera_source.fps=15",
    )


def format_table(result) -> str:
    rows = [f"{'topic':<36}{'msgs':>7}{'rate Hz':>10}{'lat p50 ms':>12}{'lat p95 ms':>12}"]
    for topic, stats in result.topics.items():
        p50 = "-" if stats["latency_p50_ms"] is None else f"{stats['latency_p50_ms']:.1f}"
        p95 = "-" if stats["latency_p95_ms"] is None else f"{stats['latency_p95_ms']:.1f}"
        rows.append(f"{topic:<36}{stats['count']:>7}{stats['rate_hz']:>10.1f}{p50:>12}{p95:>12}")
    rows.append("")
    rows.append(f"{'node':<36}{'done':>7}{'dropped':>10}  drops by reason")
    for name, stats in result.nodes.items():
        rows.append(f"{name:<36}{stats['count']:>7}{stats['dropped']:>10}  {stats['drops'] or ''}")
    return "\n".join(rows)


def run(args: argparse.Namespace) -> int:
    # rclpy and the nodes load only when this command runs (see cli.main)
    from handperception.ros.runner import SourceNotConfigured, run_graph

    if args.executor_threads < 1:
        raise SystemExit("--executor-threads must be >= 1")
    names = graph_nodes(args.config)
    try:
        overrides = parse_overrides(args.set)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    if args.frames:
        overrides.setdefault("camera_source", {})["max_frames"] = args.frames
    out = Path(args.out) if args.out else None
    outputs = _direct_outputs_into(out, names, overrides) if out is not None else []
    try:
        result = run_graph(
            args.config,
            overrides,
            max_wall_s=args.max_seconds,
            num_threads=args.executor_threads,
            namespace=args.namespace,
        )
    except SourceNotConfigured as error:
        raise CommandLineError(str(error)) from None
    print(format_table(result))
    print(f"\n{result.frames_published} frames in {result.wall_s:.1f} s")
    if out is not None:
        summary = {
            "config": str(args.config),
            "namespace": args.namespace,
            "frames": result.frames_published,
            "wall_s": round(result.wall_s, 2),
            "topics": result.topics,
            "nodes": result.nodes,
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        print(f"wrote {out}/summary.json" + "".join(f", {path}" for path in outputs))
    return 0


def _direct_outputs_into(out: Path, names: list[str], overrides: dict[str, dict]) -> list[Path]:
    """Point the graph's file-writing nodes into ``out``, unless ``--set`` chose their paths;
    the files they will write."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for node, (parameter, filename) in OUTPUT_FILES.items():
        if node in names:
            path = overrides.setdefault(node, {}).setdefault(parameter, str(out / filename))
            paths.append(Path(path))
    return paths

"""Run the nodes of a config file in one process, print per-topic rates and latencies.

Example: handperception run --config config/demo.yaml --frames 90 --out out/demo

Exit status: 0 when the graph ran (a node that failed mid-run was restarted: counted in the
summary's ``restarts``); 2 for a mistake in what was typed or named (a missing or unreadable
config, an unknown node or parameter, a camera source that cannot open), in one line; 1 when
another node fails to start, or fails mid-run and is not restarted (the camera, or a node
failing again and again), with its error.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import yaml

from handperception.cli.arguments import CommandLineError
from handperception.ros.graph_config import graph_nodes, parse_overrides

# node -> (its output parameter, the file or folder it names under --out)
OUTPUT_FILES = {
    "annotator": ("video_path", "annotated.mp4"),
    "bag_recorder": ("path", "recording"),  # a rosbag2 bag: a directory
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
        "--out",
        default="",
        help="folder for the annotated video, the bag (replacing one a run left there) and "
        "summary.json",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="stop after this wall time whatever happens (default: 120 s for a live camera, "
        "synthetic or webcam; no limit for one that ends: a file, folder or bag played once, "
        "or --frames)",
    )
    parser.add_argument(
        "--every-frame",
        action="store_true",
        help="process every frame (batch annotation of a file, folder or bag): the camera waits "
        "for the graph to finish each frame before the next, instead of keeping its rate while "
        "a slower node skips to the newest frame",
    )
    parser.add_argument(
        "--executor-threads",
        type=int,
        default=1,
        help="threads dispatching each node's callbacks (image nodes also run their own worker "
        "thread)",
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


def _read_graph(config: str) -> list[str]:
    """The config's node names; whatever is wrong with the file, as one CommandLineError line."""
    try:
        return graph_nodes(config)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise CommandLineError(
            f"{config}: YAML syntax error at line {mark.line + 1}, column {mark.column + 1}: "
            f"{error.problem}"
        ) from None
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise CommandLineError(" ".join(str(error).split())) from None


def run(args: argparse.Namespace) -> int:
    # rclpy and the nodes load only when this command runs (see cli.main)
    from handperception.ros.runner import (
        SOURCE,
        GraphConfigError,
        NodeFailed,
        NodeNotStarted,
        run_graph,
    )

    if args.executor_threads < 1:
        raise CommandLineError("--executor-threads must be >= 1")
    names = _read_graph(args.config)
    try:
        overrides = parse_overrides(args.set)
    except ValueError as error:
        raise CommandLineError(str(error)) from None
    if args.frames:
        overrides.setdefault(SOURCE, {})["max_frames"] = args.frames
    out = Path(args.out) if args.out else None
    outputs = _direct_outputs_into(out, names, overrides) if out is not None else {}
    try:
        result = run_graph(
            args.config,
            overrides,
            max_wall_s=args.max_seconds,
            num_threads=args.executor_threads,
            namespace=args.namespace,
            every_frame=args.every_frame,
            progress=True,
            on_ready=lambda nodes: _replace_old_bag(out, outputs, nodes.get(SOURCE)),
        )
    except GraphConfigError as error:
        raise CommandLineError(str(error)) from None
    except (NodeNotStarted, NodeFailed) as error:
        if isinstance(error, NodeNotStarted) and error.node == SOURCE:
            # a source that cannot open: a mistake in what was named
            raise CommandLineError(str(error)) from None
        print(f"handperception run: error: {error}", file=sys.stderr)
        return 1
    print(format_table(result))
    ended = "" if result.finished else " (stopped before the camera ended)"
    restarted = ", ".join(f"{name} {n}x" for name, n in result.restarts.items() if n)
    ended += f"; restarted after a failure: {restarted}" if restarted else ""
    print(f"\n{result.frames_published} frames in {result.wall_s:.1f} s{ended}")
    if out is not None:
        summary = {
            "config": str(args.config),
            "namespace": args.namespace,
            "every_frame": args.every_frame,
            "frames": result.frames_published,
            "finished": result.finished,
            "wall_s": round(result.wall_s, 2),
            "topics": result.topics,
            "nodes": result.nodes,
            "restarts": result.restarts,
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False))
        print(f"wrote {out}/summary.json" + "".join(f", {path}" for path in outputs.values()))
    return 0


def _direct_outputs_into(
    out: Path, names: list[str], overrides: dict[str, dict]
) -> dict[str, Path]:
    """Point the graph's file-writing nodes into ``out``, unless ``--set`` chose their paths;
    {node: the path it will write}."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for node, (parameter, filename) in OUTPUT_FILES.items():
        if node in names:
            default = str(out / filename)
            paths[node] = Path(overrides.setdefault(node, {}).setdefault(parameter, default))
    return paths


def _replace_old_bag(out: Path | None, outputs: dict[str, Path], source) -> None:
    """Remove the bag an earlier run left where this command records (under ``--out``, never
    a path ``--set`` names), as its video and summary are replaced: the recorder itself never
    writes into an existing bag, as ``ros2 bag record`` refuses to. Unless the camera replays
    that very bag. Called once the config has proved valid."""
    bag = outputs.get("bag_recorder")
    if out is None or bag != out / OUTPUT_FILES["bag_recorder"][1]:
        return
    if not (bag / "metadata.yaml").is_file():
        return
    replayed = source.get_parameter("source").value.removeprefix("bag:") if source else ""
    if replayed and Path(replayed).resolve() == bag.resolve():
        raise CommandLineError(
            f"the camera replays {bag}, where this run would record: choose another --out or "
            "--set bag_recorder.path=..."
        )
    shutil.rmtree(bag)

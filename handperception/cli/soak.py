"""Soak the demo graph: camera, hand pose, gaze, two hands, annotator and recorder at 30 Hz for
many minutes, sampling the process's memory and each node's latency; reports memory growth after
warm-up (goal < 5 %), latency drift and crashes.

Writes <out>/soak.json and <out>/soak.png (RSS and latency over time). Takes --minutes (10 by
default); not a test (``make soak``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from handperception.cli.arguments import CommandLineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run")
    parser.add_argument("--out", default="out/soak", help="output folder")
    parser.add_argument("--period", type=float, default=5.0, help="seconds between samples")
    parser.add_argument(
        "--warmup",
        type=float,
        default=60.0,
        help="seconds left out of the growth and drift figures (at most a third of the run)",
    )
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")


def run(args: argparse.Namespace) -> int:
    if args.minutes <= 0 or args.period <= 0 or args.warmup < 0:
        raise CommandLineError("--minutes and --period must be positive, --warmup not negative")
    from handperception.bench.report import machine_description
    from handperception.bench.soak import plot, samples_as_dicts, summarise
    from handperception.ros.stress import soak
    from handperception.runtime.device import resolve_device

    device = resolve_device(args.device)
    warmup_s = min(args.warmup, args.minutes * 60.0 / 3.0)

    def progress(sample) -> None:
        latency = ", ".join(f"{k} {v} ms" for k, v in sample.latency_p50_ms.items())
        print(f"{sample.t_s:7.1f} s  RSS {sample.rss_mb:8.1f} MiB  p50 {latency}", flush=True)

    overrides = {node: {"device": device} for node in ("hand_pose", "gaze", "two_hand_pose")}
    samples, outcome = soak(args.minutes, args.period, overrides, progress)
    summary = summarise(samples, warmup_s) if samples else {}
    exceptions = {
        name: stats.get("drops", {}).get("exception", 0) for name, stats in outcome["nodes"].items()
    }
    report = {
        "machine": machine_description(device),
        "minutes": args.minutes,
        "summary": summary,
        "crash": outcome["crash"],
        "restarts": outcome["restarts"],
        "exceptions": exceptions,
        "nodes": outcome["nodes"],
        "samples": samples_as_dicts(samples),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "soak.json"
    json_path.write_text(json.dumps(report, indent=2, allow_nan=False))
    plot_path = plot(samples, warmup_s, out / "soak.png") if samples else None
    print(json.dumps({k: report[k] for k in ("summary", "crash", "restarts", "exceptions")}))
    print(f"wrote {json_path}" + (f" and {plot_path}" if plot_path else ""))
    healthy = (
        outcome["crash"] is None
        and not any(outcome["restarts"].values())
        and not any(exceptions.values())
    )
    return 0 if healthy and summary.get("rss_goal_met") else 1

"""``handperception <command> ...``: one entry point for every job of the project.

Each command lives in its own module ``handperception.cli.<command>`` exposing
``add_arguments(parser)`` and ``run(args) -> int``; command modules import their heavy
dependencies inside ``run``, so ``handperception synth`` never pays for rclpy and ``run`` never
for training code.
"""

from __future__ import annotations

import importlib
import sys

from handperception.cli.arguments import CommandLineError, OneLineErrorParser

COMMANDS: dict[str, str] = {
    "run": "compose the configured ROS 2 nodes in one process (the embedded ros2 launch)",
    "synth": "generate synthetic data shards (hands, two-hand scenes, eyes, objects, grasps)",
    "train": "train a model from a YAML config",
    "evaluate": "evaluate a checkpoint: hands (HANDS'19 protocol), two hands or gaze",
    "bench": "benchmark nodes and models (latency p50/p95, rates)",
    "soak": "run the demo graph for minutes: memory growth, latency drift, crashes",
    "claims": "reproduce the published methods' claims on the synthetic benchmark",
    "realism": "judge how real the renders look with MediaPipe (detection rate per bucket)",
}


def _available_commands() -> dict[str, str]:
    return {
        name: help_text
        for name, help_text in COMMANDS.items()
        if importlib.util.find_spec(f"handperception.cli.{name}")
    }


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(prog="handperception", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in _available_commands().items():
        module = importlib.import_module(f"handperception.cli.{name}")
        command_parser = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except CommandLineError as error:
        print(f"handperception {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Train a model.

  handperception train hand --config config/train/hand_tiny.yaml [--set train.steps=500]
  handperception train two_hands --config config/train/two_hands_tiny.yaml
  handperception train gaze --config config/train/gaze_tiny.yaml [--set train.steps=500]
  handperception train halo --config config/train/halo_tiny.yaml [--set train.steps=500]
  handperception train grasp --config config/train/grasp_tiny.yaml [--set train.steps=500]
  handperception train detector --steps 3000 --out checkpoints/detector_tiny.pt

Hand, two_hands, gaze, halo and grasp overrides: ``--set SECTION.KEY=VALUE`` (e.g.
``--set data.crop_size=64``).
"""

from __future__ import annotations

import argparse

from handperception.cli.arguments import CommandLineError, positive_int

MODELS = ("hand", "two_hands", "gaze", "halo", "grasp", "detector")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", choices=MODELS, help="which model to train")
    parser.add_argument("--config", help="training YAML (hand, two_hands, gaze, halo, grasp)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config value (hand, two_hands, gaze, halo, grasp)",
    )
    parser.add_argument(
        "--steps", type=positive_int, default=3000, help="training steps (detector)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=16, help="frames per step (detector)"
    )
    parser.add_argument("--size", default="tiny", help="backbone size (detector)")
    parser.add_argument("--seed", type=int, default=0, help="(detector)")
    parser.add_argument("--device", default="auto", help="(detector)")
    parser.add_argument(
        "--eval-frames", type=int, default=200, help="held-out frames to score the detector on"
    )
    parser.add_argument(
        "--out", default="out/checkpoints/detector_tiny.pt", help="checkpoint path (detector)"
    )
    parser.add_argument(
        "--init",
        help="continue training this detector checkpoint (use a new --seed for new frames)",
    )


def _read_config(args: argparse.Namespace) -> dict:
    """The --config YAML with the --set overrides applied."""
    from pathlib import Path

    import yaml

    if not args.config:
        raise CommandLineError(
            f"train {args.model} needs --config (e.g. config/train/{args.model}_tiny.yaml)"
        )
    path = Path(args.config)
    if not path.is_file():
        raise CommandLineError(f"config file {path} does not exist")
    config = yaml.safe_load(path.read_text()) or {}
    for item in args.set:
        key, sep, value = item.partition("=")
        section, dot, name = key.partition(".")
        if not sep:
            raise CommandLineError(f"--set expects SECTION.KEY=VALUE, got '{item}'")
        if dot:
            config.setdefault(section, {})[name] = yaml.safe_load(value)
        else:
            config[section] = yaml.safe_load(value)
    return config


def _saved_line(result: dict) -> str:
    """What a trainer's run ends with: the checkpoint and its last 50 steps' mean loss."""
    last = result["history"][-50:]
    return (
        f"saved {result['checkpoint']}; mean total loss over the last {len(last)} steps: "
        f"{sum(r['total'] for r in last) / len(last):.4f}"
    )


def _train_hand(args: argparse.Namespace) -> int:
    from handperception.train.hand import train_hand

    result = train_hand(_read_config(args))
    print(_saved_line(result))
    return 0


def _train_two_hands(args: argparse.Namespace) -> int:
    from handperception.train.two_hands import train_two_hands

    result = train_two_hands(_read_config(args))
    print(_saved_line(result))
    return 0


def _train_gaze(args: argparse.Namespace) -> int:
    from handperception.train.gaze import train_gaze

    result = train_gaze(_read_config(args))
    last = result["history"][-50:]
    scores = result["evaluation"]
    print(
        f"saved {result['checkpoint']}; mean total loss over the last {len(last)} steps: "
        f"{sum(r['total'] for r in last) / len(last):.4f}"
        + (
            f"; synthetic interpolation: mean {scores['mean_deg']:.2f} deg, "
            f"median {scores['median_deg']:.2f} deg"
            if scores
            else ""
        )
    )
    return 0


def _train_halo(args: argparse.Namespace) -> int:
    from handperception.train.halo import train_halo

    result = train_halo(_read_config(args))
    last = result["history"][-50:]
    scores = "".join(
        f"; {split} IoU {values['iou']:.3f}" for split, values in result["evaluation"].items()
    )
    print(
        f"saved {result['checkpoint']}; mean total loss over the last {len(last)} steps: "
        f"{sum(r['total'] for r in last) / len(last):.4f}{scores}"
    )
    return 0


def _train_grasp(args: argparse.Namespace) -> int:
    from handperception.train.grasp import train_grasp

    result = train_grasp(_read_config(args))
    held_out = result["evaluation"].get("test_reconstruction_mm")
    print(
        _saved_line(result)
        + ("" if held_out is None else f"; held-out reconstruction {held_out:.1f} mm")
    )
    return 0


def _train_detector(args: argparse.Namespace) -> int:
    from handperception.models.checkpoint import load_checkpoint, save_checkpoint
    from handperception.runtime.device import resolve_device
    from handperception.train.detector import evaluate_detector, train_detector

    start = load_checkpoint(args.init, expected_model="hand_detector")[0] if args.init else None
    model, history = train_detector(
        args.steps,
        args.batch_size,
        device=resolve_device(args.device),
        seed=args.seed,
        size=args.size,
        model=start,
    )
    scores = evaluate_detector(model, args.eval_frames) if args.eval_frames else {}
    meta = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "init": args.init,
        "evaluation": scores,
    }
    path = save_checkpoint(args.out, model, "hand_detector", model.config, meta)
    print(
        f"saved {path}; "
        + ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if isinstance(v, float))
    )
    return 0


def run(args: argparse.Namespace) -> int:
    from handperception.models.checkpoint import CheckpointError
    from handperception.train.config import ConfigError

    trainers = {
        "hand": _train_hand,
        "two_hands": _train_two_hands,
        "gaze": _train_gaze,
        "halo": _train_halo,
        "grasp": _train_grasp,
        "detector": _train_detector,
    }
    try:
        return trainers[args.model](args)
    except (ConfigError, CheckpointError, FileNotFoundError) as error:
        # A typo in the config or a wrong init checkpoint: one line, before any rendering.
        raise CommandLineError(str(error)) from error

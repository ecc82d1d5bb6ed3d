"""Train a model from a YAML config: ``handperception train hand --config config/train/hand_tiny.yaml``.

Overrides: ``--set train.steps=500 --set data.crop_size=64``.
"""
from __future__ import annotations

import argparse

MODELS = ("hand",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", choices=MODELS, help="which model to train")
    parser.add_argument("--config", required=True, help="training YAML")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a config value")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import yaml

    from handperception.train.hand import train_hand

    path = Path(args.config)
    if not path.is_file():
        raise SystemExit(f"config file {path} does not exist")
    config = yaml.safe_load(path.read_text()) or {}
    for item in args.set:
        key, sep, value = item.partition("=")
        section, dot, name = key.partition(".")
        if not sep:
            raise SystemExit(f"--set expects SECTION.KEY=VALUE, got '{item}'")
        if dot:
            config.setdefault(section, {})[name] = yaml.safe_load(value)
        else:
            config[section] = yaml.safe_load(value)
    result = train_hand(config)
    last = result["history"][-50:]
    print(f"saved {result['checkpoint']}; mean total loss over the last {len(last)} steps: "
          f"{sum(r['total'] for r in last) / len(last):.4f}")
    return 0

"""Generate synthetic data shards (hands, eyes, objects, grasps) for a split, plus a contact sheet.

Example: ``handperception synth --kind hands --n 10000 --split extrapolation:viewpoint --out data/``
writes ``shard_XXXXX.npz`` files, ``manifest.json`` and ``contact_sheet.png`` into --out.
``--kind grasps --split extrapolation:object --partition test`` grasps objects outside the
training size range; eye patches have no split axes (only ``interpolation``; the partition picks
a disjoint seed stream).
"""

from __future__ import annotations

import argparse

from handperception.cli.arguments import CommandLineError, positive_int

# Rendered-hand kinds go through synth.dataset; the others through synth.item_shards.
HAND_KINDS = ("hands", "two_hands")
KINDS = HAND_KINDS + ("eyes", "objects", "grasps")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kind",
        choices=KINDS,
        default="hands",
        help="hand crops, two interacting hands, eye patches, objects, or hands grasping objects",
    )
    parser.add_argument("--n", type=positive_int, default=10_000, help="number of items")
    parser.add_argument(
        "--split", default="interpolation", help="'interpolation' or 'extrapolation:<axis>'"
    )
    parser.add_argument("--partition", choices=("train", "test"), default="train")
    parser.add_argument(
        "--ranges", default=None, help="split ranges YAML (default config/splits/hands19.yaml)"
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=positive_int, default=128, help="crop side in pixels")
    parser.add_argument("--shard-size", type=positive_int, default=1000, help="items per shard")
    parser.add_argument(
        "--sheet", type=positive_int, default=16, help="samples on the contact sheet"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from handperception.synth.contact_sheet import save_contact_sheet
    from handperception.synth.dataset import SynthHandDataset, write_shards
    from handperception.synth.splits import load_split

    try:
        spec = load_split(args.split, args.ranges)
    except (ValueError, FileNotFoundError) as error:
        raise CommandLineError(f"--split {args.split}: {error}") from error
    if args.kind not in HAND_KINDS:
        from handperception.synth.item_shards import write_synth_items

        paths, sheet = write_synth_items(
            args.kind,
            spec,
            args.partition,
            args.n,
            args.seed,
            args.out,
            args.shard_size,
            args.sheet,
        )
        print(f"wrote {args.n} {args.kind} items in {len(paths)} shard(s) and {sheet}")
        return 0
    dataset = SynthHandDataset(spec, args.partition, args.kind, args.n, args.seed, args.size)
    paths = write_shards(dataset, args.out, args.shard_size)
    sheet = save_contact_sheet(
        [dataset[i] for i in range(min(args.sheet, args.n))], Path(args.out) / "contact_sheet.png"
    )
    print(f"wrote {args.n} {args.kind} items in {len(paths)} shard(s) and {sheet}")
    return 0

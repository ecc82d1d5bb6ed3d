"""Judge how real the synthetic renders look: MediaPipe (trained on real images) on N renders.

Example: ``handperception realism --n 200 --kind hands --out out/realism`` writes
``realism_hands.json``, ``realism_hands.md`` (detection rate, share within 10 % of the hand's
size, per viewpoint, skin tone and hand size) and ``realism_hands_sheet.png`` (found above,
missed below). ``--kind eyes`` runs the face mesh with iris refinement on the face renders.
Needs the optional MediaPipe peer (requirements-mediapipe.txt).
"""

from __future__ import annotations

import argparse

from handperception.cli.arguments import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=("hands", "two_hands", "eyes"), default="hands")
    parser.add_argument("--n", type=positive_int, default=200, help="number of renders")
    parser.add_argument("--out", default="out/realism", help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=positive_int, default=128, help="hand crop side in pixels")


def run(args: argparse.Namespace) -> int:
    from handperception.bench.realism import markdown_report, write_realism_report

    summary = write_realism_report(args.kind, args.n, args.out, args.seed, args.size)
    print(markdown_report(summary))
    print(f"written to {args.out}")
    return 0

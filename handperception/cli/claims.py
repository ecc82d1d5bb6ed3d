"""Reproduce the published methods' claims on the synthetic benchmark (minutes on a CPU).

Each claim trains small variants, evaluates them on the same split and prints whether the
claimed direction held; results go to <out>/claims.json and claims.md.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="out/claims", help="output folder")
    parser.add_argument("--only", nargs="*", default=None, help="claim names to run (default: all)")
    parser.add_argument(
        "--quick", action="store_true", help="tiny smoke-test versions of every experiment"
    )
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    import handperception.claims  # noqa: F401  (registers the claims)
    from handperception.claims.harness import run_claims

    runs = run_claims(args.out, args.only, quick=args.quick, seed=args.seed)
    return 0 if all(run.status != "error" for run in runs) else 1

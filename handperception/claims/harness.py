"""Registry and runner for reproducing published claims as experiments on the synthetic benchmark.

Why: a method is adopted because its paper claims an effect ("biomechanical constraints lower
MPJPE when only 2D labels are available"). Each such claim becomes one registered function
that trains/evaluates the compared variants and reports whether the claimed *direction* held,
so the whole list can be re-run after any change and read as one table.

A claim function takes a ``ClaimContext`` and returns a ``ClaimResult``::

    @register_claim("name", paper="Author et al., Venue Year", statement="A beats B on metric")
    def my_claim(context: ClaimContext) -> ClaimResult:
        ...
        return ClaimResult.compare(variants, metric="mpjpe_mm", better="A", worse="B")

Modules defining claims must be imported before ``run_claims`` so their decorators have run.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, TextIO

from tqdm import tqdm

_CLAIM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
HELD, NOT_HELD, ERROR = "held", "not held", "error"


@dataclass(frozen=True)
class ClaimContext:
    """What the runner gives a claim: its own output folder, a quick (smoke-test) flag and a
    seed."""

    out_dir: Path
    quick: bool = False
    seed: int = 0


@dataclass
class ClaimResult:
    """Numbers of the compared variants and whether the claimed direction held.

    Attributes:
        variants: variant name -> {metric name -> value}.
        metric: the metric the claim is about (a key of each variant's dict).
        held: True when the experiment agrees with the claim.
        note: free text, e.g. the margin used or a caveat of the reproduction.
    """

    variants: dict[str, dict[str, float]]
    metric: str
    held: bool
    note: str = ""

    def __post_init__(self) -> None:
        if not self.variants:
            raise ValueError("a claim result needs at least one variant")
        for variant, values in self.variants.items():
            for key, value in values.items():
                if not math.isfinite(value):
                    raise ValueError(f"variant {variant!r} has a non-finite {key!r}: {value}")
        self.held = bool(self.held)

    @classmethod
    def compare(
        cls,
        variants: dict[str, dict[str, float]],
        metric: str,
        better: str,
        worse: str,
        lower_is_better: bool = True,
        margin: float = 0.0,
        note: str = "",
    ) -> "ClaimResult":
        """The claim "``better`` beats ``worse`` on ``metric`` by more than ``margin``".

        ``margin`` (in the metric's unit, >= 0) lets a claim demand more than noise-level wins.
        """
        for variant in (better, worse):
            if variant not in variants:
                raise ValueError(f"variant {variant!r} not among {list(variants)}")
            if metric not in variants[variant]:
                raise ValueError(f"variant {variant!r} has no metric {metric!r}")
        if not math.isfinite(margin) or margin < 0:
            raise ValueError(f"margin must be finite and >= 0, got {margin}")
        a, b = variants[better][metric], variants[worse][metric]
        held = a < b - margin if lower_is_better else a > b + margin
        return cls(variants=variants, metric=metric, held=bool(held), note=note)

    def to_dict(self) -> dict:
        return {
            "variants": self.variants,
            "metric": self.metric,
            "held": self.held,
            "note": self.note,
        }


@dataclass(frozen=True)
class Claim:
    """One registered claim: who claimed what, and the experiment that tests it."""

    name: str
    paper: str
    statement: str
    function: Callable[[ClaimContext], ClaimResult]


class ClaimRegistry:
    """Named claims in registration order. The library uses ``DEFAULT_REGISTRY``; tests make
    their own."""

    def __init__(self) -> None:
        self._claims: dict[str, Claim] = {}

    def register(self, claim: Claim) -> None:
        if not _CLAIM_NAME.match(claim.name):
            raise ValueError(
                f"claim name {claim.name!r} must match [A-Za-z0-9][A-Za-z0-9_.-]* "
                "(it names a folder)"
            )
        if not claim.paper.strip() or not claim.statement.strip():
            raise ValueError(f"claim {claim.name!r} needs a non-empty paper and statement")
        if claim.name in self._claims:
            raise ValueError(f"claim {claim.name!r} is already registered")
        self._claims[claim.name] = claim

    def names(self) -> list[str]:
        return list(self._claims)

    def get(self, name: str) -> Claim:
        if name not in self._claims:
            raise ValueError(f"unknown claim {name!r}; registered: {self.names()}")
        return self._claims[name]


DEFAULT_REGISTRY = ClaimRegistry()


def register_claim(name: str, paper: str, statement: str, registry: ClaimRegistry | None = None):
    """Decorator registering ``function(context) -> ClaimResult`` as a claim (default registry)."""

    def decorator(
        function: Callable[[ClaimContext], ClaimResult],
    ) -> Callable[[ClaimContext], ClaimResult]:
        (registry or DEFAULT_REGISTRY).register(Claim(name, paper, statement, function))
        return function

    return decorator


@dataclass
class ClaimRun:
    """The outcome of running one claim: its result, or the error that stopped it."""

    claim: Claim
    status: str
    seconds: float
    result: ClaimResult | None = None
    error: str = ""

    def to_dict(self) -> dict:
        return {
            "name": self.claim.name,
            "paper": self.claim.paper,
            "statement": self.claim.statement,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "result": None if self.result is None else self.result.to_dict(),
            "error": self.error,
        }


def run_claims(
    out_dir: str | Path,
    names: Iterable[str] | None = None,
    registry: ClaimRegistry | None = None,
    quick: bool = False,
    seed: int = 0,
    stream: TextIO | None = None,
) -> list[ClaimRun]:
    """Run the selected claims (all when ``names`` is None), print the table, write JSON and
    Markdown.

    A claim that raises is recorded with status ``error`` and its traceback, and the others
    still run: one broken experiment should not hide the rest of the table.

    Args:
        out_dir: folder for ``claims.json``, ``claims.md`` and one sub-folder per claim.
        names: claim names to run, in the order given.
        registry: defaults to ``DEFAULT_REGISTRY``.
        quick: passed to each claim (small smoke-test versions of the experiments).
        seed: passed to each claim.
        stream: where the table is printed (stdout by default).
    Returns:
        One ``ClaimRun`` per claim, in run order.
    """
    registry = registry or DEFAULT_REGISTRY
    selected = registry.names() if names is None else list(names)
    if not selected:
        raise ValueError("no claims to run: none registered or an empty selection")
    claims = [registry.get(name) for name in selected]
    out = Path(out_dir)
    runs = []
    for claim in tqdm(claims, desc="claims", unit="claim"):
        context = ClaimContext(out_dir=out / claim.name, quick=quick, seed=seed)
        context.out_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        try:
            result = claim.function(context)
            if not isinstance(result, ClaimResult):
                raise TypeError(
                    f"claim {claim.name!r} returned {type(result).__name__}, not ClaimResult"
                )
            status = HELD if result.held else NOT_HELD
            runs.append(ClaimRun(claim, status, time.perf_counter() - start, result=result))
        except Exception:  # noqa: BLE001 - recorded in the table, see docstring
            runs.append(
                ClaimRun(claim, ERROR, time.perf_counter() - start, error=traceback.format_exc())
            )
    table = claims_table(runs)
    print(table, file=stream or sys.stdout)
    out.mkdir(parents=True, exist_ok=True)
    (out / "claims.json").write_text(
        json.dumps([run.to_dict() for run in runs], indent=2, allow_nan=False) + "\n"
    )
    (out / "claims.md").write_text("# Claims\n\n" + table + "\n")
    return runs


def claims_table(runs: list[ClaimRun]) -> str:
    """Markdown table: claim, paper, metric, each variant's value, status, run time."""
    lines = [
        "| claim | paper | metric | variants | status | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        if run.result is None:
            metric, variants = "-", "-"
        else:
            metric = run.result.metric
            variants = "; ".join(
                f"{name}={_format(values.get(metric))}"
                for name, values in run.result.variants.items()
            )
        lines.append(
            f"| {run.claim.name} | {run.claim.paper} | {metric} | {variants} "
            f"| {run.status} | {run.seconds:.1f} |"
        )
    return "\n".join(lines)


def _format(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"

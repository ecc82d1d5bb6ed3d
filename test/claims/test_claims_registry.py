"""The claims harness: registration, direction checks, the runner's table and JSON/Markdown files.

The claims here are dummies registered in a private registry; they test the harness only.
"""

import io
import json

import pytest

from handperception.claims.harness import (
    ClaimContext,
    ClaimRegistry,
    ClaimResult,
    register_claim,
    run_claims,
)


def _registry():
    registry = ClaimRegistry()
    seen = {}

    @register_claim(
        "dummy-held",
        paper="Doe et al., Test 2020",
        statement="A has lower error than B",
        registry=registry,
    )
    def held(context: ClaimContext) -> ClaimResult:
        seen["held"] = context
        variants = {"A": {"mpjpe_mm": 10.0}, "B": {"mpjpe_mm": 12.5}}
        return ClaimResult.compare(variants, metric="mpjpe_mm", better="A", worse="B")

    @register_claim(
        "dummy-not-held",
        paper="Roe, Test 2021",
        statement="C has higher AUC than D",
        registry=registry,
    )
    def not_held(context: ClaimContext) -> ClaimResult:
        variants = {"C": {"auc": 0.7}, "D": {"auc": 0.75}}
        return ClaimResult.compare(
            variants, metric="auc", better="C", worse="D", lower_is_better=False
        )

    @register_claim("dummy-broken", paper="Nobody", statement="never finishes", registry=registry)
    def broken(context: ClaimContext) -> ClaimResult:
        raise RuntimeError("experiment crashed")

    return registry, seen


def test_runner_table_and_files(tmp_path):
    registry, seen = _registry()
    stream = io.StringIO()
    runs = run_claims(tmp_path, registry=registry, quick=True, seed=5, stream=stream)
    assert [run.status for run in runs] == ["held", "not held", "error"]
    assert seen["held"] == ClaimContext(out_dir=tmp_path / "dummy-held", quick=True, seed=5)
    assert (tmp_path / "dummy-held").is_dir()

    table = stream.getvalue().strip().splitlines()
    assert table[0] == "| claim | paper | metric | variants | status | seconds |"
    assert table[2].startswith(
        "| dummy-held | Doe et al., Test 2020 | mpjpe_mm | A=10; B=12.5 | held |"
    )
    assert table[3].startswith(
        "| dummy-not-held | Roe, Test 2021 | auc | C=0.7; D=0.75 | not held |"
    )
    assert table[4].startswith("| dummy-broken | Nobody | - | - | error |")

    data = json.loads((tmp_path / "claims.json").read_text())
    assert [entry["name"] for entry in data] == ["dummy-held", "dummy-not-held", "dummy-broken"]
    assert data[0]["result"] == {
        "variants": {"A": {"mpjpe_mm": 10.0}, "B": {"mpjpe_mm": 12.5}},
        "metric": "mpjpe_mm",
        "held": True,
        "note": "",
    }
    assert data[0]["statement"] == "A has lower error than B"
    assert data[2]["result"] is None and "experiment crashed" in data[2]["error"]
    markdown = (tmp_path / "claims.md").read_text()
    assert markdown.startswith("# Claims\n") and "| dummy-broken |" in markdown


def test_runner_selection(tmp_path):
    registry, _ = _registry()
    runs = run_claims(
        tmp_path, names=["dummy-not-held", "dummy-held"], registry=registry, stream=io.StringIO()
    )
    assert [run.claim.name for run in runs] == ["dummy-not-held", "dummy-held"]
    with pytest.raises(ValueError, match="unknown claim"):
        run_claims(tmp_path, names=["no-such-claim"], registry=registry, stream=io.StringIO())
    with pytest.raises(ValueError, match="no claims"):
        run_claims(tmp_path, registry=ClaimRegistry(), stream=io.StringIO())


def test_registration_errors():
    registry, _ = _registry()
    with pytest.raises(ValueError, match="already registered"):
        register_claim("dummy-held", paper="x", statement="y", registry=registry)(
            lambda context: None
        )
    with pytest.raises(ValueError, match="must match"):
        register_claim("bad name/", paper="x", statement="y", registry=registry)(
            lambda context: None
        )
    with pytest.raises(ValueError, match="non-empty paper"):
        register_claim("ok-name", paper=" ", statement="y", registry=registry)(lambda context: None)


def test_compare_direction_and_margin():
    variants = {"with": {"mpjpe_mm": 10.0}, "without": {"mpjpe_mm": 10.5}}
    assert ClaimResult.compare(variants, "mpjpe_mm", better="with", worse="without").held
    assert not ClaimResult.compare(
        variants, "mpjpe_mm", better="with", worse="without", margin=1.0
    ).held
    assert not ClaimResult.compare(variants, "mpjpe_mm", better="without", worse="with").held
    assert ClaimResult.compare(
        variants, "mpjpe_mm", better="without", worse="with", lower_is_better=False
    ).held
    with pytest.raises(ValueError, match="not among"):
        ClaimResult.compare(variants, "mpjpe_mm", better="with", worse="other")
    with pytest.raises(ValueError, match="non-finite"):
        ClaimResult({"a": {"m": float("nan")}}, metric="m", held=True)

"""The grasp-refinement claim: its held rule, and its quick version run end to end."""

import math

import pytest

from handperception.claims.grasp_refinement import (
    CONTACT,
    METRIC,
    SPLITS,
    grasp_refinement_claim,
    refinement_held,
)
from handperception.claims.harness import DEFAULT_REGISTRY, ClaimContext, ClaimResult


def _variants(raw: tuple[float, float], refined: tuple[float, float]) -> dict:
    return {
        "raw a": {METRIC: raw[0], CONTACT: raw[1]},
        "refined a": {METRIC: refined[0], CONTACT: refined[1]},
    }


@pytest.mark.parametrize(
    ("raw", "refined", "held"),
    [
        ((2.0, 70.0), (0.5, 90.0), True),
        ((2.0, 70.0), (0.5, 60.0), False),  # less penetration but less contact
        ((2.0, 70.0), (2.0, 90.0), False),  # a tie on volume is not lower
    ],
)
def test_held_needs_less_volume_and_more_contact(raw, refined, held):
    assert refinement_held(_variants(raw, refined)) is held


def test_the_quick_claim_reports_finite_numbers_for_raw_and_refined(tmp_path):
    assert "grasp-refinement" in DEFAULT_REGISTRY.names()
    result = grasp_refinement_claim(ClaimContext(out_dir=tmp_path, quick=True, seed=0))
    assert isinstance(result, ClaimResult) and result.metric == METRIC
    assert set(result.variants) == {
        f"{kind} {split}" for kind in ("raw", "refined") for split in SPLITS
    }
    for name, values in result.variants.items():
        for key in (METRIC, CONTACT, "penetration_depth_cm", "diversity_entropy"):
            assert math.isfinite(values[key]), (name, key)
        assert 0 <= values[CONTACT] <= 100 and values[METRIC] >= 0
    assert result.held is refinement_held(result.variants)
    assert (tmp_path / "grasp_vae.pt").is_file()

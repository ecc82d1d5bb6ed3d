"""The DIGIT fusion claim: its held rule, and its quick version run end to end."""

import math

import pytest

from handperception.claims.digit_fusion import METRIC, VARIANTS, digit_fusion_claim, fusion_held
from handperception.claims.harness import DEFAULT_REGISTRY, ClaimContext, ClaimResult


@pytest.mark.parametrize(
    ("errors", "held"),
    [
        ({"probabilities": 20.0, "hard": 22.0, "none": 21.0}, True),
        ({"probabilities": 21.5, "hard": 22.0, "none": 21.0}, False),  # "none" is better
        ({"probabilities": 20.0, "hard": 20.0, "none": 25.0}, False),  # a tie is not lower
    ],
)
def test_held_needs_the_probabilities_below_both_others(errors, held):
    assert fusion_held(errors) is held


def test_the_quick_claim_trains_three_fusions_and_reports_finite_numbers(tmp_path):
    assert "digit-probability-fusion" in DEFAULT_REGISTRY.names()
    result = digit_fusion_claim(ClaimContext(out_dir=tmp_path, quick=True, seed=0))
    assert isinstance(result, ClaimResult) and result.metric == METRIC
    assert set(result.variants) == set(VARIANTS)
    for name, values in result.variants.items():
        for key in (METRIC, "mpjpe_single_mm", "segmentation_miou", "mrrpe_mm", "final_loss"):
            assert math.isfinite(values[key]), (name, key)
        assert values[METRIC] > 0 and 0 <= values["segmentation_miou"] <= 1
        assert (tmp_path / f"{name}.pt").is_file()
    errors = {name: values[METRIC] for name, values in result.variants.items()}
    assert result.held is fusion_held(errors)
    assert "held if probabilities < both others" in result.note

import math

import pytest
import torch

from handperception.losses.gaze import gaze_loss
from handperception.models.gaze import GazeNetOutput


def _output(logit: float, pitchyaw) -> GazeNetOutput:
    maps = torch.full((1, 2, 36, 60), logit)
    return GazeNetOutput((maps, maps.clone()), torch.tensor([pitchyaw]))


def test_terms_match_hand_computed_values():
    target_maps = torch.full((1, 2, 36, 60), 0.5)
    terms = gaze_loss(_output(0.0, [0.1, -0.2]), target_maps, torch.tensor([[0.1, 0.2]]))
    # sigmoid(0) = 0.5 against 0.5: cross-entropy ln 2 per pixel; |0| and |-0.4| -> mean 0.2 rad.
    assert terms["gazemap"].item() == pytest.approx(math.log(2), rel=1e-5)
    assert terms["angle"].item() == pytest.approx(0.2, rel=1e-5)
    assert terms["total"].item() == pytest.approx(math.log(2) + 0.2, rel=1e-5)
    weighted = gaze_loss(
        _output(0.0, [0.1, -0.2]), target_maps, torch.tensor([[0.1, 0.2]]), {"angle": 2.0}
    )
    assert weighted["total"].item() == pytest.approx(math.log(2) + 0.4, rel=1e-5)


def test_confident_correct_maps_cost_almost_nothing():
    target = torch.ones(1, 2, 36, 60)
    terms = gaze_loss(_output(20.0, [0.0, 0.0]), target, torch.zeros(1, 2))
    assert terms["gazemap"].item() < 1e-6 and terms["angle"].item() == 0.0


def test_mismatches_raise():
    with pytest.raises(ValueError, match="gazemaps"):
        gaze_loss(_output(0.0, [0, 0]), torch.zeros(1, 2, 18, 30), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="pitchyaw"):
        gaze_loss(_output(0.0, [0, 0]), torch.zeros(1, 2, 36, 60), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="unknown gaze loss weights"):
        gaze_loss(_output(0.0, [0, 0]), torch.zeros(1, 2, 36, 60), torch.zeros(1, 2), {"iris": 1})

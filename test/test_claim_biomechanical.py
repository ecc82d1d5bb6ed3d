import numpy as np
import pytest

from handperception.claims.biomechanical_2d import depth_error_mm, gains_held


def test_depth_error_is_the_mean_root_relative_z_error_in_mm():
    truth = np.zeros((1, 21, 3))
    truth[..., 2] = 0.5
    predicted = truth.copy()
    predicted[..., 2] += 0.2  # a pure shift of the whole hand: no root-relative error
    predicted[0, 5, 2] += 0.021  # one joint 21 mm deeper: 1 mm averaged over 21 joints
    assert depth_error_mm(predicted, truth) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("depth", "gains", "held"),
    [
        # The paper's own numbers: 15 % without, 50 % with the constraints.
        ({"3d_only": 100.0, "plus_2d_no_constraints": 85.0, "plus_2d_with_constraints": 50.0}, (15.0, 50.0), True),
        # Better with the constraints, but not twice the gain: not "far more".
        ({"3d_only": 80.0, "plus_2d_no_constraints": 72.0, "plus_2d_with_constraints": 66.0}, (10.0, 17.5), False),
        # 2D-only data hurting depth without the constraints counts as no gain.
        ({"3d_only": 80.0, "plus_2d_no_constraints": 84.0, "plus_2d_with_constraints": 79.0}, (-5.0, 1.25), True),
        # No gain with the constraints never holds.
        ({"3d_only": 80.0, "plus_2d_no_constraints": 84.0, "plus_2d_with_constraints": 80.0}, (-5.0, 0.0), False),
    ],
)
def test_gains_are_percent_of_the_3d_only_error_and_held_needs_twice_the_gain(depth, gains, held):
    computed, is_held = gains_held(depth)
    assert computed["plus_2d_no_constraints"] == pytest.approx(gains[0])
    assert computed["plus_2d_with_constraints"] == pytest.approx(gains[1])
    assert is_held is held

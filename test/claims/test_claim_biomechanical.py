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
        (
            {"3d_only": 100.0, "plus_2d_no_constraints": 85.0, "plus_2d_with_constraints": 50.0},
            (15.0, 50.0),
            True,
        ),
        # Better with the constraints, but not twice the gain: not "far more".
        (
            {"3d_only": 80.0, "plus_2d_no_constraints": 72.0, "plus_2d_with_constraints": 66.0},
            (10.0, 17.5),
            False,
        ),
        # 2D-only data hurting depth without the constraints counts as no gain.
        (
            {"3d_only": 80.0, "plus_2d_no_constraints": 84.0, "plus_2d_with_constraints": 79.0},
            (-5.0, 1.25),
            True,
        ),
        # No gain with the constraints never holds.
        (
            {"3d_only": 80.0, "plus_2d_no_constraints": 84.0, "plus_2d_with_constraints": 80.0},
            (-5.0, 0.0),
            False,
        ),
    ],
)
def test_gains_are_percent_of_the_3d_only_error_and_held_needs_twice_the_gain(depth, gains, held):
    computed, is_held = gains_held(depth)
    assert computed["plus_2d_no_constraints"] == pytest.approx(gains[0])
    assert computed["plus_2d_with_constraints"] == pytest.approx(gains[1])
    assert is_held is held


@pytest.mark.slow
def test_the_constraints_alone_keep_a_true_hand_and_restore_a_flattened_one():
    """On labelled 2D of rendered hands, the true depths are a minimum of the constraints (kept),
    and depths squashed to half are pulled back towards the truth (bones too short)."""
    from handperception.claims.biomechanical_2d import constraints_alone_depth
    from handperception.losses.pose import relative_depth
    from handperception.train.data import synthetic_crops

    crops = synthetic_crops("interpolation", "train", 6, 48, seed=5, cache_dir=None).arrays
    uv, k, left = crops["keypoints_2d"][:, 0], crops["K"], crops["is_left"][:, 0]
    import torch

    truth = relative_depth(
        torch.as_tensor(crops["keypoints_3d"][:, 0], dtype=torch.float64)
    ).numpy()
    kept = constraints_alone_depth(uv, k, left, truth, steps=50)
    assert np.abs(kept - truth).mean() < 0.02  # reference-bone units
    squashed = 0.5 * truth
    restored = constraints_alone_depth(uv, k, left, squashed, steps=300)
    assert np.abs(restored - truth).mean() < 0.85 * np.abs(squashed - truth).mean()
    with pytest.raises(ValueError, match="positive"):
        constraints_alone_depth(uv, k, left, truth, steps=0)

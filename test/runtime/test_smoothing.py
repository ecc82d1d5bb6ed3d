import numpy as np
import pytest

from handperception.runtime.smoothing import OneEuroFilter


def test_first_sample_passes_and_second_is_hand_computed():
    filt = OneEuroFilter(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)
    assert filt(np.array([0.0]), 0.0) == pytest.approx(0.0)
    # dt = 0.1 s, cutoff 1 Hz: tau = 1 / (2 pi), alpha = 1 / (1 + tau / dt) = 0.38586...
    alpha = 1 / (1 + (1 / (2 * np.pi)) / 0.1)
    assert filt(np.array([1.0]), 0.1) == pytest.approx(alpha)


def test_jitter_shrinks_at_rest_and_motion_is_followed_with_beta():
    rng = np.random.default_rng(0)
    times = np.arange(300) / 30.0
    still = 0.5 + rng.normal(0, 0.005, (300, 21, 3))
    filt = OneEuroFilter(min_cutoff=1.0, beta=5.0)
    smoothed = np.stack([filt(x, t) for x, t in zip(still, times)])
    assert smoothed[100:].std() < 0.35 * still[100:].std()
    ramp = times[:, None] * 0.5  # 0.5 m/s
    lazy, quick = OneEuroFilter(1.0, 0.0), OneEuroFilter(1.0, 50.0)
    lag_lazy = abs(ramp[-1, 0] - [lazy(x, t) for x, t in zip(ramp, times)][-1][0])
    lag_quick = abs(ramp[-1, 0] - [quick(x, t) for x, t in zip(ramp, times)][-1][0])
    assert lag_quick < 0.2 * lag_lazy


def test_reset_on_shape_change_time_going_back_and_bad_parameters():
    filt = OneEuroFilter()
    filt(np.zeros(3), 1.0)
    np.testing.assert_array_equal(filt(np.ones(4), 1.1), np.ones(4))
    np.testing.assert_array_equal(filt(np.full(4, 2.0), 0.5), np.full(4, 2.0))
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0)

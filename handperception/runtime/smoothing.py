"""One-euro filter (Casiez, Roussel and Vogel, CHI 2012) for keypoint jitter.

Why this filter: a fixed low-pass either lags fast hand motion or leaves jitter at rest; the
one-euro filter lowers its cutoff when the signal is slow (removing jitter) and raises it with
speed (removing lag), with two intuitive parameters. Works on arrays of any shape, element-wise,
with real timestamps (frames arrive irregularly when a node drops some).
"""

from __future__ import annotations

import numpy as np


def _alpha(cutoff_hz: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * np.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """``min_cutoff`` (Hz): smoothing at rest, lower is smoother; ``beta``: how fast the cutoff
    grows with speed (units of the signal per second), higher lags less; ``d_cutoff`` (Hz): the
    cutoff of the speed estimate."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("min_cutoff and d_cutoff must be positive and beta non-negative")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time: float | None = None

    def __call__(self, value: np.ndarray, time_s: float) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        if self._value is None or self._value.shape != value.shape or time_s <= self._time:
            self._value, self._speed, self._time = value.copy(), np.zeros_like(value), time_s
            return value.copy()
        dt = time_s - self._time
        speed = (value - self._value) / dt
        a_d = _alpha(self.d_cutoff, dt)
        self._speed = a_d * speed + (1 - a_d) * self._speed
        cutoff = self.min_cutoff + self.beta * np.abs(self._speed)
        a = _alpha(cutoff, dt)
        self._value = a * value + (1 - a) * self._value
        self._time = time_s
        return self._value.copy()


class HandTrackSmoother:
    """One pair of one-euro filters (3D joints in metres, 2D joints in pixels) per hand track.

    Pixels move roughly 1000x more per second than metres at arm's length, so the 2D filter's
    beta is the 3D one's / 1000: one tuning serves both.
    """

    def __init__(self, min_cutoff: float, beta: float):
        self.min_cutoff, self.beta = min_cutoff, beta
        self._filters: dict[int, tuple[OneEuroFilter, OneEuroFilter]] = {}

    def __call__(self, track_id: int, joints_3d: np.ndarray, joints_2d: np.ndarray, time_s: float):
        if track_id not in self._filters:
            self._filters[track_id] = (
                OneEuroFilter(self.min_cutoff, self.beta),
                OneEuroFilter(self.min_cutoff, self.beta / 1000.0),
            )
        filter_3d, filter_2d = self._filters[track_id]
        return filter_3d(joints_3d, time_s), filter_2d(joints_2d, time_s)

    def keep_only(self, live_ids) -> None:
        """Forget the filters of tracks that ended (a new hand must not inherit an old one's
        state)."""
        for stale in set(self._filters) - set(live_ids):
            del self._filters[stale]

    def clear(self) -> None:
        self._filters.clear()

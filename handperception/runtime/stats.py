"""Rate, latency and drop accounting for nodes and benchmarks.

Why: users judge a perception stack by its end-to-end rate and latency (``now - header.stamp``),
not by the bare model's speed, so every node measures both the same way and reports them as
diagnostics; benchmarks reuse the same numbers.

Inputs and results are counted apart, so that every input a node took is accounted for once:
``received`` = ``count`` (processed) + ``dropped`` (every reason, ``superseded`` included) once
nothing is in flight, while results found in a processed input but not published (a hand of
low confidence) are ``result_drops`` and never enter that sum.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from handperception.runtime.timing import percentiles_ms


@dataclass(frozen=True)
class StatsSnapshot:
    count: int
    rate_hz: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_max_ms: float
    drops: dict[str, int]  # inputs dropped, by reason
    received: int = 0  # inputs taken (``receive``); 0 for a node that only produces
    result_drops: dict[str, int] = field(default_factory=dict)  # results not published

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    def as_dict(self) -> dict:
        return {
            "count": self.count,
            "rate_hz": round(self.rate_hz, 3),
            "latency_p50_ms": round(self.latency_p50_ms, 3),
            "latency_p95_ms": round(self.latency_p95_ms, 3),
            "latency_max_ms": round(self.latency_max_ms, 3),
            "dropped": self.dropped,
            "drops": dict(self.drops),
            "received": self.received,
            "result_drops": dict(self.result_drops),
        }


class RateLatencyMonitor:
    """Thread-safe running rate over a time window and latency percentiles over recent events.

    ``clock`` returns seconds; injectable so tests can drive time by hand.
    """

    def __init__(self, window_s: float = 5.0, max_samples: int = 1000, clock=time.monotonic):
        if window_s <= 0 or max_samples <= 0:
            raise ValueError("window_s and max_samples must be positive")
        self._window_s = window_s
        self._clock = clock
        self._times: collections.deque[float] = collections.deque()
        self._latencies: collections.deque[float] = collections.deque(maxlen=max_samples)
        self._count = 0
        self._received = 0
        self._drops: collections.Counter[str] = collections.Counter()
        self._result_drops: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def receive(self) -> None:
        """One input taken; it must end as one ``record`` or one ``drop``."""
        with self._lock:
            self._received += 1

    def record(self, latency_s: float | None = None) -> None:
        """One event done; ``latency_s`` from the source stamp to now, if known."""
        now = self._clock()
        with self._lock:
            self._count += 1
            self._times.append(now)
            self._trim(now)
            if latency_s is not None and np.isfinite(latency_s):
                self._latencies.append(float(latency_s))

    def drop(self, reason: str) -> None:
        """One input not processed, for ``reason``."""
        with self._lock:
            self._drops[reason] += 1

    def drop_result(self, reason: str) -> None:
        """One result (a hand, a face) found in a processed input but not published."""
        with self._lock:
            self._result_drops[reason] += 1

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self._window_s:
            self._times.popleft()

    def snapshot(self) -> StatsSnapshot:
        now = self._clock()
        with self._lock:
            self._trim(now)
            times = list(self._times)
            latencies = np.asarray(self._latencies, dtype=np.float64) * 1e3
            count, drops, received = self._count, dict(self._drops), self._received
            result_drops = dict(self._result_drops)
        rate = (
            (len(times) - 1) / (times[-1] - times[0])
            if len(times) > 1 and times[-1] > times[0]
            else 0.0
        )
        if latencies.size:
            quantiles = percentiles_ms(latencies, (50, 95))
            p50, p95, worst = quantiles["p50_ms"], quantiles["p95_ms"], latencies.max()
        else:
            p50 = p95 = worst = float("nan")
        return StatsSnapshot(
            count, float(rate), float(p50), float(p95), float(worst), drops, received, result_drops
        )

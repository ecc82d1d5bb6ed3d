"""Rate and end-to-end latency (``now - header.stamp``) of every stamped topic of a graph: what
``handperception run`` prints and writes to summary.json, and what the benchmarks report."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from rclpy.context import Context
from rclpy.node import Node

from handperception.ros.introspection import stamped_topics
from handperception.ros.qos import image_qos
from handperception.ros.stamps import stamp_to_ns
from handperception.runtime.timing import percentiles_ms

_IGNORED_TOPICS = frozenset({"/rosout", "/parameter_events", "/diagnostics"})
_DISCOVERY_PERIOD_S = 0.2


@dataclass
class TopicStats:
    count: int = 0
    first_s: float = 0.0
    last_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        span = self.last_s - self.first_s
        rate_hz = round((self.count - 1) / span, 2) if self.count > 1 and span > 0 else 0.0
        latency = percentiles_ms(self.latencies_ms, digits=2)
        return {
            "count": self.count,
            "rate_hz": rate_hz,
            **{f"latency_{name}": value for name, value in latency.items()},
        }


class TopicMonitor:
    """Subscribes to every stamped topic the graph publishes (but ``unmonitored``); rate and
    ``now - header.stamp``."""

    def __init__(self, context: Context, unmonitored: frozenset[str] = frozenset()):
        self.node = Node("handperception_runner_monitor", context=context)
        self.unmonitored = _IGNORED_TOPICS | unmonitored
        self.stats: dict[str, TopicStats] = {}
        self._subscriptions: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.node.create_timer(_DISCOVERY_PERIOD_S, self._discover)

    def _wanted(self, topic: str) -> bool:
        return not (
            topic in self._subscriptions
            or topic in self.unmonitored
            or topic.endswith("/transition_event")
        )

    def _discover(self) -> None:
        qos = image_qos("best_effort")  # matches any publisher; a few deep so counts stay exact
        qos.depth = 10
        for topic, msg_type in stamped_topics(self.node, self._wanted):
            self._subscriptions[topic] = self.node.create_subscription(
                msg_type, topic, lambda msg, t=topic: self._on_message(t, msg), qos
            )

    def _on_message(self, topic: str, msg) -> None:
        now_ns = self.node.get_clock().now().nanoseconds
        with self._lock:
            stats = self.stats.setdefault(topic, TopicStats(first_s=now_ns * 1e-9))
            stats.count += 1
            stats.last_s = now_ns * 1e-9
            stats.latencies_ms.append((now_ns - stamp_to_ns(msg.header.stamp)) * 1e-6)

    def summary(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {topic: stats.as_dict() for topic, stats in sorted(self.stats.items())}

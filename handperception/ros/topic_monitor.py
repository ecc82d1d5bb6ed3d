"""Rate and end-to-end latency (``now - header.stamp``) of every stamped topic of a graph: what
``handperception run`` prints and writes to summary.json, and what the benchmarks report; and
the errors the graph's nodes log, so the runner can say why a node did not start."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from rcl_interfaces.msg import Log
from rclpy.context import Context
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from handperception.ros.introspection import stamped_topics
from handperception.ros.qos import image_qos
from handperception.ros.stamps import stamp_to_ns
from handperception.runtime.timing import percentiles_ms

_IGNORED_TOPICS = frozenset({"/rosout", "/parameter_events", "/diagnostics"})
_DISCOVERY_PERIOD_S = 0.2
# rcl's /rosout publishers: reliable and transient local, so a subscriber sees what was logged
# before it matched.
_ROSOUT_QOS = QoSProfile(
    depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)


@dataclass
class TopicStats:
    count: int = 0
    first_s: float = 0.0
    last_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    received_ns: dict[int, int] = field(default_factory=dict)  # header stamp -> first arrival

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
    ``now - header.stamp``; and to /rosout, keeping each logger's errors."""

    def __init__(self, context: Context, unmonitored: frozenset[str] = frozenset()):
        self.node = Node("handperception_runner_monitor", context=context)
        self.unmonitored = _IGNORED_TOPICS | unmonitored
        self.stats: dict[str, TopicStats] = {}
        self._subscriptions: dict[str, Any] = {}
        self._errors: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self.node.create_timer(_DISCOVERY_PERIOD_S, self._discover)
        self.node.create_subscription(Log, "/rosout", self._on_log, _ROSOUT_QOS)

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
        stamp_ns = stamp_to_ns(msg.header.stamp)
        with self._lock:
            stats = self.stats.setdefault(topic, TopicStats(first_s=now_ns * 1e-9))
            stats.count += 1
            stats.last_s = now_ns * 1e-9
            stats.latencies_ms.append((now_ns - stamp_ns) * 1e-6)
            stats.received_ns.setdefault(stamp_ns, now_ns)

    def _on_log(self, log: Log) -> None:
        if log.level >= Log.ERROR:
            with self._lock:
                self._errors.setdefault(log.name, []).append(log.msg)

    def error_count(self, logger: str) -> int:
        """How many errors ``logger`` (a node's logger name) has logged so far."""
        with self._lock:
            return len(self._errors.get(logger, []))

    def error_since(self, logger: str, seen: int, timeout_s: float) -> str | None:
        """The first error ``logger`` logged after its first ``seen`` ones, waiting up to
        ``timeout_s`` for it to arrive (/rosout is a topic like any other); None if none came."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                errors = self._errors.get(logger, [])[seen:]
            if errors or time.monotonic() >= deadline:
                return errors[0] if errors else None
            time.sleep(0.02)

    def delay_ms(self, first: str, then: str) -> dict[str, Any]:
        """Percentiles of how long after ``first`` each stamp arrived on ``then`` (both monitored
        topics), over the stamps both carried: the graph's own time for a frame whatever its
        stamp says (a replayed bag keeps its recorded, long past, stamps)."""
        with self._lock:
            before = self.stats.get(first, TopicStats()).received_ns
            after = self.stats.get(then, TopicStats()).received_ns
            delays = [(after[s] - before[s]) * 1e-6 for s in before.keys() & after.keys()]
        return {"count": len(delays), **percentiles_ms(delays, digits=2)}

    def summary(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {topic: stats.as_dict() for topic, stats in sorted(self.stats.items())}

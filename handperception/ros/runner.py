"""The embedded ``ros2 launch``: the nodes of a config YAML composed in one process.

Why: ``launch``/``ros2 launch`` are not available without a full ROS install, and even with one,
nodes in one process share a machine's cores better. The config is a standard ROS 2 parameters
file: every top-level key is a node (its name names its kind, see NODE_KINDS), and the launch
files in ``launch/`` start the same graph from the same file on robots.
"""
from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

NODE_KINDS: dict[str, str] = {
    "camera_source": "handperception.ros.nodes.camera_source:CameraSourceNode",
    "annotator": "handperception.ros.nodes.annotator:AnnotatorNode",
    "bag_recorder": "handperception.ros.nodes.bag_recorder:BagRecorderNode",
    "hand_pose": "handperception.ros.nodes.hand_pose:HandPoseNode",
}
SHARED_KEY = "/**"
_IGNORED_TOPICS = {"/rosout", "/parameter_events", "/diagnostics"}


def package_config_dir() -> Path:
    """config/ of the source tree, or share/handperception/config of an install."""
    from handperception.runtime.paths import package_root

    return package_root() / "config"


def graph_nodes(config_path: str | Path) -> list[str]:
    """Node names of a config file, in file order; unknown names are an error."""
    path = Path(config_path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a ROS 2 parameters file maps node names to ros__parameters")
    names = [name.lstrip("/") for name in data if name != SHARED_KEY]
    unknown = [name for name in names if name not in NODE_KINDS]
    if unknown:
        raise ValueError(f"{path}: unknown node(s) {unknown}; known: {sorted(NODE_KINDS)}")
    if not names:
        raise ValueError(f"{path} configures no node")
    return names


def node_class(kind: str):
    module, _, name = NODE_KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def configure_environment() -> None:
    """What sourcing a ROS setup file would do, the shared-memory profile large images need, and
    fast GIL hand-over between executor and inference threads (see handperception.runtime)."""
    from handperception.runtime import configure_gil_switching

    configure_gil_switching()
    os.environ.setdefault("AMENT_PREFIX_PATH", sys.prefix)
    profile = package_config_dir() / "fastdds.xml"
    if profile.is_file():
        os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(profile))


@dataclass
class TopicStats:
    count: int = 0
    first_s: float = 0.0
    last_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        import numpy as np

        span = self.last_s - self.first_s
        latencies = np.asarray(self.latencies_ms)
        return {
            "count": self.count,
            "rate_hz": round((self.count - 1) / span, 2) if self.count > 1 and span > 0 else 0.0,
            "latency_p50_ms": round(float(np.percentile(latencies, 50)), 2) if latencies.size else None,
            "latency_p95_ms": round(float(np.percentile(latencies, 95)), 2) if latencies.size else None,
            "latency_p99_ms": round(float(np.percentile(latencies, 99)), 2) if latencies.size else None,
        }


class TopicMonitor:
    """Subscribes to every stamped topic the graph publishes (but ``unmonitored``); rate and
    ``now - header.stamp``."""

    def __init__(self, context, unmonitored: frozenset[str] = frozenset()):
        from rclpy.node import Node

        self.node = Node("handperception_runner_monitor", context=context)
        self.unmonitored = _IGNORED_TOPICS | unmonitored
        self.stats: dict[str, TopicStats] = {}
        self._subscriptions: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.node.create_timer(0.2, self._discover)

    def _discover(self) -> None:
        from handperception.ros.nodes.bag_recorder import message_class
        from handperception.ros.qos import image_qos

        qos = image_qos("best_effort")  # matches any publisher; a few deep so counts stay exact
        qos.depth = 10
        for topic, types in self.node.get_topic_names_and_types():
            if topic in self._subscriptions or topic in self.unmonitored or topic.endswith("/transition_event"):
                continue
            msg_type = message_class(types[0])
            if "header" not in msg_type.get_fields_and_field_types():
                continue
            self._subscriptions[topic] = self.node.create_subscription(
                msg_type, topic, lambda msg, t=topic: self._on_message(t, msg), qos)

    def _on_message(self, topic: str, msg) -> None:
        from handperception.ros.stamps import stamp_to_ns

        now_ns = self.node.get_clock().now().nanoseconds
        with self._lock:
            stats = self.stats.setdefault(topic, TopicStats(first_s=now_ns * 1e-9))
            stats.count += 1
            stats.last_s = now_ns * 1e-9
            stats.latencies_ms.append((now_ns - stamp_to_ns(msg.header.stamp)) * 1e-6)

    def summary(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {topic: stats.as_dict() for topic, stats in sorted(self.stats.items())}


def _wait(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _start_source_when_graph_listens(source, others, timeout_s: float = 10.0, settle_s: float = 0.5) -> None:
    """A camera driver starts publishing at once; in a composed graph that loses the first
    frames to DDS discovery. So: every other node active, the source's publishers created,
    their subscriber count steady for ``settle_s``, then the source goes."""
    _wait(lambda: all(node.is_active for node in others), timeout_s)
    source.trigger_configure()
    history = []

    def settled():
        history.append((time.monotonic(), source.count_subscribers(source.image_topic)))
        now, count = history[-1]
        recent = [c for t, c in history if now - t <= settle_s]
        return count > 0 and now - history[0][0] >= settle_s and len(set(recent)) == 1

    _wait(settled, timeout_s)
    source.trigger_activate()


@dataclass
class RunResult:
    topics: dict[str, dict[str, Any]]
    nodes: dict[str, dict[str, Any]]
    frames_published: int
    wall_s: float


def dispatcher_executor(num_threads: int = 1, context=None):
    """A MultiThreadedExecutor with ``num_threads`` callback threads.

    Even with one thread: MultiThreadedExecutor shuts down cleanly while spinning in another
    thread, where SingleThreadedExecutor aborted the process here ("terminate called without an
    active exception"); rclpy's advice to switch is therefore silenced.
    """
    from rclpy.executors import MultiThreadedExecutor

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="MultiThreadedExecutor is used with a single thread")
        return MultiThreadedExecutor(num_threads=num_threads, context=context)


def run_graph(
    config_path: str | Path,
    overrides: dict[str, dict[str, Any]] | None = None,
    max_wall_s: float = 60.0,
    drain_s: float = 1.0,
    num_threads: int = 1,
    on_ready=None,
    unmonitored: frozenset[str] = frozenset(),
) -> RunResult:
    """Run the graph until its camera source finishes (or ``max_wall_s``), then shut down.

    ``num_threads`` executor threads dispatch callbacks; every image node already does its heavy
    work on its own worker thread, so one dispatcher keeps GIL contention lowest (measured, the
    hand_pose node alone: p50 23.5 / p95 32 ms with 1 thread, 29.6 / 57 ms with 4).

    ``overrides`` maps node name -> {parameter: value}, applied over the config file.
    ``on_ready(nodes)`` is called once every node exists (tests use it to attach probes).
    ``unmonitored`` topics are left out of the topic statistics (subscribing to a camera's images
    costs the process under test their deserialisation).
    """
    names = graph_nodes(config_path)
    configure_environment()
    import rclpy
    from rclpy.parameter import Parameter

    context = rclpy.Context()
    rclpy.init(args=["handperception", "--ros-args", "--params-file", str(config_path)], context=context)
    nodes: dict[str, Any] = {}
    executor = dispatcher_executor(num_threads, context)
    started = time.monotonic()
    spinner = None
    try:
        for name in names:
            node_overrides = dict((overrides or {}).get(name, {}))
            if name == "camera_source":
                node_overrides["autostart"] = False  # started once the graph listens, see below
            params = [Parameter(k, value=v) for k, v in node_overrides.items()]
            nodes[name] = node_class(name)(context=context, parameter_overrides=params)
            executor.add_node(nodes[name])
        monitor = TopicMonitor(context, unmonitored)
        executor.add_node(monitor.node)
        if on_ready is not None:
            on_ready(nodes)
        spinner = threading.Thread(target=executor.spin, name="handperception-executor", daemon=True)
        spinner.start()
        source = nodes.get("camera_source")
        if source is not None:
            _start_source_when_graph_listens(source, [n for n in nodes.values() if n is not source])
        try:
            while time.monotonic() - started < max_wall_s:
                if source is not None and source.finished:
                    time.sleep(drain_s)
                    break
                time.sleep(0.05)
        except KeyboardInterrupt:
            pass
        wall_s = time.monotonic() - started
        result = RunResult(
            topics=monitor.summary(),
            nodes={name: node.stats.snapshot().as_dict() for name, node in nodes.items()},
            frames_published=source.published if source is not None else 0,
            wall_s=wall_s,
        )
    finally:
        executor.shutdown(timeout_sec=5.0)
        if spinner is not None:
            # shutdown() can return while the spin thread is still inside its last wait; nodes
            # destroyed under it raise InvalidHandle there.
            spinner.join(timeout=5.0)
        for node in nodes.values():
            node.destroy_node()
        rclpy.try_shutdown(context=context)
    return result

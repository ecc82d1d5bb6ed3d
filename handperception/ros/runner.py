"""The embedded ``ros2 launch``: the nodes of a config YAML composed in one process.

Why: ``launch``/``ros2 launch`` are not available without a full ROS install, and even with one,
nodes in one process share a machine's cores better. The config is the parameters file the
launch files in ``launch/`` start the same graph from (see ``graph_config``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rclpy.context import Context
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter

from handperception.ros.environment import configure_environment
from handperception.ros.executors import BackgroundExecutor, ros_context
from handperception.ros.graph_config import graph_nodes, node_class
from handperception.ros.topic_monitor import TopicMonitor

SOURCE = "camera_source"  # the node whose end ends the run


class SourceNotConfigured(RuntimeError):
    """The camera source refused to configure (a parameter out of range, a missing file): the
    run cannot start; the source's own log line says why."""


@dataclass
class RunResult:
    topics: dict[str, dict[str, Any]]
    nodes: dict[str, dict[str, Any]]
    frames_published: int
    wall_s: float


def run_graph(
    config_path: str | Path,
    overrides: dict[str, dict[str, Any]] | None = None,
    max_wall_s: float = 60.0,
    drain_s: float = 1.0,
    num_threads: int = 1,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
    unmonitored: frozenset[str] = frozenset(),
    namespace: str = "",
) -> RunResult:
    """Run the graph until its camera source finishes (or ``max_wall_s``), then shut down.

    ``num_threads`` executor threads dispatch callbacks; every image node already does its heavy
    work on its own worker thread, so one dispatcher keeps GIL contention lowest (measured, the
    hand_pose node alone: p50 23.5 / p95 32 ms with 1 thread, 29.6 / 57 ms with 4).

    ``overrides`` maps node name -> {parameter: value}, applied over the config file (an
    integer for a double parameter is taken as that double, see ``HandperceptionNode.declare``).
    ``namespace`` puts every node of the graph under it; their relative topics follow.
    ``on_ready(nodes)`` is called once every node exists (tests use it to attach probes).
    ``unmonitored`` topics are left out of the topic statistics (subscribing to a camera's images
    costs the process under test their deserialisation).
    """
    names = graph_nodes(config_path)
    configure_environment()
    ros_args = ["handperception", "--ros-args", "--params-file", str(config_path)]
    with ros_context(ros_args) as context, BackgroundExecutor(context, num_threads) as graph:
        started = time.monotonic()
        nodes = {
            name: graph.add(_create_node(name, context, overrides or {}, namespace))
            for name in names
        }
        monitor = TopicMonitor(context, unmonitored)
        graph.add(monitor.node)
        if on_ready is not None:
            on_ready(nodes)
        graph.start()
        source = nodes.get(SOURCE)
        if source is not None:
            _start_source_when_graph_listens(source, [n for n in nodes.values() if n is not source])
        _wait_for_source_to_finish(source, started + max_wall_s, drain_s)
        return RunResult(
            topics=monitor.summary(),
            nodes={name: node.stats.snapshot().as_dict() for name, node in nodes.items()},
            frames_published=source.published if source is not None else 0,
            wall_s=time.monotonic() - started,
        )


def _create_node(name: str, context: Context, overrides: dict[str, dict[str, Any]], namespace: str):
    parameters = dict(overrides.get(name, {}))
    if name == SOURCE:
        parameters["autostart"] = False  # see _start_source_when_graph_listens
    return node_class(name)(
        context=context,
        namespace=namespace,
        parameter_overrides=[Parameter(key, value=value) for key, value in parameters.items()],
    )


def _wait(predicate: Callable[[], bool], timeout_s: float, period_s: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(period_s)
    return predicate()


def _start_source_when_graph_listens(
    source, others: list, timeout_s: float = 10.0, settle_s: float = 0.5
) -> None:
    """A camera driver starts publishing at once; in a composed graph that loses the first
    frames to DDS discovery. So: every other node active, the source's publishers created,
    their subscriber count steady for ``settle_s``, then the source goes."""
    _wait(lambda: all(node.is_active for node in others), timeout_s)
    if source.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        raise SourceNotConfigured(f"{SOURCE} did not configure; its log above says why")
    history = []

    def settled():
        history.append((time.monotonic(), source.image_subscribers()))
        now, count = history[-1]
        recent = [c for t, c in history if now - t <= settle_s]
        return count > 0 and now - history[0][0] >= settle_s and len(set(recent)) == 1

    _wait(settled, timeout_s)
    source.trigger_activate()


def _wait_for_source_to_finish(source, deadline: float, drain_s: float) -> None:
    """Until the source has published its last frame, then ``drain_s`` more for that frame to
    travel the graph; or until ``deadline`` (monotonic), or Ctrl-C, which still reports."""
    try:
        finished = _wait(
            lambda: source is not None and source.finished,
            deadline - time.monotonic(),
            period_s=0.05,
        )
        if finished:
            time.sleep(drain_s)
    except KeyboardInterrupt:
        pass

"""The embedded ``ros2 launch``: the nodes of a config YAML composed in one process.

Why: ``launch``/``ros2 launch`` are not available without a full ROS install, and even with one,
nodes in one process share a machine's cores better. The config is the parameters file the
launch files in ``launch/`` start the same graph from (see ``graph_config``).

The runner is also the graph's lifecycle manager: it configures and activates every node itself
(a node's ``autostart`` serves a node started alone), the camera last. So a node that cannot
start ends the run at once, with the error it logged, instead of leaving a graph that idles
without it until the time limit. And its restart policy, what ``respawn`` is in the launch
files: a node that fails mid-run is recreated and started again (``_Supervisor``).
"""

from __future__ import annotations

import gc
import math
import re
import time
import weakref
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from rclpy.context import Context
from rclpy.exceptions import InvalidHandle
from rclpy.executors import SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from tqdm import tqdm

from handperception.ros.environment import configure_environment
from handperception.ros.executors import BackgroundExecutor, ros_context
from handperception.ros.graph_config import graph_nodes, node_class
from handperception.ros.node_base import ImageNode
from handperception.ros.topic_monitor import TopicMonitor

SOURCE = "camera_source"  # the node whose end ends the run
# Without a time limit a live camera (synthetic, webcam) never ends; a file, a folder, a bag
# played once or a camera with max_frames ends by itself.
LIVE_SOURCE_WALL_S = 120.0
# every_frame: how long the camera waits for every image node to finish a frame before it moves
# on (a frame lost before a node's worker, e.g. one never paired with its camera_info).
FRAME_TIMEOUT_S = 10.0
_ERROR_WAIT_S = 2.0  # for a failed node's error to arrive on /rosout
# Restart policy: a node that fails mid-run is restarted, at most RESTART_LIMIT times within any
# RESTART_WINDOW_S; one that fails more often than that fails on its own (a missing device, a
# bug on every frame) and ends the run rather than loop.
RESTART_LIMIT = 3
RESTART_WINDOW_S = 60.0
_RELEASE_WAIT_S = 1.0  # for the executor to let go of a failed node, see _Supervisor._restart


class GraphConfigError(ValueError):
    """The config, or the parameters given over it, cannot start a graph: rcl cannot read it as
    a parameters file, or a parameter is given for a node it does not run or a node does not
    have. Raised before any node starts, in one line."""


class NodeNotStarted(RuntimeError):
    """A node failed to configure or activate: ``node`` names it, ``reason`` is the error it
    logged (the first line, or a traceback's last: the exception and its message)."""

    def __init__(self, node: str, step: str, reason: str):
        super().__init__(f"{node} did not {step}: {reason}")
        self.node, self.reason = node, reason


class NodeFailed(RuntimeError):
    """A node failed mid-run and was not restarted: the camera (its place in a file or bag is
    its state, which a new camera would not have), or a node that failed more than
    RESTART_LIMIT times within RESTART_WINDOW_S. ``reason`` is the failure, in one line."""

    def __init__(self, node: str, reason: str, why_not_restarted: str):
        super().__init__(f"{node} failed ({reason}) and was not restarted: {why_not_restarted}")
        self.node, self.reason = node, reason


@dataclass
class RunResult:
    topics: dict[str, dict[str, Any]]
    nodes: dict[str, dict[str, Any]]  # each node's statistics, over all its restarts
    frames_published: int
    wall_s: float
    finished: bool  # the camera ended by itself (not the time limit or Ctrl-C)
    delays: dict[str, dict[str, Any]]  # see run_graph's ``delays``
    restarts: dict[str, int]  # node -> times it failed mid-run and was restarted


def run_graph(
    config_path: str | Path,
    overrides: dict[str, dict[str, Any]] | None = None,
    max_wall_s: float | None = None,
    drain_s: float = 1.0,
    num_threads: int = 1,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
    unmonitored: frozenset[str] = frozenset(),
    namespace: str = "",
    every_frame: bool = False,
    progress: bool = False,
    delays: dict[str, tuple[str, str]] | None = None,
    node_classes: dict[str, type] | None = None,
) -> RunResult:
    """Run the graph until its camera source finishes (or ``max_wall_s``), then shut down.

    ``num_threads`` executor threads dispatch callbacks; every image node already does its heavy
    work on its own worker thread, so one dispatcher keeps GIL contention lowest (measured, the
    hand_pose node alone: p50 23.5 / p95 32 ms with 1 thread, 29.6 / 57 ms with 4; an executor
    per node, on the demo graph, cut the hand node's processed frames from 72-92 to 19-45 of 240).

    ``overrides`` maps node name -> {parameter: value}, applied over the config file (an
    integer for a double parameter is taken as that double, see ``HandperceptionNode.declare``).
    ``max_wall_s`` None: LIVE_SOURCE_WALL_S for a live camera, no limit for one that ends.
    ``namespace`` puts every node of the graph under it; their relative topics follow.
    ``on_ready(nodes)`` is called once every node exists, before any starts (tests attach probes;
    the run command replaces its old outputs only once the config has proved valid); ``nodes``
    stays current: a restart replaces its entry.
    ``unmonitored`` topics are left out of the topic statistics (subscribing to a camera's images
    costs the process under test their deserialisation).
    ``every_frame``: the camera publishes a frame only once every image node has processed the
    one before (see ``_play_every_frame``), for batch annotation of a file, folder or bag; without
    it the camera keeps its rate and a node slower than it takes the newest frame.
    ``progress``: a bar of frames published and processed, on a terminal only.
    ``delays`` maps a name to (topic, later topic): percentiles of how long after the first each
    stamp reached the second (``TopicMonitor.delay_ms``), in ``RunResult.delays``.
    ``node_classes`` replaces the class of named nodes (a benchmark's own camera).

    Raises GraphConfigError before any node starts, NodeNotStarted when one fails to start
    (a restarted one included), NodeFailed when one fails mid-run and is not restarted.
    """
    names = graph_nodes(config_path)
    overrides = overrides or {}
    strangers = sorted(set(overrides) - set(names))
    if strangers:
        raise GraphConfigError(
            f"parameters given for {strangers}, which {config_path} does not run "
            f"(its nodes: {', '.join(names)})"
        )
    configure_environment()
    with ExitStack() as stack:
        context = _enter_context(stack, config_path)
        graph = stack.enter_context(BackgroundExecutor(context, num_threads))
        pacer = SingleThreadedExecutor(context=context) if every_frame else None
        if pacer is not None:
            stack.callback(pacer.shutdown)  # before the graph closes and destroys the camera
        started = time.monotonic()
        nodes, create = {}, {}
        for name in names:
            kind = (node_classes or {}).get(name) or node_class(name)
            given = overrides.get(name, {})
            create[name] = partial(_create_node, kind, name, context, given, namespace, every_frame)
            nodes[name] = create[name]()
            if pacer is not None and name == SOURCE:
                pacer.add_node(nodes[name])
                graph.nodes.append(nodes[name])  # destroyed with the graph's nodes
            else:
                graph.add(nodes[name])
        monitor = TopicMonitor(context, unmonitored)
        graph.add(monitor.node)
        if on_ready is not None:
            on_ready(nodes)
        graph.start()
        _start_nodes(nodes, monitor)
        supervisor = _Supervisor(graph, nodes, create, monitor)
        source = nodes.get(SOURCE)
        if max_wall_s is None:
            max_wall_s = math.inf if source is not None and _ends(source) else LIVE_SOURCE_WALL_S
        with _Progress(source, supervisor.consumers, progress) as bar:

            def tick() -> None:
                supervisor.check()
                bar.update()

            _play(source, supervisor.consumers, pacer, started + max_wall_s, drain_s, tick)
        return RunResult(
            topics=monitor.summary(),
            nodes={name: _strict(node.stats.snapshot().as_dict()) for name, node in nodes.items()},
            frames_published=source.published if source is not None else 0,
            wall_s=time.monotonic() - started,
            finished=source is not None and source.finished,
            delays={name: monitor.delay_ms(*topics) for name, topics in (delays or {}).items()},
            restarts=dict(supervisor.restarts),
        )


class _Supervisor:
    """The restart policy of the graph's nodes: what ``respawn`` is to a launch file's processes.

    A node fails when a callback raises past its own ``guarded`` (the graph's executor keeps the
    exception with the node, ``SupervisedExecutor.failures``, and serves the other nodes on) or
    when it is destroyed. On the runner's next ``check`` (every 20 ms) the failed node is logged
    with its traceback, removed from the executor and destroyed, created again from its kind
    and parameters, and configured and activated as at start; its statistics and processed
    count carry over, so the run's accounting spans its restarts. At most RESTART_LIMIT times
    within RESTART_WINDOW_S, and never the camera: NodeFailed ends the run instead.
    """

    def __init__(
        self,
        graph: BackgroundExecutor,
        nodes: dict[str, Any],
        create: dict[str, Callable[[], Any]],
        monitor: TopicMonitor,
    ):
        self._graph, self.nodes, self._create, self._monitor = graph, nodes, create, monitor
        self.restarts = {name: 0 for name in nodes}
        self._failures: dict[str, list[float]] = {}

    def consumers(self) -> list:
        """The image nodes as they are now (a restart replaces one)."""
        return [node for node in self.nodes.values() if isinstance(node, ImageNode)]

    def check(self) -> None:
        """Restart every node that failed since the last check (see the class docstring)."""
        while (failure := self._next_failure()) is not None:
            self._restart(*failure)

    def _next_failure(self) -> tuple[str, str, str] | None:
        """(node name, reason, traceback) of a failure not handled yet, else None.

        Strings only, from a function of its own: no reference to the failed node may outlive
        this, see ``_restart``. A failure of a node already replaced (another of its callbacks,
        failing meanwhile) is dropped.
        """
        failures = self._graph.executor.failures
        while failures:
            owner, reason, details = failures.pop(0)
            node = owner() if owner is not None else None
            name = next((n for n, mine in self.nodes.items() if mine is node), None)
            if name is not None:
                return name, reason, details
        for name, node in self.nodes.items():
            if _destroyed(node):
                return name, "destroyed", ""
        return None

    def _restart(self, name: str, reason: str, details: str) -> None:
        failed = self.nodes[name]
        now = time.monotonic()
        recent = [t for t in self._failures.get(name, []) if now - t < RESTART_WINDOW_S]
        self._failures[name] = [*recent, now]
        failed.get_logger().error(f"failed mid-run: {reason}\n{details}".rstrip())
        if name == SOURCE:
            raise NodeFailed(name, reason, "a new camera would start its source again")
        if len(recent) >= RESTART_LIMIT:
            raise NodeFailed(
                name, reason, f"it failed {len(recent) + 1} times within {RESTART_WINDOW_S:g} s"
            )
        failed.get_logger().warning(
            f"restarting it ({len(recent) + 1} of at most {RESTART_LIMIT} restarts within "
            f"{RESTART_WINDOW_S:g} s)"
        )
        stats, handled = failed.stats, getattr(failed, "frames_handled", 0)
        self._graph.remove(failed)
        # rcl finalises a lifecycle node only once Python collects it (its state machine holds
        # it), and that unregisters /rosout for its name, the new node's by then. So the node is
        # collected first, once the executor has let go of it (its wait and its task list hold
        # it until the executor wakes); the entry stays, None meanwhile, to keep the order.
        released = weakref.ref(failed)
        self.nodes[name] = failed = None
        deadline = time.monotonic() + _RELEASE_WAIT_S
        while released() is not None and time.monotonic() < deadline:
            time.sleep(0.01)
            gc.collect()
        node = self.nodes[name] = self._graph.add(self._create[name]())
        node.stats = stats
        if isinstance(node, ImageNode):
            node.frames_handled = handled
        self.restarts[name] += 1
        _transition(node, "configure", self._monitor)
        _transition(node, "activate", self._monitor)


def _destroyed(node) -> bool:
    try:
        node.get_name()
    except InvalidHandle:
        return True
    return False


def _enter_context(stack: ExitStack, config_path: str | Path) -> Context:
    """A ROS context with the config as its parameters file; rcl refusing the file is a
    GraphConfigError in rcl's own words, without its C source locations."""
    args = ["handperception", "--ros-args", "--params-file", str(config_path)]
    try:
        return stack.enter_context(ros_context(args))
    except _rclpy.RCLError as error:
        if "SECURITY ERROR" in str(error):
            # ROS_SECURITY_ENABLE with a missing or wrong keystore: rcl refuses to start at all.
            detail = re.search(r"SECURITY ERROR: (.*?)(?:, at \S+:\d+)*$", str(error))
            raise GraphConfigError(
                "ROS 2 security (ROS_SECURITY_* variables) refused to start: "
                f"{detail.group(1) if detail else error}"
            ) from None
        detail = re.search(r"Error: (.*?)(?:, at \S+:\d+)*$", str(error))
        raise GraphConfigError(
            f"{config_path} is not a ROS 2 parameters file rcl can read: "
            f"{detail.group(1) if detail else error}"
        ) from None


def _create_node(
    node_type: type,
    name: str,
    context: Context,
    given: dict[str, Any],
    namespace: str,
    every_frame: bool,
):
    parameters = dict(given)
    parameters["autostart"] = False  # the runner starts every node, see _start_nodes
    if every_frame:  # a frame lost to best-effort delivery would be a frame not processed
        if issubclass(node_type, ImageNode):
            parameters.setdefault("image_reliability", "reliable")
        if name == SOURCE:
            parameters.setdefault("reliability", "reliable")
    node = node_type(
        context=context,
        namespace=namespace,
        parameter_overrides=[Parameter(key, value=value) for key, value in parameters.items()],
    )
    unknown = sorted(key for key in given if not node.has_parameter(key))
    if unknown:
        node.destroy_node()
        raise GraphConfigError(f"{name} has no parameter {', '.join(unknown)}")
    return node


def _ends(source) -> bool:
    """Whether the camera ends by itself: max_frames, or a file, folder or bag not looped."""
    uri = source.get_parameter("source").value
    live = uri.partition(":")[0] in ("synthetic", "webcam") or uri.startswith("/dev/video")
    looped = source.get_parameter("loop").value
    return source.get_parameter("max_frames").value > 0 or not (live or looped)


def _strict(values: dict[str, Any]) -> dict[str, Any]:
    """A node's statistics as strict JSON: a latency never measured is None, not NaN."""
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in values.items()
    }


def _wait(predicate: Callable[[], bool], timeout_s: float, period_s: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(period_s)
    return predicate()


def _transition(node, step: str, monitor: TopicMonitor) -> None:
    """Configure or activate ``node``; NodeNotStarted with the error it logged if it fails."""
    logger = node.get_logger().name
    seen = monitor.error_count(logger)
    trigger = node.trigger_configure if step == "configure" else node.trigger_activate
    if trigger() == TransitionCallbackReturn.SUCCESS:
        return
    error = monitor.error_since(logger, seen, _ERROR_WAIT_S)
    if error is None:
        reason = "its log above says why"
    elif "Traceback (most recent call last)" in error:
        reason = error.strip().splitlines()[-1]
    else:
        reason = error.splitlines()[0]
    raise NodeNotStarted(node.get_name(), step, reason)


def _start_nodes(nodes: dict[str, Any], monitor: TopicMonitor) -> None:
    """The camera configures first (a source that cannot open fails before any model loads),
    then every other node configures and activates in file order, then the camera activates
    once the graph listens."""
    source = nodes.get(SOURCE)
    if source is not None:
        _transition(source, "configure", monitor)
    for node in nodes.values():
        if node is not source:
            _transition(node, "configure", monitor)
            _transition(node, "activate", monitor)
    if source is not None:
        _wait_until_the_graph_listens(source)
        _transition(source, "activate", monitor)


def _wait_until_the_graph_listens(source, timeout_s: float = 10.0, settle_s: float = 0.5) -> None:
    """A camera driver starts publishing at once; in a composed graph that loses the first
    frames to DDS discovery. So the camera starts once its image subscriber count has been
    steady for ``settle_s``."""
    history = []

    def settled():
        history.append((time.monotonic(), source.image_subscribers()))
        now, count = history[-1]
        recent = [c for t, c in history if now - t <= settle_s]
        return count > 0 and now - history[0][0] >= settle_s and len(set(recent)) == 1

    _wait(settled, timeout_s)


class _Progress:
    """Frames the camera published and the slowest image node processed, as a tqdm bar; only
    on a terminal (tqdm's ``disable=None``), never in a captured log."""

    def __init__(self, source, consumers: Callable[[], list], enabled: bool):
        self._source, self._consumers = source, consumers
        total = source.get_parameter("max_frames").value if source is not None else 0
        self._bar = tqdm(
            total=total or None,
            desc="frames published",
            unit="frame",
            disable=None if enabled and source is not None else True,
            dynamic_ncols=True,
        )

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.update()
        self._bar.close()

    def update(self) -> None:
        if self._bar.disable:
            return
        self._bar.update(self._source.published - self._bar.n)
        if self._consumers():
            self._bar.set_postfix(processed=min(_processed(self._consumers)), refresh=False)


def _processed(consumers: Callable[[], list]) -> list[int]:
    """Frames each image node finished, whether it published a result or dropped the frame."""
    return [node.frames_handled for node in consumers()]


def _until(predicate: Callable[[], bool], deadline: float, tick: Callable[[], None]) -> bool:
    """Poll ``predicate`` until it holds or ``deadline`` (monotonic), calling ``tick`` (restart
    failed nodes, update the bar) between polls."""
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        tick()
        time.sleep(0.02)
    return True


def _play(source, consumers, pacer, deadline: float, drain_s: float, tick) -> None:
    """Until the camera has published its last frame, then ``drain_s`` more for that frame to
    travel the graph; or until ``deadline`` (monotonic), or Ctrl-C, which still reports. A graph
    without a camera (fed from outside) runs until one of the latter."""
    try:
        if pacer is not None and source is not None:
            _play_every_frame(source, consumers, pacer, deadline, tick)
        else:
            _until(lambda: source is not None and source.finished, deadline, tick)
        if source is not None and source.finished:
            time.sleep(drain_s)
    except KeyboardInterrupt:
        pass


def _play_every_frame(source, consumers, pacer, deadline: float, tick) -> None:
    """The camera spins on ``pacer``, an executor of its own that only this loop spins: its
    timer fires (one frame) when spun after each image node's processed count grew past the
    frame before, or FRAME_TIMEOUT_S passed. No frame waits behind another, so none is
    superseded, and the camera runs at the slower of its ``fps`` and the graph."""
    while not source.finished and time.monotonic() < deadline:
        published, before = source.published, _processed(consumers)
        while source.published == published and not source.finished:
            if time.monotonic() >= deadline:
                return
            pacer.spin_once(timeout_sec=0.05)
            tick()
        if source.published != published:
            _until(
                lambda before=before: all(n > b for n, b in zip(_processed(consumers), before)),
                min(deadline, time.monotonic() + FRAME_TIMEOUT_S),
                tick,
            )

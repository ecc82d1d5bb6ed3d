"""Graphs under stress: a camera far faster than the node (overload), and the whole demo graph
for many minutes (soak).

Here and not in ``bench``: both start ROS graphs, and only ``ros`` (and the ``cli`` above it)
imports rclpy; the numbers are judged by ``bench.overload`` and ``bench.soak``.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import yaml

from handperception.bench.overload import accounting, latency_summary, recovery
from handperception.bench.process import current_rss_mb
from handperception.bench.soak import SoakSample
from handperception.ros.bench_graph import PreencodedCamera
from handperception.ros.graph_config import NODE_KINDS, node_class, package_config_dir
from handperception.ros.node_base import Allowed, ImageNode
from handperception.ros.perception_node import PerceptionNode
from handperception.ros.qos import results_qos
from handperception.ros.runner import run_graph
from handperception.ros.stamps import stamp_to_ns

# The scene each image node is overloaded with: one its pipeline finds something in.
OVERLOAD_SCENES = {
    "hand_pose": "synthetic:hands",
    "gaze": "synthetic:face",
    "two_hand_pose": "synthetic:two_hands",
}


def overload_kinds() -> list[str]:
    """Every perception node the runner knows that has its own config in config/ (what
    ``bench_overload`` starts it from): nodes added later are overloaded too."""
    return [
        kind
        for kind in NODE_KINDS
        if issubclass(node_class(kind), PerceptionNode)
        and (package_config_dir() / f"{kind}.yaml").is_file()
    ]


class OverloadCamera(PreencodedCamera):
    """A PreencodedCamera at ``fps`` for ``fast_frames`` frames, then at ``slow_fps``; it also
    listens to the node's results (``listen``) and keeps each result's latency (now - stamp),
    apart for the frames sent before and after the rate dropped."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.declare(
            "slow_fps", 10.0, "rate after fast_frames, Hz", Allowed(0.0, 240.0, open_low=True)
        )
        self.declare("fast_frames", 1200, "frames sent at fps", Allowed(1, 1_000_000_000))
        self.overloaded: list[float] = []  # latency, s, of results of frames sent at fps
        self.after_drop: list[tuple[float, float]] = []  # (s since the drop, latency s)
        self.fast_span_s: float | None = None  # how long the fast frames took to send
        self._started_ns: int | None = None
        self._dropped_at_ns: int | None = None

    def listen(self, message_type: type, topic: str) -> None:
        self.create_subscription(message_type, topic, self._on_result, results_qos(50))

    def _on_result(self, msg) -> None:
        now_ns = self.get_clock().now().nanoseconds
        stamp_ns = stamp_to_ns(msg.header.stamp)
        latency_s = (now_ns - stamp_ns) * 1e-9
        if self._dropped_at_ns is None or stamp_ns < self._dropped_at_ns:
            self.overloaded.append(latency_s)
        else:
            self.after_drop.append(((stamp_ns - self._dropped_at_ns) * 1e-9, latency_s))

    def _publish_next(self) -> None:
        if self._started_ns is None:
            self._started_ns = self.get_clock().now().nanoseconds
        if self.published == self.params.fast_frames and self._dropped_at_ns is None:
            self._dropped_at_ns = self.get_clock().now().nanoseconds
            self.fast_span_s = (self._dropped_at_ns - self._started_ns) * 1e-9
            self.deactivate()
            self._timer = self.create_timer(
                1.0 / self.params.slow_fps, lambda: self.guarded(self._publish_next)
            )
        super()._publish_next()


def bench_overload(
    kind: str,
    fast_s: float = 10.0,
    fast_fps: float = 120.0,
    slow_s: float = 5.0,
    slow_fps: float = 10.0,
    overrides: dict | None = None,
) -> dict:
    """``kind``'s node (its config in config/) fed 640x480 frames at ``fast_fps`` for ``fast_s``
    seconds, then at ``slow_fps`` for ``slow_s``: result latency under overload (p50/p95/max),
    after the drop and how soon it settles, and every frame sent against the node's counters."""
    fast_frames = round(fast_s * fast_fps)
    camera = {
        "source": OVERLOAD_SCENES.get(kind, "synthetic:hands"),
        "fps": fast_fps,
        "slow_fps": slow_fps,
        "fast_frames": fast_frames,
        "width": 640,
        "height": 480,
        "image_topic": "image",
        "camera_info_topic": "camera_info",
    }
    data = yaml.safe_load((package_config_dir() / f"{kind}.yaml").read_text())
    data["camera_source"] = {"ros__parameters": camera}
    nodes: dict = {}

    def attach(graph_nodes: dict) -> None:
        nodes.update(graph_nodes)
        node = graph_nodes[kind]
        topic = node.get_parameter(node.outputs.topic_parameter).value
        graph_nodes["camera_source"].listen(node.outputs.message_type, topic)

    frames = fast_frames + round(slow_s * slow_fps)
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "overload.yaml"
        config.write_text(yaml.safe_dump(data))
        overrides = {name: dict(values) for name, values in (overrides or {}).items()}
        overrides.setdefault("camera_source", {})["max_frames"] = frames
        result = run_graph(
            config,
            overrides,
            max_wall_s=fast_s + slow_s + 60.0,
            on_ready=attach,
            unmonitored=frozenset({"/image", "/image/compressed"}),
            node_classes={"camera_source": OverloadCamera},
        )
    source = nodes["camera_source"]
    span = source.fast_span_s
    return {
        "image": "640x480 rgb8",
        "fast": {
            "fps_asked": fast_fps,
            "frames": fast_frames,
            "fps_sent": round(fast_frames / span, 1) if span else None,
            "latency": latency_summary(source.overloaded),
        },
        "after_drop": {
            "fps": slow_fps,
            "latency": latency_summary([latency for _, latency in source.after_drop]),
            **recovery(source.after_drop),
        },
        "accounting": accounting(result.frames_published, result.nodes[kind]),
    }


def soak(
    minutes: float,
    period_s: float,
    overrides: dict | None = None,
    on_sample=None,
) -> tuple[list[SoakSample], dict]:
    """The demo graph (config/demo.yaml, its recorder writing into a temporary folder) for
    ``minutes``, sampled every ``period_s``: RSS of the process and, per image node, the p50
    latency over its recent results (its statistics' window) and its counters. Returns the
    samples and {"crash": why the run stopped early or None, "restarts", "nodes": each node's
    final statistics}. ``on_sample(sample)`` sees each sample as it is taken (progress)."""
    samples: list[SoakSample] = []
    stop = threading.Event()
    started = time.monotonic()

    def sample(nodes: dict) -> None:
        while not stop.wait(period_s):
            images = {n: node for n, node in nodes.items() if isinstance(node, ImageNode)}
            stats = {name: node.stats.snapshot() for name, node in images.items()}
            taken = SoakSample(
                t_s=round(time.monotonic() - started, 2),
                rss_mb=round(current_rss_mb(), 2),
                latency_p50_ms={
                    name: round(s.latency_p50_ms, 2)
                    if s.latency_p50_ms == s.latency_p50_ms
                    else None
                    for name, s in stats.items()
                },  # fmt: skip
                processed={name: s.count for name, s in stats.items()},
                dropped={name: s.dropped for name, s in stats.items()},
            )
            samples.append(taken)
            if on_sample is not None:
                on_sample(taken)

    def start_sampling(nodes: dict) -> None:
        threading.Thread(target=sample, args=(nodes,), name="soak-sampler", daemon=True).start()

    outcome = {"crash": None, "restarts": {}, "nodes": {}}
    with tempfile.TemporaryDirectory() as directory:
        merged = {name: dict(values) for name, values in (overrides or {}).items()}
        merged.setdefault("bag_recorder", {})["path"] = str(Path(directory) / "recording")
        merged.setdefault("camera_source", {})["max_frames"] = 0
        try:
            result = run_graph(
                package_config_dir() / "demo.yaml",
                merged,
                max_wall_s=minutes * 60.0,
                on_ready=start_sampling,
                unmonitored=frozenset({"/camera/image_raw", "/annotator/image"}),
            )
            outcome["restarts"] = dict(getattr(result, "restarts", {}))
            outcome["nodes"] = result.nodes
        except Exception as error:  # a node that failed and was not restarted: the finding
            outcome["crash"] = repr(error)
        finally:
            stop.set()
    return samples, outcome

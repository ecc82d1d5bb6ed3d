"""Benchmarks of running graphs: end-to-end latency and sustained rate of every topic, frames
dropped, CPU and memory; and the DDS transport cost of images inside one process vs between two.

Here and not in ``bench``: these suites start ROS graphs, and only ``ros`` (and the ``cli`` above
it) imports rclpy. ``handperception bench`` runs them beside the model and synthesis suites.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from rclpy.executors import SingleThreadedExecutor

from handperception.bench.process import ProcessUsage
from handperception.ros.environment import configure_environment
from handperception.ros.executors import ros_context
from handperception.ros.runner import run_graph
from handperception.ros.topic_monitor import TopicMonitor

IMAGE_TOPIC = "/camera/image_raw"
CAMERA_ONLY = {
    "camera_source": {
        "ros__parameters": {
            "source": "synthetic:pattern",
            "fps": 30.0,
            "image_topic": IMAGE_TOPIC,
        }
    }
}


def bench_graph(
    config: str | Path,
    frames: int,
    overrides: dict | None = None,
    unmonitored: frozenset[str] = frozenset(),
) -> dict:
    """Run ``config`` for ``frames`` camera frames at the configured rate (30 Hz by default);
    ``unmonitored`` topics are left out of the statistics (see ``run_graph``)."""
    overrides = {node: dict(values) for node, values in (overrides or {}).items()}
    overrides.setdefault("camera_source", {})["max_frames"] = frames
    usage = ProcessUsage().start()
    result = run_graph(
        config, overrides, max_wall_s=max(60.0, frames / 5.0), unmonitored=unmonitored
    )
    return {
        "config": str(config),
        "frames_published": result.frames_published,
        "topics": result.topics,
        "nodes": result.nodes,
        "frames_dropped": {
            topic: max(result.frames_published - stats["count"], 0)
            for topic, stats in result.topics.items()
        },
        "process": usage.stop(),
    }


def _write_yaml(data: dict, directory: str) -> Path:
    path = Path(directory) / "graph.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def bench_image_transport(frames: int = 150, width: int = 640, height: int = 480) -> dict:
    """Latency of a width x height rgb8 image at 30 Hz: publisher and subscriber in one process
    (both through DDS, rclpy has no zero-copy intra-process path) vs in two processes."""
    configure_environment()
    params = {"width": width, "height": height, "max_frames": frames}
    with tempfile.TemporaryDirectory() as directory:
        config = _write_yaml(CAMERA_ONLY, directory)
        intra = run_graph(config, {"camera_source": params}).topics.get(IMAGE_TOPIC, {})
    inter = _inter_process_image_latency(frames, width, height)
    return {
        "image": f"{width}x{height} rgb8 at 30 Hz",
        "intra_process": intra,
        "inter_process": inter,
    }


def _inter_process_image_latency(frames: int, width: int, height: int) -> dict:
    command = [
        sys.executable, "-c", "from handperception.ros.nodes.camera_source import main; main()",
        "--ros-args", "-p", "source:=synthetic:pattern", "-p", f"width:={width}",
        "-p", f"height:={height}", "-p", f"max_frames:={frames}", "-p", "fps:=30.0",
        "-p", f"image_topic:={IMAGE_TOPIC}",
    ]  # fmt: skip
    with ros_context() as context:
        monitor = TopicMonitor(context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(monitor.node)
        publisher = subprocess.Popen(
            command, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _spin_until_received(executor, monitor, publisher, frames)
            return monitor.summary().get(IMAGE_TOPIC, {"count": 0})
        finally:
            publisher.terminate()
            publisher.wait(timeout=10)
            executor.shutdown()
            monitor.node.destroy_node()


def _spin_until_received(executor, monitor: TopicMonitor, publisher, frames: int) -> None:
    """Until every frame arrived, or a second after the publisher exited (its first frames went
    to discovery), or a timeout."""
    deadline = time.monotonic() + frames / 30.0 + 20.0
    exited_at = None
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
        stats = monitor.stats.get(IMAGE_TOPIC)
        if stats is not None and stats.count >= frames:
            return
        if exited_at is None and publisher.poll() is not None:
            exited_at = time.monotonic()
        if exited_at is not None and time.monotonic() - exited_at > 1.0:
            return


def bench_node(
    node_config: str | Path,
    frames: int,
    width: int = 640,
    height: int = 480,
    scene: str = "synthetic:hands",
    overrides: dict | None = None,
) -> dict:
    """One node's config fed by the synthetic camera at 30 Hz, publishing the node's relative
    ``image`` and ``camera_info``: its outputs' end-to-end latency.

    The camera runs in the node's process and its images are not monitored: a camera process of
    our own is Python too and took a core's share that a robot's C++ driver does not (measured,
    hand_pose: p50 25-44 / p95 58-78 ms beside it, 18-20 / 28-48 ms in one process).
    """
    data = yaml.safe_load(Path(node_config).read_text())
    data["camera_source"] = {
        "ros__parameters": {
            "source": scene,
            "fps": 30.0,
            "width": width,
            "height": height,
            "image_topic": "image",
            "camera_info_topic": "camera_info",
        }
    }
    with tempfile.TemporaryDirectory() as directory:
        return bench_graph(
            _write_yaml(data, directory),
            frames,
            overrides,
            unmonitored=frozenset({"/image", "/camera_info"}),
        )

"""Benchmarks of running graphs: end-to-end latency and sustained rate of every topic, frames
dropped, CPU and memory; the DDS transport cost of images inside one process vs between two; a
recorded bag replayed beside the live camera; and what tf and compressed images add.

Here and not in ``bench``: these suites start ROS graphs, and only ``ros`` (and the ``cli`` above
it) imports rclpy. ``handperception bench`` runs them beside the model and synthesis suites.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import yaml
from rclpy.executors import SingleThreadedExecutor
from rclpy.serialization import serialize_message
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header
from tqdm import tqdm
from visualization_msgs.msg import MarkerArray

from handperception.bench.process import ProcessUsage
from handperception.msgconv.camera_info import camera_info_msg
from handperception.msgconv.images import numpy_to_image, rgb8_to_compressed
from handperception.ros.bag import BagWriter
from handperception.ros.environment import configure_environment
from handperception.ros.executors import ros_context
from handperception.ros.node_base import Allowed, HandperceptionNode, one_of
from handperception.ros.qos import image_qos, results_qos
from handperception.ros.runner import run_graph
from handperception.ros.topic_monitor import TopicMonitor, TopicStats
from handperception.sources import open_source

IMAGE_TOPIC = "/camera/image_raw"
CAMERA_INFO_TOPIC = "/camera/camera_info"
FRAME_ID = "camera_optical_frame"
CAMERA_ONLY = {
    "camera_source": {
        "ros__parameters": {
            "source": "synthetic:pattern",
            "fps": 30.0,
            "image_topic": IMAGE_TOPIC,
        }
    }
}


# How long after its camera's CameraInfo (sent with each image, with its stamp) a frame's hands
# arrive: the graph's time for a frame whatever the stamp says, so a replayed bag, which keeps its
# recorded stamps, compares with a live camera.
CAMERA_TO_HANDS = {"camera_info_to_hands": ("/camera_info", "/hands")}
# The same for the two-hand node's results.
CAMERA_TO_TWO_HANDS = {"camera_info_to_two_hands": ("/camera_info", "/two_hands")}
_DISTINCT_FRAMES = 60  # a PreencodedCamera's loop, as long as the synthetic camera's


def bench_graph(
    config: str | Path,
    frames: int,
    overrides: dict | None = None,
    unmonitored: frozenset[str] = frozenset(),
    delays: dict[str, tuple[str, str]] | None = None,
    node_classes: dict[str, type] | None = None,
) -> dict:
    """Run ``config`` for ``frames`` camera frames at the configured rate (30 Hz by default);
    ``unmonitored``, ``delays`` and ``node_classes`` as ``run_graph`` takes them."""
    overrides = {node: dict(values) for node, values in (overrides or {}).items()}
    overrides.setdefault("camera_source", {})["max_frames"] = frames
    usage = ProcessUsage().start()
    result = run_graph(
        config,
        overrides,
        max_wall_s=max(60.0, frames / 5.0),
        unmonitored=unmonitored,
        progress=True,
        delays=delays,
        node_classes=node_classes,
    )
    return {
        "config": str(config),
        "frames_published": result.frames_published,
        "topics": result.topics,
        "delays": result.delays,
        "nodes": result.nodes,
        "frames_dropped": {
            topic: max(result.frames_published - stats["count"], 0)
            for topic, stats in result.topics.items()
        },
        "process": usage.stop(),
    }


def bench_demo_graph(config: str | Path, frames: int, overrides: dict | None = None) -> dict:
    """The demo graph, its recorder writing into a temporary folder: the recorder never writes
    over a bag (an earlier run's would fail it), and a benchmark leaves none behind."""
    with tempfile.TemporaryDirectory() as directory:
        bag = {"path": str(Path(directory) / "recording")}
        return bench_graph(config, frames, _with(overrides, bag_recorder=bag))


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
    beside: dict | None = None,
    camera: type | None = None,
    delays: dict[str, tuple[str, str]] | None = None,
) -> dict:
    """One node's config fed by a camera in its process at 30 Hz (``scene``: any
    camera_source ``source``), publishing the node's relative ``image`` and ``camera_info``:
    its outputs' end-to-end latency, and ``delays`` (default CAMERA_TO_HANDS). ``beside`` adds
    config entries of other nodes (a recorder); ``camera`` replaces camera_source's class
    (PreencodedCamera).

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
    data.update(beside or {})
    with tempfile.TemporaryDirectory() as directory:
        return bench_graph(
            _write_yaml(data, directory),
            frames,
            overrides,
            unmonitored=frozenset({"/image", "/image/compressed"}),
            delays=CAMERA_TO_HANDS if delays is None else delays,
            node_classes={"camera_source": camera} if camera is not None else None,
        )


def write_camera_bag(
    path: str | Path,
    frames: int,
    width: int = 640,
    height: int = 480,
    scene: str = "synthetic:hands",
    fps: float = 30.0,
) -> None:
    """A rosbag2 bag of ``frames`` rgb8 images of ``scene`` with their CameraInfo, on
    IMAGE_TOPIC and CAMERA_INFO_TOPIC, stamped and logged ``fps`` apart: a camera driver as
    ``ros2 bag record`` keeps it, written directly (no graph to run in real time)."""
    source = open_source(scene, width, height)
    writer = BagWriter(path)
    try:
        writer.add_topic(IMAGE_TOPIC, "sensor_msgs/msg/Image")
        writer.add_topic(CAMERA_INFO_TOPIC, "sensor_msgs/msg/CameraInfo")
        start_ns = time.time_ns()
        for index in tqdm(range(frames), desc="writing the bag", unit="frame", disable=None):
            stamp_ns = start_ns + round(index * 1e9 / fps)
            header = Header(stamp=Time(nanoseconds=stamp_ns).to_msg(), frame_id=FRAME_ID)
            image = numpy_to_image(source.read(), "rgb8", header)
            writer.write(IMAGE_TOPIC, serialize_message(image), stamp_ns)
            info = camera_info_msg(source.camera, header)
            writer.write(CAMERA_INFO_TOPIC, serialize_message(info), stamp_ns)
    finally:
        writer.close()
        source.close()


def bench_bag_replay(node_config: str | Path, frames: int, overrides: dict | None = None) -> dict:
    """The node fed by a 30 Hz bag of the synthetic camera's frames (``write_camera_bag``),
    replayed by camera_source at rate 1.0 (as recorded): to set beside ``bench_node``'s live
    camera. Each frame keeps its recorded stamp, so ``now - stamp`` is the recording's age and
    is left out: CAMERA_TO_HANDS measures the graph."""
    with tempfile.TemporaryDirectory() as directory:
        bag = Path(directory) / "camera"
        write_camera_bag(bag, frames)
        result = bench_node(node_config, frames, scene=f"bag:{bag}", overrides=overrides)

    def graph_only(stats: dict) -> dict:
        return {key: value for key, value in stats.items() if not key.startswith("latency_")}

    return {
        **result,
        "topics": {topic: graph_only(stats) for topic, stats in result["topics"].items()},
        "nodes": {node: graph_only(stats) for node, stats in result["nodes"].items()},
    }


def bench_tf(node_config: str | Path, frames: int, overrides: dict | None = None) -> dict:
    """hand_pose with ``publish_tf`` off, then on, a recorder of /tf beside it both times (the
    node sends tf only while /tf has a subscriber): what each hand's wrist frame on /tf adds."""
    runs = {}
    for publish_tf in (False, True):
        with tempfile.TemporaryDirectory() as directory:
            recorder = {"topics": ["/tf"], "path": str(Path(directory) / "tf")}
            runs[f"publish_tf_{'on' if publish_tf else 'off'}"] = bench_node(
                node_config,
                frames,
                overrides=_with(overrides, hand_pose={"publish_tf": publish_tf}),
                beside={"bag_recorder": {"ros__parameters": recorder}},
            )
    return {**runs, **_added(runs["publish_tf_off"], runs["publish_tf_on"])}


def bench_compressed_input(
    node_config: str | Path, frames: int, overrides: dict | None = None
) -> dict:
    """hand_pose fed the same frames raw, then as JPEG (``image_transport: compressed``), by a
    PreencodedCamera: what decoding compressed images adds to the node."""
    runs = {
        transport: bench_node(
            node_config,
            frames,
            overrides=_with(
                overrides,
                hand_pose={"image_transport": transport},
                camera_source={"transport": transport},
            ),
            camera=PreencodedCamera,
        )
        for transport in ("raw", "compressed")
    }
    return {**runs, **_added(runs["raw"], runs["compressed"])}


def _with(overrides: dict | None, **nodes: dict) -> dict:
    """``overrides`` with more parameters for some nodes."""
    merged = {node: dict(values) for node, values in (overrides or {}).items()}
    for node, values in nodes.items():
        merged.setdefault(node, {}).update(values)
    return merged


def _added(base: dict, variant: dict) -> dict:
    """What ``variant`` adds to ``base``'s CAMERA_TO_HANDS delay, p50 and p95 (ms)."""
    (name,) = CAMERA_TO_HANDS
    before, after = base["delays"][name], variant["delays"][name]
    return {
        f"added_{q}": None if None in (before[q], after[q]) else round(after[q] - before[q], 2)
        for q in ("p50_ms", "p95_ms")
    }


class PreencodedCamera(HandperceptionNode):
    """A camera of frames rendered and encoded before it starts: published raw
    (sensor_msgs/Image on ``image_topic``) or compressed (JPEG CompressedImage on
    ``<image_topic>/compressed``, image_transport's name) with their CameraInfo at ``fps``.

    Why not camera_source: it publishes raw images only, and converts each frame as it goes. With
    the encoding done beforehand (a robot's driver encodes in its own process) each transport
    costs this process only what its subscriber pays. It stands in for camera_source
    (``bench_node``'s ``camera``), so it answers the runner as that node does: ``published``,
    ``finished``, ``image_subscribers``.
    """

    def __init__(self, **kwargs):
        super().__init__("camera_source", **kwargs)
        self.declare("source", "synthetic:hands", "the scene rendered (a camera_source source)")
        self.declare("transport", "raw", "raw or compressed (JPEG)", one_of("raw", "compressed"))
        self.declare("fps", 30.0, "publishing rate, Hz", Allowed(0.0, 240.0, open_low=True))
        self.declare("width", 640, "frame width, pixels", Allowed(16, 8192))
        self.declare("height", 480, "frame height, pixels", Allowed(16, 8192))
        self.declare("image_topic", "image", "output image topic (compressed: <it>/compressed)")
        self.declare("camera_info_topic", "camera_info", "output CameraInfo topic")
        self.declare("max_frames", 300, "frames to publish", Allowed(1, 1_000_000_000))
        self.published = 0
        self._timer = None

    def configure(self) -> None:
        p = self.params
        source = open_source(p.source, p.width, p.height)
        try:
            frames = [source.read() for _ in range(min(p.max_frames, _DISTINCT_FRAMES))]
            self._camera = source.camera
        finally:
            source.close()
        compressed = p.transport == "compressed"
        encode = rgb8_to_compressed if compressed else lambda rgb: numpy_to_image(rgb, "rgb8")
        self._images = [encode(rgb) for rgb in frames]
        self._image_pub = self.create_lifecycle_publisher(
            type(self._images[0]),
            f"{p.image_topic}/compressed" if compressed else p.image_topic,
            image_qos("reliable"),
        )
        self._info_pub = self.create_lifecycle_publisher(
            CameraInfo, p.camera_info_topic, results_qos()
        )

    def image_subscribers(self) -> int:
        return self._image_pub.get_subscription_count()

    def activate(self) -> None:
        self._timer = self.create_timer(
            1.0 / self.params.fps, lambda: self.guarded(self._publish_next)
        )

    def deactivate(self) -> None:
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None

    def _publish_next(self) -> None:
        if self.published >= self.params.max_frames:
            self.finished = True
            return self.deactivate()
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=FRAME_ID)
        image = self._images[self.published % len(self._images)]
        image.header = header
        self._image_pub.publish(image)
        self._info_pub.publish(camera_info_msg(self._camera, header))
        self.published += 1
        self.stats.record()


# The hand_mesh node's outputs, relative to its namespace (config/hand_mesh.yaml's defaults).
HAND_MESHES_TOPIC = "/hand_meshes"
HAND_MESH_MARKERS_TOPIC = "/hand_mesh/markers"
_DISTINCT_HANDS = 30  # held-out poses a HandsFeeder cycles through: a second of them at 30 Hz


def bench_hand_mesh_node(
    node_config: str | Path,
    frames: int,
    hands: int = 1,
    fps: float = 30.0,
    overrides: dict | None = None,
) -> dict:
    """The hand_mesh node of ``node_config`` fed ``frames`` HandArrays of ``hands`` held-out
    hands each at ``fps`` by a HandsFeeder (in camera_source's place), which also listens to
    the node's meshes and its rviz markers as rviz would: the node's rate and latency (stamp ->
    ``hand_meshes``), its drops by reason (``nodes/hand_mesh/drops``: superseded arrays), CPU.

    Why a feeder and not a camera and hand_pose: the node is measured alone, on arrays that
    always hold ``hands`` valid hands (hand_pose on a synthetic scene loses a hand now and then,
    and an empty array is meshed at once), with the whole CPU its own, as each node's benchmark
    is. Why not the topic monitor on ``hand_meshes``: it deserialises every message in this
    process, ~100 ms of Python per mesh at resolution 48 (measured), as long as the meshing
    itself; the feeder takes meshes and markers raw and reads the stamp off the bytes, so this
    process pays their delivery only, as for a listener in another process.
    """
    data = yaml.safe_load(Path(node_config).read_text())
    data["camera_source"] = {"ros__parameters": {"fps": fps, "hands": hands}}
    overrides = _with(overrides, camera_source={"max_frames": frames})
    nodes: dict = {}
    usage = ProcessUsage().start()
    with tempfile.TemporaryDirectory() as directory:
        result = run_graph(
            _write_yaml(data, directory),
            overrides,
            max_wall_s=max(60.0, frames / 5.0),
            unmonitored=frozenset({"/hands", HAND_MESHES_TOPIC}),
            progress=True,
            on_ready=lambda created: nodes.update(created),
            node_classes={"camera_source": HandsFeeder},
        )
    listened = nodes["camera_source"].listened()
    return {
        "config": str(node_config),
        "hands_per_array": hands,
        "input_rate_hz": fps,
        "frames_published": result.frames_published,
        "topics": {**result.topics, **listened},
        "nodes": result.nodes,
        "frames_dropped": {
            topic: max(result.frames_published - stats["count"], 0)
            for topic, stats in listened.items()
        },
        "process": usage.stop(),
    }


def _stamp_ns(serialized: bytes) -> int:
    """The header stamp of a serialised message whose first field is a std_msgs/Header: after
    the 4-byte CDR encapsulation (its second byte 1: little-endian), sec (int32) and nanosec
    (uint32)."""
    order = "<" if serialized[1] & 1 else ">"
    sec, nanosec = struct.unpack_from(f"{order}iI", serialized, 4)
    return sec * 1_000_000_000 + nanosec


class HandsFeeder(HandperceptionNode):
    """A hand node's output, for the hand_mesh node alone: HandArrays of ``hands`` held-out
    hands (``eval.halo.test_hands``, a new pose each array, cycling through _DISTINCT_HANDS)
    stamped now, at ``fps``, on ``hands_topic``; and a listener on the node's meshes and
    markers as rviz would be (the node builds markers only for a listener), raw: it keeps each
    mesh's arrival and stamp and each marker array's arrival (``listened``).

    It stands in for camera_source (``run_graph``'s ``node_classes``), so it answers the runner
    as that node does: ``published``, ``finished``, ``image_subscribers`` (here: the hands'
    subscribers, once the markers' publisher is seen too).
    """

    def __init__(self, **kwargs):
        super().__init__("camera_source", **kwargs)
        self.declare("source", "hands", "what it publishes (for the runner; not a camera)")
        self.declare("fps", 30.0, "publishing rate, Hz", Allowed(0.0, 240.0, open_low=True))
        self.declare("hands", 1, "hands in each array", Allowed(1, 10))
        self.declare("hands_topic", "hands", "output HandArray topic")
        self.declare("meshes_topic", HAND_MESHES_TOPIC.lstrip("/"), "HandMeshArray listened to")
        self.declare("markers_topic", HAND_MESH_MARKERS_TOPIC.lstrip("/"), "markers listened to")
        self.declare("max_frames", 300, "arrays to publish", Allowed(1, 1_000_000_000))
        self.published = 0
        self._timer = None
        self._lock = threading.Lock()
        self._meshes = TopicStats()
        self._markers = TopicStats()

    def configure(self) -> None:
        from handperception.eval.halo import test_hands
        from handperception.msgconv.results import hand_to_msg
        from handperception.results import HandEstimate
        from handperception_msgs.msg import HandArray, HandMeshArray

        p = self.params
        held_out = test_hands("interpolation", _DISTINCT_HANDS * p.hands)
        messages = [
            hand_to_msg(
                HandEstimate(
                    joints_3d=held_out.keypoints[i],
                    joints_2d=np.zeros((21, 2)),
                    joint_confidence=np.ones(21),
                    handedness="left" if held_out.is_left[i] else "right",
                    handedness_score=1.0,
                    track_id=i % p.hands,
                )
            )
            for i in range(len(held_out.scale))
        ]
        self._arrays = [
            HandArray(hands=messages[i : i + p.hands]) for i in range(0, len(messages), p.hands)
        ]
        self._hands_pub = self.create_lifecycle_publisher(HandArray, p.hands_topic, results_qos())
        self._listeners = [
            self.create_subscription(kind, topic, on_message, results_qos(), raw=True)
            for kind, topic, on_message in (
                (HandMeshArray, p.meshes_topic, self._on_meshes),
                (MarkerArray, p.markers_topic, self._on_markers),
            )
        ]

    def image_subscribers(self) -> int:
        seen_markers = self.count_publishers(self._listeners[1].topic_name) > 0
        return self._hands_pub.get_subscription_count() if seen_markers else 0

    def activate(self) -> None:
        self._timer = self.create_timer(
            1.0 / self.params.fps, lambda: self.guarded(self._publish_next)
        )

    def deactivate(self) -> None:
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None

    def _publish_next(self) -> None:
        if self.published >= self.params.max_frames:
            self.finished = True
            return self.deactivate()
        array = self._arrays[self.published % len(self._arrays)]
        array.header = Header(stamp=self.get_clock().now().to_msg(), frame_id=FRAME_ID)
        self._hands_pub.publish(array)
        self.published += 1
        self.stats.record()

    def _arrived(self, stats: TopicStats) -> int:
        now_ns = self.get_clock().now().nanoseconds
        if stats.count == 0:
            stats.first_s = now_ns * 1e-9
        stats.count += 1
        stats.last_s = now_ns * 1e-9
        return now_ns

    def _on_meshes(self, serialized: bytes) -> None:
        with self._lock:
            now_ns = self._arrived(self._meshes)
            self._meshes.latencies_ms.append((now_ns - _stamp_ns(serialized)) * 1e-6)

    def _on_markers(self, serialized: bytes) -> None:
        with self._lock:
            self._arrived(self._markers)

    def listened(self) -> dict[str, dict]:
        """The meshes' and the markers' statistics, as the topic monitor gives a topic's (the
        markers carry no header of their own: their count and rate only)."""
        with self._lock:
            markers = {
                key: value
                for key, value in self._markers.as_dict().items()
                if not key.startswith("latency_")
            }
            return {HAND_MESHES_TOPIC: self._meshes.as_dict(), HAND_MESH_MARKERS_TOPIC: markers}

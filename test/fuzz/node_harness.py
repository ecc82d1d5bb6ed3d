"""One running image node, fed hostile inputs from outside and watched from outside and in.

Why this shape: starting a node (loading its models, DDS discovery) takes seconds, so each node
is started once and fed thousands of inputs; and a node is judged by what a user sees: what it
publishes (every float finite, every point in front of the camera and nearer than
MAX_DISTANCE_M), whether it stays active, and whether each input it did not publish for is in
its drop counters (what /diagnostics shows) under a named reason.

The ledger wraps two public members of HandperceptionNode, ``guarded`` (each call is one frame
the node's worker handled; a FAILED one names its drop reason) and ``stats.drop``, so drops
counted outside any guarded work (superseded, no CameraInfo) are told apart from the per-result
drops a pipeline reports for a frame it still published. Every image sent must end up as one
handled frame or one such outside drop.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from hostile_inputs import FRAME_ID
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile
from rosutil import RosHarness, wait_for
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from handperception.geometry.camera import PinholeCamera
from handperception.msgconv.camera_info import camera_info_msg
from handperception.msgconv.images import numpy_to_image, rgb8_to_compressed
from handperception.ros.graph_config import NODE_KINDS, node_class
from handperception.ros.node_base import FAILED, ImageNode
from handperception.ros.qos import image_qos, results_qos

IMAGE_TOPIC = "/fuzz/image_raw"
INFO_TOPIC = "/fuzz/camera_info"
MAX_DISTANCE_M = 20.0  # no camera sees a hand or a face further away
# Fields that hold a point in the camera's optical frame: in front of it and within reach.
CAMERA_FRAME_POINTS = ("joints", "origin", "left_eye_center", "right_eye_center")
# Parameters that make a node do more with random pixels (a hand "found" in every frame runs
# the lifting on noise). Optional: a node missing here is fuzzed with its defaults.
FUZZ_PARAMETERS: dict[str, dict] = {
    "hand_pose": {"detection_threshold": 0.0, "min_hand_confidence": 0.0, "max_hands": 2},
    "annotator": {"result_wait": 0.0},
    # Both slots reported on every frame: the pair lifting runs on every input.
    "two_hand_pose": {
        "detection_threshold": 0.0,
        "presence_threshold": 0.0,
        "min_hand_confidence": 0.0,
    },
}
# DDS delivery inside one process, for an input the node may hold unpaired, where the node does
# not count what it receives
SETTLE_S = 0.05
HANDLE_TIMEOUT_S = 30.0  # the slowest input (an 8K frame on a busy machine)
# The frame a liveness check sends: noise, which every node handles (hand_pose finds "hands").
GOOD_PIXELS = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)


_UNTRAINED: dict[str, str] = {}


def untrained_two_hand_checkpoint() -> str:
    """A TwoHandNet checkpoint of fixed random weights, written once per process: the two-hand
    node is fuzzed whether or not checkpoints/two_hands_tiny.pt has been trained, and random
    weights answer noise with anything, which is what the node must survive."""
    if "two_hand_pose" not in _UNTRAINED:
        import atexit
        import shutil
        import tempfile

        import torch

        from handperception.models.checkpoint import save_checkpoint
        from handperception.models.digit import TwoHandNet

        with torch.random.fork_rng():
            torch.manual_seed(0)
            net = TwoHandNet()
        folder = tempfile.mkdtemp(prefix="fuzz_two_hands_")
        atexit.register(shutil.rmtree, folder, True)
        path = save_checkpoint(
            f"{folder}/two_hands.pt", net, "two_hand_net", net.config, {"crop_size": 128}
        )
        _UNTRAINED["two_hand_pose"] = str(path)
    return _UNTRAINED["two_hand_pose"]


def fuzz_parameters(kind: str) -> dict:
    """FUZZ_PARAMETERS of ``kind``, with the checkpoint a node needs that may not be trained."""
    parameters = dict(FUZZ_PARAMETERS.get(kind, {}))
    if kind == "two_hand_pose":
        parameters["checkpoint"] = untrained_two_hand_checkpoint()
    return parameters


def image_node_kinds() -> list[str]:
    """Every node kind the runner knows whose class consumes a camera."""
    return [kind for kind in NODE_KINDS if issubclass(node_class(kind), ImageNode)]


def non_finite_fields(msg, path: str = "") -> list[str]:
    """Paths of every NaN or infinite float anywhere in a ROS message."""
    found = []
    if isinstance(msg, float):
        return [] if math.isfinite(msg) else [f"{path}={msg}"]
    if hasattr(msg, "get_fields_and_field_types"):
        for name in msg.get_fields_and_field_types():
            found += non_finite_fields(getattr(msg, name), f"{path}.{name}")
    elif isinstance(msg, (list, tuple)) or (hasattr(msg, "__len__") and hasattr(msg, "dtype")):
        for index, item in enumerate(msg):
            found += non_finite_fields(float(item) if hasattr(item, "dtype") else item,
                                       f"{path}[{index}]")  # fmt: skip
    elif hasattr(msg, "typecode") and msg.typecode in "fd":  # array.array of floats
        found += [f"{path}[{i}]={v}" for i, v in enumerate(msg) if not math.isfinite(v)]
    return found


def impossible_points(msg, path: str = "") -> list[str]:
    """Paths of camera-frame points (CAMERA_FRAME_POINTS) behind the camera or beyond
    MAX_DISTANCE_M."""
    found = []
    if not hasattr(msg, "get_fields_and_field_types"):
        if isinstance(msg, (list, tuple)):
            for index, item in enumerate(msg):
                found += impossible_points(item, f"{path}[{index}]")
        return found
    for name in msg.get_fields_and_field_types():
        value = getattr(msg, name)
        points = value if isinstance(value, (list, tuple)) else [value]
        if name in CAMERA_FRAME_POINTS:
            for index, point in enumerate(points):
                distance = math.sqrt(point.x**2 + point.y**2 + point.z**2)
                if not (point.z > 0 and distance <= MAX_DISTANCE_M):
                    found.append(f"{path}.{name}[{index}]=({point.x:.3g}, {point.y:.3g}, "
                                 f"{point.z:.3g})")  # fmt: skip
        else:
            found += impossible_points(value, f"{path}.{name}")
    return found


@dataclass
class Ledger:
    """What happened to the images sent, from the node's own counters (see the module doc)."""

    handled: int = 0
    # stamp (sec, nanosec) -> whether the worker published for that image (False: it failed)
    outcomes: dict = field(default_factory=dict)
    failed: collections.Counter = field(default_factory=collections.Counter)
    outside: collections.Counter = field(default_factory=collections.Counter)
    per_result: collections.Counter = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def accounted(self) -> int:
        with self.lock:
            return self.handled + sum(self.outside.values())

    def attach(self, node) -> None:
        local = threading.local()
        drop, guarded = node.stats.drop, node.guarded

        def counted_drop(reason: str) -> None:
            trail = getattr(local, "trail", None)
            if trail is None:
                with self.lock:
                    self.outside[reason] += 1
            else:
                trail.append(reason)
            drop(reason)

        def watched(work, *args):
            local.trail = []
            try:
                result = guarded(work, *args)
            finally:
                trail, local.trail = local.trail, None
            stamp = getattr(getattr(args[0], "header", None), "stamp", None) if args else None
            with self.lock:
                self.handled += 1
                if stamp is not None:
                    self.outcomes[(stamp.sec, stamp.nanosec)] = result is not FAILED
                if result is FAILED:
                    self.failed[trail[-1] if trail else "<no reason counted>"] += 1
                    trail = trail[:-1]
                self.per_result.update(trail)
            return result

        node.stats.drop = counted_drop
        node.guarded = watched


@dataclass
class Findings:
    """Property violations, each with the input that caused it."""

    sent: int = 0
    by_transport: collections.Counter = field(default_factory=collections.Counter)
    exceptions: list[str] = field(default_factory=list)
    non_finite: list[str] = field(default_factory=list)
    impossible: list[str] = field(default_factory=list)
    stalled: list[str] = field(default_factory=list)
    inactive: list[str] = field(default_factory=list)


class FuzzedNode:
    """A node of ``kind`` in its own embedded graph, with a sender and a listener to all its
    outputs; ``feed`` sends one input and waits until the node has dealt with it."""

    def __init__(self, kind: str):
        self.kind = kind
        self.ros = RosHarness()
        overrides = [Parameter(k, value=v) for k, v in fuzz_parameters(kind).items()]
        remap = ["--ros-args", "-r", f"image:={IMAGE_TOPIC}", "-r", f"camera_info:={INFO_TOPIC}"]
        self.node = node_class(kind)(
            context=self.ros.context, parameter_overrides=overrides, cli_args=remap
        )
        self.ledger = Ledger()
        self.ledger.attach(self.node)
        self.findings = Findings()
        self.ros.add(self.node)
        self.probe = self.ros.add(Node("fuzz_probe", context=self.ros.context))
        self._raw = self.probe.create_publisher(Image, IMAGE_TOPIC, image_qos("reliable"))
        self._compressed = self.probe.create_publisher(
            CompressedImage, f"{IMAGE_TOPIC}/compressed", image_qos("reliable")
        )
        self._infos = self.probe.create_publisher(CameraInfo, INFO_TOPIC, results_qos())
        self._current_label = ""
        self._last_sent = 0.0  # monotonic time of the last input sent
        self._label_lock = threading.Lock()
        self.outputs: collections.Counter = collections.Counter()
        self.diagnostics: list[DiagnosticArray] = []
        self._listening: set[str] = set()
        self.probe.create_subscription(
            DiagnosticArray, "/diagnostics", self.diagnostics.append, results_qos()
        )
        self.transport = "raw"
        assert wait_for(lambda: self.node.is_active and self._matched(), 60), f"{kind} never ran"
        self._listen_to_outputs()
        self._warm_up()

    def _warm_up(self) -> None:
        """Good frames until one is published: the publisher seeing the node's subscriptions
        does not mean the node's side has matched the publishers yet (discovery runs both
        ways), and a fuzz input lost to that would be a finding about DDS, not the node."""
        assert any(self.good_frame(timeout_s=2.0) for _ in range(30)), f"{self.kind} is deaf"

    # -- wiring ---------------------------------------------------------------------------------
    def _matched(self) -> bool:
        images = self._raw if self.transport == "raw" else self._compressed
        infos = self._infos.get_subscription_count() >= 1 or not self.node.params.use_camera_info
        return images.get_subscription_count() >= 1 and infos

    def _listen_to_outputs(self) -> None:
        """Subscribe to every topic the node publishes (but diagnostics and logs), tf included,
        so that every output path runs (markers and tf are sent only to listeners)."""
        skip = {"/diagnostics", "/rosout", "/parameter_events"}
        for publisher in list(self.node.publishers):
            topic = publisher.topic_name
            if topic in skip or topic in self._listening:
                continue
            self._listening.add(topic)
            qos = QoSProfile(
                depth=50,
                reliability=publisher.qos_profile.reliability,
                durability=publisher.qos_profile.durability,
            )
            self.probe.create_subscription(
                publisher.msg_type, topic, lambda msg, t=topic: self._on_output(t, msg), qos
            )
        assert wait_for(
            lambda: all(
                p.get_subscription_count() >= 1
                for p in self.node.publishers
                if p.topic_name in self._listening
            ),
            20,
        )

    def _on_output(self, topic: str, msg) -> None:
        self.outputs[topic] += 1
        with self._label_lock:
            label = self._current_label
        if not isinstance(msg, (Image, CompressedImage)):  # pixels hold no floats to check
            for problem in non_finite_fields(msg)[:3]:
                self.findings.non_finite.append(f"{topic} {problem} <- {label}")
            for problem in impossible_points(msg)[:3]:
                self.findings.impossible.append(f"{topic} {problem} <- {label}")

    def use_transport(self, transport: str) -> None:
        """Reconfigure the node (deactivate, cleanup, configure, activate) for ``transport``."""
        node = self.node
        node.trigger_deactivate()
        node.set_parameters([Parameter("image_transport", value=transport)])
        node.trigger_cleanup()
        node.trigger_configure()
        node.trigger_activate()
        self.transport = transport
        assert wait_for(lambda: node.is_active and self._matched(), 60), "not active again"
        self._listen_to_outputs()
        self._warm_up()

    # -- feeding ---------------------------------------------------------------------------------
    def feed(self, sample) -> None:
        """Send one FuzzInput; wait until it is accounted for (or, unpaired, taken); record
        every property it broke."""
        with self._label_lock:
            self._current_label = sample.label
        snapshot = self.node.stats.snapshot()
        exceptions_before = snapshot.drops.get("exception", 0)
        received = getattr(snapshot, "received", 0)  # counted by nodes that count what they take
        outside = self.ledger.outside.total()
        stamp = self._send(sample)
        # Taken by the node before the next is sent (its image subscription keeps one message).
        if received:
            wait_for(lambda: self.node.stats.snapshot().received > received, 5.0, 0.002)
        elif not sample.paired:
            time.sleep(SETTLE_S)
        if sample.paired:  # handled by the worker, or (a bad stamp) dropped on arrival
            if not wait_for(
                lambda: (
                    stamp in self.ledger.outcomes
                    or (sample.stamp is not None and self.ledger.outside.total() > outside)
                ),
                HANDLE_TIMEOUT_S,
                0.002,
            ):
                self.findings.stalled.append(sample.label)
        if self.node.stats.snapshot().drops.get("exception", 0) > exceptions_before:
            self.findings.exceptions.append(sample.label)
        if not self.node.is_active:
            self.findings.inactive.append(sample.label)

    def _send(self, sample) -> tuple[int, int]:
        """Stamp (now, or the sample's stamp) and publish the sample's image and CameraInfo, the
        CameraInfo before the image or just after it; the image's (sec, nanosec)."""
        image, info = sample.image, sample.info
        image.header.frame_id = sample.frame_id
        # Stamps closer than the node's sync_slop pair an image with its predecessor's
        # CameraInfo (approximate-time pairing does that by design): keep them further apart.
        gap_s = 2 * self.node.params.sync_slop - (time.monotonic() - self._last_sent)
        if gap_s > 0:
            time.sleep(gap_s)
        self._last_sent = time.monotonic()
        if sample.stamp is None:
            image.header.stamp = self.node.get_clock().now().to_msg()
        else:
            image.header.stamp.sec, image.header.stamp.nanosec = sample.stamp
        if info is not None:
            info.header.frame_id = sample.frame_id
            if sample.paired:
                info.header.stamp = image.header.stamp
        if info is not None and not sample.info_late:
            self._infos.publish(info)
        (self._raw if isinstance(image, Image) else self._compressed).publish(image)
        if info is not None and sample.info_late:
            time.sleep(0.005)
            self._infos.publish(info)
        self.findings.sent += 1
        self.findings.by_transport[self.transport] += 1
        return image.header.stamp.sec, image.header.stamp.nanosec

    def good_frame(self, count: int = 1, timeout_s: float = HANDLE_TIMEOUT_S) -> int:
        """Send ``count`` well-formed 64x48 frames with their CameraInfo, each once the last was
        handled; how many the node published for (what a flush and a liveness check use)."""
        camera = PinholeCamera.from_fov(64, 48, 60.0)
        with self._label_lock:
            self._current_label = "a good 64x48 frame"
        published = 0
        for _ in range(count):
            header = Header(stamp=self.node.get_clock().now().to_msg(), frame_id=FRAME_ID)
            self._infos.publish(camera_info_msg(camera, header))
            if self.transport == "raw":
                self._raw.publish(numpy_to_image(GOOD_PIXELS, "rgb8", header))
            else:
                self._compressed.publish(rgb8_to_compressed(GOOD_PIXELS, header))
            self.findings.sent += 1
            self.findings.by_transport[self.transport] += 1
            stamp = (header.stamp.sec, header.stamp.nanosec)
            wait_for(lambda s=stamp: s in self.ledger.outcomes, timeout_s, 0.002)
            published += self.ledger.outcomes.get(stamp, False)
        return published

    def close(self) -> None:
        self.ros.close()

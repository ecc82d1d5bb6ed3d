"""The shell every perception node is: a camera in, a ``FramePipeline`` run on each frame, what it
found out as a results array, rviz markers, a debug image and one tf frame per result.

Why one shell: the hand pose and gaze nodes (and the two-hand and grasp nodes to come) differ in
their pipeline and in how their results become messages, not in how they are published; one
implementation means every node counts drops, publishes only to listeners, refuses a bad frame
id and names its parameters the same way. A node says what differs in a ``ResultOutputs`` and
builds its pipeline in ``load_pipeline``; a node with more to publish than its results (the
two-hand node's part segmentation) creates those publishers in ``configure_extras``, publishes
in ``publish_extras`` and may draw its own debug image (``draw_debug``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from sensor_msgs.msg import Image
from visualization_msgs.msg import MarkerArray

from handperception.geometry.camera import CameraModel
from handperception.msgconv.images import numpy_to_image
from handperception.pipeline.interface import FramePipeline, FrameResult
from handperception.ros.node_base import Allowed, CameraFrame, ImageNode, InputRejected
from handperception.ros.qos import results_qos
from handperception.ros.stamps import stamp_to_ns
from handperception.ros.tf import TransformPublisher
from handperception.runtime.device import resolve_device


@dataclass(frozen=True)
class ResultOutputs:
    """How one kind of result is published.

    noun: what the results are, plural ("hands"), for logs and descriptions; topic_parameter,
    default_topic and message_type: the results array's topic parameter, its default and type;
    results: the FrameResult's list of them; to_message(results, header); markers(results,
    header) -> MarkerArray; draw(canvas, results, camera) onto an rgb copy of the frame;
    transforms(results, header, tf_prefix) -> TransformStamped list; tf_description: the
    publish_tf parameter's description (which frames, which axes); default_tf_prefix: the
    tf_prefix parameter's default (a node beside another of the same results keeps its frames
    apart by default).
    """

    noun: str
    topic_parameter: str
    default_topic: str
    message_type: type
    results: Callable[[FrameResult], list]
    to_message: Callable[[list, Any], Any]
    markers: Callable[[list, Any], MarkerArray]
    draw: Callable[[Any, list, CameraModel], None]
    transforms: Callable[[list, Any, str], list]
    tf_description: str
    default_tf_prefix: str = ""


class PerceptionNode(ImageNode):
    """An ImageNode over a FramePipeline; subclasses pass their ``ResultOutputs`` and define
    ``load_pipeline(device) -> FramePipeline`` (parameters are in ``self.params``), and may
    override ``configure_extras``, ``publish_extras`` and ``draw_debug``."""

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "load_pipeline", None)):
            raise TypeError(f"{cls.__name__} must define load_pipeline(device) -> FramePipeline")

    def __init__(self, node_name: str, outputs: ResultOutputs, **kwargs: Any):
        super().__init__(node_name, **kwargs)
        self.outputs = outputs
        self.declare("device", "auto", "torch device", Allowed(pattern=r"auto|cpu|cuda(:[0-9]+)?"))
        self.declare(
            "torch_threads", 0, "CPU threads for torch (0: torch's default)", Allowed(0, 256)
        )
        self.declare(
            outputs.topic_parameter,
            outputs.default_topic,
            f"output {outputs.message_type.__name__} topic",
        )
        self.declare(
            "publish_markers", True, f"publish rviz markers of the {outputs.noun} on ~/markers"
        )
        self.declare(
            "publish_debug_image",
            False,
            f"publish the frame with the {outputs.noun} drawn on ~/debug_image",
        )
        self.declare("publish_tf", True, outputs.tf_description)
        self.declare(
            "tf_prefix",
            outputs.default_tf_prefix,
            f"prefix of the {outputs.noun}' tf frames (e.g. left_cam/), to keep several cameras "
            "apart",
            Allowed(pattern=r"([^/\s]\S*)?"),
        )
        self.pipeline: FramePipeline | None = None
        self._tf: TransformPublisher | None = None

    def describe_source(self) -> str:
        """What the pipeline runs (checkpoints, backend), for the ready line of the log."""
        return ""

    def configure_extras(self) -> None:
        """Create the publishers of what the node publishes beside its results (called at
        configure, after the pipeline loaded; they are destroyed at cleanup with the others)."""

    def publish_extras(self, result: FrameResult, frame: CameraFrame) -> None:
        """Publish what the node publishes beside its results, once they are published (called
        for every processed frame, with the frame's whole ``FrameResult``)."""

    def draw_debug(
        self, canvas: np.ndarray, found: list, result: FrameResult, frame: CameraFrame
    ) -> None:
        """Draw the frame's results onto ``canvas`` (an rgb copy of the frame), the debug image;
        by default ``outputs.draw``."""
        self.outputs.draw(canvas, found, frame.camera)

    def configure(self) -> None:
        p = self.params
        device = resolve_device(p.device)
        if p.torch_threads > 0:
            torch.set_num_threads(p.torch_threads)
        self.pipeline = self.load_pipeline(device)
        topic = getattr(p, self.outputs.topic_parameter)
        self._results_pub = self.create_lifecycle_publisher(
            self.outputs.message_type, topic, results_qos()
        )
        self._markers_pub = self.create_lifecycle_publisher(MarkerArray, "~/markers", results_qos())
        self._debug_pub = self.create_lifecycle_publisher(Image, "~/debug_image", results_qos(2))
        self._tf = TransformPublisher(self) if p.publish_tf else None
        self.configure_extras()
        self.get_logger().info(
            f"{self.get_name()} ready on {device}: {self.describe_source()}; "
            f"publishing {self._results_pub.topic_name}"
        )

    def cleanup(self) -> None:
        self.pipeline = None
        self._tf = None  # its publisher goes with the configured ones

    def on_frame(self, frame: CameraFrame) -> None:
        header, outputs = frame.header, self.outputs
        result = self.pipeline.process(frame.rgb, frame.camera, stamp_to_ns(header.stamp) * 1e-9)
        for reason in result.drops:  # results found but not published, apart from image drops
            self.stats.drop_result(reason)
        found = outputs.results(result)
        transforms = []
        if self._tf is not None and found and self._tf.subscription_count():
            # Before anything is published: a frame tf refuses is dropped whole, not published
            # and counted as dropped both.
            try:
                transforms = outputs.transforms(found, header, self.params.tf_prefix)
            except ValueError as error:  # tf2 would refuse the image's frame_id (empty, "/...")
                raise InputRejected(
                    "bad_frame_id", f"no tf for these {outputs.noun}: {error}"
                ) from error
        self._results_pub.publish(outputs.to_message(found, header))
        # Markers, transforms and debug images cost per-frame Python work: only for a listener.
        if self.params.publish_markers and self._markers_pub.get_subscription_count():
            self._markers_pub.publish(outputs.markers(found, header))
        if self.params.publish_debug_image and self._debug_pub.get_subscription_count():
            canvas = frame.rgb.copy()
            self.draw_debug(canvas, found, result, frame)
            self._debug_pub.publish(numpy_to_image(canvas, "rgb8", header))
        if transforms:
            self._tf.send(transforms)
        self.publish_extras(result, frame)

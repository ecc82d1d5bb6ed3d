"""hand_pose: every visible hand's 21 joints in metres (camera frame), handedness, confidence and
wrist pose from an RGB camera, with rviz markers and each hand's wrist as a tf frame. A thin
shell over HandPosePipeline."""

from __future__ import annotations

from dataclasses import fields

import torch
from sensor_msgs.msg import Image
from visualization_msgs.msg import MarkerArray

from handperception.msgconv.images import numpy_to_image
from handperception.msgconv.markers import hand_markers
from handperception.msgconv.results import hands_to_msg
from handperception.msgconv.transforms import hand_transforms
from handperception.pipeline.hand_pose import HandPoseConfig
from handperception.pipeline.loading import BACKENDS, load_hand_pose_pipeline
from handperception.ros.entry import run_single_node
from handperception.ros.node_base import Allowed, CameraFrame, ImageNode, InputRejected, one_of
from handperception.ros.qos import results_qos
from handperception.ros.stamps import stamp_to_ns
from handperception.ros.tf import TransformPublisher
from handperception.runtime.device import resolve_device
from handperception.viz.overlay import draw_hands
from handperception_msgs.msg import HandArray

_CONFIDENCE = Allowed(0.0, 1.0)
# HandPoseConfig's fields as parameters: description and allowed values
_PIPELINE_PARAMETERS = {
    "crop_size": (
        "pose-net input side in pixels; 0: the size the checkpoint was trained at",
        Allowed(16, 512, extra=0),
    ),
    "detection_threshold": ("detector score to accept a hand", _CONFIDENCE),
    "max_hands": ("most hands per frame", Allowed(1, 10)),
    "tracking_confidence": (
        "mean joint confidence to keep tracking a hand from its last keypoints",
        _CONFIDENCE,
    ),
    "detection_interval": (
        "frames between detector runs while every hand is tracked",
        Allowed(1, 1000),
    ),
    "min_hand_confidence": ("mean joint confidence to publish a hand", _CONFIDENCE),
    "mirrored": ("the image is mirrored (selfie camera): swap left and right", None),
    "smoothing": ("one-euro filter on the joints against jitter", None),
    "min_cutoff": (
        "one-euro minimum cutoff, Hz (lower: smoother at rest)",
        Allowed(0.0, 100.0, open_low=True),
    ),
    "beta": (
        "one-euro speed coefficient (higher: less lag in fast motion)",
        Allowed(0.0, 1000.0),
    ),
}


class HandPoseNode(ImageNode):
    def __init__(self, **kwargs):
        super().__init__("hand_pose", **kwargs)
        defaults = HandPoseConfig(crop_size=0)
        for field in fields(HandPoseConfig):
            description, allowed = _PIPELINE_PARAMETERS[field.name]
            self.declare(field.name, getattr(defaults, field.name), description, allowed)
        self.declare(
            "backend",
            "native",
            "native (this project's networks) | mediapipe (MediaPipe Hands)",
            one_of(*BACKENDS),
        )
        self.declare("device", "auto", "torch device", Allowed(pattern=r"auto|cpu|cuda(:[0-9]+)?"))
        self.declare(
            "torch_threads", 0, "CPU threads for torch (0: torch's default)", Allowed(0, 256)
        )
        self.declare(
            "pose_checkpoint",
            "checkpoints/hand_tiny.pt",
            "HandPoseNet checkpoint (relative: from . or the package)",
        )
        self.declare(
            "detector_checkpoint",
            "checkpoints/detector_tiny.pt",
            "HandDetector checkpoint (relative: from . or the package)",
        )
        self.declare(
            "bone_length",
            0.0,
            "wrist-to-middle-MCP length of the user's hand, metres (0: the mean hand)",
            Allowed(0.03, 0.2, extra=0.0),
        )
        self.declare("hands_topic", "hands", "output HandArray topic")
        self.declare("publish_markers", True, "publish rviz markers on ~/markers")
        self.declare(
            "publish_debug_image", False, "publish the frame with skeletons on ~/debug_image"
        )
        self.declare(
            "publish_tf",
            True,
            "each tracked hand's wrist as tf frame <tf_prefix>hand_<id>_wrist, child of the "
            "image's frame",
        )
        self.declare(
            "tf_prefix",
            "",
            "prefix of the hands' tf frames (e.g. left_cam/), to keep several cameras apart",
            Allowed(pattern=r"([^/\s]\S*)?"),
        )
        self.pipeline = None
        self._tf: TransformPublisher | None = None

    def configure(self) -> None:
        p = self.params
        device = resolve_device(p.device)
        if p.torch_threads > 0:
            torch.set_num_threads(p.torch_threads)
        self.pipeline = load_hand_pose_pipeline(
            p.pose_checkpoint,
            p.detector_checkpoint,
            HandPoseConfig(
                **{field.name: getattr(p, field.name) for field in fields(HandPoseConfig)}
            ),
            device,
            p.bone_length or None,
            p.backend,
        )
        self._hands_pub = self.create_lifecycle_publisher(HandArray, p.hands_topic, results_qos())
        self._markers_pub = self.create_lifecycle_publisher(MarkerArray, "~/markers", results_qos())
        self._debug_pub = self.create_lifecycle_publisher(Image, "~/debug_image", results_qos(2))
        self._tf = TransformPublisher(self) if p.publish_tf else None
        source = (
            "MediaPipe Hands"
            if p.backend == "mediapipe"
            else f"{p.pose_checkpoint}, {p.detector_checkpoint}"
        )
        self.get_logger().info(
            f"hand pose ({p.backend}) ready on {device}: {source}; "
            f"publishing {self._hands_pub.topic_name}"
        )

    def cleanup(self) -> None:
        self.pipeline = None
        self._tf = None  # its publisher goes with the configured ones

    def on_frame(self, frame: CameraFrame) -> None:
        header = frame.header
        result = self.pipeline.process(frame.rgb, frame.camera, stamp_to_ns(header.stamp) * 1e-9)
        for reason in result.drops:
            self.stats.drop(reason)
        self._hands_pub.publish(hands_to_msg(result.hands, header))
        # Markers, transforms and debug images cost per-frame Python work: only for a listener.
        if self.params.publish_markers and self._markers_pub.get_subscription_count():
            self._markers_pub.publish(hand_markers(result.hands, header))
        if self.params.publish_debug_image and self._debug_pub.get_subscription_count():
            canvas = frame.rgb.copy()
            draw_hands(canvas, result.hands)
            self._debug_pub.publish(numpy_to_image(canvas, "rgb8", header))
        if self._tf is not None and result.hands and self._tf.subscription_count():
            try:
                transforms = hand_transforms(result.hands, header, self.params.tf_prefix)
            except ValueError as error:  # tf2 would refuse the image's frame_id (empty, "/...")
                raise InputRejected("bad_frame_id", f"no tf for these hands: {error}") from error
            self._tf.send(transforms)


def main(argv=None) -> int:
    return run_single_node(HandPoseNode, argv)

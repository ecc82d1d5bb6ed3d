"""two_hand_pose: both hands of one person, even where they touch or cross (DIGIT): each hand's
21 joints in metres (camera frame), handedness, confidence and wrist pose, the frame's hand-part
segmentation as a mono8 image of labels, rviz markers and each hand's wrist as a tf frame. A
thin shell over TwoHandPosePipeline.

Its hands are published as hand_pose's are (HandArray, markers, wrist tf frames: HAND_OUTPUTS),
on their own topic and with their own tf prefix, so the two nodes run side by side on one camera.
Track ids are the person's hands: 0 the left hand, 1 the right (with ``mirrored`` too).
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
from sensor_msgs.msg import Image

from handperception.msgconv.images import numpy_to_image
from handperception.msgconv.markers import hand_markers
from handperception.pipeline.interface import FrameResult
from handperception.pipeline.loading import CROP_SIZE_LIMITS, load_two_hand_pose_pipeline
from handperception.pipeline.two_hand_pose import TwoHandPoseConfig
from handperception.ros.entry import run_single_node
from handperception.ros.node_base import Allowed, CameraFrame
from handperception.ros.nodes.hand_pose import BONE_LENGTH_PARAMETER, HAND_OUTPUTS
from handperception.ros.perception_node import PerceptionNode
from handperception.ros.qos import results_qos
from handperception.viz.overlay import draw_hands, draw_part_labels

_CONFIDENCE = Allowed(0.0, 1.0)
# TwoHandPoseConfig's fields as parameters: description and allowed values
_PIPELINE_PARAMETERS = {
    "crop_size": (
        "two-hand net input side in pixels; 0: the size the checkpoint was trained at",
        Allowed(*CROP_SIZE_LIMITS, extra=0),
    ),
    "detection_threshold": (
        "detector score to accept a hand (one crop spans the hands found, two at most)",
        _CONFIDENCE,
    ),
    "presence_threshold": (
        "presence probability to report a hand of a slot (the person's left, right)",
        _CONFIDENCE,
    ),
    "tracking_confidence": (
        "mean joint confidence (of the least sure hand) to keep cropping from the hands' last "
        "keypoints",
        _CONFIDENCE,
    ),
    "detection_interval": (
        "frames between detector runs while the hands are tracked",
        Allowed(1, 1000),
    ),
    "min_hand_confidence": ("mean joint confidence to publish a hand", _CONFIDENCE),
    "mirrored": (
        "the image is mirrored (selfie camera): swap left and right, hands and part labels",
        None,
    ),
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
SEGMENTATION_TOPIC = "~/segmentation"
# Opacity of the part colours over the frame in the debug image.
PART_ALPHA = 0.5


def _two_hand_markers(hands, header):
    return hand_markers(hands, header, namespace="two_hands")


TWO_HAND_OUTPUTS = replace(
    HAND_OUTPUTS,
    default_topic="two_hands",
    markers=_two_hand_markers,
    tf_description="each hand's wrist as tf frame <tf_prefix>hand_<id>_wrist (id 0 the person's "
    "left hand, 1 the right), child of the image's frame",
    default_tf_prefix="two_hands/",
)


def segmentation_image(result: FrameResult, frame: CameraFrame) -> Image:
    """The frame's part labels (``skeleton.parts``) as a mono8 Image with the frame's header;
    all background when the pipeline gave none."""
    labels = result.segmentation
    if labels is None:
        labels = np.zeros(frame.rgb.shape[:2], np.uint8)
    return numpy_to_image(labels, "mono8", frame.header)


class TwoHandPoseNode(PerceptionNode):
    def __init__(self, **kwargs):
        super().__init__("two_hand_pose", TWO_HAND_OUTPUTS, **kwargs)
        defaults = TwoHandPoseConfig(crop_size=0)
        for field in fields(TwoHandPoseConfig):
            description, allowed = _PIPELINE_PARAMETERS[field.name]
            self.declare(field.name, getattr(defaults, field.name), description, allowed)
        self.declare(
            "checkpoint",
            "checkpoints/two_hands_tiny.pt",
            "TwoHandNet (DIGIT) checkpoint (relative: from . or the package)",
        )
        self.declare(
            "detector_checkpoint",
            "checkpoints/detector_tiny.pt",
            "HandDetector checkpoint (relative: from . or the package)",
        )
        self.declare(*BONE_LENGTH_PARAMETER)
        self.declare(
            "publish_segmentation",
            True,
            "publish the frame's hand-part labels (0 background, 1-6 left palm, thumb..little, "
            "7-12 right) as a mono8 image on ~/segmentation, to listeners only",
        )
        self._segmentation_pub = None

    def load_pipeline(self, device: str):
        p = self.params
        config = TwoHandPoseConfig(
            **{field.name: getattr(p, field.name) for field in fields(TwoHandPoseConfig)}
        )
        return load_two_hand_pose_pipeline(
            p.checkpoint, p.detector_checkpoint, config, device, p.bone_length or None
        )

    def describe_source(self) -> str:
        p = self.params
        return f"{p.checkpoint}, {p.detector_checkpoint}"

    def configure_extras(self) -> None:
        if self.params.publish_segmentation:
            self._segmentation_pub = self.create_lifecycle_publisher(
                Image, SEGMENTATION_TOPIC, results_qos(2)
            )

    def cleanup(self) -> None:
        super().cleanup()
        self._segmentation_pub = None  # destroyed with the other configured publishers

    def publish_extras(self, result: FrameResult, frame: CameraFrame) -> None:
        publisher = self._segmentation_pub
        if publisher is not None and publisher.get_subscription_count():
            publisher.publish(segmentation_image(result, frame))

    def draw_debug(
        self, canvas: np.ndarray, found: list, result: FrameResult, frame: CameraFrame
    ) -> None:
        """The part labels' colours blended over the frame, the hands' skeletons on top."""
        if result.segmentation is not None:
            draw_part_labels(canvas, result.segmentation, PART_ALPHA)
        draw_hands(canvas, found)


def main(argv=None) -> int:
    return run_single_node(TwoHandPoseNode, argv)

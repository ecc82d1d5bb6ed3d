"""hand_pose: every visible hand's 21 joints in metres (camera frame), handedness, confidence and
wrist pose from an RGB camera, with rviz markers and each hand's wrist as a tf frame. A thin
shell over HandPosePipeline."""

from __future__ import annotations

from dataclasses import fields

from handperception.msgconv.markers import hand_markers
from handperception.msgconv.results import hands_to_msg
from handperception.msgconv.transforms import hand_transforms
from handperception.pipeline.hand_pose import HandPoseConfig
from handperception.pipeline.loading import BACKENDS, CROP_SIZE_LIMITS, load_hand_pose_pipeline
from handperception.ros.entry import run_single_node
from handperception.ros.node_base import Allowed, one_of
from handperception.ros.perception_node import PerceptionNode, ResultOutputs
from handperception.viz.overlay import draw_hands
from handperception_msgs.msg import HandArray

_CONFIDENCE = Allowed(0.0, 1.0)
# HandPoseConfig's fields as parameters: description and allowed values
_PIPELINE_PARAMETERS = {
    "crop_size": (
        "pose-net input side in pixels; 0: the size the checkpoint was trained at",
        Allowed(*CROP_SIZE_LIMITS, extra=0),
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


# The user's hand size, shared by the nodes that lift hands to metric 3D.
BONE_LENGTH_PARAMETER = (
    "bone_length",
    0.0,
    "wrist-to-middle-MCP length of the user's hand, metres (0: the mean hand)",
    Allowed(0.03, 0.2, extra=0.0),
)


def _draw_hands(canvas, hands, camera) -> None:
    draw_hands(canvas, hands)


HAND_OUTPUTS = ResultOutputs(
    noun="hands",
    topic_parameter="hands_topic",
    default_topic="hands",
    message_type=HandArray,
    results=lambda result: result.hands,
    to_message=hands_to_msg,
    markers=hand_markers,
    draw=_draw_hands,
    transforms=hand_transforms,
    tf_description="each tracked hand's wrist as tf frame <tf_prefix>hand_<id>_wrist, child of the "
    "image's frame",
)


class HandPoseNode(PerceptionNode):
    def __init__(self, **kwargs):
        super().__init__("hand_pose", HAND_OUTPUTS, **kwargs)
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
        self.declare(*BONE_LENGTH_PARAMETER)

    def load_pipeline(self, device: str):
        p = self.params
        return load_hand_pose_pipeline(
            p.pose_checkpoint,
            p.detector_checkpoint,
            HandPoseConfig(
                **{field.name: getattr(p, field.name) for field in fields(HandPoseConfig)}
            ),
            device,
            p.bone_length or None,
            p.backend,
        )

    def describe_source(self) -> str:
        p = self.params
        if p.backend == "mediapipe":
            return "MediaPipe Hands"
        return f"{p.backend} backend, {p.pose_checkpoint}, {p.detector_checkpoint}"


def main(argv=None) -> int:
    return run_single_node(HandPoseNode, argv)

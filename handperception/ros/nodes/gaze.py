"""gaze: where each person in an RGB camera's view looks (origin between the eyes and unit
direction in the camera frame, eye centres, face box, track id), with rviz arrows from each eye,
each gaze origin as a tf frame and an optional debug image. A thin shell over GazePipeline."""

from __future__ import annotations

from dataclasses import fields

from handperception.msgconv.markers import gaze_markers
from handperception.msgconv.results import gazes_to_msg
from handperception.msgconv.transforms import gaze_transforms
from handperception.pipeline.gaze import GazeConfig
from handperception.pipeline.loading import FACE_DETECTORS, GAZE_BACKENDS, load_gaze_pipeline
from handperception.ros.entry import run_single_node
from handperception.ros.node_base import Allowed, one_of
from handperception.ros.perception_node import PerceptionNode, ResultOutputs
from handperception.viz.overlay import draw_gaze
from handperception_msgs.msg import GazeArray

# GazeConfig's fields as parameters: description and allowed values
_PIPELINE_PARAMETERS = {
    "max_faces": ("most faces estimated per frame", Allowed(1, 16)),
    "min_face_confidence": (
        "face detector score to accept a face (lower-scoring faces are dropped)",
        Allowed(0.0, 1.0),
    ),
    "smoothing": ("one-euro filter on each face's gaze direction against jitter", None),
    "min_cutoff": (
        "one-euro minimum cutoff, Hz (lower: steadier at rest)",
        Allowed(0.0, 100.0, open_low=True),
    ),
    "beta": (
        "one-euro speed coefficient (higher: less lag in quick eye movements)",
        Allowed(0.0, 1000.0),
    ),
    "track_iou": (
        "face box overlap with the last frame's that keeps a face's id",
        Allowed(0.0, 1.0, open_low=True),
    ),
    "max_missed_frames": ("frames a face may go unseen and keep its id", Allowed(0, 1000)),
}


def _draw_gazes(canvas, gazes, camera) -> None:
    for gaze in gazes:
        draw_gaze(canvas, gaze, camera.camera.project)


GAZE_OUTPUTS = ResultOutputs(
    noun="gazes",
    topic_parameter="gaze_topic",
    default_topic="gaze",
    message_type=GazeArray,
    results=lambda result: result.gazes,
    to_message=gazes_to_msg,
    markers=gaze_markers,
    draw=_draw_gazes,
    transforms=gaze_transforms,
    tf_description="each face's gaze origin as tf frame <tf_prefix>gaze_<id>, child of the "
    "image's frame: x along the gaze, y to the person's left, z up",
)


class GazeNode(PerceptionNode):
    def __init__(self, **kwargs):
        super().__init__("gaze", GAZE_OUTPUTS, **kwargs)
        defaults = GazeConfig()
        for field in fields(GazeConfig):
            description, allowed = _PIPELINE_PARAMETERS[field.name]
            self.declare(field.name, getattr(defaults, field.name), description, allowed)
        self.declare(
            "backend",
            "network",
            "network (Deep Pictorial Gaze from checkpoint) | geometric (MediaPipe iris and eye "
            "corners through an eyeball model, no learning; needs detector mediapipe or auto)",
            one_of(*GAZE_BACKENDS),
        )
        self.declare(
            "detector",
            "auto",
            "face detector: mediapipe (face mesh with iris) | opencv (YuNet) | auto (mediapipe "
            "where installed)",
            one_of(*FACE_DETECTORS),
        )
        self.declare(
            "checkpoint",
            "checkpoints/gaze_tiny.pt",
            "Deep Pictorial Gaze checkpoint for the network backend (relative: from . or the "
            "package)",
        )

    def load_pipeline(self, device: str):
        p = self.params
        return load_gaze_pipeline(
            p.checkpoint,
            GazeConfig(**{field.name: getattr(p, field.name) for field in fields(GazeConfig)}),
            device,
            p.backend,
            p.detector,
        )

    def describe_source(self) -> str:
        p = self.params
        source = "iris geometry" if p.backend == "geometric" else p.checkpoint
        return f"{p.backend} backend, detector {p.detector}, {source}"


def main(argv=None) -> int:
    return run_single_node(GazeNode, argv)

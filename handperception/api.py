"""The Python API without ROS: load a tracker, give it RGB frames, get hands back.

Why: a notebook, a data-processing script or another robot framework should not need ROS to use
the models, and should get exactly what the nodes publish (same pipelines, same checkpoints, same
validated ``HandEstimate`` results)::

    import handperception.api as hp

    tracker = hp.load_hand_tracker()                      # shipped checkpoints, GPU if present
    camera = hp.PinholeCamera.from_fov(640, 480, 60.0)     # or your calibration's K
    for hand in tracker.process(rgb, camera, time_s=0.0).hands:
        print(hand.handedness, hand.joints_3d[0])          # wrist, metres, camera frame
"""

from __future__ import annotations

from handperception.geometry.camera import PinholeCamera
from handperception.pipeline.hand_pose import HandPoseConfig
from handperception.pipeline.interface import FramePipeline, FrameResult
from handperception.pipeline.loading import load_hand_pose_pipeline
from handperception.results import HandEstimate
from handperception.runtime.device import resolve_device

DEFAULT_POSE_CHECKPOINT = "checkpoints/hand_tiny.pt"
DEFAULT_DETECTOR_CHECKPOINT = "checkpoints/detector_tiny.pt"

__all__ = [
    "FramePipeline",
    "FrameResult",
    "HandEstimate",
    "HandPoseConfig",
    "PinholeCamera",
    "load_hand_tracker",
]


def load_hand_tracker(
    backend: str = "native",
    device: str = "auto",
    pose_checkpoint: str = DEFAULT_POSE_CHECKPOINT,
    detector_checkpoint: str = DEFAULT_DETECTOR_CHECKPOINT,
    bone_length_m: float | None = None,
    **config,
) -> FramePipeline:
    """The hand tracker the ``hand_pose`` node runs, ready for ``process(rgb, camera, time_s)``.

    Args:
        backend: "native" (this project's networks) or "mediapipe" (MediaPipe Hands, if installed).
        device: "auto" (CUDA when torch sees a GPU), "cpu", "cuda" or "cuda:N".
        pose_checkpoint, detector_checkpoint: relative paths are looked up in the working
            directory, then in the installed package (where the shipped ones are).
        bone_length_m: the user's wrist-to-middle-knuckle length for exact metric depth
            (None: the mean hand).
        config: ``HandPoseConfig`` fields, e.g. ``max_hands=1, mirrored=True``; ``crop_size``
            defaults to the size the checkpoint was trained at.
    """
    settings = HandPoseConfig(**{"crop_size": 0, **config})
    return load_hand_pose_pipeline(
        pose_checkpoint,
        detector_checkpoint,
        settings,
        resolve_device(device),
        bone_length_m,
        backend,
    )

"""The interface every frame pipeline declares: what an image node runs on each frame.

Why declared: the hand pose node may run this project's networks or MediaPipe Hands, and the
two-hand and gaze pipelines to come plug into the same node pattern (``ros.node_base``). A node
only needs ``process`` and ``reset``; what it publishes is in the ``FrameResult``. Frames are
checked once, here, so every pipeline refuses the same bad input with the same message.

A frame's camera may be a ``CameraModel`` with lens distortion: a driver's image_raw is
distorted, and lifting its keypoints as if it were not puts hands off by centimetres near the
border. Pipelines find keypoints on the image as it is, report them in its pixels (overlays
match it), and lift their undistorted positions (``CameraModel.undistort``) with the ideal
camera, so 3D comes out as from the rectified image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from handperception.geometry.camera import CameraModel, PinholeCamera
from handperception.results import GazeEstimate, HandEstimate


@dataclass
class FrameResult:
    """What one frame gave: hands and/or gazes (each pipeline fills what it estimates), the
    reasons of results found but not published (counted as drops by the node), whether the
    full-frame detector ran (trackers skip it on most frames), and, from pipelines that segment
    hand parts, the frame's (H, W) uint8 part labels (``skeleton.parts``)."""

    hands: list[HandEstimate] = field(default_factory=list)
    gazes: list[GazeEstimate] = field(default_factory=list)
    drops: list[str] = field(default_factory=list)
    detector_ran: bool = False
    segmentation: np.ndarray | None = None


@runtime_checkable
class FramePipeline(Protocol):
    """Frame in, results out; pure (no ROS), so it is tested and used offline as it runs on
    the robot."""

    def process(
        self, rgb: np.ndarray, camera: PinholeCamera | CameraModel, time_s: float
    ) -> FrameResult:
        """rgb (H, W, 3) uint8 seen by ``camera`` (same size; a PinholeCamera is an ideal,
        undistorted one); time_s the frame's stamp, seconds (smoothing filters use it). 3D is in
        the ideal camera's frame, 2D in ``rgb``'s pixels."""

    def reset(self) -> None:
        """Forget every track (e.g. after a camera switch)."""


def check_frame(rgb: np.ndarray, camera: PinholeCamera | CameraModel) -> CameraModel:
    """Raise ValueError unless ``rgb`` is an (H, W, 3) uint8 image of ``camera``'s size;
    returns the camera as a CameraModel (a PinholeCamera is an ideal one)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    model = camera if isinstance(camera, CameraModel) else CameraModel(camera)
    height, width = rgb.shape[:2]
    if (model.camera.width, model.camera.height) != (width, height):
        raise ValueError(
            f"camera is {model.camera.width}x{model.camera.height} but the image is "
            f"{width}x{height}"
        )
    return model

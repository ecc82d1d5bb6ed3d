"""Frame -> every visible hand's 21 metric 3D joints: detect or track, crop, 2.5D net, lift, smooth.

Why tracking: the detector runs on the whole frame and costs more than the pose net on a crop,
so hands are followed by cropping around their previous keypoints and the detector only runs
when a hand is uncertain or lost, or every few frames to find new hands. Crops are cut from the
image as it is; with a distorted camera the joints' pixels are undistorted after the network
and lifted again with the ideal camera (``FramePipeline``). Pure (no ROS): the node is a thin
shell over ``HandPosePipeline.process``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.geometry.camera import CameraModel, PinholeCamera
from handperception.geometry.crops import CropBox, crop_and_resize, crop_to_frame
from handperception.pipeline.interface import FrameResult, check_frame
from handperception.pipeline.pose_estimator import CropPoseEstimator
from handperception.pipeline.tracking import HandTracker
from handperception.results import (
    IMPLAUSIBLE_DEPTH,
    OTHER_SIDE,
    HandEstimate,
    plausible_position,
)
from handperception.runtime.smoothing import HandTrackSmoother


@dataclass
class HandPoseConfig:
    """crop_size: pose-net input side, pixels (the size it was trained at).
    detection_threshold: detector score to accept a hand; max_hands: per frame.
    tracking_confidence: mean joint confidence to keep cropping from the last keypoints.
    detection_interval: frames between detector runs while every hand is tracked.
    min_hand_confidence: mean joint confidence to publish a hand at all.
    mirrored: the image is mirrored (selfie view): swap left and right.
    smoothing, min_cutoff (Hz), beta: one-euro filter on the joints (beta in 1/m for 3D)."""

    crop_size: int = 96
    detection_threshold: float = 0.3
    max_hands: int = 2
    tracking_confidence: float = 0.35
    detection_interval: int = 10
    min_hand_confidence: float = 0.2
    mirrored: bool = False
    smoothing: bool = True
    min_cutoff: float = 1.5
    beta: float = 20.0


class HandPosePipeline:
    """The native ``FramePipeline`` for hands: this project's detector and 2.5D network."""

    def __init__(
        self, estimator: CropPoseEstimator, detector, config: HandPoseConfig | None = None
    ):
        """``detector`` has ``detect(frames, score_threshold, max_hands) -> [[Detection]]``."""
        self.estimator, self.detector = estimator, detector
        self.config = config or HandPoseConfig()
        self.smoother = HandTrackSmoother(self.config.min_cutoff, self.config.beta)
        self.reset()

    def reset(self) -> None:
        """Forget every track (e.g. after a camera switch)."""
        self.tracker = HandTracker(
            confidence_threshold=self.config.tracking_confidence,
            detection_interval=self.config.detection_interval,
        )
        self.smoother.clear()

    def process(
        self, rgb: np.ndarray, camera: PinholeCamera | CameraModel, time_s: float
    ) -> FrameResult:
        """See ``FramePipeline.process``."""
        model = check_frame(rgb, camera)
        height, width = rgb.shape[:2]
        plan = self.tracker.plan(width, height)
        crops = dict(plan.crops)
        if plan.needs_detection:
            detections = self.detector.detect(
                [rgb], self.config.detection_threshold, self.config.max_hands
            )[0]
            crops.update(self.tracker.match(detections))
        result = FrameResult(detector_ran=plan.needs_detection)
        if crops:
            result.hands, result.drops = self._estimate(rgb, model, crops, time_s)
        live = {track.track_id for track in self.tracker.end_frame()}
        self.smoother.keep_only(live)
        # Two detections of one hand converge on it; the tracker merges them (the older id
        # survives), and the copy is not published: one hand is one message entry.
        result.drops += ["duplicate"] * sum(hand.track_id not in live for hand in result.hands)
        result.hands = [hand for hand in result.hands if hand.track_id in live]
        return result

    def _estimate(
        self, rgb, model: CameraModel, crops: dict[int, CropBox], time_s: float
    ) -> tuple[list[HandEstimate], list[str]]:
        size = self.config.crop_size
        ids = list(crops)
        cut = [crop_and_resize(rgb, model.raw, crops[i], size) for i in ids]
        poses = self.estimator(np.stack([c[0] for c in cut]), np.stack([c[1].matrix for c in cut]))
        pixels = np.stack(
            [crop_to_frame(poses.uv[row], crops[i], size) for row, i in enumerate(ids)]
        )
        joints = poses.joints_3d
        if not model.is_ideal:  # a distorted camera: lift where the ideal camera sees the joints
            ideal = np.broadcast_to(model.camera.matrix, (len(ids), 3, 3))
            joints = self.estimator.lift(model.undistort(pixels), poses.depth, ideal)
        hands, drops = [], []
        for row, track_id in enumerate(ids):
            joints_3d, joints_2d = joints[row], pixels[row]
            confidence = np.clip(poses.confidence[row], 0.0, 1.0)
            if not (
                np.all(np.isfinite(joints_3d))
                and np.all(np.isfinite(joints_2d))
                and np.all(np.isfinite(confidence))
            ):
                drops.append("non_finite_output")
                continue
            if not plausible_position(joints_3d):  # behind the camera or kilometres away
                drops.append(IMPLAUSIBLE_DEPTH)
                continue
            score = float(confidence.mean())
            track = self.tracker.update(
                track_id, joints_2d, score, float(poses.left_probability[row])
            )
            if score < self.config.min_hand_confidence:
                drops.append("low_confidence")
                continue
            if self.config.smoothing:
                joints_3d, joints_2d = self.smoother(track_id, joints_3d, joints_2d, time_s)
            box = crops[track_id]
            hands.append(
                HandEstimate(
                    joints_3d=joints_3d,
                    joints_2d=joints_2d,
                    joint_confidence=confidence,
                    handedness=OTHER_SIDE[track.handedness]
                    if self.config.mirrored
                    else track.handedness,
                    handedness_score=track.handedness_score,
                    score=score,
                    track_id=track_id,
                    roi=(box.x0, box.y0, box.side, box.side),
                )
            )
        return hands, drops

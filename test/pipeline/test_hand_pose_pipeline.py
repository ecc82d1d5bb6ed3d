"""HandPosePipeline logic with a scripted detector and estimator (the real ones are tested
elsewhere)."""

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.models.detector import Detection
from handperception.pipeline.hand_pose import HandPoseConfig, HandPosePipeline
from handperception.pipeline.interface import FramePipeline
from handperception.pipeline.pose_estimator import CropPoses
from handperception.results import plausible_position

CAMERA = PinholeCamera.from_fov(320, 240, 60.0)
FRAME = np.zeros((240, 320, 3), np.uint8)


class ScriptedDetector:
    def __init__(self):
        self.calls = 0

    def detect(self, frames, score_threshold, max_hands):
        self.calls += 1
        return [[Detection(np.array([100.0, 80.0, 180.0, 160.0]), 0.9, "right", 0.9)]]


class ScriptedEstimator:
    """Answers a hand filling the middle of the crop, with chosen confidence and handedness."""

    def __init__(self, confidence=0.9, p_left=0.1, nan=False, offset=(0.0, 0.0, 0.0)):
        self.confidence, self.p_left, self.nan = confidence, p_left, nan
        self.offset = np.array(offset)  # added to the joints, which are at z = 0.5 m

    def __call__(self, crops, intrinsics):
        batch, size = len(crops), crops.shape[1]
        uv = np.tile(np.linspace(0.3, 0.7, 21)[:, None] * size, (batch, 1, 2))
        joints = np.tile(
            np.c_[np.linspace(-0.05, 0.05, 21), np.zeros(21), np.full(21, 0.5)], (batch, 1, 1)
        )
        joints += self.offset
        if self.nan:
            joints[:, 3, 0] = np.nan
        return CropPoses(
            joints,
            uv,
            np.full((batch, 21), self.confidence),
            np.full(batch, self.p_left),
            np.zeros((batch, 21)),
        )


def test_detects_once_then_tracks_with_a_stable_id():
    detector = ScriptedDetector()
    pipeline = HandPosePipeline(
        ScriptedEstimator(), detector, HandPoseConfig(crop_size=32, smoothing=False)
    )
    first = pipeline.process(FRAME, CAMERA, 0.0)
    second = pipeline.process(FRAME, CAMERA, 0.033)
    assert first.detector_ran and not second.detector_ran and detector.calls == 1
    assert [h.track_id for h in first.hands] == [h.track_id for h in second.hands] == [0]
    hand = second.hands[0]
    # Detector and pose net both say right at 0.9 (log-odds -2.197): the track holds
    # -2.197 (detection) -> 0.8 x -2.197 - 2.197 = -3.955 (frame 1)
    # -> 0.8 x -3.955 - 2.197 = -5.361.
    assert first.hands[0].handedness_score == pytest.approx(1 / (1 + np.exp(-3.955)), abs=1e-4)
    assert hand.handedness == "right" and hand.handedness_score == pytest.approx(
        1 / (1 + np.exp(-5.361)), abs=1e-4
    )
    # 2D comes back in frame pixels, inside the tracked crop
    assert np.all(hand.joints_2d >= [hand.roi[0] - 0.5, hand.roi[1] - 0.5])
    assert np.all(hand.joints_2d <= [hand.roi[0] + hand.roi[2], hand.roi[1] + hand.roi[3]])


def test_mirrored_camera_swaps_handedness():
    pipeline = HandPosePipeline(
        ScriptedEstimator(p_left=0.2),
        ScriptedDetector(),
        HandPoseConfig(crop_size=32, mirrored=True),
    )
    assert pipeline.process(FRAME, CAMERA, 0.0).hands[0].handedness == "left"


def test_uncertain_hands_are_not_published_and_trigger_detection():
    detector = ScriptedDetector()
    pipeline = HandPosePipeline(
        ScriptedEstimator(confidence=0.1), detector, HandPoseConfig(crop_size=32)
    )
    first = pipeline.process(FRAME, CAMERA, 0.0)
    second = pipeline.process(FRAME, CAMERA, 0.033)
    assert first.hands == [] and first.drops == ["low_confidence"]
    assert second.detector_ran and detector.calls == 2


def test_non_finite_network_output_is_dropped_never_published():
    pipeline = HandPosePipeline(
        ScriptedEstimator(nan=True), ScriptedDetector(), HandPoseConfig(crop_size=32)
    )
    result = pipeline.process(FRAME, CAMERA, 0.0)
    assert result.hands == [] and result.drops == ["non_finite_output"]


@pytest.mark.parametrize(
    "offset, published",
    [
        ((0.0, 0.0, 0.0), True),  # z = 0.5 m
        ((0.0, 0.0, -0.5), False),  # z = 0: on the camera
        ((0.0, 0.0, -1.0), False),  # z = -0.5 m: behind it
        ((0.0, 0.0, 19.4), True),  # 19.9 m ahead: the farthest joint at 19.90006 m
        ((0.0, 0.0, 19.6), False),  # 20.1 m
        ((20.0, 0.0, 0.0), False),  # in front, the farthest joint 20.056 m away
    ],
)
def test_hands_behind_the_camera_or_too_far_are_dropped_never_published(offset, published):
    pipeline = HandPosePipeline(
        ScriptedEstimator(offset=offset), ScriptedDetector(), HandPoseConfig(crop_size=32)
    )
    result = pipeline.process(FRAME, CAMERA, 0.0)
    assert len(result.hands) == int(published)
    assert result.drops == ([] if published else ["implausible_depth"])


def test_plausible_positions():
    assert plausible_position([[0.0, 0.0, 1e-9], [12.0, 0.0, 16.0]])  # 20 m exactly
    assert not plausible_position([[0.0, 0.0, 1.0], [12.0, 0.0, 16.0001]])
    assert not plausible_position([[0.0, 0.0, 0.0]])
    assert not plausible_position([[0.0, 0.0, np.nan]])
    assert not plausible_position([[0.0, 0.0, np.inf]])


def test_declares_the_frame_pipeline_interface_and_refuses_bad_frames():
    pipeline = HandPosePipeline(
        ScriptedEstimator(), ScriptedDetector(), HandPoseConfig(crop_size=32)
    )
    assert isinstance(pipeline, FramePipeline)
    with pytest.raises(ValueError, match="uint8"):
        pipeline.process(FRAME.astype(np.float32), CAMERA, 0.0)
    with pytest.raises(ValueError, match="camera is 160x120 but the image is 320x240"):
        pipeline.process(FRAME, CAMERA.resize(160, 120), 0.0)


class TwiceDetector:
    """Two detections of the same hand, a few pixels apart (two heatmap peaks on one hand)."""

    def detect(self, frames, score_threshold, max_hands):
        boxes = ([100.0, 80.0, 180.0, 160.0], [104.0, 82.0, 184.0, 162.0])
        return [[Detection(np.array(box), 0.9, "right", 0.9) for box in boxes]]


def test_two_detections_of_one_hand_publish_one_hand_and_count_a_duplicate():
    pipeline = HandPosePipeline(ScriptedEstimator(), TwiceDetector(), HandPoseConfig(crop_size=32))
    result = pipeline.process(FRAME, CAMERA, 0.0)
    assert [hand.track_id for hand in result.hands] == [0] and result.drops == ["duplicate"]
    assert [track.track_id for track in pipeline.tracker.tracks] == [0]

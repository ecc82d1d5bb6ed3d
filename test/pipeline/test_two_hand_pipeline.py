"""The two-hand pipeline's mechanics with an untrained network and a scripted detector: where it
crops, when the detector runs, slots to handedness, labels back into the frame, mirroring."""

import numpy as np
import pytest
import torch

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.crops import CropBox
from handperception.models import digit
from handperception.models.detector import Detection
from handperception.models.digit import TwoHandNet
from handperception.pipeline import two_hand_pose
from handperception.pipeline.two_hand_pose import (
    TwoHandPoseConfig,
    TwoHandPosePipeline,
    _paste_labels,
    _sides,
)

CAMERA = PinholeCamera.from_fov(320, 240, 60)
# Everything the untrained network says is reported: presence and confidence thresholds at 0.
EVERYTHING = dict(presence_threshold=0.0, min_hand_confidence=0.0, tracking_confidence=0.0)


class ScriptedDetector:
    def __init__(self, boxes):
        self.boxes, self.calls = boxes, 0

    def detect(self, frames, score_threshold, max_hands):
        self.calls += 1
        assert max_hands == 2
        return [[Detection(np.array(b, float), 0.9, "left", 0.9) for b in self.boxes]]


def _pipeline(boxes, **config):
    torch.manual_seed(0)
    detector = ScriptedDetector(boxes)
    pipeline = TwoHandPosePipeline(
        TwoHandNet(), detector, TwoHandPoseConfig(crop_size=64, smoothing=False, **config)
    )
    return pipeline, detector


def _frame():
    return np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)


def test_no_detection_no_hands_and_an_empty_label_image():
    pipeline, detector = _pipeline([], **EVERYTHING)
    result = pipeline.process(_frame(), CAMERA, 0.0)
    assert result.hands == [] and result.detector_ran and detector.calls == 1
    assert result.segmentation.shape == (240, 320) and not result.segmentation.any()


def test_one_crop_around_both_detections_and_hands_by_slot():
    pipeline, _ = _pipeline([[100, 80, 140, 130], [150, 90, 200, 140]], **EVERYTHING)
    result = pipeline.process(_frame(), CAMERA, 0.0)
    # A person has one hand of each side; the id is the side (0 left, 1 right).
    assert sorted((h.handedness, h.track_id) for h in result.hands) == [("left", 0), ("right", 1)]
    x, y, w, h = result.hands[0].roi
    assert w == h and x <= 100 and y <= 80 and x + w >= 200 and y + h >= 140
    outside = np.ones((240, 320), bool)
    outside[max(y, 0) : y + h, max(x, 0) : x + w] = False
    assert not result.segmentation[outside].any()
    for hand in result.hands:
        assert np.all(np.isfinite(hand.joints_3d)) and np.all(hand.joints_3d[:, 2] > 0)


def test_the_detector_runs_again_only_when_due():
    pipeline, detector = _pipeline([[100, 80, 200, 140]], detection_interval=3, **EVERYTHING)
    ran = [pipeline.process(_frame(), CAMERA, i / 30).detector_ran for i in range(6)]
    assert ran == [True, False, False, True, False, False] and detector.calls == 2


def test_low_presence_hands_are_not_reported_nor_segmented_and_tracking_stops():
    pipeline, detector = _pipeline([[100, 80, 200, 140]], presence_threshold=1.0)
    for i in range(3):
        result = pipeline.process(_frame(), CAMERA, i / 30)
        assert result.hands == [] and not result.segmentation.any()
    assert detector.calls == 3


def test_hands_far_apart_are_not_cropped_together():
    pipeline, _ = _pipeline([[10, 10, 40, 40], [280, 200, 310, 230]], **EVERYTHING)
    x, y, side, _ = pipeline.process(_frame(), CAMERA, 0.0).hands[0].roi
    assert x + side < 100 and y + side < 100  # around the first (best-scoring) hand only


def test_two_hands_called_the_same_side_are_one_of_each():
    both = np.array([True, True])
    assert _sides(np.array([0.9, 0.2]), both) == (["left", "right"], [0.9, 0.8])
    sides, scores = _sides(np.array([0.9, 0.6]), both)  # the less sure one is the right hand
    assert sides == ["left", "right"] and scores == pytest.approx([0.9, 0.4])
    # A lone hand keeps its call, however the empty slot's answer reads.
    assert _sides(np.array([0.3, 0.1]), np.array([True, False]))[0][0] == "right"


def _scripted_slots(monkeypatch, left_probability, presence=(1.0, 1.0)):
    """The untrained network's hands (finite, liftable) with scripted slots: its labels index
    finger of slot 0 (3) on the crop's left half and of slot 1 (9) on the right, its sides
    (P(left) per slot) and presence as given."""

    def predict(model, crops, device):
        prediction = digit.predict_crops(model, crops, device)
        half = crops.shape[2] // 2
        prediction.labels[:, :, :half], prediction.labels[:, :, half:] = 3, 9
        prediction.left_probability[0] = left_probability
        prediction.presence[0] = presence
        return prediction

    monkeypatch.setattr(two_hand_pose, "predict_crops", predict)


def _labels_left_to_right(segmentation):
    """The distinct labels of the segmentation, in the order they first appear from the left."""
    columns = [np.unique(column[column > 0]) for column in segmentation.T]
    return list(dict.fromkeys(int(label) for column in columns for label in column))


@pytest.mark.parametrize(
    "mirrored, published, labels",
    [
        # Slot 0 (the left of the crop) called right: its parts become the right hand's (8-12).
        (False, [("right", 1), ("left", 0)], [9, 3]),
        # Mirrored, the same slot is the person's left hand: its parts stay the left's.
        (True, [("left", 0), ("right", 1)], [3, 9]),
    ],
)
def test_slot_labels_are_published_by_the_sides_of_their_hands(
    monkeypatch, mirrored, published, labels
):
    _scripted_slots(monkeypatch, left_probability=(0.1, 0.9))
    pipeline, _ = _pipeline([[100, 80, 200, 140]], mirrored=mirrored, **EVERYTHING)
    result = pipeline.process(_frame(), CAMERA, 0.0)
    assert [(h.handedness, h.track_id) for h in result.hands] == published
    assert _labels_left_to_right(result.segmentation) == labels


def test_the_parts_of_a_slot_not_published_are_background(monkeypatch):
    _scripted_slots(monkeypatch, left_probability=(0.1, 0.9), presence=(1.0, 0.0))
    pipeline, _ = _pipeline([[100, 80, 200, 140]], **{**EVERYTHING, "presence_threshold": 0.5})
    result = pipeline.process(_frame(), CAMERA, 0.0)
    assert [h.handedness for h in result.hands] == ["right"]
    assert _labels_left_to_right(result.segmentation) == [9]


def test_labels_pasted_across_the_frame_border_are_clipped():
    frame = np.zeros((10, 10), np.uint8)
    _paste_labels(frame, np.full((4, 4), 5, np.uint8), CropBox(-4, 6, 8))
    assert frame[6:, :4].tolist() == [[5] * 4] * 4 and frame.sum() == 5 * 16


def test_wrong_frames_are_refused():
    pipeline, _ = _pipeline([])
    with pytest.raises(ValueError, match="uint8"):
        pipeline.process(_frame().astype(np.float32), CAMERA, 0.0)
    with pytest.raises(ValueError, match="camera is"):
        pipeline.process(_frame()[:100], CAMERA, 0.0)

"""Crop boxes, crop cameras, crop <-> frame mapping and the hand tracker (geometry.crops,
pipeline.tracking)."""

from types import SimpleNamespace

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.crops import (
    DETECTION_BOX_PADDING,
    CropBox,
    box_from_detection,
    box_from_keypoints,
    box_iou,
    crop_and_resize,
    crop_to_frame,
    frame_to_crop,
    keypoint_bbox,
    scale_box,
    square_box,
)
from handperception.pipeline.tracking import HandTracker

CAMERA = PinholeCamera(200.0, 210.0, 79.5, 59.5, 160, 120)


def hand_at(cx: float, cy: float, half: float = 10.0) -> np.ndarray:
    """(21, 2) keypoints filling the square [cx - half, cx + half] x [cy - half, cy + half]."""
    t = np.linspace(-half, half, 21)
    return np.stack([cx + t, cy + t[::-1]], axis=1)


def detection(box, side="left", score=0.9, side_score=0.9):
    return SimpleNamespace(
        box_xyxy=np.asarray(box, dtype=float),
        score=score,
        handedness=side,
        handedness_score=side_score,
    )


def test_keypoint_bbox_scale_and_iou():
    box = keypoint_bbox(np.array([[10.0, 20.0], [30.0, 25.0], [15.0, 40.0]]))
    np.testing.assert_allclose(box, [10, 20, 30, 40])
    np.testing.assert_allclose(scale_box(box, 1.5), [5, 15, 35, 45])
    # Two 10x10 squares overlapping in a 5x10 strip: 50 / (100 + 100 - 50).
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [20, 20, 30, 30]]))
    np.testing.assert_allclose(iou, [[1 / 3, 0.0]])


def test_square_box_centre_side_and_minimum():
    # Keypoint box 40 x 20 centred on (50, 60); 1.3x the longer side = 52 pixels.
    box = square_box(np.array([30.0, 50.0, 70.0, 70.0]), scale=1.3, min_side=10)
    assert box.side == 52
    np.testing.assert_allclose((box.xyxy[:2] + box.xyxy[2:]) / 2, [50.0, 60.0], atol=0.5)
    assert square_box(np.array([0.0, 0.0, 4.0, 4.0]), scale=1.0, min_side=32).side == 32
    # A detector box is the keypoint box padded by DETECTION_BOX_PADDING: same crop either way.
    keypoints = hand_at(80.0, 60.0, 20.0)
    from_detection = box_from_detection(scale_box(keypoint_bbox(keypoints), DETECTION_BOX_PADDING))
    assert from_detection == box_from_keypoints(keypoints)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="NaN"):
        keypoint_bbox(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="negative size"):
        square_box(np.array([10.0, 0.0, 0.0, 10.0]))
    with pytest.raises(ValueError, match="side"):
        CropBox(0, 0, 0)
    with pytest.raises(ValueError, match="camera is"):
        crop_and_resize(np.zeros((100, 100, 3), np.uint8), CAMERA, CropBox(0, 0, 10), 8)
    with pytest.raises(ValueError, match="confidence"):
        HandTracker(confidence_threshold=1.5)


def test_crop_frame_mapping_round_trip_and_corners():
    box = CropBox(-7, 13, 50)
    # Crop pixel centres (0, 0) and (99, 99) of a 100-pixel crop sit a quarter pixel inside the
    # box edges.
    np.testing.assert_allclose(
        crop_to_frame(np.array([[0.0, 0.0], [99.0, 99.0]]), box, 100),
        [[-7.25, 12.75], [42.25, 62.25]],
    )
    points = np.random.default_rng(0).uniform(-20, 80, size=(5, 21, 2))
    np.testing.assert_allclose(
        crop_to_frame(frame_to_crop(points, box, 128), box, 128), points, atol=1e-9
    )


@pytest.mark.parametrize(
    "box", [CropBox(50, 30, 40), CropBox(-15, 70, 64)], ids=["inside", "partly-outside"]
)
def test_crop_camera_matches_crop_pixels(box):
    """A bright blob at a 3D point's projection lands where the crop camera projects that point."""
    point = np.array([0.012, 0.0, 0.6]) if box.x0 >= 0 else np.array([-0.18, 0.07, 0.5])
    u, v = CAMERA.project(point)
    ys, xs = np.mgrid[0:120, 0:160]
    blob = np.exp(-((xs - u) ** 2 + (ys - v) ** 2) / (2 * 1.5**2))
    image = np.repeat((blob * 250).astype(np.uint8)[..., None], 3, axis=2)
    crop, crop_camera = crop_and_resize(image, CAMERA, box, 96)
    assert crop.shape == (96, 96, 3) and crop.dtype == np.uint8
    weights = crop[..., 0].astype(float)
    centroid = (
        np.array([(weights * np.arange(96)[None]).sum(), (weights * np.arange(96)[:, None]).sum()])
        / weights.sum()
    )
    expected = crop_camera.project(point)
    np.testing.assert_allclose(centroid, expected, atol=0.15)
    np.testing.assert_allclose(crop_to_frame(expected, box, 96), [u, v], atol=1e-9)


def test_crop_outside_the_frame_is_zero():
    # Box columns -15..-1 and rows 120..133 lie off the 160x120 frame; at 96/64 = 1.5 crop pixels
    # per frame pixel that is crop columns < 22.5 and rows > 74.5 (one pixel of blending each).
    crop, _ = crop_and_resize(np.full((120, 160), 255, np.uint8), CAMERA, CropBox(-15, 70, 64), 96)
    assert crop.shape == (96, 96)
    assert crop[:, :22].max() == 0 and crop[76:].max() == 0
    assert crop[:74, 24:].min() == 255


def test_tracker_ids_stay_stable_and_detector_runs_only_when_needed():
    tracker = HandTracker(detection_interval=5)
    plan = tracker.plan(640, 480)
    assert plan.crops == {} and plan.needs_detection
    crops = tracker.match(
        [detection([100, 100, 160, 160], "left"), detection([400, 200, 470, 270], "right")]
    )
    assert sorted(crops) == [0, 1]
    tracker.update(0, hand_at(130, 130, 25), 0.9)
    tracker.update(1, hand_at(435, 235, 30), 0.8)
    assert [t.track_id for t in tracker.end_frame()] == [0, 1]
    for shift in range(1, 4):
        plan = tracker.plan(640, 480)
        assert sorted(plan.crops) == [0, 1] and not plan.needs_detection
        # Crop around the moved keypoints: centred on them, 1.5x their 50-pixel extent.
        assert plan.crops[0].side == 75
        tracker.update(0, hand_at(130 + 5 * shift, 130, 25), 0.9)
        tracker.update(1, hand_at(435, 235 + 5 * shift, 30), 0.8)
        tracker.end_frame()
    np.testing.assert_allclose(tracker.tracks[0].keypoints.mean(axis=0), [145, 130])
    assert {t.track_id: t.handedness for t in tracker.tracks} == {0: "left", 1: "right"}
    # Five frames after the last detection the detector runs again, to find new hands; a
    # detection on a tracked hand does not start a new track or re-crop it, a new one does.
    tracker.plan(640, 480)
    tracker.update(0, hand_at(150, 130, 25), 0.9)
    tracker.update(1, hand_at(435, 255, 30), 0.8)
    tracker.end_frame()
    plan = tracker.plan(640, 480)
    assert plan.needs_detection
    crops = tracker.match([detection([124, 104, 181, 161]), detection([20, 300, 80, 360], "right")])
    assert list(crops) == [2]
    assert sorted(t.track_id for t in tracker.tracks) == [0, 1, 2]


def test_tracker_redetects_low_confidence_and_leaving_hands():
    tracker = HandTracker(confidence_threshold=0.5)
    tracker.plan(640, 480)
    tracker.match([detection([100, 100, 160, 160]), detection([500, 100, 560, 160], "right")])
    tracker.update(0, hand_at(130, 130, 25), 0.2)  # unsure pose
    tracker.update(1, hand_at(630, 130, 25), 0.9)  # keypoints run off the right edge
    tracker.end_frame()
    plan = tracker.plan(640, 480)
    assert plan.crops == {} and plan.needs_detection
    crops = tracker.match([detection([108, 100, 168, 160], "right")])
    assert list(crops) == [0]
    assert crops[0] == box_from_detection(np.array([108.0, 100, 168, 160]))
    # Left at 0.9 (log-odds 2.197) then right at 0.9: 0.8 * 2.197 - 2.197 < 0, the newer
    # evidence wins.
    assert tracker.tracks[0].handedness == "right"
    with pytest.raises(ValueError, match="not cropped"):
        tracker.update(1, hand_at(630, 130, 25), 0.9)


def test_tracker_drops_stale_and_duplicate_tracks():
    tracker = HandTracker(max_missed=2, iou_threshold=0.3, duplicate_iou=0.6)
    tracker.plan(640, 480)
    tracker.match([detection([100, 100, 160, 160])])
    tracker.update(0, hand_at(130, 130, 25), 0.9)
    tracker.end_frame()
    # The hand vanishes: no pose update; kept for max_missed frames, then dropped.
    for missed in (1, 2):
        tracker.plan(640, 480)
        assert [t.missed for t in tracker.end_frame()] == [missed]
    tracker.plan(640, 480)
    assert tracker.end_frame() == []
    # Two tracks that converge on one hand merge into the older one.
    tracker.plan(640, 480)
    tracker.match([detection([100, 100, 160, 160]), detection([300, 100, 360, 160])])
    tracker.update(1, hand_at(130, 130, 25), 0.9)
    tracker.update(2, hand_at(131, 130, 25), 0.9)
    assert [t.track_id for t in tracker.end_frame()] == [1]


def test_a_track_weighs_its_handedness_evidence_over_frames():
    tracker = HandTracker()
    tracker.plan(640, 480)
    tracker.match([detection([100, 100, 160, 160], "left", side_score=0.8)])
    track = tracker.update(0, hand_at(130, 130, 25), 0.9, left_probability=0.8)
    # log(0.8 / 0.2) = 1.3863 per observation; the second adds to 0.8 x the first.
    assert track.left_evidence == pytest.approx(1.3863 * 1.8, abs=1e-4)
    assert track.handedness == "left" and track.handedness_score == pytest.approx(
        1 / (1 + np.exp(-2.4953)), abs=1e-4
    )
    # One frame saying right at 0.7 (log-odds -0.8473) does not flip the track ...
    tracker.end_frame()
    tracker.plan(640, 480)
    tracker.update(0, hand_at(130, 130, 25), 0.9, left_probability=0.3)
    assert (
        track.left_evidence == pytest.approx(0.8 * 2.4953 - 0.8473, abs=1e-4)
        and track.handedness == "left"
    )
    # ... a sure one does.
    tracker.end_frame()
    tracker.plan(640, 480)
    tracker.update(0, hand_at(130, 130, 25), 0.9, left_probability=0.05)
    assert track.handedness == "right"
    with pytest.raises(ValueError, match="left_probability"):
        track.observe_handedness(1.5)

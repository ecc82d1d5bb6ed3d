"""Crop boxes, crop cameras and per-hand tracks between the hand detector and the pose network.

Why here and pure numpy: the pose net sees hand-centred square crops, and its 2.5D output only
lifts to metric 3D if the crop's intrinsics are exact, so cropping, resizing and the pixel
mapping back to the frame must all follow one convention (geometry.camera: pixel centres at
integer coordinates, pixel i covers [i - 0.5, i + 0.5]). Crops use whole-pixel boxes so the
crop is an exact pixel copy before a centre-aligned resize, which is what
``PinholeCamera.crop``/``resize`` model. The tracker decides per frame which hands can be cropped
from their previous keypoints and when the (slower) detector must run.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from handperception.geometry.camera import PinholeCamera

# The detector's boxes are the hand's keypoint bounding box scaled by this about its centre
# (the keypoints are joint centres; the skin reaches a bit beyond them).
DETECTION_BOX_PADDING = 1.15
# Crops around previous keypoints: the keypoint box's longer side times this. It matches how the
# training crops are framed (the hand's silhouette fills 60-85 % of them) and leaves room for
# motion; measured on the synthetic camera's sequences, 1.5 against 1.3: 2D error 14-16 px
# instead of 14-22 px, and the detector needed on 18-52 % of frames instead of 83-100 %.
KEYPOINT_CROP_SCALE = 1.5
# Smallest crop side in frame pixels; a tiny far hand is better upsampled from some context.
MIN_CROP_SIDE = 32
HANDEDNESS = ("left", "right")
# How much of a track's handedness evidence carries over to the next observation: single frames
# may guess wrong (a side view, a fist), a hand does not change sides, but a track that jumped to
# the other hand must be able to follow within a few frames.
HANDEDNESS_MEMORY = 0.8
_LOG_ODDS_LIMIT = 7.0  # one observation never counts for more than P = 0.999


@dataclass(frozen=True)
class CropBox:
    """A square crop of `side` whole pixels whose top-left pixel is (x0, y0), frame pixels.

    May reach outside the frame; those pixels are zeros in the crop.
    """

    x0: int
    y0: int
    side: int

    def __post_init__(self) -> None:
        if self.side <= 0:
            raise ValueError(f"crop side must be positive, got {self.side}")

    @property
    def xyxy(self) -> np.ndarray:
        """(4,) the covered area's edges (x_min, y_min, x_max, y_max), frame pixels."""
        return np.array([self.x0 - 0.5, self.y0 - 0.5, self.x0 + self.side - 0.5, self.y0 + self.side - 0.5])


def _check_points(points: np.ndarray, name: str) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim < 1 or points.shape[-1] != 2:
        raise ValueError(f"{name} must have shape (..., 2), got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return points


def _check_box(box_xyxy: np.ndarray) -> np.ndarray:
    box = np.asarray(box_xyxy, dtype=np.float64)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        raise ValueError(f"box must be 4 finite values (x_min, y_min, x_max, y_max), got {box_xyxy!r}")
    if box[2] < box[0] or box[3] < box[1]:
        raise ValueError(f"box has negative size: {box_xyxy!r}")
    return box


def keypoint_bbox(keypoints: np.ndarray) -> np.ndarray:
    """(J, 2) pixels -> (4,) their bounding box (x_min, y_min, x_max, y_max)."""
    points = _check_points(keypoints, "keypoints")
    if points.ndim != 2 or len(points) == 0:
        raise ValueError(f"keypoints must be a non-empty (J, 2) array, got {points.shape}")
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


def scale_box(box_xyxy: np.ndarray, factor: float) -> np.ndarray:
    """(4,) box scaled by `factor` about its centre."""
    box = _check_box(box_xyxy)
    if not factor > 0:
        raise ValueError(f"scale factor must be positive, got {factor}")
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2 * factor
    return np.concatenate([centre - half, centre + half])


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) and (M, 4) xyxy boxes -> (N, M) intersection over union (0 for empty boxes)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    low = np.maximum(a[:, None, :2], b[None, :, :2])
    high = np.minimum(a[:, None, 2:], b[None, :, 2:])
    intersection = np.prod(np.clip(high - low, 0.0, None), axis=-1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=-1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=-1)
    union = area_a[:, None] + area_b[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(union), where=union > 0)


def square_box(box_xyxy: np.ndarray, scale: float = 1.0, min_side: int = MIN_CROP_SIDE) -> CropBox:
    """The whole-pixel square crop centred on a box, side = longer side * scale (>= min_side)."""
    box = _check_box(box_xyxy)
    if not scale > 0 or min_side < 1:
        raise ValueError(f"need scale > 0 and min_side >= 1, got {scale}, {min_side}")
    side = max(int(min_side), int(round(float(np.max(box[2:] - box[:2])) * scale)))
    centre = (box[:2] + box[2:]) / 2
    # A crop starting at pixel x0 covers [x0 - 0.5, x0 + side - 0.5]: its centre is x0 + (side - 1) / 2.
    x0, y0 = np.round(centre - (side - 1) / 2).astype(int)
    return CropBox(int(x0), int(y0), side)


def box_from_keypoints(keypoints: np.ndarray, scale: float = KEYPOINT_CROP_SCALE, min_side: int = MIN_CROP_SIDE) -> CropBox:
    """Crop around (J, 2) previous-frame keypoints, frame pixels."""
    return square_box(keypoint_bbox(keypoints), scale, min_side)


def box_from_detection(
    box_xyxy: np.ndarray, scale: float = KEYPOINT_CROP_SCALE / DETECTION_BOX_PADDING, min_side: int = MIN_CROP_SIDE
) -> CropBox:
    """Crop around a detector box; the default scale gives the same crop as from the keypoints."""
    return square_box(box_xyxy, scale, min_side)


def crop_to_frame(points: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """(..., 2) pixels of a size x size crop of `box` -> (..., 2) frame pixels."""
    points = _check_points(points, "crop points")
    _check_size(size)
    return (points + 0.5) * (box.side / size) - 0.5 + np.array([box.x0, box.y0])


def frame_to_crop(points: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """(..., 2) frame pixels -> (..., 2) pixels of a size x size crop of `box`; inverse of crop_to_frame."""
    points = _check_points(points, "frame points")
    _check_size(size)
    return (points - np.array([box.x0, box.y0]) + 0.5) * (size / box.side) - 0.5


def crop_and_resize(image: np.ndarray, camera: PinholeCamera, box: CropBox, size: int) -> tuple[np.ndarray, PinholeCamera]:
    """Cut `box` out of `image` (zeros outside the frame) and resize it to size x size.

    Args:
        image: (H, W) or (H, W, C) frame; camera its intrinsics (W x H).
        box: the square crop, frame pixels.
        size: output side in pixels.
    Returns:
        the (size, size[, C]) crop, same dtype, and the PinholeCamera that took it: a 3D point
        projects through it to where its image is in the crop, so 2.5D lifting stays metric.
    """
    image = np.asarray(image)
    _check_size(size)
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image must be (H, W) or (H, W, C), got {image.shape}")
    height, width = image.shape[:2]
    if (camera.width, camera.height) != (width, height):
        raise ValueError(f"camera is {camera.width}x{camera.height} but the image is {width}x{height}")
    canvas = np.zeros((box.side, box.side) + image.shape[2:], dtype=image.dtype)
    fx0, fy0 = max(box.x0, 0), max(box.y0, 0)
    fx1, fy1 = min(box.x0 + box.side, width), min(box.y0 + box.side, height)
    if fx1 > fx0 and fy1 > fy0:
        canvas[fy0 - box.y0 : fy1 - box.y0, fx0 - box.x0 : fx1 - box.x0] = image[fy0:fy1, fx0:fx1]
    # cv2.resize maps pixel centres like PinholeCamera.resize; area averaging when shrinking.
    interpolation = cv2.INTER_AREA if box.side > size else cv2.INTER_LINEAR
    crop = cv2.resize(canvas, (size, size), interpolation=interpolation)
    crop_camera = camera.crop(box.x0, box.y0, box.side, box.side).resize(size, size)
    return crop.reshape((size, size) + image.shape[2:]), crop_camera


def _check_size(size: int) -> None:
    if int(size) != size or size < 1:
        raise ValueError(f"crop size must be a positive integer, got {size}")


@dataclass
class Track:
    """One tracked hand.

    keypoints (21, 2) frame pixels from the last pose update (None until the first);
    hand_box (4,) xyxy in the detector's box convention (padded keypoint box), frame pixels;
    confidence in [0, 1] (pose confidence, or the detection score before the first pose update);
    missed: consecutive frames that ended without a pose update; left_evidence: log-odds that it
    is a left hand, every observation added to HANDEDNESS_MEMORY times the previous sum.
    """

    track_id: int
    hand_box: np.ndarray
    confidence: float
    keypoints: np.ndarray | None = None
    missed: int = 0
    left_evidence: float = 0.0

    @property
    def handedness(self) -> str:
        return "left" if self.left_evidence > 0 else "right"

    @property
    def handedness_score(self) -> float:
        """Probability of ``handedness`` in [0.5, 1]."""
        return float(1.0 / (1.0 + np.exp(-abs(self.left_evidence))))

    def observe_handedness(self, left_probability: float) -> None:
        if not 0.0 <= left_probability <= 1.0:
            raise ValueError(f"left_probability must be in [0, 1], got {left_probability}")
        odds = np.log(max(left_probability, 1e-12)) - np.log(max(1.0 - left_probability, 1e-12))
        self.left_evidence = HANDEDNESS_MEMORY * self.left_evidence + float(np.clip(odds, -_LOG_ODDS_LIMIT, _LOG_ODDS_LIMIT))


@dataclass(frozen=True)
class FramePlan:
    """crops: track id -> crop box from its previous keypoints; needs_detection: run the detector."""

    crops: dict[int, CropBox]
    needs_detection: bool


class HandTracker:
    """Per-hand tracks across frames, so the detector runs only when needed.

    Per frame: ``plan(width, height)`` -> crops from previous keypoints for confident tracks whose
    hand is still fully in view, and whether to detect (some track is uncertain or out of view,
    there are no tracks, or `detection_interval` frames passed: new hands must be found too);
    if so ``match(detections)`` -> crops for re-found and new tracks; ``update`` each track with
    the pose net's result; ``end_frame()`` drops tracks without an update for more than
    `max_missed` frames and merges tracks that converged on one hand (the older id survives).
    Detections are anything with ``box_xyxy`` (4,) frame pixels, ``score`` and ``handedness``.
    """

    def __init__(
        self,
        confidence_threshold: float = 0.5,
        iou_threshold: float = 0.3,
        max_missed: int = 2,
        detection_interval: int = 10,
        duplicate_iou: float = 0.6,
        min_side: int = MIN_CROP_SIDE,
    ) -> None:
        fractions = {"confidence_threshold": confidence_threshold, "iou_threshold": iou_threshold, "duplicate_iou": duplicate_iou}
        for name, value in fractions.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if max_missed < 0 or detection_interval < 1 or min_side < 1:
            raise ValueError(
                "need max_missed >= 0, detection_interval >= 1, min_side >= 1; "
                f"got {max_missed}, {detection_interval}, {min_side}"
            )
        self.confidence_threshold, self.iou_threshold = confidence_threshold, iou_threshold
        self.max_missed, self.detection_interval = max_missed, detection_interval
        self.duplicate_iou, self.min_side = duplicate_iou, min_side
        self._tracks: dict[int, Track] = {}
        self._next_id = 0
        self._frames_since_detection = detection_interval
        self._cropped: set[int] = set()
        self._updated: set[int] = set()

    @property
    def tracks(self) -> list[Track]:
        return list(self._tracks.values())

    def plan(self, width: int, height: int) -> FramePlan:
        """Start a frame of width x height pixels; see the class docstring."""
        if width <= 0 or height <= 0:
            raise ValueError(f"frame size must be positive, got {width}x{height}")
        crops = {
            track.track_id: box_from_keypoints(track.keypoints, min_side=self.min_side)
            for track in self._tracks.values()
            if track.keypoints is not None
            and track.confidence >= self.confidence_threshold
            and _inside(track.keypoints, width, height)
        }
        self._cropped = set(crops)
        needs_detection = (
            not self._tracks or len(crops) < len(self._tracks) or self._frames_since_detection >= self.detection_interval
        )
        return FramePlan(crops, needs_detection)

    def match(self, detections) -> dict[int, CropBox]:
        """Assign this frame's detections to tracks by IoU; returns crops still to run.

        Greedy by IoU (>= iou_threshold) against every track's hand box. A detection matched to
        a track already cropped from its keypoints adds nothing; one matched to an uncertain or
        lost track re-crops it there; an unmatched one starts a new track.
        """
        self._frames_since_detection = 0
        detections = list(detections)
        tracks = list(self._tracks.values())
        boxes = np.array([_check_box(d.box_xyxy) for d in detections]).reshape(-1, 4)
        iou = box_iou(boxes, np.array([t.hand_box for t in tracks]).reshape(-1, 4))
        matched: dict[int, Track] = {}
        taken: set[int] = set()
        for flat in np.argsort(-iou, axis=None, kind="stable"):
            d, t = (int(i) for i in np.unravel_index(flat, iou.shape))
            if iou[d, t] < self.iou_threshold:
                break
            if d not in matched and t not in taken:
                matched[d] = tracks[t]
                taken.add(t)
        crops: dict[int, CropBox] = {}
        for index, detection in enumerate(detections):
            track = matched.get(index)
            if track is None:
                track = Track(self._next_id, boxes[index], float(detection.score))
                self._tracks[track.track_id] = track
                self._next_id += 1
            elif track.track_id in self._cropped:
                continue
            else:
                track.hand_box = boxes[index]
            track.observe_handedness(_left_probability(detection))
            crops[track.track_id] = box_from_detection(boxes[index], min_side=self.min_side)
            self._cropped.add(track.track_id)
        return crops

    def update(self, track_id: int, keypoints: np.ndarray, confidence: float, left_probability: float | None = None) -> Track:
        """Record the pose net's (21, 2) frame-pixel keypoints, confidence in [0, 1] and, if it
        tells, P(left hand) for a cropped track; returns the track."""
        if track_id not in self._tracks:
            raise ValueError(f"unknown track id {track_id}")
        if track_id not in self._cropped:
            raise ValueError(f"track {track_id} was not cropped this frame (call plan/match first)")
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {confidence}")
        track = self._tracks[track_id]
        box = keypoint_bbox(keypoints)
        track.keypoints = np.array(keypoints, dtype=np.float64)
        track.hand_box = scale_box(box, DETECTION_BOX_PADDING)
        track.confidence = float(confidence)
        if left_probability is not None:
            track.observe_handedness(left_probability)
        track.missed = 0
        self._updated.add(track_id)
        return track

    def end_frame(self) -> list[Track]:
        """Close the frame: age tracks without an update, drop stale and duplicate ones; returns live tracks."""
        for track in list(self._tracks.values()):
            if track.track_id not in self._updated:
                track.missed += 1
                if track.missed > self.max_missed:
                    del self._tracks[track.track_id]
        updated = sorted(i for i in self._updated if i in self._tracks)
        for position, older in enumerate(updated):
            for newer in updated[position + 1 :]:
                if older in self._tracks and newer in self._tracks:
                    overlap = box_iou(self._tracks[older].hand_box, self._tracks[newer].hand_box)[0, 0]
                    if overlap >= self.duplicate_iou:
                        del self._tracks[newer]
        self._frames_since_detection += 1
        self._cropped, self._updated = set(), set()
        return self.tracks


def _inside(keypoints: np.ndarray, width: int, height: int) -> bool:
    """Whether every keypoint lies on the frame (the hand has not started leaving the view)."""
    box = keypoint_bbox(keypoints)
    return bool(box[0] >= -0.5 and box[1] >= -0.5 and box[2] <= width - 0.5 and box[3] <= height - 0.5)


def _left_probability(detection) -> float:
    """P(left) of a detection with ``handedness`` and its probability ``handedness_score``."""
    if detection.handedness not in HANDEDNESS:
        raise ValueError(f"handedness must be one of {HANDEDNESS}, got {detection.handedness!r}")
    score = float(detection.handedness_score)
    return score if detection.handedness == "left" else 1.0 - score

"""Tracks across frames: per-hand tracks for the hand pipeline, box identities for faces.

Why: the detector is the slow step; a hand whose keypoints were confident last frame can be
cropped from them (``geometry.crops.box_from_keypoints``), so the tracker decides per frame which
hands to crop that way and when the detector must run, and keeps each hand's id and handedness
evidence across frames. Faces are found anew every frame (MediaPipe's face mesh tracks them
itself) and only need ids that stay put (``BoxIdentities``); both match boxes by the same greedy
IoU (``greedy_box_matches``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.geometry.crops import (
    DETECTION_BOX_PADDING,
    MIN_CROP_SIDE,
    CropBox,
    box_from_detection,
    box_from_keypoints,
    box_iou,
    check_box,
    keypoint_bbox,
    scale_box,
)

HANDEDNESS = ("left", "right")
# How much of a track's handedness evidence carries over to the next observation: single frames
# may guess wrong (a side view, a fist), a hand does not change sides, but a track that jumped to
# the other hand must be able to follow within a few frames.
HANDEDNESS_MEMORY = 0.8
_LOG_ODDS_LIMIT = 7.0  # one observation never counts for more than P = 0.999


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
        self.left_evidence = HANDEDNESS_MEMORY * self.left_evidence + float(
            np.clip(odds, -_LOG_ODDS_LIMIT, _LOG_ODDS_LIMIT)
        )


@dataclass(frozen=True)
class FramePlan:
    """crops: track id -> crop box from its previous keypoints; needs_detection: run the
    detector."""

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
        fractions = {
            "confidence_threshold": confidence_threshold,
            "iou_threshold": iou_threshold,
            "duplicate_iou": duplicate_iou,
        }
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
            not self._tracks
            or len(crops) < len(self._tracks)
            or self._frames_since_detection >= self.detection_interval
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
        boxes = np.array([check_box(d.box_xyxy) for d in detections]).reshape(-1, 4)
        iou = box_iou(boxes, np.array([t.hand_box for t in tracks]).reshape(-1, 4))
        matched = {d: tracks[t] for d, t in greedy_box_matches(iou, self.iou_threshold).items()}
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

    def identify(self, detections) -> list[int]:
        """Track ids of a frame's hands, in order, for backends that find every hand themselves
        each frame (MediaPipe): the same IoU matching, track ageing and duplicate merging as
        ``match``, with no crops planned from keypoints. ``update`` each hand, then
        ``end_frame``."""
        if self._cropped:
            raise ValueError(
                "identify() is for frames with no planned crops; call end_frame() first"
            )
        return list(self.match(detections))

    def update(
        self,
        track_id: int,
        keypoints: np.ndarray,
        confidence: float,
        left_probability: float | None = None,
    ) -> Track:
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
        """Close the frame: age tracks without an update, drop stale and duplicate ones; returns
        live tracks."""
        for track in list(self._tracks.values()):
            if track.track_id not in self._updated:
                track.missed += 1
                if track.missed > self.max_missed:
                    del self._tracks[track.track_id]
        updated = sorted(i for i in self._updated if i in self._tracks)
        for position, older in enumerate(updated):
            for newer in updated[position + 1 :]:
                if older in self._tracks and newer in self._tracks:
                    overlap = box_iou(self._tracks[older].hand_box, self._tracks[newer].hand_box)[
                        0, 0
                    ]
                    if overlap >= self.duplicate_iou:
                        del self._tracks[newer]
        self._frames_since_detection += 1
        self._cropped, self._updated = set(), set()
        return self.tracks


def greedy_box_matches(iou: np.ndarray, threshold: float) -> dict[int, int]:
    """(N, M) IoU of new boxes against known ones -> {new index: known index}.

    Greedy, highest IoU first, each box used once; pairs below ``threshold`` stay unmatched. (An
    optimal assignment gains nothing here: boxes of one object overlap frame to frame far more
    than boxes of two.)"""
    iou = np.asarray(iou, dtype=np.float64)
    if iou.ndim != 2:
        raise ValueError(f"iou must be an (N, M) matrix, got shape {iou.shape}")
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        new, known = (int(i) for i in np.unravel_index(flat, iou.shape))
        if iou[new, known] < threshold:
            break
        if new not in matched and known not in taken:
            matched[new] = known
            taken.add(known)
    return matched


class BoxIdentities:
    """Ids that stay with an object found anew in every frame (a face), by its box.

    ``assign(boxes)`` matches the frame's (N, 4) xyxy boxes to the boxes of the live ids
    (``greedy_box_matches`` at ``iou_threshold``); a matched id takes the new box, an unmatched
    box gets a new id, and an id unmatched for more than ``max_missed`` frames in a row ends.
    """

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 2) -> None:
        if not 0.0 < iou_threshold <= 1.0 or max_missed < 0:
            raise ValueError(
                f"need 0 < iou_threshold <= 1 and max_missed >= 0, got {iou_threshold}, "
                f"{max_missed}"
            )
        self.iou_threshold, self.max_missed = iou_threshold, max_missed
        self.reset()

    def reset(self) -> None:
        """Forget every id; numbering restarts at 0."""
        self._boxes: dict[int, np.ndarray] = {}
        self._missed: dict[int, int] = {}
        self._next_id = 0

    @property
    def live_ids(self) -> list[int]:
        return list(self._boxes)

    def assign(self, boxes: np.ndarray) -> list[int]:
        """(N, 4) xyxy boxes of this frame -> their N ids, in order."""
        boxes = np.array([check_box(box) for box in np.asarray(boxes).reshape(-1, 4)])
        known = list(self._boxes)
        iou = box_iou(boxes, np.array([self._boxes[i] for i in known]).reshape(-1, 4))
        matches = greedy_box_matches(iou, self.iou_threshold)
        ids = []
        for index, box in enumerate(boxes):
            if index in matches:
                track_id = known[matches[index]]
            else:
                track_id, self._next_id = self._next_id, self._next_id + 1
            self._boxes[track_id], self._missed[track_id] = box, 0
            ids.append(track_id)
        for track_id in set(known) - set(ids):
            self._missed[track_id] += 1
            if self._missed[track_id] > self.max_missed:
                del self._boxes[track_id], self._missed[track_id]
        return ids


def _inside(keypoints: np.ndarray, width: int, height: int) -> bool:
    """Whether every keypoint lies on the frame (the hand has not started leaving the view)."""
    box = keypoint_bbox(keypoints)
    return bool(
        box[0] >= -0.5 and box[1] >= -0.5 and box[2] <= width - 0.5 and box[3] <= height - 0.5
    )


def _left_probability(detection) -> float:
    """P(left) of a detection with ``handedness`` and its probability ``handedness_score``."""
    if detection.handedness not in HANDEDNESS:
        raise ValueError(f"handedness must be one of {HANDEDNESS}, got {detection.handedness!r}")
    score = float(detection.handedness_score)
    return score if detection.handedness == "left" else 1.0 - score

"""Frame -> both hands of a person, even when they touch or cross: one crop around both, DIGIT,
lifting as a pair, and the part segmentation back in the frame's pixels.

Why one crop for both hands: two hands that interact are one problem (whose finger is this
pixel?), so the network sees them together and answers in two fixed slots (the leftmost wrist in
the image first), each with a presence score and a handedness; 0, 1 or 2 hands come out of the
same call. A person has one hand of each side: when the network calls both hands the same side,
the less sure one is given the other side. The crop follows the hands' last keypoints, and the
hand detector runs only to find the hands again (lost, uncertain, or every
``detection_interval`` frames), as in the single-hand pipeline. Pure (no ROS): the node is a
thin shell over ``TwoHandPosePipeline.process``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from handperception.geometry.camera import CameraModel, PinholeCamera
from handperception.geometry.crops import (
    CropBox,
    box_from_detection,
    box_from_keypoints,
    crop_and_resize,
    crop_to_frame,
    keypoint_bbox,
)
from handperception.geometry.lifting import (
    MEAN_REFERENCE_LENGTH_M,
    lift_all_bones,
    lift_hand_pair,
)
from handperception.models.digit import TwoHandNet, TwoHandPrediction, predict_crops
from handperception.pipeline.interface import FrameResult, check_frame
from handperception.results import IMPLAUSIBLE_DEPTH, OTHER_SIDE, HandEstimate, plausible_position
from handperception.runtime.smoothing import HandTrackSmoother
from handperception.skeleton.parts import HAND_SIDES, relabel_hands

# Two detections farther apart than this many times the larger box are not cropped together.
MAX_UNION_RATIO = 4.0


@dataclass
class TwoHandPoseConfig:
    """crop_size: network input side, pixels (the size it was trained at).
    detection_threshold: detector score to accept a hand.
    presence_threshold: presence probability to report a hand of a slot.
    tracking_confidence: mean joint confidence to keep cropping from the last keypoints.
    detection_interval: frames between detector runs while the hands are tracked.
    min_hand_confidence: mean joint confidence to publish a hand at all.
    mirrored: the image is mirrored (selfie view): swap left and right, hands and labels.
    smoothing, min_cutoff (Hz), beta: one-euro filter on the joints (beta in 1/m for 3D)."""

    crop_size: int = 128
    detection_threshold: float = 0.3
    presence_threshold: float = 0.5
    tracking_confidence: float = 0.35
    detection_interval: int = 10
    min_hand_confidence: float = 0.2
    mirrored: bool = False
    smoothing: bool = True
    min_cutoff: float = 1.5
    beta: float = 20.0


class TwoHandPosePipeline:
    """The ``FramePipeline`` of two interacting hands: the hand detector finds the region, the
    two-hand network (``models.digit``) estimates both hands and their parts in one crop."""

    def __init__(
        self,
        model: TwoHandNet,
        detector,
        config: TwoHandPoseConfig | None = None,
        device: str = "cpu",
        bone_length_m: float = MEAN_REFERENCE_LENGTH_M,
    ):
        """``detector`` has ``detect(frames, score_threshold, max_hands) -> [[Detection]]``."""
        if not bone_length_m > 0:
            raise ValueError(f"bone_length_m must be positive, got {bone_length_m}")
        self.model, self.detector = model.to(device).eval(), detector
        self.config = config or TwoHandPoseConfig()
        self.device, self.bone_length_m = device, bone_length_m
        self.smoother = HandTrackSmoother(self.config.min_cutoff, self.config.beta)
        self.reset()

    def reset(self) -> None:
        """Forget where the hands were (e.g. after a camera switch)."""
        self._region: CropBox | None = None
        self._frames_since_detection = 0
        self.smoother.clear()

    def process(
        self, rgb: np.ndarray, camera: PinholeCamera | CameraModel, time_s: float
    ) -> FrameResult:
        """See ``FramePipeline.process``; the result's ``segmentation`` is the frame's part
        labels (``skeleton.parts``, as seen from the person), 0 outside the hands' crop."""
        model = check_frame(rgb, camera)
        height, width = rgb.shape[:2]
        result = FrameResult(segmentation=np.zeros((height, width), np.uint8))
        box = self._tracked_region()
        if box is None:
            result.detector_ran = True
            self._frames_since_detection = 0
            box = self._detected_region(rgb)
        else:
            self._frames_since_detection += 1
        if box is None:
            self._lose()
            return result
        size = self.config.crop_size
        crop, crop_camera = crop_and_resize(rgb, model.raw, box, size)
        prediction = predict_crops(self.model, crop[None], self.device)
        hands, result.drops = self._hands(prediction, box, crop_camera, model, time_s)
        result.hands = [hand for _, hand in hands]
        _paste_labels(result.segmentation, _published_labels(prediction.labels[0], hands), box)
        if result.hands and min(h.score for h in result.hands) >= self.config.tracking_confidence:
            self._region = box_from_keypoints(np.concatenate([h.joints_2d for h in result.hands]))
        else:
            self._lose()
        return result

    def _tracked_region(self) -> CropBox | None:
        """The crop around last frame's hands, unless the detector is due."""
        if self._frames_since_detection + 1 >= self.config.detection_interval:
            return None
        return self._region

    def _detected_region(self, rgb: np.ndarray) -> CropBox | None:
        """One square crop around every hand the detector finds (at most two), or None."""
        detections = self.detector.detect([rgb], self.config.detection_threshold, len(HAND_SIDES))
        boxes = [np.asarray(d.box_xyxy, dtype=np.float64) for d in detections[0]]
        if not boxes:
            return None
        union = keypoint_bbox(np.concatenate([box.reshape(2, 2) for box in boxes]))
        largest = max(float(np.max(box[2:] - box[:2])) for box in boxes)
        if np.max(union[2:] - union[:2]) > MAX_UNION_RATIO * largest:
            # Hands too far apart to be one person's pair in reach of each other (two people):
            # the best-scoring hand alone, rather than a crop too coarse for either.
            union = boxes[0]
        return box_from_detection(union)

    def _lose(self) -> None:
        self._region = None
        self.smoother.clear()

    def _hands(
        self,
        prediction: TwoHandPrediction,
        box: CropBox,
        crop_camera: PinholeCamera,
        model: CameraModel,
        time_s: float,
    ) -> tuple[list[tuple[int, HandEstimate]], list[str]]:
        """The hands published, each with the slot it came from (its block of part labels), and
        the reasons of those found but not published."""
        config, size = self.config, self.config.crop_size
        present = prediction.presence[0] >= config.presence_threshold
        pixels = np.stack([crop_to_frame(uv, box, size) for uv in prediction.uv[0]])
        if model.is_ideal:
            uv, intrinsics = prediction.uv[0], crop_camera.matrix
        else:  # a distorted camera: lift where the ideal camera sees the joints
            uv, intrinsics = model.undistort(pixels), model.camera.matrix
        joints = self._lift(uv, prediction.depth[0], intrinsics, prediction.root_offset[0], present)
        sides, side_scores = _sides(prediction.left_probability[0], present)
        hands, drops = [], []
        for slot in np.flatnonzero(present):
            joints_3d, joints_2d = joints[slot], pixels[slot]
            confidence = np.clip(prediction.confidence[0, slot], 0.0, 1.0)
            if not (np.all(np.isfinite(joints_3d)) and np.all(np.isfinite(joints_2d))):
                drops.append("non_finite_output")
                continue
            if not plausible_position(joints_3d):
                drops.append(IMPLAUSIBLE_DEPTH)
                continue
            score = float(confidence.mean())
            if score < config.min_hand_confidence:
                drops.append("low_confidence")
                continue
            side = OTHER_SIDE[sides[slot]] if config.mirrored else sides[slot]
            # The person's left hand is always id 0 and the right id 1, mirrored or not.
            track_id = HAND_SIDES.index(side)
            if config.smoothing:
                joints_3d, joints_2d = self.smoother(track_id, joints_3d, joints_2d, time_s)
            hands.append(
                (
                    int(slot),
                    HandEstimate(
                        joints_3d=joints_3d,
                        joints_2d=joints_2d,
                        joint_confidence=confidence,
                        handedness=side,
                        handedness_score=side_scores[slot],
                        score=score,
                        track_id=track_id,
                        roi=(box.x0, box.y0, box.side, box.side),
                    ),
                )
            )
        self.smoother.keep_only([hand.track_id for _, hand in hands])
        return hands, drops

    def _lift(self, uv, depth, intrinsics, root_offset, present) -> np.ndarray:
        """(2, 21, 3) metres: both hands placed as a pair when both are there, else alone."""
        if present.all():
            return lift_hand_pair(
                uv[None], depth[None], intrinsics[None], np.array([root_offset]), self.bone_length_m
            )[0]
        k = np.broadcast_to(intrinsics, (len(HAND_SIDES), 3, 3))
        try:
            return lift_all_bones(uv, depth, k, self.bone_length_m)
        except ValueError:  # absurd keypoints: both hands dropped as non-finite
            return np.full((len(HAND_SIDES),) + depth.shape[1:] + (3,), np.nan)


def _sides(left_probability: np.ndarray, present: np.ndarray) -> tuple[list[str], list[float]]:
    """Each slot's side (image as it is) and the probability of it, from P(left) per slot; two
    present hands called the same side are one of each, the surer one keeping its call."""
    sides = ["left" if p >= 0.5 else "right" for p in left_probability]
    scores = [float(max(p, 1.0 - p)) for p in left_probability]
    if present.all() and sides[0] == sides[1]:
        unsure = int(np.argmin(scores))
        sides[unsure] = OTHER_SIDE[sides[unsure]]
        scores[unsure] = 1.0 - scores[unsure]
    return sides, scores


def _published_labels(slot_labels: np.ndarray, hands: list[tuple[int, HandEstimate]]):
    """The crop's part labels as the person's hands: the network labels by slot (block 0 the
    slot-0 hand), each published hand's block becomes the block of its published side (the
    person's, so a mirrored image's swap is already in it), and the parts of slots not published
    (absent, unsure, dropped) are background, so the segmentation and the hand array agree."""
    targets = [None] * len(HAND_SIDES)
    for slot, hand in hands:
        targets[slot] = HAND_SIDES.index(hand.handedness)
    return relabel_hands(slot_labels, targets)


def _paste_labels(frame_labels: np.ndarray, crop_labels: np.ndarray, box: CropBox):
    """Write the crop's labels, resized to the box, into the frame's label image (in place)."""
    resized = cv2.resize(crop_labels, (box.side, box.side), interpolation=cv2.INTER_NEAREST)
    height, width = frame_labels.shape
    x0, y0 = max(box.x0, 0), max(box.y0, 0)
    x1, y1 = min(box.x0 + box.side, width), min(box.y0 + box.side, height)
    if x1 > x0 and y1 > y0:
        frame_labels[y0:y1, x0:x1] = resized[y0 - box.y0 : y1 - box.y0, x0 - box.x0 : x1 - box.x0]

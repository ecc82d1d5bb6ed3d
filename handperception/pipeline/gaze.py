"""Frame -> where each person looks: faces, head pose, eye normalisation, gaze, tracks.

Why one pipeline: the gaze node, the benchmark and offline evaluation all run the same steps on a
frame - find faces (``pipeline.faces``), fit each head's pose to its landmarks
(``geometry.head_pose``), normalise both eyes (``geometry.gaze.normalize_eye``: a virtual camera
looking at the eye, 36x60 grey patches; Zhang et al. 2018), estimate every eye of the frame in
one batch (``pipeline.gaze_estimators``), rotate each estimate back to the camera frame, combine
a face's two eyes and keep ids across frames - and must refuse the same bad input the same way.

A face's gaze: origin midway between its eye centres (the eye-corner midpoints), direction the
renormalised mean of its two eyes' unit vectors. Confidence = detector score x eye agreement,
where agreement falls linearly from 1 (both eyes parallel) to 0 at ``DISAGREEMENT_LIMIT_DEG``
(eyes verging on a point 30 cm away differ by 12 degrees; more is an estimation error).
Faces found but not published are counted in ``FrameResult.drops`` by reason; a face found
twice (boxes overlapping by ``DUPLICATE_IOU``) is published once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from handperception.geometry.camera import CameraModel, PinholeCamera
from handperception.geometry.crops import box_iou
from handperception.geometry.gaze import NormalizationSpec, angular_error_deg, normalize_eye
from handperception.geometry.head_pose import HeadPose, estimate_head_pose
from handperception.pipeline.faces import MIN_IMAGE_SIDE, FaceDetection, FaceDetector
from handperception.pipeline.gaze_estimators import NEEDS_IRIS, EyeBatch, EyeGazeEstimator
from handperception.pipeline.interface import FrameResult, check_frame
from handperception.pipeline.tracking import BoxIdentities
from handperception.results import IMPLAUSIBLE_DEPTH, GazeEstimate, plausible_position
from handperception.runtime.smoothing import OneEuroFilter

DISAGREEMENT_LIMIT_DEG = 45.0
# Box overlap above which two faces of one frame are one face found twice (two real faces, even
# cheek to cheek, overlap far less).
DUPLICATE_IOU = 0.5


@dataclass(frozen=True)
class GazeConfig:
    """The gaze node's parameters.

    max_faces: most faces estimated per frame (1-16). min_face_confidence: the face detector's
    threshold, and faces scoring lower are dropped ("low_confidence"), in [0, 1].
    smoothing: one-euro filter each track's gaze direction over time. min_cutoff (Hz, > 0): the
    filter's cutoff at rest, lower is steadier; beta (>= 0): how fast it follows quick eye
    movements, higher lags less. track_iou: box overlap that keeps a face's id from frame to
    frame, in (0, 1]. max_missed_frames: frames a face may go unseen and keep its id.
    """

    max_faces: int = 4
    min_face_confidence: float = 0.5
    smoothing: bool = False
    min_cutoff: float = 1.0
    beta: float = 0.5
    track_iou: float = 0.3
    max_missed_frames: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.max_faces <= 16:
            raise ValueError(f"max_faces must be in [1, 16], got {self.max_faces}")
        if not 0.0 <= self.min_face_confidence <= 1.0:
            raise ValueError(
                f"min_face_confidence must be in [0, 1], got {self.min_face_confidence}"
            )
        if not (np.isfinite(self.min_cutoff) and self.min_cutoff > 0):
            raise ValueError(f"min_cutoff must be positive, got {self.min_cutoff}")
        if not (np.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta must be non-negative, got {self.beta}")
        if not 0.0 < self.track_iou <= 1.0:
            raise ValueError(f"track_iou must be in (0, 1], got {self.track_iou}")
        if self.max_missed_frames < 0:
            raise ValueError(f"max_missed_frames must be >= 0, got {self.max_missed_frames}")


@dataclass(frozen=True)
class _Face:
    """A face whose head pose was found: its detection, track id and pose."""

    detection: FaceDetection
    track_id: int
    pose: HeadPose


class GazePipeline:
    """Frame -> one ``GazeEstimate`` per face (a ``FramePipeline``); see the module docstring.

    detector: a ``pipeline.faces.FaceDetector``; estimator: a
    ``pipeline.gaze_estimators.EyeGazeEstimator`` (an estimator that needs iris landmarks needs a
    detector that has them).
    """

    def __init__(
        self, detector: FaceDetector, estimator: EyeGazeEstimator, config: GazeConfig | None = None
    ) -> None:
        if estimator.needs_iris and not detector.has_iris:
            raise ValueError(NEEDS_IRIS)
        self.detector, self.estimator = detector, estimator
        self.config = config or GazeConfig()
        self.spec = NormalizationSpec()
        self._identities = BoxIdentities(self.config.track_iou, self.config.max_missed_frames)
        self._filters: dict[int, OneEuroFilter] = {}

    def reset(self) -> None:
        """Forget every track, the detector's too."""
        self.detector.reset()
        self._identities.reset()
        self._filters.clear()

    def process(
        self, rgb: np.ndarray, camera: PinholeCamera | CameraModel, time_s: float
    ) -> FrameResult:
        """See ``FramePipeline.process``."""
        model = check_frame(rgb, camera)
        result = FrameResult(detector_ran=True)
        if min(rgb.shape[:2]) < MIN_IMAGE_SIDE:
            result.drops.append("image_too_small")
            return result
        detections = []
        for detection in self.detector.detect(rgb)[: self.config.max_faces]:
            if detection.score < self.config.min_face_confidence:
                result.drops.append("low_confidence")
            elif any(
                box_iou(detection.box_xyxy, kept.box_xyxy)[0, 0] >= DUPLICATE_IOU
                for kept in detections
            ):
                # MediaPipe's tracking mode now and then returns a face twice, a few pixels apart.
                result.drops.append("duplicate")
            else:
                detections.append(detection)
        ids = self._identities.assign(np.array([d.box_xyxy for d in detections]))
        faces = []
        for detection, track_id in zip(detections, ids):
            try:
                pose = estimate_head_pose(
                    model.undistort(detection.landmarks_px),
                    detection.landmark_names,
                    model.camera.matrix,
                )
            except ValueError:
                result.drops.append("head_pose_failed")
                continue
            if not plausible_position(pose.eye_centres):  # the gaze origin is their midpoint
                result.drops.append(IMPLAUSIBLE_DEPTH)
                continue
            faces.append(_Face(detection, track_id, pose))
        eyes, faces = self._eye_batch(rgb, model, faces, result)
        gazes = self.estimator.estimate(eyes).reshape(-1, 2, 3)
        for face, pair in zip(faces, gazes):
            estimate = self._combine(face, pair, rgb.shape, time_s)
            if estimate is None:
                result.drops.append("nonfinite_gaze")
            else:
                result.gazes.append(estimate)
        live = set(self._identities.live_ids)
        self._filters = {i: f for i, f in self._filters.items() if i in live}
        return result

    def _eye_batch(
        self, rgb: np.ndarray, model: CameraModel, faces: list[_Face], result: FrameResult
    ) -> tuple[EyeBatch, list[_Face]]:
        """Both eyes of every face, normalised; faces with an eye off the image
        ("eye_outside_image") or one that cannot be normalised ("normalization_failed") are
        dropped. Patches are cut from the image as given: on a raw (distorted) image each eye's
        warp is shifted by its undistortion offset, the local part of the lens distortion."""
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        height, width = grey.shape
        patch_shape = (self.spec.height, self.spec.width)
        kept, patches, normalizations, irises = [], [], [], []
        for face in faces:
            eyes_px = face.detection.eye_centres_px
            if np.any(eyes_px < -0.5) or np.any(eyes_px > [width - 0.5, height - 0.5]):
                result.drops.append("eye_outside_image")
                continue
            try:
                pair = [
                    normalize_eye(model.camera.matrix, centre, face.pose.rotation, self.spec)
                    for centre in face.pose.eye_centres
                ]
            except ValueError:
                result.drops.append("normalization_failed")
                continue
            if not model.is_ideal:
                shifts = model.undistort(eyes_px) - eyes_px
                pair = [
                    replace(eye, warp=eye.warp @ np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]]))
                    for eye, (dx, dy) in zip(pair, shifts)
                ]
            kept.append(face)
            normalizations += pair
            patches += [eye.warp_image(grey) for eye in pair]
            if face.detection.iris_px is not None:
                irises.append(model.undistort(face.detection.iris_px))
        eyes = EyeBatch(
            patches=np.array(patches, dtype=np.uint8).reshape(-1, *patch_shape),
            normalizations=normalizations,
            is_left=np.tile([False, True], len(kept)),
            eyeball_centres=np.array([f.pose.eyeball_centres for f in kept]).reshape(-1, 3),
            camera=model.camera,
            iris_px=np.array(irises).reshape(-1, 2) if self.detector.has_iris else None,
        )
        return eyes, kept

    def _combine(
        self, face: _Face, pair: np.ndarray, shape: tuple[int, ...], time_s: float
    ) -> GazeEstimate | None:
        """A face's two (2, 3) eye gazes -> its GazeEstimate; None unless both are finite and
        non-zero."""
        norms = np.linalg.norm(pair, axis=1)
        if not (np.all(np.isfinite(pair)) and np.all(norms > 1e-6)):
            return None
        units = pair / norms[:, None]
        mean = units.sum(axis=0)
        if np.linalg.norm(mean) < 1e-6:
            return None
        direction = mean / np.linalg.norm(mean)
        disagreement = float(angular_error_deg(units[0], units[1]))
        agreement = float(np.clip(1.0 - disagreement / DISAGREEMENT_LIMIT_DEG, 0.0, 1.0))
        if self.config.smoothing:
            smoother = self._filters.setdefault(
                face.track_id, OneEuroFilter(self.config.min_cutoff, self.config.beta)
            )
            smoothed = smoother(direction, time_s)
            direction = smoothed / np.linalg.norm(smoothed)
        eye_centres = face.pose.eye_centres
        height, width = shape[:2]
        x0, y0 = np.clip(np.floor(face.detection.box_xyxy[:2]), 0, [width - 1, height - 1])
        x1, y1 = np.clip(np.ceil(face.detection.box_xyxy[2:]), [x0 + 1, y0 + 1], [width, height])
        return GazeEstimate(
            origin=eye_centres.mean(axis=0),
            direction=direction,
            left_eye_center=eye_centres[1],
            right_eye_center=eye_centres[0],
            confidence=face.detection.score * agreement,
            track_id=face.track_id,
            face_roi=(int(x0), int(y0), int(x1 - x0), int(y1 - y0)),
        )

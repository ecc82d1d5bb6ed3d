"""Faces and their landmarks in a camera image, behind one small interface.

Why an interface: the gaze pipeline needs, per face, a box (tracking ids, the published ROI), a
score and the 2D landmarks the head pose fit (``geometry.head_pose``) takes, named after its face
model so every detector feeds the same fit. Two offline detectors provide them:

- ``MediaPipeFaceMesh`` (``mediapipe.solutions.face_mesh``, 0.10.14, ``refine_landmarks=True``):
  478 landmarks per face, of which the four eye corners, nose tip, mouth corners and chin are
  used, plus both iris centres (what the geometric gaze peer needs). Its mesh tracks faces from
  frame to frame by itself (``static_image_mode=False``). It publishes no per-face score; every
  face it returns already passed ``min_detection_confidence``, so its score is 1.
- ``OpenCVYuNet`` (``cv2.FaceDetectorYN``, OpenCV's own face detector): a box, a score and five
  landmarks (eye centres, nose tip, mouth corners); no iris. OpenCV 5 dropped the Haar cascades
  (no ``cv2.CascadeClassifier``, no ``cv2.data`` XML files), and YuNet is its replacement; its
  ONNX weights (MIT licence, 230 kB) come from the OpenCV model zoo.

Images larger than ``MAX_DETECTION_SIDE`` are shrunk for detection only (both detectors work on
a few hundred pixels internally); landmarks come back in the full image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from handperception.geometry.crops import keypoint_bbox
from handperception.pipeline.mediapipe_backend import landmarks_to_pixels
from handperception.validation import float_array

MEDIAPIPE_INSTALL = "pip install --no-deps -r requirements-mediapipe.txt"
YUNET_MODEL = "checkpoints/face_detection_yunet_2023mar.onnx"
YUNET_URL = (
    "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/"
    "face_detection_yunet_2023mar.onnx"
)
MAX_DETECTION_SIDE = 1280
MIN_IMAGE_SIDE = 32  # smaller images cannot show a face with eyes worth a 36x60 patch

# MediaPipe face mesh indices of the landmarks the head pose fit uses (subject's right/left).
MEDIAPIPE_LANDMARKS = {
    "right_eye_outer": 33,
    "right_eye_inner": 133,
    "left_eye_inner": 362,
    "left_eye_outer": 263,
    "nose_tip": 1,
    "mouth_right": 61,
    "mouth_left": 291,
    "chin": 152,
}
MEDIAPIPE_IRIS = (468, 473)  # iris centres (refine_landmarks), subject's right, left
YUNET_LANDMARKS = ("right_eye_centre", "left_eye_centre", "nose_tip", "mouth_right", "mouth_left")


@dataclass(frozen=True)
class FaceDetection:
    """One face, in the pixels of the image as it was given (distorted if the image is raw).

    box_xyxy (4,); score in [0, 1]; landmark_names (K,) from ``geometry.head_pose.FACE_MODEL``
    and landmarks_px (K, 2) in that order; eye_centres_px (2, 2) the subject's (right, left) eye
    centres (eye-corner midpoints, or the detector's eye points); iris_px (2, 2) (right, left)
    iris centres, None when the detector has no iris.
    """

    box_xyxy: np.ndarray
    score: float
    landmark_names: tuple[str, ...]
    landmarks_px: np.ndarray
    eye_centres_px: np.ndarray
    iris_px: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "box_xyxy", float_array(self.box_xyxy, "box_xyxy", (4,)))
        landmarks = float_array(self.landmarks_px, "landmarks_px", (len(self.landmark_names), 2))
        object.__setattr__(self, "landmarks_px", landmarks)
        eyes = float_array(self.eye_centres_px, "eye_centres_px", (2, 2))
        object.__setattr__(self, "eye_centres_px", eyes)
        if self.iris_px is not None:
            object.__setattr__(self, "iris_px", float_array(self.iris_px, "iris_px", (2, 2)))
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"face score must be in [0, 1], got {self.score}")


class FaceDetector(Protocol):
    """rgb (H, W, 3) uint8 -> its faces, best first. ``has_iris``: whether faces carry
    ``iris_px``."""

    has_iris: bool

    def detect(self, rgb: np.ndarray) -> list[FaceDetection]: ...

    def reset(self) -> None: ...


def mediapipe_available() -> bool:
    """Whether MediaPipe's face mesh can be imported here."""
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        return False
    return True


def _detection_scale(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """The image to detect on (shrunk to MAX_DETECTION_SIDE) and its scale to the original."""
    side = max(rgb.shape[:2])
    if side <= MAX_DETECTION_SIDE:
        return np.ascontiguousarray(rgb), 1.0
    factor = MAX_DETECTION_SIDE / side
    size = (round(rgb.shape[1] * factor), round(rgb.shape[0] * factor))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), factor


class MediaPipeFaceMesh:
    """MediaPipe's face mesh with iris landmarks as a ``FaceDetector``.

    max_faces: the mesh's max_num_faces; min_confidence: its min_detection_confidence and
    min_tracking_confidence; static_image_mode: detect on every frame (unrelated images) instead
    of tracking (video). The iris refinement (``refine_landmarks``) always runs: besides the
    iris it refines the eye contours, and without it the network's gaze, normalised from those
    eye corners, was twice as far off (median 8.2 vs 3.6 degrees on the synthetic face scene) for
    no time saved.

    MediaPipe runs its face detector on every frame while it tracks fewer faces than
    ``max_faces`` (about 4 ms more per frame at 640x480): set it to the people you expect.
    """

    has_iris = True

    def __init__(
        self,
        max_faces: int = 4,
        min_confidence: float = 0.5,
        static_image_mode: bool = False,
    ) -> None:
        try:
            import mediapipe
        except ImportError as error:
            raise ValueError(
                f"the MediaPipe face detector could not import mediapipe ({error}); install it "
                f"with `{MEDIAPIPE_INSTALL}` or use detector 'opencv'"
            ) from error
        if max_faces < 1 or not 0.0 <= min_confidence <= 1.0:
            raise ValueError(
                f"need max_faces >= 1 and min_confidence in [0, 1], got {max_faces}, "
                f"{min_confidence}"
            )
        self._solution = mediapipe.solutions.face_mesh.FaceMesh
        self._settings = dict(
            static_image_mode=static_image_mode,
            max_num_faces=max_faces,
            refine_landmarks=True,
            min_detection_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        self._mesh = self._solution(**self._settings)

    def reset(self) -> None:
        """Forget MediaPipe's tracked faces."""
        self._mesh.close()
        self._mesh = self._solution(**self._settings)

    def close(self) -> None:
        """Release MediaPipe's graph."""
        self._mesh.close()

    def detect(self, rgb: np.ndarray) -> list[FaceDetection]:
        """See ``FaceDetector``; faces whose landmarks are not finite are left out."""
        image, _ = _detection_scale(rgb)
        height, width = rgb.shape[:2]
        output = self._mesh.process(image)
        faces = []
        for mesh in output.multi_face_landmarks or []:
            # Normalised by the image size, so the same in the shrunk and the original image.
            points = landmarks_to_pixels([(p.x, p.y) for p in mesh.landmark], width, height)
            if not np.all(np.isfinite(points)) or len(points) <= max(MEDIAPIPE_LANDMARKS.values()):
                continue
            corners = points[list(MEDIAPIPE_LANDMARKS.values())[:4]]
            faces.append(
                FaceDetection(
                    box_xyxy=keypoint_bbox(points),
                    score=1.0,
                    landmark_names=tuple(MEDIAPIPE_LANDMARKS),
                    landmarks_px=points[list(MEDIAPIPE_LANDMARKS.values())],
                    eye_centres_px=(corners[[0, 2]] + corners[[1, 3]]) / 2,
                    iris_px=points[list(MEDIAPIPE_IRIS)],
                )
            )
        return faces


def yunet_faces(rows: np.ndarray, factor: float = 1.0) -> list[FaceDetection]:
    """cv2.FaceDetectorYN rows (N, 15) [x, y, w, h, then (x, y) of right eye, left eye, nose tip,
    right and left mouth corners, score] of an image shrunk by ``factor`` -> faces.

    Each left/right pair is ordered by image x (the subject's right is on the image's left for a
    camera that does not mirror), so a detector's naming convention cannot swap the eyes.
    Non-finite rows are left out.
    """
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 15)
    faces = []
    for row in rows:
        if not np.all(np.isfinite(row)):
            continue
        x, y, w, h = row[:4] / factor
        points = row[4:14].reshape(5, 2) / factor
        eyes = points[np.argsort(points[:2, 0])]
        mouth = points[3:][np.argsort(points[3:, 0])]
        landmarks = np.concatenate([eyes, points[2:3], mouth])
        faces.append(
            FaceDetection(
                box_xyxy=np.array([x, y, x + w, y + h]),
                score=float(np.clip(row[14], 0.0, 1.0)),
                landmark_names=YUNET_LANDMARKS,
                landmarks_px=landmarks,
                eye_centres_px=eyes,
            )
        )
    return faces


class OpenCVYuNet:
    """OpenCV's YuNet face detector (``cv2.FaceDetectorYN``) as a ``FaceDetector``; no iris.

    model: path of face_detection_yunet_2023mar.onnx; max_faces: keep the best this many;
    min_confidence: YuNet's score threshold.
    """

    has_iris = False

    def __init__(self, model: str | Path, max_faces: int = 4, min_confidence: float = 0.5):
        if not Path(model).is_file():
            raise ValueError(
                f"OpenCV face detector weights {model} are missing; download {YUNET_URL} "
                f"to {YUNET_MODEL}, or install MediaPipe (`{MEDIAPIPE_INSTALL}`)"
            )
        if max_faces < 1 or not 0.0 <= min_confidence <= 1.0:
            raise ValueError(
                f"need max_faces >= 1 and min_confidence in [0, 1], got {max_faces}, "
                f"{min_confidence}"
            )
        self.max_faces = max_faces
        self._detector = cv2.FaceDetectorYN.create(str(model), "", (320, 320), min_confidence)

    def reset(self) -> None:
        """YuNet keeps no state between frames."""

    def detect(self, rgb: np.ndarray) -> list[FaceDetection]:
        """See ``FaceDetector``."""
        image, factor = _detection_scale(rgb)
        self._detector.setInputSize((image.shape[1], image.shape[0]))
        _, rows = self._detector.detect(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        faces = yunet_faces(np.zeros((0, 15)) if rows is None else rows, factor)
        return sorted(faces, key=lambda face: -face.score)[: self.max_faces]

"""MediaPipe Hands as an optional pretrained peer, lifted to metric camera-frame 3D.

Why a peer backend: it is a real model trained on real hands, so it is both a fallback the robot
can run without the project's own weights and the benchmark's comparison. It has the same
interface (``pipeline.interface.FramePipeline``) as ``HandPosePipeline`` so nodes and evaluation can
swap one for the other.

What MediaPipe gives per hand (``mediapipe.solutions.hands``, version 0.10.14):
- 21 image landmarks, x and y normalised by the image width and height. Their joint order is
  the project's FreiHAND order (0 wrist, 1-4 thumb CMC/MCP/IP/tip, 5-8 index MCP/PIP/DIP/tip,
  9-12 middle, 13-16 ring, 17-20 little), so no reordering is needed. MediaPipe's normalised
  coordinates measure from the image's edge (pixel 0 spans [0, 1)), the project's pixels from
  pixel centres (OpenCV), hence the half-pixel shift in ``landmarks_to_pixels``.
- 21 world landmarks, metres, centred on the hand, *no translation*. Their axes are the
  camera's (x right, y down, z away from the camera; checked on rendered hands: wrist-to-middle
  knuckle and palm normal agree with the ground truth in direction), so only a translation is
  missing; ``solve_translation`` finds it from the image landmarks and the real intrinsics.
  Their scale is MediaPipe's learned hand size, so the depth error grows with how far the
  person's hand differs from an average hand.
- A handedness label assuming a mirrored (selfie) image; see ``person_handedness``.
MediaPipe publishes no per-joint confidence and (in this API) no hand presence score: every
published hand already passed the presence threshold ``tracking_confidence``. The only per-hand
number is the handedness classifier's score, used here as the hand score and for every joint.
"""

from __future__ import annotations

import numpy as np

from handperception.geometry.camera import CameraModel, PinholeCamera
from handperception.geometry.crops import DETECTION_BOX_PADDING, keypoint_bbox, scale_box
from handperception.models.detector import Detection
from handperception.pipeline.hand_pose import HandPoseConfig
from handperception.pipeline.interface import FrameResult, check_frame
from handperception.pipeline.tracking import HandTracker
from handperception.results import IMPLAUSIBLE_DEPTH, OTHER_SIDE, HandEstimate, plausible_position
from handperception.runtime.smoothing import HandTrackSmoother
from handperception.skeleton import NUM_JOINTS

INSTALL_COMMAND = "pip install --no-deps -r requirements-mediapipe.txt"

_MEDIAPIPE_LABELS = {"Left": "left", "Right": "right"}


def person_handedness(label: str, mirrored: bool) -> str:
    """MediaPipe's handedness label ('Left'/'Right') -> the person's hand ('left'/'right').

    MediaPipe labels hands as if the image were a mirrored selfie view. A robot camera is not
    mirrored, so there MediaPipe's 'Left' is the person's right hand (rendered right hands were
    labelled 'Left' in 135 of 183 detections; the rest are MediaPipe's errors on stylised hands).
    ``mirrored`` says the image *is* a mirror view, where MediaPipe's label is already the
    person's hand (the flipped renders came back as 'Right').
    """
    if label not in _MEDIAPIPE_LABELS:
        raise ValueError(
            f"unknown MediaPipe handedness label '{label}', expected 'Left' or 'Right'"
        )
    side = _MEDIAPIPE_LABELS[label]
    return side if mirrored else OTHER_SIDE[side]


def landmarks_to_pixels(normalized_xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N, 2) MediaPipe normalised image coordinates (edge-based) -> (N, 2) OpenCV pixels."""
    normalized_xy = np.asarray(normalized_xy, dtype=np.float64)
    return normalized_xy * np.array([width, height], dtype=np.float64) - 0.5


def _check_correspondences(
    offsets: np.ndarray, pixels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.asarray(offsets, dtype=np.float64)
    pixels = np.asarray(pixels, dtype=np.float64)
    if offsets.ndim != 2 or offsets.shape[1] != 3 or len(offsets) < 2:
        raise ValueError(f"offsets must be (N, 3) with N >= 2, got {offsets.shape}")
    if pixels.shape != (len(offsets), 2):
        raise ValueError(
            f"pixels must be ({len(offsets)}, 2) to match the offsets, got {pixels.shape}"
        )
    if not (np.all(np.isfinite(offsets)) and np.all(np.isfinite(pixels))):
        raise ValueError("offsets and pixels must be finite")
    return offsets, pixels


def solve_translation(
    offsets: np.ndarray, pixels: np.ndarray, camera: PinholeCamera, iterations: int = 5
) -> np.ndarray:
    """The translation t (3,) metres such that ``camera.project(offsets + t)`` best fits ``pixels``.

    offsets (N, 3) metres: points in camera-aligned axes up to an unknown translation (MediaPipe's
    world landmarks); pixels (N, 2) their observed image positions.
    Why linear first: with the rotation known, x_j (Z_j + t_z) = X_j + t_x (x_j, y_j the
    normalised image coordinates) is linear in t, so a 2N x 3 least squares gives t in closed
    form, without an initial guess. That minimises an algebraic error which weighs far joints
    more; ``iterations`` Gauss-Newton steps then minimise the reprojection error in pixels.
    """
    offsets, pixels = _check_correspondences(offsets, pixels)
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    x = (pixels[:, 0] - camera.cx) / camera.fx
    y = (pixels[:, 1] - camera.cy) / camera.fy
    ones, zeros = np.ones_like(x), np.zeros_like(x)
    a = np.concatenate([np.stack([ones, zeros, -x], axis=1), np.stack([zeros, ones, -y], axis=1)])
    b = np.concatenate([x * offsets[:, 2] - offsets[:, 0], y * offsets[:, 2] - offsets[:, 1]])
    t = np.linalg.lstsq(a, b, rcond=None)[0]
    for _ in range(iterations):
        points = offsets + t
        z = points[:, 2]
        if np.any(z <= 0):
            break
        residual = (camera.project(points) - pixels).reshape(-1)
        jacobian = np.zeros((len(points), 2, 3))
        jacobian[:, 0, 0] = camera.fx / z
        jacobian[:, 0, 2] = -camera.fx * points[:, 0] / z**2
        jacobian[:, 1, 1] = camera.fy / z
        jacobian[:, 1, 2] = -camera.fy * points[:, 1] / z**2
        t = t - np.linalg.lstsq(jacobian.reshape(-1, 3), residual, rcond=None)[0]
    return t


class MediaPipeHandPipeline:
    """Frame -> every visible hand's 21 metric 3D joints with MediaPipe Hands (a ``FramePipeline``).

    Uses from ``HandPoseConfig``: max_hands, detection_threshold (MediaPipe's
    min_detection_confidence), tracking_confidence (min_tracking_confidence, the landmark
    presence needed to keep a hand), min_hand_confidence (drop hands whose score is lower),
    mirrored, smoothing/min_cutoff/beta. crop_size and detection_interval do not apply
    (MediaPipe re-detects by itself when it loses a hand).
    ``model_complexity`` 0 (lite) or 1 (full); ``static_image_mode`` runs palm detection on every
    frame (unrelated images) instead of tracking. On a mirrored image the 3D joints are those of
    the mirror camera (x flipped), as the pixels they are lifted from.
    """

    def __init__(
        self,
        config: HandPoseConfig | None = None,
        model_complexity: int = 1,
        static_image_mode: bool = False,
    ):
        try:
            import mediapipe
        except ImportError as error:
            raise ImportError(
                f"the MediaPipe hand backend could not import mediapipe ({error}); "
                "it needs mediapipe 0.10.14 with attrs and protobuf<5: "
                f"`{INSTALL_COMMAND}` (--no-deps keeps the project's OpenCV and numpy)"
            ) from error
        if model_complexity not in (0, 1):
            raise ValueError(
                f"model_complexity must be 0 (lite) or 1 (full), got {model_complexity}"
            )
        self.config = config or HandPoseConfig()
        self._settings = dict(
            static_image_mode=static_image_mode,
            max_num_hands=self.config.max_hands,
            model_complexity=model_complexity,
            min_detection_confidence=self.config.detection_threshold,
            min_tracking_confidence=self.config.tracking_confidence,
        )
        self._solution = mediapipe.solutions.hands.Hands
        self._hands = self._solution(**self._settings)
        self._tracker = HandTracker(detection_interval=1)
        self.smoother = HandTrackSmoother(self.config.min_cutoff, self.config.beta)

    def reset(self) -> None:
        """Forget every track (e.g. after a camera switch): MediaPipe's too."""
        self._hands.close()
        self._hands = self._solution(**self._settings)
        self._tracker = HandTracker(detection_interval=1)
        self.smoother.clear()

    def close(self) -> None:
        """Release MediaPipe's graph."""
        self._hands.close()

    def process(
        self, rgb: np.ndarray, camera: PinholeCamera | CameraModel, time_s: float
    ) -> FrameResult:
        """See ``FramePipeline.process``."""
        model = check_frame(rgb, camera)
        height, width = rgb.shape[:2]
        output = self._hands.process(np.ascontiguousarray(rgb))
        found = zip(
            output.multi_hand_landmarks or [],
            output.multi_hand_world_landmarks or [],
            output.multi_handedness or [],
        )
        result = FrameResult(detector_ran=True)
        candidates = []
        for image_landmarks, world_landmarks, handedness in found:
            pixels = landmarks_to_pixels(
                [(p.x, p.y) for p in image_landmarks.landmark], width, height
            )
            offsets = np.array(
                [(p.x, p.y, p.z) for p in world_landmarks.landmark], dtype=np.float64
            )
            if offsets.shape != (NUM_JOINTS, 3) or not (
                np.all(np.isfinite(offsets)) and np.all(np.isfinite(pixels))
            ):
                result.drops.append("non_finite_output")
                continue
            label = handedness.classification[0]
            candidates.append((pixels, offsets, label.label, float(label.score)))
        ids = self._tracker.identify(_as_detection(*candidate) for candidate in candidates)
        for track_id, (pixels, offsets, label, score) in zip(ids, candidates):
            self._tracker.update(track_id, pixels, score)
            hand, drop = self._estimate(model, pixels, offsets, label, score, track_id, time_s)
            if hand is None:
                result.drops.append(drop)
            else:
                result.hands.append(hand)
        self._tracker.end_frame()
        self.smoother.keep_only(hand.track_id for hand in result.hands)
        return result

    def _estimate(
        self, model: CameraModel, pixels, offsets, label, score, track_id, time_s
    ) -> tuple[HandEstimate | None, str]:
        if score < self.config.min_hand_confidence:
            return None, "low_confidence"
        joints_3d = offsets + solve_translation(offsets, model.undistort(pixels), model.camera)
        if not plausible_position(joints_3d):
            return None, IMPLAUSIBLE_DEPTH
        if self.config.smoothing:
            joints_3d, pixels = self.smoother(track_id, joints_3d, pixels, time_s)
        x0, y0, x1, y1 = keypoint_bbox(pixels)
        return HandEstimate(
            joints_3d=joints_3d,
            joints_2d=pixels,
            joint_confidence=np.full(NUM_JOINTS, score),
            handedness=person_handedness(label, self.config.mirrored),
            handedness_score=score,
            score=score,
            track_id=track_id,
            roi=(int(x0), int(y0), int(np.ceil(x1 - x0)), int(np.ceil(y1 - y0))),
        ), ""


def _as_detection(pixels: np.ndarray, _offsets: np.ndarray, label: str, score: float) -> Detection:
    """A MediaPipe hand as the tracker takes a detection: its keypoint box padded as the
    detector's boxes are, its score as the handedness probability too (MediaPipe's one number)."""
    box = scale_box(keypoint_bbox(pixels), DETECTION_BOX_PADDING)
    return Detection(box, score, person_handedness(label, mirrored=False), max(score, 0.5))

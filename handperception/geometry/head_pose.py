"""Head pose from 2D face landmarks: solvePnP against a generic 3D face model.

Why its own module: gaze normalisation (``geometry.gaze.normalize_eye``) needs each eye's 3D
centre and the head's x-axis, and the geometric gaze peer needs the eyeball centres; both come
from one rigid fit of a generic face to the landmarks a detector found, with the camera's real
intrinsics. Every face detector (MediaPipe's mesh, OpenCV's YuNet) names its landmarks from
``FACE_MODEL`` so one fit serves them all.

The head frame is the synthetic renderer's (``synth.eye_face``), because the gaze network is
trained on eyes rendered in it: origin midway between the eyeball centres, x towards the
subject's left (image right for a frontal face), y down, z into the head (a frontal face looks
along -z); metres. Eyeball centres sit at x = +-31 mm; the eye corners lie in the skin plane
6.6 mm in front of them, +-1.15 eyeball radii to either side and 0.05 radii lower
(``synth.eye_shading``); the "eye centre" normalisation looks at is the corners' midpoint. Nose,
mouth and chin are average adult anthropometry (nose tip 45 mm below the eyes and 35 mm in front
of the eyeball centres, mouth 50 mm wide, chin 120 mm below the eyes).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from handperception.validation import float_array

EYEBALL_RADIUS = 0.012  # metres; adult eyeballs are 11.5-12.5 mm (the renderer's range)
# Eyeball centres (right eye, left eye of the subject), head frame, metres.
EYEBALL_CENTRES = np.array([[-0.031, 0.0, 0.0], [0.031, 0.0, 0.0]])
# Eyeball centre -> midpoint of the eye corners (the eye centre normalisation centres on).
EYEBALL_TO_EYE_CENTRE = np.array([0.0, 0.05 * EYEBALL_RADIUS, -0.0066])
EYE_CENTRES = EYEBALL_CENTRES + EYEBALL_TO_EYE_CENTRE
_CORNER_HALF_WIDTH = 1.15 * EYEBALL_RADIUS

FACE_MODEL: dict[str, np.ndarray] = {
    "right_eye_outer": EYE_CENTRES[0] - [_CORNER_HALF_WIDTH, 0.0, 0.0],
    "right_eye_inner": EYE_CENTRES[0] + [_CORNER_HALF_WIDTH, 0.0, 0.0],
    "left_eye_inner": EYE_CENTRES[1] - [_CORNER_HALF_WIDTH, 0.0, 0.0],
    "left_eye_outer": EYE_CENTRES[1] + [_CORNER_HALF_WIDTH, 0.0, 0.0],
    "right_eye_centre": EYE_CENTRES[0],
    "left_eye_centre": EYE_CENTRES[1],
    "nose_tip": np.array([0.0, 0.045, -0.035]),
    "mouth_right": np.array([-0.025, 0.072, -0.012]),
    "mouth_left": np.array([0.025, 0.072, -0.012]),
    "chin": np.array([0.0, 0.12, -0.01]),
}
MIN_LANDMARKS = 4  # SQPnP's minimum for a unique pose from non-collinear points
# A fit outside these bounds is a failed fit, not a person: refused rather than published.
DISTANCE_RANGE = (0.1, 10.0)  # metres from the camera
MAX_REPROJECTION_ERROR = 0.25  # RMS, as a fraction of the fitted inter-ocular distance in pixels


@dataclass(frozen=True)
class HeadPose:
    """rotation (3, 3) head frame -> camera frame; translation (3,) metres, the head frame's
    origin (midway between the eyeballs) in the camera frame; reprojection_error_px the RMS
    landmark residual of the fit."""

    rotation: np.ndarray
    translation: np.ndarray
    reprojection_error_px: float

    def to_camera(self, points_head: np.ndarray) -> np.ndarray:
        """(..., 3) head-frame points, metres -> camera frame."""
        points = float_array(points_head, "points_head", (..., 3))
        return points @ self.rotation.T + self.translation

    @property
    def eye_centres(self) -> np.ndarray:
        """(2, 3) metres camera frame: the eye-corner midpoints (right, left of the subject)."""
        return self.to_camera(EYE_CENTRES)

    @property
    def eyeball_centres(self) -> np.ndarray:
        """(2, 3) metres camera frame: the eyeball centres (right, left of the subject)."""
        return self.to_camera(EYEBALL_CENTRES)


def estimate_head_pose(
    landmarks_px: np.ndarray, landmark_names: tuple[str, ...], camera_matrix: np.ndarray
) -> HeadPose:
    """Fit ``FACE_MODEL`` to landmarks seen by an ideal (undistorted) camera.

    Args:
        landmarks_px: (N, 2) undistorted pixels (``CameraModel.undistort`` them first).
        landmark_names: N names from ``FACE_MODEL``, in the order of ``landmarks_px``.
        camera_matrix: (3, 3) K of the ideal camera.
    Raises ValueError for unknown names, fewer than ``MIN_LANDMARKS`` points, non-finite or
    collinear input, and for a fit that is non-finite, outside ``DISTANCE_RANGE``, facing away
    from the camera or not matching the landmarks (RMS residual above ``MAX_REPROJECTION_ERROR``
    of the eye distance).
    """
    pixels = float_array(landmarks_px, "landmarks_px", (None, 2))
    k = float_array(camera_matrix, "camera_matrix", (3, 3))
    unknown = sorted(set(landmark_names) - set(FACE_MODEL))
    if unknown:
        raise ValueError(f"unknown face landmarks {unknown}; known: {sorted(FACE_MODEL)}")
    if len(landmark_names) != len(pixels):
        raise ValueError(f"{len(landmark_names)} landmark names for {len(pixels)} landmarks")
    if len(set(landmark_names)) < MIN_LANDMARKS:
        raise ValueError(
            f"head pose needs at least {MIN_LANDMARKS} distinct landmarks, got {len(pixels)}"
        )
    model = np.array([FACE_MODEL[name] for name in landmark_names])
    centred = pixels - pixels.mean(0)
    singular = np.linalg.svd(centred, compute_uv=False)
    if singular[0] < 1e-6 or singular[1] < 1e-3 * singular[0]:
        raise ValueError("face landmarks are collinear or coincident; head pose is undefined")
    rvec, tvec = _solve_pnp(model, pixels, k)
    rotation = cv2.Rodrigues(rvec)[0]
    translation = tvec.reshape(3)
    if not (np.all(np.isfinite(rotation)) and np.all(np.isfinite(translation))):
        raise ValueError("head pose fit is not finite")
    distance = float(np.linalg.norm(translation))
    if translation[2] <= 0 or not DISTANCE_RANGE[0] <= distance <= DISTANCE_RANGE[1]:
        raise ValueError(
            f"head pose fit puts the head at {translation.round(3).tolist()} m, outside "
            f"{DISTANCE_RANGE} m in front of the camera"
        )
    if rotation[2, 2] <= 0:
        raise ValueError("head pose fit faces away from the camera")
    pose = HeadPose(rotation, translation, 0.0)
    projected = _project(k, pose.to_camera(model))
    rms = float(np.sqrt(np.mean(np.sum((projected - pixels) ** 2, axis=1))))
    eye_distance = float(np.linalg.norm(np.subtract(*_project(k, pose.eye_centres))))
    if not np.isfinite(rms) or rms > MAX_REPROJECTION_ERROR * eye_distance:
        raise ValueError(
            f"head pose fit leaves {rms:.1f} px RMS residual for {eye_distance:.1f} px between "
            "the eyes; the landmarks are not a face"
        )
    return HeadPose(rotation, translation, rms)


def _solve_pnp(model: np.ndarray, pixels: np.ndarray, k: np.ndarray):
    """SQPnP's (rvec, tvec); ValueError where it finds none or refuses the input (it asserts,
    raising cv2.error, when the rays are too close together, as behind a telephoto lens)."""
    try:
        ok, rvec, tvec = cv2.solvePnP(model, pixels, k, None, flags=cv2.SOLVEPNP_SQPNP)
    except cv2.error as error:
        raise ValueError(f"solvePnP refused these landmarks: {error.err}") from error
    if not ok:
        raise ValueError("solvePnP found no head pose for these landmarks")
    return rvec, tvec


def _project(k: np.ndarray, points: np.ndarray) -> np.ndarray:
    homogeneous = points @ k.T
    return homogeneous[:, :2] / homogeneous[:, 2:3]

"""Head pose from face landmarks: exact recovery from projected model points, the head frame of
the synthetic renderer, and refusal of input that is not a face."""

from dataclasses import replace

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.gaze import pitchyaw_to_rotation
from handperception.geometry.head_pose import (
    EYE_CENTRES,
    EYEBALL_CENTRES,
    EYEBALL_RADIUS,
    FACE_MODEL,
    estimate_head_pose,
)
from handperception.synth.eye_face import EYE_OFFSETS
from handperception.synth.eye_model import EyeSpec, sample_eye_params
from handperception.synth.eye_shading import CORNER_HALF_WIDTH, corner_midpoint

CAMERA = PinholeCamera.from_fov(640, 480, 60.0)
MEDIAPIPE_NAMES = (
    "right_eye_outer",
    "right_eye_inner",
    "left_eye_inner",
    "left_eye_outer",
    "nose_tip",
    "mouth_right",
    "mouth_left",
    "chin",
)
YUNET_NAMES = ("right_eye_centre", "left_eye_centre", "nose_tip", "mouth_right", "mouth_left")


def project(names, rotation, translation):
    points = np.array([FACE_MODEL[name] for name in names]) @ rotation.T + translation
    return CAMERA.project(points)


def test_eye_geometry_is_the_synthetic_renderers():
    # The network is trained on eyes rendered in synth's head frame; normalisation must centre on
    # the same eye points for the same head pose.
    eye = replace(sample_eye_params(EyeSpec(), 0, 0), eyeball_radius=EYEBALL_RADIUS)
    np.testing.assert_allclose(EYEBALL_CENTRES, EYE_OFFSETS)
    np.testing.assert_allclose(EYE_CENTRES - EYEBALL_CENTRES, [corner_midpoint(eye)] * 2)
    corners = np.array([FACE_MODEL["right_eye_outer"], FACE_MODEL["right_eye_inner"]])
    np.testing.assert_allclose(
        corners[:, 0] - EYEBALL_CENTRES[0, 0], np.array([-1, 1]) * CORNER_HALF_WIDTH * 0.012
    )


@pytest.mark.parametrize("names", [MEDIAPIPE_NAMES, YUNET_NAMES])
def test_recovers_a_known_pose_from_exact_projections(names):
    rotation = pitchyaw_to_rotation(np.radians([15.0, -25.0]), roll=np.radians(8.0))
    translation = np.array([0.06, -0.03, 0.7])
    pose = estimate_head_pose(project(names, rotation, translation), names, CAMERA.matrix)
    np.testing.assert_allclose(pose.rotation, rotation, atol=1e-6)
    np.testing.assert_allclose(pose.translation, translation, atol=1e-6)
    np.testing.assert_allclose(pose.eye_centres, EYE_CENTRES @ rotation.T + translation, atol=1e-6)
    np.testing.assert_allclose(pose.eyeball_centres[:, 2], [0.7, 0.7], atol=0.02)
    assert pose.reprojection_error_px < 1e-3


def test_frontal_face_eye_centres_hand_computed():
    # Identity rotation, head 0.5 m straight ahead: the eye centres are EYE_CENTRES + (0, 0, 0.5).
    pose = estimate_head_pose(
        project(MEDIAPIPE_NAMES, np.eye(3), np.array([0.0, 0.0, 0.5])),
        MEDIAPIPE_NAMES,
        CAMERA.matrix,
    )
    np.testing.assert_allclose(
        pose.eye_centres, [[-0.031, 0.0006, 0.4934], [0.031, 0.0006, 0.4934]], atol=1e-6
    )


@pytest.mark.parametrize(
    "names, pixels, message",
    [
        (MEDIAPIPE_NAMES[:4], None, "collinear"),
        (("nose_tip", "chin", "mouth_left"), None, "at least 4"),
        (("nose_tip", "ear", "chin", "mouth_left"), np.zeros((4, 2)), "unknown"),
        (MEDIAPIPE_NAMES, np.full((8, 2), np.nan), "NaN"),
        (MEDIAPIPE_NAMES, np.full((8, 2), 100.0), "collinear"),
        (MEDIAPIPE_NAMES, np.zeros((7, 2)), "8 landmark names for 7"),
    ],
)
def test_degenerate_input_is_refused(names, pixels, message):
    if pixels is None:
        pixels = project(names, np.eye(3), np.array([0.0, 0.0, 0.5]))
    with pytest.raises(ValueError, match=message):
        estimate_head_pose(pixels, names, CAMERA.matrix)


def test_landmarks_that_are_no_face_are_refused():
    # A frontal face mirrored left-right is no rigid pose of the model, nor is random scatter.
    mirrored = project(MEDIAPIPE_NAMES, np.eye(3), np.array([0.0, 0.0, 0.5]))
    mirrored[:, 0] = 2 * CAMERA.cx - mirrored[:, 0]
    scatter = np.random.default_rng(0).uniform(100, 400, size=(8, 2))
    for pixels in (mirrored, scatter):
        with pytest.raises(ValueError, match="head pose fit"):
            estimate_head_pose(pixels, MEDIAPIPE_NAMES, CAMERA.matrix)

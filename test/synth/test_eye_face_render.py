"""render_face / paint_face: a face at a given head pose in any camera, labels from the pose."""

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.synth.eye_face import EYE_OFFSETS, face_window, paint_face, render_face
from handperception.synth.eye_model import EyeSpec, sample_look

CAMERA = PinholeCamera.from_fov(320, 240, 60.0)
LOOK = sample_look(np.random.default_rng(0), EyeSpec())


def test_a_frontal_face_looking_at_the_camera_has_the_labels_of_its_pose():
    head = np.array([0.0, 0.0, 0.5])
    face = render_face(CAMERA, np.eye(3), head, np.zeros(3), LOOK)
    np.testing.assert_allclose(face.eyeball_centres_3d, head + EYE_OFFSETS)
    # each eye looks from its eyeball to the camera centre: (-+0.031, 0, -0.5) / |.|
    expected = -(head + EYE_OFFSETS) / np.linalg.norm(head + EYE_OFFSETS, axis=1, keepdims=True)
    np.testing.assert_allclose(face.gaze_vectors, expected)
    np.testing.assert_allclose(face.eye_centres_px, CAMERA.project(face.eye_centres_3d))
    # the right eye (person's) appears on the image's left, both at the image's centre height
    assert face.eye_centres_px[0, 0] < CAMERA.cx < face.eye_centres_px[1, 0]
    x0, y0, x1, y1 = face.face_box
    assert x0 < face.eye_centres_px[0, 0] and face.eye_centres_px[1, 0] < x1
    assert y0 < CAMERA.cy < y1
    # the skin ellipsoid, 0.144 m wide, is centred 0.065 m behind the eyeballs: at 0.565 m
    # with f = 277 px its outline is 2 f tan(asin(0.072 / 0.565)) = 71 px wide, centred
    width = 2 * CAMERA.fx * np.tan(np.arcsin(0.072 / 0.565))
    assert x1 - x0 == pytest.approx(width, abs=1.5)
    assert (x0 + x1) / 2 == pytest.approx(CAMERA.cx, abs=1)
    wx0, wy0, wx1, wy1 = face.window
    assert face.covered.shape == face.linear.shape == (wy1 - wy0, wx1 - wx0)
    assert wx0 <= x0 and x1 <= wx1 and wy0 <= y0 and y1 <= wy1


def test_no_face_behind_the_camera_or_outside_the_image():
    assert face_window(CAMERA, np.eye(3), np.array([0.0, 0.0, -0.5])) is None
    assert render_face(CAMERA, np.eye(3), np.array([5.0, 0.0, 0.5]), np.zeros(3), LOOK) is None


def test_painting_changes_the_face_pixels_only():
    face = render_face(CAMERA, np.eye(3), np.array([0.0, 0.0, 0.5]), np.zeros(3), LOOK)
    image = np.full((240, 320, 3), 100.0, np.float32)
    paint_face(image, face, np.array([220.0, 170.0, 140.0]))
    changed = np.any(image != 100.0, axis=2)
    x0, y0, x1, y1 = face.window
    expected = np.zeros((240, 320), bool)
    expected[y0:y1, x0:x1] = face.covered
    assert np.all(changed <= expected) and changed.sum() > 0.9 * expected.sum()
    skin = image[expected]
    assert np.all((skin >= 0) & (skin <= 255))
    # the tint keeps skin's hue: red over green over blue on average
    red, green, blue = skin.mean(axis=0)
    assert red > green > blue

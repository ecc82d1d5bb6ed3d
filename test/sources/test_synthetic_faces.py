"""The synthetic face scenes: their truth agrees with itself and with the image, they replay
byte for byte, and the people scene keeps the hands' labels."""

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.sources import open_source
from handperception.sources.synthetic_faces import SyntheticFacesSource

CAMERA = PinholeCamera.from_fov(320, 240, 60.0)


@pytest.fixture(scope="module")
def two_faces():
    return SyntheticFacesSource(CAMERA, seed=3, faces=2, loop_frames=8)


def test_truth_is_consistent_with_itself_and_the_camera(two_faces):
    for index in range(0, 8, 3):
        frame = two_faces.frame(index)
        assert frame.rgb.shape == (240, 320, 3) and frame.rgb.dtype == np.uint8
        assert len(frame.faces) == 2 and frame.hands is None
        for face in frame.faces:
            x0, y0, x1, y1 = face.face_box
            assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 240
            for u, v in face.eye_centres_px:
                assert x0 <= u < x1 and y0 <= v < y1
            np.testing.assert_allclose(
                face.eye_centres_px, CAMERA.project(face.eye_centres_3d), atol=1e-9
            )
            np.testing.assert_allclose(np.linalg.norm(face.gaze_vectors, axis=1), 1.0)
            np.testing.assert_allclose(np.linalg.norm(face.gaze), 1.0)
            np.testing.assert_allclose(face.origin, face.eye_centres_3d.mean(axis=0))
            # the face's gaze runs from its origin to the target, which both eyes look at
            along = face.target - face.origin
            np.testing.assert_allclose(face.gaze, along / np.linalg.norm(along))
            for eyeball, gaze in zip(face.eyeball_centres_3d, face.gaze_vectors):
                along = face.target - eyeball
                np.testing.assert_allclose(gaze, along / np.linalg.norm(along))
            assert face.target[2] == 0.0  # people look around the camera
            rotation = face.head_rotation
            np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
            # the eyeballs sit 62 mm apart, either side of the head's origin
            np.testing.assert_allclose(
                face.eyeball_centres_3d.mean(axis=0), face.head_translation, atol=1e-12
            )
            assert np.linalg.norm(np.diff(face.eyeball_centres_3d, axis=0)) == pytest.approx(0.062)


def test_faces_move_and_their_gaze_changes_slowly():
    """At 30 Hz over the default 2 s loop: millimetres and a few degrees per frame."""
    source = SyntheticFacesSource(CAMERA, seed=3)
    first, second = source.frame(0).faces[0], source.frame(1).faces[0]
    moved = np.linalg.norm(second.head_translation - first.head_translation)
    turned = np.degrees(np.arccos(np.clip(first.gaze @ second.gaze, -1, 1)))
    assert 0 < moved < 0.01 and 0 < turned < 5


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_ones(two_faces):
    again = SyntheticFacesSource(CAMERA, seed=3, faces=2, loop_frames=8)
    assert again.frame(2).rgb.tobytes() == two_faces.frame(2).rgb.tobytes()
    np.testing.assert_array_equal(again.frame(2).faces[1].gaze, two_faces.frame(2).faces[1].gaze)
    other = SyntheticFacesSource(CAMERA, seed=4, faces=2, loop_frames=8)
    assert other.frame(2).rgb.tobytes() != two_faces.frame(2).rgb.tobytes()


def test_the_face_is_drawn_inside_its_box_on_the_background():
    source = SyntheticFacesSource(CAMERA, seed=0, faces=1, loop_frames=4)
    frame = source.frame(0)
    (face,) = frame.faces
    x0, y0, x1, y1 = face.face_box
    background = np.clip(source.background + 0.5, 0, 255).astype(np.uint8)
    outside = np.ones((240, 320), bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(frame.rgb[outside], background[outside])
    assert np.any(frame.rgb[y0:y1, x0:x1] != background[y0:y1, x0:x1])


def test_scenes_by_name_and_the_people_scene_keeps_its_hands():
    people = open_source("synthetic:people", camera=CAMERA)
    frame = people.frame(0)
    assert len(frame.faces) == 1 and frame.hands is not None
    assert frame.hands.keypoints_3d.shape == (2, 21, 3)
    assert frame.rgb is frame.hands.rgb
    assert people.read().shape == (240, 320, 3)
    assert len(open_source("synthetic:face", camera=CAMERA).frame(0).faces) == 1
    assert len(open_source("synthetic:faces", camera=CAMERA).frame(0).faces) == 2
    with pytest.raises(ValueError, match="1 or 2 faces"):
        SyntheticFacesSource(CAMERA, faces=2, hands=True)

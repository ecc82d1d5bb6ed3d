"""Palm and back of the hand look different: palmar skin tone and nails (synth.skin)."""

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.skeleton.definition import FINGER_JOINTS
from handperception.skeleton.frames import wrist_frame
from handperception.skeleton.kinematics import HandParameters, mean_shape
from handperception.synth.hand_model import hand_capsules
from handperception.synth.render import render_hands
from handperception.synth.scenes import viewpoint_rotation
from handperception.synth.skin import (
    PALMAR_TINT,
    axial_position,
    back_directions,
    nail_pixels,
    on_finger_crease,
    on_palm_crease,
    palm_coordinates,
    skin_albedo,
)

DARK_SKIN = np.array([88.0, 56.0, 38.0])


def _flat_hand(is_left: bool, rotation=None, translation=None) -> np.ndarray:
    rotation = np.eye(3) if rotation is None else rotation
    translation = np.zeros(3) if translation is None else translation
    hands = HandParameters(
        np.zeros((1, 15, 3)), mean_shape(1), rotation[None], translation[None], np.array([is_left])
    )
    return hands.keypoints()[0]


@pytest.mark.parametrize("is_left", [False, True])
def test_a_flat_hand_has_its_back_along_the_hand_frame_z(is_left):
    # The hand frame's +z is where a camera sees the back of the hand (scenes.viewpoint_rotation).
    keypoints = _flat_hand(is_left)
    directions, nails = back_directions(
        keypoints, is_left, len(hand_capsules(keypoints, 1.0, is_left).radius)
    )
    # Within ~6 deg: the mean hand's straight fingers sit slightly off the palm plane.
    assert (directions[3:] @ [0.0, 0.0, 1.0]).min() > 0.99
    assert nails.sum() == 5 and nails[[2, 5, 8, 11, 14]].all()


def test_a_finger_bent_into_the_palm_shows_its_back_forwards():
    keypoints = _flat_hand(False)
    mcp, *distal = FINGER_JOINTS[1]
    frame = wrist_frame(keypoints)[0]
    # Fold the index finger 90 deg at its knuckle into the palm (along the wrist frame's -z, the
    # palm side of a right hand): the back of the folded finger then faces forwards, along the
    # wrist frame's x (-z cross y = x), perpendicular to the knuckle line.
    for joint in distal:
        reach = np.linalg.norm(keypoints[joint] - keypoints[mcp])
        keypoints[joint] = keypoints[mcp] - reach * frame[:, 2]
    directions, _ = back_directions(keypoints, False, 23)
    np.testing.assert_allclose(directions[3:6], np.tile(frame[:, 0], (3, 1)), atol=1e-9)


def test_a_mirrored_hand_has_mirrored_backs():
    right = _flat_hand(False, viewpoint_rotation(30, 20, 45))
    mirror = np.diag([-1.0, 1.0, 1.0])
    left = right @ mirror
    count = len(hand_capsules(right, 1.0, False).radius)
    np.testing.assert_allclose(
        back_directions(left, True, count)[0],
        back_directions(right, False, count)[0] @ mirror,
        atol=1e-9,
    )


def test_albedo_is_the_skin_on_the_back_lighter_on_the_palm_and_nail_on_nails():
    alignment = np.array([1.0, -1.0, 1.0])
    albedo = skin_albedo(DARK_SKIN, alignment, np.array([False, False, True]))
    np.testing.assert_allclose(albedo[0], DARK_SKIN, atol=1e-4)
    # Darkness 1 - mean(skin) / 240 = 0.7472: the palm moves 0.3 + 0.25 * 0.7472 = 48.7 % of the
    # way to the palmar tint.
    np.testing.assert_allclose(albedo[1], 0.5132 * DARK_SKIN + 0.4868 * PALMAR_TINT, atol=0.02)
    assert albedo[2].mean() > albedo[1].mean() > albedo[0].mean()


def test_nails_sit_on_the_outer_back_half_of_the_fingertip():
    a, b = np.array([0.0, 0.0, 0.0]), np.array([0.0, 0.02, 0.0])
    points = np.array([[0.0, 0.015, -0.008], [0.0, 0.004, -0.008], [0.0, 0.015, 0.008]])
    along = axial_position(points, np.tile(a, (3, 1)), np.tile(b, (3, 1)))
    np.testing.assert_allclose(along, [0.75, 0.2, 0.75])
    alignment = np.array([1.0, 1.0, -1.0])  # back, back, palm side
    assert nail_pixels(along, alignment, np.ones(3, bool)).tolist() == [True, False, False]
    assert not nail_pixels(along, alignment, np.zeros(3, bool)).any()


def test_creases_run_across_the_palm_and_at_the_finger_joints():
    keypoints = _flat_hand(True)
    # Palm coordinates: the wrist is (0, 0), the middle knuckle (1, 0), the index side is +y.
    local = palm_coordinates(keypoints, keypoints[[0, 9, 5, 17]])
    np.testing.assert_allclose(local[:2], [[0, 0], [1, 0]], atol=1e-9)
    assert local[2, 1] > 0 > local[3, 1]
    # On the distal transverse crease (x = 0.8 + 0.1 y) and the thenar arc; between them, none.
    on = on_palm_crease(np.array([[0.8, 0.0], [0.2, 0.0], [0.5, -0.3]]))
    assert on.tolist() == [True, True, False]
    assert on_finger_crease(np.array([0.05, 0.5, 0.95])).tolist() == [True, False, True]


def test_a_rendered_palm_is_lighter_than_the_back_of_the_same_hand():
    camera = PinholeCamera(300.0, 300.0, 64.0, 64.0, 128, 128)
    brightness = {}
    for name, azimuth in (("back", 0.0), ("palm", 180.0)):
        rotation = viewpoint_rotation(azimuth, 0.0, 0.0)
        at_origin = _flat_hand(False, rotation)
        translation = np.array([0.0, 0.0, 0.45]) - at_origin[9]
        hands = HandParameters(
            np.zeros((1, 15, 3)),
            mean_shape(1),
            rotation[None],
            translation[None],
            np.array([False]),
        )
        frame = render_hands(
            np.random.default_rng(0),
            camera,
            hands,
            DARK_SKIN[None],
            np.zeros((128, 128, 3)),
            effects=False,
        )
        brightness[name] = frame.rgb[frame.segmentation > 0].mean()
    assert brightness["palm"] > 1.3 * brightness["back"]

"""Gaze angle convention, angular error and MPIIGaze normalisation."""

import cv2
import numpy as np
import pytest
import torch

from handperception.geometry.gaze import (
    NormalizationSpec,
    angular_error_deg,
    angular_error_deg_torch,
    normalize_eye,
    pitchyaw_error_deg,
    pitchyaw_to_rotation,
    pitchyaw_to_vector,
    pitchyaw_to_vector_torch,
    vector_to_pitchyaw,
    vector_to_pitchyaw_torch,
)


@pytest.mark.parametrize(
    "pitchyaw, vector",
    [
        ((0.0, 0.0), (0.0, 0.0, -1.0)),  # into the camera
        ((0.0, np.pi / 2), (-1.0, 0.0, 0.0)),  # yaw +90: towards image left
        ((np.pi / 2, 0.0), (0.0, -1.0, 0.0)),  # pitch +90: up (y down)
        ((np.pi / 6, 0.0), (0.0, -0.5, -np.sqrt(3) / 2)),
        ((0.0, -np.pi / 4), (np.sqrt(0.5), 0.0, -np.sqrt(0.5))),
    ],
)
def test_pitchyaw_to_vector_hand_cases(pitchyaw, vector):
    np.testing.assert_allclose(pitchyaw_to_vector(np.array(pitchyaw)), vector, atol=1e-12)


def test_round_trip_numpy_and_torch():
    rng = np.random.default_rng(0)
    py = np.stack([rng.uniform(-1.4, 1.4, 200), rng.uniform(-3.0, 3.0, 200)], axis=1)
    v = pitchyaw_to_vector(py)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(vector_to_pitchyaw(v * 3.0), py, atol=1e-9)
    vt = pitchyaw_to_vector_torch(torch.tensor(py))
    np.testing.assert_allclose(vt.numpy(), v, atol=1e-12)
    np.testing.assert_allclose(vector_to_pitchyaw_torch(vt).numpy(), py, atol=1e-6)


def test_angular_error_known_pairs():
    x, y = np.array([1.0, 0, 0]), np.array([0, 2.0, 0])
    assert angular_error_deg(x, y) == pytest.approx(90.0)
    assert angular_error_deg(x, x) == pytest.approx(0.0)
    assert angular_error_deg(x, -x) == pytest.approx(180.0)
    assert angular_error_deg(x, np.array([1.0, 1.0, 0])) == pytest.approx(45.0)
    # Pure yaw difference of 0.1 rad at zero pitch is 0.1 rad.
    assert pitchyaw_error_deg(np.zeros(2), np.array([0.0, 0.1])) == pytest.approx(np.degrees(0.1))
    a = torch.tensor([[1.0, 0, 0], [1.0, 0, 0]], requires_grad=True)
    err = angular_error_deg_torch(a, torch.tensor([[0.0, 1.0, 0], [1.0, 0, 0]]))
    np.testing.assert_allclose(err.detach().numpy(), [90.0, 0.0], atol=1e-4)
    err.sum().backward()
    assert torch.all(torch.isfinite(a.grad))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="NaN"):
        pitchyaw_to_vector(np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="shape"):
        pitchyaw_to_vector(np.zeros(3))
    with pytest.raises(ValueError, match="zero-length"):
        vector_to_pitchyaw(np.zeros(3))
    with pytest.raises(ValueError, match="distance"):
        NormalizationSpec(distance=-0.6)
    with pytest.raises(ValueError, match="in front"):
        normalize_eye(np.eye(3), np.array([0.0, 0.0, -0.5]), np.eye(3))


def test_head_rotation_faces_along_its_pitchyaw():
    py = np.array([0.3, -0.5])
    rot = pitchyaw_to_rotation(py, roll=0.2)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(rot @ [0, 0, -1.0], pitchyaw_to_vector(py), atol=1e-12)


def _setup():
    k = np.array([[600.0, 0, 319.5], [0, 600.0, 239.5], [0, 0, 1]])
    eye = np.array([0.08, -0.05, 0.5])
    head = pitchyaw_to_rotation(np.array([0.2, -0.3]), roll=0.15)
    return k, eye, head


def test_normalisation_puts_eye_at_patch_centre_and_target_distance():
    k, eye, head = _setup()
    n = normalize_eye(k, eye, head)
    np.testing.assert_allclose(n.scale @ n.rotation @ eye, [0, 0, 0.6], atol=1e-12)
    pixel = k @ eye
    mapped = n.warp @ pixel
    np.testing.assert_allclose(mapped[:2] / mapped[2], [29.5, 17.5], atol=1e-9)
    np.testing.assert_allclose(n.rotation @ n.rotation.T, np.eye(3), atol=1e-12)
    # Head roll is removed: the normalised head x-axis has no y component.
    assert abs(n.head_rotation[1, 0]) < 1e-12


def test_normalised_gaze_round_trip_and_rotation_only():
    k, eye, head = _setup()
    n = normalize_eye(k, eye, head)
    g = pitchyaw_to_vector(np.array([[0.1, 0.4], [-0.3, -0.2]]))
    g_n = n.gaze_to_normalized(g)
    np.testing.assert_allclose(g_n, g @ n.rotation.T, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(g_n, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(n.gaze_from_normalized(g_n), g, atol=1e-12)
    # A gaze straight at the camera centre becomes (0, 0) after normalisation.
    towards_camera = -eye / np.linalg.norm(eye)
    np.testing.assert_allclose(
        vector_to_pitchyaw(n.gaze_to_normalized(towards_camera)), [0, 0], atol=1e-12
    )


def test_warp_image_moves_a_dot_at_the_eye_to_the_patch_centre():
    k, eye, head = _setup()
    image = np.zeros((480, 640), np.uint8)
    u, v = np.round((k @ eye)[:2] / eye[2])
    cv2.circle(image, (int(u), int(v)), 2, 255, -1)
    n = normalize_eye(k, eye, head)
    patch = n.warp_image(image).astype(float)
    assert patch.shape == (36, 60)
    ys, xs = np.mgrid[:36, :60]
    centroid = np.array([(patch * xs).sum(), (patch * ys).sum()]) / patch.sum()
    expected = n.warp @ [u, v, 1.0]
    np.testing.assert_allclose(centroid, expected[:2] / expected[2], atol=0.3)
    # The rounded dot is within 0.5 px of the eye, i.e. within ~0.7 patch px of the centre.
    assert np.linalg.norm(centroid - [29.5, 17.5]) < 1.0

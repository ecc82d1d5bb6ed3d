"""Two hands lifted as a pair: the wrists' depth difference from the network, their mean depth
from the hands' own bones, every joint kept on its pixel's ray."""

import numpy as np
import pytest
import torch

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.lifting import MEAN_REFERENCE_LENGTH_M, lift_hand_pair
from handperception.losses.pose import relative_depth
from handperception.losses.two_hands import wrist_depth_offset
from handperception.skeleton.kinematics import HandParameters, mean_shape
from handperception.synth.scenes import viewpoint_rotation

CAMERA = PinholeCamera.from_fov(640, 480, 60)


def _pair(right_shift=(0.06, 0.01, 0.05)):
    """A mean-size left and right hand (wrists ~0.5 m away), their pixels, relative depths and the
    true wrist offset."""
    rotation = np.stack([viewpoint_rotation(160, 10, 0), viewpoint_rotation(20, 10, 30)])
    hands = HandParameters(
        np.zeros((2, 15, 3)),
        mean_shape(2),
        rotation,
        np.array([[-0.04, 0.0, 0.5], np.add([-0.04, 0.0, 0.5], right_shift)]),
        np.array([True, False]),
    )
    xyz = hands.keypoints()
    uv = CAMERA.project(xyz.reshape(-1, 3)).reshape(2, 21, 2)
    depth = relative_depth(torch.tensor(xyz)).numpy()
    offset = wrist_depth_offset(torch.tensor(xyz)[None]).item()
    return xyz, uv, depth, offset


def test_true_inputs_give_back_the_hands():
    xyz, uv, depth, offset = _pair()
    lifted = lift_hand_pair(uv[None], depth[None], CAMERA.matrix[None], np.array([offset]))[0]
    np.testing.assert_allclose(lifted, xyz, atol=2e-3)


def test_the_offset_sets_the_depth_difference_and_keeps_the_mean():
    xyz, uv, depth, _ = _pair()
    true = lift_hand_pair(uv[None], depth[None], CAMERA.matrix[None], np.array([0.5]))[0]
    lifted = lift_hand_pair(uv[None], depth[None], CAMERA.matrix[None], np.array([2.0]))[0]
    roots, true_roots = lifted[:, 0, 2], true[:, 0, 2]
    assert roots[1] - roots[0] == pytest.approx(2.0 * MEAN_REFERENCE_LENGTH_M)
    assert roots.mean() == pytest.approx(true_roots.mean())
    # Every joint stays on the ray through its pixel.
    reprojected = CAMERA.project(lifted.reshape(-1, 3)).reshape(2, 21, 2)
    np.testing.assert_allclose(reprojected, uv, atol=1e-6)


def test_an_absurd_offset_never_puts_a_wrist_behind_the_camera():
    _, uv, depth, _ = _pair()
    lifted = lift_hand_pair(uv[None], depth[None], CAMERA.matrix[None], np.array([1e6]))[0]
    assert np.all(lifted[:, 0, 2] > 0)


def test_bad_input_is_refused():
    _, uv, depth, offset = _pair()
    with pytest.raises(ValueError):
        lift_hand_pair(uv[None], depth[None], CAMERA.matrix[None], np.array([np.nan]))
    with pytest.raises(ValueError):
        lift_hand_pair(uv[None, :1], depth[None, :1], CAMERA.matrix[None], np.array([offset]))


def test_batches_must_agree():
    _, uv, depth, offset = _pair()
    with pytest.raises(ValueError, match="root_offset"):
        lift_hand_pair(uv[None], depth[None], CAMERA.matrix[None], np.array([[offset]]))
    with pytest.raises(ValueError, match="depth"):
        lift_hand_pair(uv[None], depth[None].repeat(2, 0), CAMERA.matrix[None], np.array([offset]))
    with pytest.raises(ValueError, match="uv"):
        lift_hand_pair(uv, depth, CAMERA.matrix, offset)

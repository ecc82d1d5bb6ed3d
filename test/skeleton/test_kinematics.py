"""Forward/inverse kinematics, joint limits and pose samplers of the parametric hand."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from handperception.skeleton.kinematics import (
    JOINT_LIMITS,
    forward_kinematics,
    inverse_kinematics,
    mean_shape,
    sample_shapes,
)
from handperception.synth.poses import (
    sample_pose_trajectory,
    sample_synergy_poses,
    sample_uniform_poses,
)


def _random_hands(seed, n, twist=True):
    rng = np.random.default_rng(seed)
    pose = sample_uniform_poses(rng, n)
    if not twist:
        pose[..., 2] = 0.0
    shape = sample_shapes(rng, n)
    rotation = Rotation.random(n, random_state=seed).as_matrix()
    translation = rng.normal(size=(n, 3))
    is_left = rng.random(n) < 0.5
    return pose, shape, rotation, translation, is_left


def test_mean_hand_rest_pose_matches_hand_computed_lengths():
    keypoints = forward_kinematics(np.zeros((1, 15, 3)))[0]
    assert np.linalg.norm(keypoints[9]) == pytest.approx(0.095, abs=1e-3)
    # Middle finger straight along +y from its MCP: 4.5 + 2.9 + 2.3 cm.
    np.testing.assert_allclose(
        keypoints[12], [-0.002, 0.095 + 0.045 + 0.029 + 0.023, 0.004], atol=1e-12
    )


def test_mcp_flexion_bends_towards_the_palm_and_scale_scales():
    pose = np.zeros((1, 15, 3))
    pose[0, 6, 0] = np.pi / 2  # middle MCP flexed 90 deg
    keypoints = forward_kinematics(pose)[0]
    np.testing.assert_allclose(keypoints[10] - keypoints[9], [0.0, 0.0, -0.045], atol=1e-12)
    shape = mean_shape(1)
    shape[0, 0] = 1.2
    np.testing.assert_allclose(forward_kinematics(pose, shape)[0], 1.2 * keypoints, atol=1e-12)


def test_left_hand_is_the_mirror_and_placement_is_applied():
    pose, shape, rotation, translation, _ = _random_hands(0, 3)
    right = forward_kinematics(pose, shape)
    left = forward_kinematics(pose, shape, is_left=np.ones(3, bool))
    np.testing.assert_allclose(left, right * np.array([-1.0, 1.0, 1.0]))
    placed = forward_kinematics(pose, shape, rotation, translation)
    np.testing.assert_allclose(
        placed, np.einsum("nij,nkj->nki", rotation, right) + translation[:, None]
    )


def test_torch_forward_kinematics_matches_numpy():
    pose, shape, rotation, translation, is_left = _random_hands(1, 4)
    expected = forward_kinematics(pose, shape, rotation, translation, is_left)
    got = forward_kinematics(
        *(torch.tensor(x) for x in (pose, shape, rotation, translation, is_left))
    )
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)


def test_fk_of_ik_reproduces_keypoints_for_both_hands():
    pose, shape, rotation, translation, is_left = _random_hands(2, 16)
    keypoints = forward_kinematics(pose, shape, rotation, translation, is_left)
    fitted = inverse_kinematics(keypoints, is_left)
    np.testing.assert_allclose(fitted.keypoints(), keypoints, atol=1e-10)


def test_ik_recovers_twist_free_poses_including_pip_beyond_90_degrees():
    pose, shape, rotation, translation, is_left = _random_hands(3, 16, twist=False)
    pose[0, 4, 0] = np.radians(105)  # index PIP
    fitted = inverse_kinematics(
        forward_kinematics(pose, shape, rotation, translation, is_left), is_left
    )
    np.testing.assert_allclose(fitted.pose, pose, atol=1e-8)
    np.testing.assert_allclose(fitted.global_rotation, rotation, atol=1e-10)
    np.testing.assert_allclose(fitted.translation, translation, atol=1e-12)
    np.testing.assert_allclose(
        fitted.shape[:, :1] * fitted.shape[:, 1:], shape[:, :1] * shape[:, 1:], atol=1e-10
    )


def test_joint_limit_table_uses_published_ranges():
    degrees = np.degrees(np.stack([JOINT_LIMITS.lower, JOINT_LIMITS.upper], axis=-1))
    np.testing.assert_allclose(degrees[3, 0], [-30, 90])  # index MCP flexion
    np.testing.assert_allclose(degrees[3, 1], [-20, 20])  # index MCP abduction
    np.testing.assert_allclose(degrees[4, 0], [0, 110])  # index PIP
    np.testing.assert_allclose(degrees[5, 0], [0, 90])  # index DIP
    outside = np.zeros((1, 15, 3))
    outside[0, 4, 0] = np.radians(120)
    assert not JOINT_LIMITS.contains(outside)[0]
    assert JOINT_LIMITS.contains(JOINT_LIMITS.clip(outside))[0]


def test_samplers_respect_limits_and_are_deterministic():
    rng = np.random.default_rng(4)
    assert JOINT_LIMITS.contains(sample_uniform_poses(rng, 500)).all()
    synergy = sample_synergy_poses(rng, 500, amplitude=rng.uniform(0, 1, 500))
    assert JOINT_LIMITS.contains(synergy).all()
    # Mixtures are correlated: fingers flex together far more than independent sampling gives.
    flexion = synergy[:, [3, 6, 9, 12], 0]
    assert np.corrcoef(flexion.T)[np.triu_indices(4, 1)].min() > 0.5
    np.testing.assert_array_equal(
        sample_synergy_poses(np.random.default_rng(7), 3),
        sample_synergy_poses(np.random.default_rng(7), 3),
    )


def test_trajectory_is_smooth_within_limits_and_speed():
    fps, max_speed = 30.0, 250.0
    trajectory = sample_pose_trajectory(
        np.random.default_rng(5), 64, fps=fps, max_speed_deg_s=max_speed
    )
    assert trajectory.shape == (64, 15, 3)
    assert JOINT_LIMITS.contains(trajectory).all()
    speed = np.degrees(np.abs(np.diff(trajectory, axis=0))) * fps
    assert speed.max() <= max_speed + 1e-6
    assert speed.max() > 0.2 * max_speed  # it does move
    np.testing.assert_array_equal(
        trajectory, sample_pose_trajectory(np.random.default_rng(5), 64, fps=fps)
    )


@pytest.mark.parametrize(
    "pose, message",
    [(np.zeros((2, 14, 3)), "pose must be"), (np.full((1, 15, 3), np.nan), "NaN")],
)
def test_bad_poses_raise(pose, message):
    with pytest.raises(ValueError, match=message):
        JOINT_LIMITS.contains(pose)


def test_bad_ik_input_raises():
    with pytest.raises(ValueError, match="keypoints must be"):
        inverse_kinematics(np.zeros((1, 20, 3)))
    with pytest.raises(ValueError, match="zero-length bone"):
        inverse_kinematics(np.zeros((1, 21, 3)))

"""Biomechanical losses: zero on every hand the kinematic model can make, positive otherwise."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from handperception.losses.biomechanical import (
    BiomechanicalLimits,
    BiomechanicalLoss,
    bone_length_loss,
    joint_angle_loss,
    root_bone_loss,
)
from handperception.losses.hand_angles import finger_angles
from handperception.skeleton.kinematics import (
    BONE_RATIO_RANGE,
    MEAN_BONE_LENGTHS,
    forward_kinematics,
    mean_shape,
    sample_shapes,
)
from handperception.synth.poses import sample_synergy_poses, sample_uniform_poses

LIMITS = BiomechanicalLimits.from_kinematics()
INDEX_PIP, INDEX_DIST_BONE = (
    4,
    7,
)  # pose row of the index PIP; bone index of the index distal phalanx


def _valid_hands(n=400, seed=0):
    rng = np.random.default_rng(seed)
    pose = np.concatenate(
        [sample_uniform_poses(rng, n // 2), sample_synergy_poses(rng, n - n // 2)]
    )
    is_left = rng.random(n) < 0.5
    rotation = Rotation.random(n, random_state=seed).as_matrix()
    keypoints = forward_kinematics(
        pose, sample_shapes(rng, n), rotation, rng.normal(0, 0.3, (n, 3)), is_left
    )
    return torch.tensor(keypoints), torch.tensor(is_left)


def _hand(pose_edit=None, shape_edit=None, left=False):
    """One hand with one edited angle/shape entry, randomly rotated, as tensors."""
    pose = np.zeros((1, 15, 3))
    pose[0, :, 0] = np.radians(20)  # a relaxed, in-limit base posture
    if pose_edit:
        pose[0][pose_edit[0]] = pose_edit[1]
    shape = mean_shape()
    if shape_edit:
        shape[0, 1 + shape_edit[0]] = shape_edit[1]
    rotation = Rotation.from_euler("xyz", [0.3, -1.1, 2.0]).as_matrix()[None]
    keypoints = forward_kinematics(
        pose, shape, rotation, np.array([[0.1, 0.0, 0.5]]), np.array([left])
    )
    return torch.tensor(keypoints), torch.tensor([left])


def test_all_losses_zero_on_valid_sampled_hands():
    joints, is_left = _valid_hands()
    assert float(bone_length_loss(joints, LIMITS, reduction="none").max()) == 0.0
    assert float(root_bone_loss(joints, LIMITS, is_left, reduction="none").max()) == 0.0
    assert float(joint_angle_loss(joints, LIMITS, is_left, reduction="none").max()) < 1e-6
    # Scale-normalised input (divided by an arbitrary per-sample factor) is judged the same.
    scaled = joints / torch.linspace(0.05, 2.0, len(joints))[:, None, None]
    assert float(BiomechanicalLoss()(scaled, is_left)["total"]) < 1e-6


def test_measured_angles_equal_generating_angles_without_twist():
    pose = np.zeros((1, 15, 3))
    pose[0, 3] = np.radians([30, 0, 0])  # index MCP flexion
    pose[0, 4] = np.radians([60, 0, 0])
    pose[0, 5] = np.radians([20, 0, 0])
    pose[0, 6] = np.radians([0, 10, 0])  # middle MCP abduction only
    pose[0, 9] = np.radians([-20, 0, 0])  # ring hyperextension at the MCP
    keypoints = forward_kinematics(
        pose, global_rotation=Rotation.from_euler("z", 1.0).as_matrix()[None]
    )
    angles = np.degrees(finger_angles(torch.tensor(keypoints))[0].numpy())
    np.testing.assert_allclose(angles[3:7], [[30, 0], [60, 0], [20, 0], [0, 10]], atol=1e-9)
    np.testing.assert_allclose(angles[9], [-20, 0], atol=1e-9)


@pytest.mark.parametrize("left", [False, True])
def test_violations_are_positive(left):
    cases = {
        "hyperextended PIP": ("joint_angle", dict(pose_edit=((INDEX_PIP, 0), np.radians(-40)))),
        "PIP bent sideways": ("joint_angle", dict(pose_edit=((INDEX_PIP, 1), np.radians(45)))),
        "stretched bone": ("bone_length", dict(shape_edit=(INDEX_DIST_BONE, 1.5))),
    }
    loss = BiomechanicalLoss()
    for name, (term, edit) in cases.items():
        joints, is_left = _hand(**edit, left=left)
        valid, _ = _hand(left=left)
        terms = loss(joints, is_left)
        assert float(terms[term]) > 1e-3, name
        assert float(loss(valid, is_left)["total"]) == 0.0


def test_stretched_bone_penalty_matches_hand_computed_hinge():
    joints, _ = _hand(shape_edit=(INDEX_DIST_BONE, 1.5))
    relative = MEAN_BONE_LENGTHS[INDEX_DIST_BONE] / MEAN_BONE_LENGTHS[8]
    upper = relative * BONE_RATIO_RANGE[1] / BONE_RATIO_RANGE[0]
    expected = (1.5 * relative - upper) / 20
    assert float(bone_length_loss(joints, LIMITS)) == pytest.approx(expected, rel=1e-9)
    # An explicit scale (the true reference length) gives the same, a wrong one penalises all bones.
    true_scale = torch.tensor([MEAN_BONE_LENGTHS[8]])
    assert float(bone_length_loss(joints, LIMITS, true_scale)) == pytest.approx(expected, rel=1e-9)
    ratios = np.ones(20)
    ratios[INDEX_DIST_BONE] = 1.5
    doubled = 2 * ratios * MEAN_BONE_LENGTHS / MEAN_BONE_LENGTHS[8]
    upper_all = MEAN_BONE_LENGTHS / MEAN_BONE_LENGTHS[8] * BONE_RATIO_RANGE[1] / BONE_RATIO_RANGE[0]
    expected_half = np.maximum(doubled - upper_all, 0).mean()
    assert float(bone_length_loss(joints, LIMITS, true_scale / 2)) == pytest.approx(
        expected_half, rel=1e-9
    )


def test_non_planar_palm_is_penalised_by_root_bone_loss():
    keypoints = forward_kinematics(np.zeros((1, 15, 3)))
    keypoints[0, 17:21, 2] -= 0.03  # little finger ray folded 3 cm palmar
    folded = torch.tensor(keypoints)
    assert (
        float(root_bone_loss(torch.tensor(forward_kinematics(np.zeros((1, 15, 3)))), LIMITS)) == 0.0
    )
    assert float(root_bone_loss(folded, LIMITS)) > 1e-3
    # The same fold on a left hand (mirrored keypoints) is equally wrong.
    mirrored = folded * torch.tensor([-1.0, 1.0, 1.0])
    assert float(root_bone_loss(mirrored, LIMITS, torch.tensor([True]))) == pytest.approx(
        float(root_bone_loss(folded, LIMITS))
    )


def test_loss_gradients_are_finite():
    joints, is_left = _valid_hands(16, seed=3)
    joints = joints + 0.02 * torch.randn_like(joints)  # some violations, so gradients are non-zero
    joints.requires_grad_(True)
    BiomechanicalLoss()(joints, is_left)["total"].backward()
    assert torch.all(torch.isfinite(joints.grad)) and float(joints.grad.abs().sum()) > 0


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="joints must be"):
        bone_length_loss(torch.zeros(2, 20, 3), LIMITS)
    with pytest.raises(ValueError, match="reduction"):
        joint_angle_loss(_hand()[0], LIMITS, reduction="sum")
    with pytest.raises(ValueError, match="scale"):
        bone_length_loss(_hand()[0], LIMITS, torch.tensor([-1.0]))
    with pytest.raises(ValueError, match="ratio_range"):
        BiomechanicalLimits.from_kinematics(ratio_range=(1.1, 0.9))

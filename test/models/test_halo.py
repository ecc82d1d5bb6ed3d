"""HALO's network: canonical frames, invariances, left hands, gradients, configs, checkpoints,
and the keypoints it refuses."""

import numpy as np
import pytest
import torch

from handperception.models.checkpoint import (
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from handperception.models.halo import HaloNet, hand_frames, hand_keypoint_problem
from handperception.models.halo.frames import ARTICULATED_BONES, NUM_PARTS, PALM
from handperception.skeleton.definition import BONES, ROOT
from handperception.skeleton.frames import wrist_frame
from handperception.skeleton.kinematics import HandParameters, sample_shapes
from handperception.synth.poses import sample_synergy_poses


def _hands(count: int, seed: int = 0, is_left=None, flat: bool = False) -> np.ndarray:
    """(count, 21, 3) keypoints of varied hands at varied places and orientations."""
    rng = np.random.default_rng(seed)
    pose = np.zeros((count, 15, 3)) if flat else sample_synergy_poses(rng, count)
    rotation = np.linalg.qr(rng.normal(size=(count, 3, 3)))[0]
    rotation *= np.sign(np.linalg.det(rotation))[:, None, None]
    translation = rng.uniform(-0.3, 0.3, (count, 3)) + [0.0, 0.0, 0.6]
    left = np.zeros(count, dtype=bool) if is_left is None else np.asarray(is_left)
    return HandParameters(pose, sample_shapes(rng, count), rotation, translation, left).keypoints()


def _frames(keypoints: np.ndarray):
    return hand_frames(torch.as_tensor(keypoints, dtype=torch.float64))


def test_part_frames_are_rotations_whose_x_follows_the_bone():
    keypoints = np.concatenate([_hands(6), _hands(2, seed=1, flat=True)])
    frames = _frames(keypoints)
    rotations = frames.rotations
    assert rotations.shape == (8, NUM_PARTS, 3, 3)
    identity = torch.eye(3, dtype=torch.float64).expand_as(rotations)
    assert torch.allclose(rotations.transpose(-1, -2) @ rotations, identity, atol=1e-9)
    assert torch.allclose(
        torch.linalg.det(rotations), torch.ones(8, NUM_PARTS, dtype=torch.float64)
    )
    for part, bone in enumerate(ARTICULATED_BONES, start=1):
        parent, child = BONES[bone]
        direction = keypoints[:, child] - keypoints[:, parent]
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        assert np.allclose(rotations[:, part, :, 0].numpy(), direction, atol=1e-9)
        assert np.allclose(frames.origins[:, part].numpy(), keypoints[:, parent])
    # the palm frame is the wrist frame of the skeleton (and of Hand.wrist_pose)
    palm, origin = wrist_frame(keypoints[0])
    assert np.allclose(rotations[0, PALM].numpy(), palm, atol=1e-9)
    assert np.allclose(frames.origins[0, PALM].numpy(), keypoints[0, ROOT])


def test_frames_are_continuous_under_small_pose_changes_even_for_straight_fingers():
    rng = np.random.default_rng(3)
    for keypoints in (_hands(1, flat=True)[0], _hands(1, seed=4)[0]):
        base = _frames(keypoints[None]).rotations[0]
        for _ in range(5):
            nudged = keypoints + rng.normal(scale=1e-5, size=keypoints.shape)  # 10 micrometres
            change = (_frames(nudged[None]).rotations[0] - base).abs().max()
            assert change < 2e-3


def test_frames_follow_a_rigid_motion_of_the_hand():
    keypoints = _hands(1, seed=5)[0]
    rotation = np.linalg.qr(np.random.default_rng(5).normal(size=(3, 3)))[0]
    rotation *= np.sign(np.linalg.det(rotation))
    moved = keypoints @ rotation.T + [0.1, -0.2, 0.3]
    a, b = _frames(keypoints[None]), _frames(moved[None])
    assert torch.allclose(torch.as_tensor(rotation) @ a.rotations[0], b.rotations[0], atol=1e-9)
    assert torch.allclose(a.scale, b.scale)


def _inputs(count: int = 2, points: int = 300, seed: int = 0, is_left=None):
    keypoints = _hands(count, seed, is_left)
    rng = np.random.default_rng(seed)
    centre = keypoints.mean(axis=1, keepdims=True)
    cloud = centre + rng.normal(scale=0.04, size=(count, points, 3))
    return (
        torch.as_tensor(cloud, dtype=torch.float32),
        torch.as_tensor(keypoints, dtype=torch.float32),
        torch.as_tensor(np.zeros(count, dtype=bool) if is_left is None else is_left),
    )


def test_forward_shapes_probabilities_and_batching():
    torch.manual_seed(0)
    model = HaloNet()
    points, keypoints, is_left = _inputs(3)
    logits = model(points, keypoints, is_left)
    assert logits.shape == (3, 300) and torch.isfinite(logits).all()
    probabilities = model.occupancy(points, keypoints, is_left)
    assert torch.allclose(probabilities, torch.sigmoid(logits))
    one = model(points[1:2], keypoints[1:2], is_left[1:2])
    assert torch.allclose(one[0], logits[1], atol=1e-3)  # float32 rounding, two code paths


def test_occupancy_ignores_where_the_hand_is():
    torch.manual_seed(0)
    model = HaloNet()
    points, keypoints, is_left = _inputs(1, seed=2)
    rotation = torch.as_tensor(
        np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0], dtype=torch.float32
    )
    rotation = rotation * torch.sign(torch.linalg.det(rotation))
    shift = torch.tensor([0.2, -0.1, 0.4])
    moved = model(points @ rotation.T + shift, keypoints @ rotation.T + shift, is_left)
    assert torch.allclose(moved, model(points, keypoints, is_left), atol=2e-3)


def test_a_left_hand_is_its_mirrored_right_hand():
    torch.manual_seed(0)
    model = HaloNet()
    points, keypoints, _ = _inputs(2, seed=3, is_left=np.array([True, True]))
    mirror = torch.tensor([-1.0, 1.0, 1.0])
    left = model(points, keypoints, torch.tensor([True, True]))
    right = model(points * mirror, keypoints * mirror, torch.tensor([False, False]))
    assert torch.allclose(left, right, atol=1e-5)
    # and the network does not just ignore the side
    assert not torch.allclose(left, model(points, keypoints, torch.tensor([False, False])))


@pytest.mark.parametrize("combine", ["softmax", "max"])
def test_gradients_reach_points_and_keypoints(combine):
    torch.manual_seed(0)
    model = HaloNet(combine=combine)
    points, keypoints, is_left = _inputs(2, seed=4)
    points.requires_grad_(True)
    keypoints.requires_grad_(True)
    model.occupancy(points, keypoints, is_left).sum().backward()
    for tensor in (points, keypoints):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
        assert tensor.grad.abs().sum() > 0
    # every finger's keypoints, not only the wrist, move the occupancy
    assert (keypoints.grad.abs().sum(dim=(0, 2)) > 0).sum() >= 15


def test_points_no_part_supports_are_outside():
    model = HaloNet()
    _, keypoints, is_left = _inputs(1)
    far = keypoints.mean(dim=1, keepdim=True) + torch.tensor([[[1.0, 0.0, 0.0]]])
    assert model.occupancy(far, keypoints, is_left).item() < 1e-9


def test_degenerate_keypoints_give_finite_logits():
    model = HaloNet()
    points, keypoints, is_left = _inputs(1)
    collapsed = keypoints.clone()
    collapsed[0, 6] = collapsed[0, 5]  # zero-length bone
    collapsed[0, 9:13] = collapsed[0, 0]  # a whole finger on the wrist
    assert torch.isfinite(model(points, collapsed, is_left)).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_runs_on_the_gpu_like_on_the_cpu():
    torch.manual_seed(0)
    model = HaloNet()
    points, keypoints, is_left = _inputs(2)
    expected = model(points, keypoints, is_left)
    result = model.cuda()(points.cuda(), keypoints.cuda(), is_left.cuda())
    assert torch.allclose(result.cpu(), expected, atol=1e-4)


def test_input_shapes_are_checked():
    model = HaloNet()
    points, keypoints, is_left = _inputs(2)
    with pytest.raises(ValueError, match="keypoints"):
        model(points, keypoints[:1], is_left)
    with pytest.raises(ValueError, match="is_left"):
        model(points, keypoints, is_left[:1])
    with pytest.raises(ValueError, match="points"):
        model(points[0], keypoints, is_left)


@pytest.mark.parametrize(
    "change",
    [
        {"hidden": 0},
        {"hidden": 10**6},
        {"layers": True},
        {"code": 2.0},
        {"combine": "mean"},
        {"temperature": float("nan")},
        {"temperature": True},
        {"palm_support": 5.0},
        {"finger_support": "0.02"},
    ],
)
def test_check_config_refuses_out_of_range_values(change):
    config = {**HaloNet().config, **change}
    with pytest.raises(ValueError):
        HaloNet.check_config(config)


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = HaloNet(hidden=16, layers=2, code=8, combine="max")
    path = save_checkpoint(tmp_path / "halo.pt", model, "halo", model.config, {"note": "test"})
    loaded, config = load_checkpoint(path, expected_model="halo")
    assert config == model.config
    points, keypoints, is_left = _inputs(1)
    assert torch.allclose(loaded(points, keypoints, is_left), model(points, keypoints, is_left))
    with pytest.raises(CheckpointError, match="expected 'two_hand_net'"):
        load_checkpoint(path, expected_model="two_hand_net")


def test_a_checkpoint_declaring_a_huge_network_is_refused_before_it_is_built(tmp_path):
    model = HaloNet()
    path = save_checkpoint(tmp_path / "halo.pt", model, "halo", {**model.config, "hidden": 10**9})
    with pytest.raises(CheckpointError, match="hidden"):
        load_checkpoint(path, expected_model="halo")


def test_keypoint_problems_name_their_reason():
    hand = _hands(1)[0]
    assert hand_keypoint_problem(hand) is None
    assert hand_keypoint_problem(_hands(1, seed=1, flat=True, is_left=[True])[0]) is None
    nan = hand.copy()
    nan[7, 1] = np.nan
    assert hand_keypoint_problem(nan) == "non_finite_keypoints"
    infinite = hand.copy()
    infinite[0, 0] = np.inf
    assert hand_keypoint_problem(infinite) == "non_finite_keypoints"
    zero_bone = hand.copy()
    zero_bone[8] = zero_bone[7]
    assert hand_keypoint_problem(zero_bone) == "degenerate_bones"
    assert hand_keypoint_problem(np.zeros((21, 3))) == "degenerate_bones"
    # every knuckle on the wrist -> middle MCP line: the palm spans no plane
    collinear = hand.copy()
    forward = collinear[9] - collinear[0]
    for mcp in (5, 13, 17):
        collinear[mcp] = collinear[0] + forward * (0.9 + 0.05 * (mcp % 3))
    assert hand_keypoint_problem(collinear) == "degenerate_bones"
    # a finger folded straight back onto itself
    folded = hand.copy()
    folded[7] = folded[6] - (folded[6] - folded[5])
    assert hand_keypoint_problem(folded) == "degenerate_bones"
    wrist = hand[0]
    assert hand_keypoint_problem(wrist + 10.0 * (hand - wrist)) == "implausible_scale"  # ~2 m
    assert hand_keypoint_problem(wrist + 0.2 * (hand - wrist)) == "implausible_scale"
    assert hand_keypoint_problem(wrist + 2.0 * (hand - wrist)) is None
    with pytest.raises(ValueError, match="21, 3"):
        hand_keypoint_problem(hand[:20])

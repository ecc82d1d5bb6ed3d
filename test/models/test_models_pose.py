"""Heatmaps, the 2.5D pose net, lifting to 3D, checkpoints, supervised losses and training."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation
from torch.utils.data import DataLoader

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.lifting import MEAN_REFERENCE_LENGTH_M, lift_reference_bone
from handperception.losses.pose import PoseLoss, PoseTarget, keypoint_2d_loss
from handperception.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from handperception.models.heatmaps import (
    gaussian_heatmaps,
    heatmap_to_image,
    image_to_heatmap,
    peak_mass,
    soft_argmax,
)
from handperception.models.pose2p5d import HandPoseNet, image_turn
from handperception.skeleton.frames import INDEX_MCP, LITTLE_MCP
from handperception.skeleton.kinematics import forward_kinematics, sample_shapes
from handperception.synth.dataset import SynthHandDataset
from handperception.synth.poses import sample_synergy_poses
from handperception.synth.splits import load_split
from handperception.train.pose import batch_to_inputs, train_pose


def test_soft_argmax_recovers_subpixel_gaussian_centre():
    centres = torch.tensor([[[10.3, 7.6], [18.0, 15.25]]], dtype=torch.float64)
    logits = torch.log(gaussian_heatmaps(centres, 24, 32, sigma=1.5))
    coords, probabilities = soft_argmax(logits)
    np.testing.assert_allclose(coords.numpy(), centres.numpy(), atol=1e-6)
    np.testing.assert_allclose(probabilities.sum((-2, -1)).numpy(), 1.0)
    # A single hot pixel with a large beta gives its integer position (x = column, y = row).
    hot = torch.zeros(1, 1, 24, 32)
    hot[0, 0, 5, 20] = 1.0
    np.testing.assert_allclose(
        soft_argmax(hot, beta=100.0)[0][0, 0].numpy(), [20.0, 5.0], atol=1e-4
    )
    # That peak holds all the mass; a flat map holds only its 13-pixel disk of 768.
    assert float(
        peak_mass(soft_argmax(hot, beta=100.0)[1], torch.tensor([[[20.0, 5.0]]]))
    ) == pytest.approx(1.0)
    flat = soft_argmax(torch.zeros(1, 1, 24, 32))[1]
    assert float(peak_mass(flat, torch.tensor([[[15.0, 11.0]]]))) == pytest.approx(13 / 768)


def test_gaussian_heatmap_is_centred_and_coordinates_map_to_image():
    maps = gaussian_heatmaps(torch.tensor([[[6.0, 3.0]]]), 8, 10, sigma=2.0)[0, 0]
    assert maps[3, 6] == 1.0 and int(maps.argmax()) == 3 * 10 + 6
    assert float(maps[3, 8]) == pytest.approx(np.exp(-4 / 8)) == float(maps[3, 4])
    # Stride 4: heatmap pixel 0 covers image pixels 0..3, centre 1.5.
    assert heatmap_to_image(torch.tensor([0.0, 2.0]), 4).tolist() == [1.5, 9.5]
    points = torch.tensor([[12.25, 3.0]])
    assert torch.allclose(heatmap_to_image(image_to_heatmap(points, 8), 8), points)


def test_lift_to_3d_recovers_synthetic_hand_through_a_crop_camera():
    rng = np.random.default_rng(4)
    n = 3
    shape = sample_shapes(rng, n)
    rotation = Rotation.random(n, random_state=5).as_matrix()
    hands = forward_kinematics(
        sample_synergy_poses(rng, n), shape, rotation, np.array([[0.05, -0.03, 0.45]] * n)
    )
    full = PinholeCamera(610.0, 605.0, 322.0, 238.0, 640, 480)
    crop = full.crop(230.0, 140.0, 220, 220).resize(128, 128)
    uv = torch.tensor(crop.project(hands))
    reference = np.linalg.norm(hands[:, 9] - hands[:, 0], axis=-1)
    depth = torch.tensor((hands[..., 2] - hands[:, :1, 2]) / reference[:, None])
    lifted = lift_reference_bone(uv, depth, crop, torch.tensor(reference))
    assert float((lifted - torch.tensor(hands)).abs().max()) < 1e-4
    per_sample_k = torch.tensor(crop.matrix).expand(n, 3, 3)
    assert (
        float(
            (lift_reference_bone(uv, depth, per_sample_k, torch.tensor(reference)) - lifted)
            .abs()
            .max()
        )
        < 1e-12
    )
    # The default length is the mean hand's wrist -> middle MCP bone.
    assert MEAN_REFERENCE_LENGTH_M == pytest.approx(0.0951, abs=2e-4)
    with pytest.raises(ValueError, match="bone_length_m"):
        lift_reference_bone(uv, depth, crop, -1.0)


@pytest.mark.parametrize("size", ["tiny", "resnet18", "resnet34"])
def test_pose_net_shapes_and_gradients(size):
    torch.manual_seed(0)
    model = HandPoseNet(size, output_stride=4 if size == "tiny" else 8)
    images = torch.rand(2, 3, 32, 32, requires_grad=True)
    out = model(images)
    h = 32 // model.backbone.output_stride
    assert out.heatmaps.shape == (2, 21, h, h) and out.uv.shape == (2, 21, 2)
    assert (
        out.depth.shape == (2, 21)
        and out.confidence.shape == (2, 21)
        and out.handedness_logit.shape == (2,)
    )
    assert torch.all(out.depth[:, 0] == 0) and torch.all(
        (out.confidence >= 0) & (out.confidence <= 1)
    )
    assert torch.all((out.uv > -0.5) & (out.uv < 31.5))
    (out.uv.sum() + out.depth.sum() + out.handedness_logit.sum()).backward()
    assert torch.all(torch.isfinite(images.grad)) and float(images.grad.abs().sum()) > 0
    assert all(torch.all(torch.isfinite(p.grad)) for p in model.parameters() if p.grad is not None)
    with pytest.raises(ValueError, match="images must be"):
        model(torch.rand(2, 1, 32, 32))


def test_checkpoint_round_trip_and_clear_failures(tmp_path):
    torch.manual_seed(1)
    model = HandPoseNet("tiny").eval()
    path = save_checkpoint(tmp_path / "pose.pt", model, "hand_pose_net", model.config)
    loaded, config = load_checkpoint(path, expected_model="hand_pose_net")
    assert config == model.config
    images = torch.rand(1, 3, 64, 64)
    assert torch.equal(loaded(images).uv, model(images).uv)

    data = torch.load(path, weights_only=True)
    data["state_dict"]["head.2.weight"] = torch.zeros(5, 32, 1, 1)
    data["state_dict"]["extra.weight"] = torch.zeros(1)
    del data["state_dict"]["palm_facing.bias"]
    torch.save(data, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "bad.pt")
    message = str(error.value)
    assert "head.2.weight: (5, 32, 1, 1) in file, (42, 32, 1, 1) in model" in message
    assert "missing (1): palm_facing.bias" in message and "unexpected (1): extra.weight" in message

    torch.save({"format": "other", "state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a 'handperception' checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="expected 'segmenter'"):
        load_checkpoint(path, expected_model="segmenter")
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        load_checkpoint(tmp_path / "nowhere.pt")


def test_keypoint_loss_hand_computed_with_visibility():
    pred = torch.tensor([[[0.0, 0.0], [3.0, 4.0], [100.0, 100.0]]])
    target = torch.zeros(1, 3, 2)
    visible = torch.tensor([[True, True, False]])
    assert float(keypoint_2d_loss(pred, target, visible, "l1")) == pytest.approx(7 / 2)
    assert float(keypoint_2d_loss(pred, target, visible, "l2")) == pytest.approx(5 / 2)


def _crops(n, seed):
    dataset = SynthHandDataset(load_split("interpolation"), length=n, seed=seed, size=64)
    return [dataset[i] for i in range(n)]


def test_pose_loss_ignores_3d_labels_of_2d_only_samples():
    torch.manual_seed(2)
    model = HandPoseNet("tiny")
    batch = next(iter(DataLoader(_crops(2, 0), batch_size=2)))
    images, target = batch_to_inputs(batch, True, "cpu")
    target.has_3d = torch.tensor([True, False])
    out = model(images)
    loss = PoseLoss()
    first = loss(out, target)
    moved = PoseTarget(**{**vars(target), "xyz": target.xyz.clone()})
    moved.xyz[1] += 0.3 * torch.randn(21, 3)
    assert float(loss(out, moved)["total"].detach()) == pytest.approx(
        float(first["total"].detach())
    )
    assert set(first) == {"uv", "heatmap", "handedness", "depth", "xyz", "biomech", "total"}
    target.has_3d = torch.tensor([False, False])
    assert "depth" not in loss(out, target)


def test_training_on_tiny_crops_lowers_the_loss():
    torch.manual_seed(0)
    crops = _crops(8, 1)
    history = train_pose(
        HandPoseNet("tiny"),
        DataLoader(crops[:4], batch_size=4),
        DataLoader(crops[4:], batch_size=4),
        steps=10,
        lr=3e-3,
        progress=False,
    )
    assert len(history) == 10 and history[1]["has_3d"] is False and "depth" not in history[1]
    # Steps 0 and 8 see the same fully labelled batch.
    assert history[8]["total"] < 0.9 * history[0]["total"]


def test_image_turn_is_the_sine_from_the_index_to_the_little_knuckle():
    uv = torch.zeros(2, 21, 2)
    uv[:, INDEX_MCP] = torch.tensor([2.0, 0.0])
    uv[0, LITTLE_MCP] = torch.tensor([0.0, 3.0])  # 90 deg clockwise on screen (y down): sine 1
    uv[1, LITTLE_MCP] = torch.tensor([1.0, -1.0])  # 45 deg the other way: -sqrt(1/2)
    torch.testing.assert_close(image_turn(uv), torch.tensor([1.0, -(0.5**0.5)]))


def test_handedness_is_palm_side_times_image_turn_on_rendered_hands():
    """On ground truth the factorisation holds: left = palm-facing and turned > 0, or back-facing
    and turned < 0 (all but edge-on views)."""
    from handperception.skeleton.frames import wrist_frame

    dataset = SynthHandDataset(load_split("interpolation"), "test", "hands", 60, 2, 32)
    agree = 0
    for index in range(len(dataset)):
        item = dataset[index]
        joints, is_left = item["keypoints_3d"][0], bool(item["is_left"][0])
        back = wrist_frame(joints)[0][:, 2] * (-1.0 if is_left else 1.0)
        palm_facing = float(np.dot(back, joints[0])) > 0  # the back points away from the camera
        turn = float(image_turn(torch.as_tensor(item["keypoints_2d"][:1], dtype=torch.float32))[0])
        agree += is_left == (palm_facing == (turn > 0))
    assert agree >= 57


def test_the_joint_palm_head_reads_the_features_under_each_joint():
    """With palm_features=joints the palm-side logit is a linear map of the features weighted by
    each joint's heatmap probabilities: recompute it by hand from the net's own parts."""
    torch.manual_seed(0)
    net = HandPoseNet("tiny", palm_features="joints").eval()
    images = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        output = net(images)
        features = net.backbone(net.standardize(images))
        under_joints = torch.stack(
            [
                torch.stack(
                    [(output.probabilities[b, j] * features[b]).sum((-2, -1)) for j in range(21)]
                )
                for b in range(2)
            ]
        )
        expected = net.palm_facing(under_joints.flatten(1))[:, 0]
    torch.testing.assert_close(output.palm_facing_logit, expected, rtol=1e-4, atol=1e-5)
    assert net.palm_facing.in_features == 21 * features.shape[1]
    with pytest.raises(ValueError, match="palm_features"):
        HandPoseNet("tiny", palm_features="mean")


def test_a_new_head_trains_on_a_frozen_network_started_from_a_checkpoint(tmp_path):
    """initialise_from copies every tensor of matching name and shape and names the rest;
    training only `palm_facing` leaves every other tensor (batch-norm statistics included) as
    it was, and lowers the handedness loss."""
    from handperception.models.checkpoint import initialise_from

    torch.manual_seed(0)
    pooled = HandPoseNet("tiny")
    path = save_checkpoint(tmp_path / "pooled.pt", pooled, "hand_pose_net", pooled.config)
    net = HandPoseNet("tiny", palm_features="joints")
    assert initialise_from(net, path, "hand_pose_net") == ["palm_facing.weight"]
    before = {name: tensor.clone() for name, tensor in net.state_dict().items()}
    torch.testing.assert_close(
        before["backbone.stem.0.0.weight"], pooled.state_dict()["backbone.stem.0.0.weight"]
    )
    crops = _crops(8, 3)
    history = train_pose(
        net,
        DataLoader(crops, batch_size=8),
        steps=12,
        lr=3e-2,
        progress=False,
        trainable=("palm_facing",),
    )
    after = net.state_dict()
    changed = sorted(name for name in after if not torch.equal(after[name], before[name]))
    assert changed == ["palm_facing.bias", "palm_facing.weight"]
    assert history[-1]["handedness"] < history[0]["handedness"]
    with pytest.raises(ValueError, match="names no parameter"):
        train_pose(net, DataLoader(crops, batch_size=8), steps=1, progress=False, trainable=("x",))
    with pytest.raises(CheckpointError, match="expected 'hand_detector'"):
        initialise_from(net, path, "hand_detector")

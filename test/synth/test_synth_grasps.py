"""Synthetic grasps: hand surface geometry, contact/penetration of generated grasps, splits,
inputs."""

import numpy as np
import pytest
import trimesh

from handperception.skeleton.kinematics import JOINT_LIMITS, forward_kinematics, mean_shape
from handperception.synth.grasps import (
    GraspSpec,
    grasp_object,
    object_item,
    sample_grasp,
    sample_split_object,
)
from handperception.synth.hand_model import Capsules
from handperception.synth.hand_surface import hand_sdf, hand_volume_samples, sample_hand_surface
from handperception.synth.objects import ObjectSample, ObjectSpec, sample_object
from handperception.synth.splits import load_split

TOLERANCE = 0.002  # GraspSpec defaults: penetration tolerance and contact threshold, metres


def _one_capsule() -> Capsules:
    return Capsules(
        np.array([[0.0, 0.0, 0.0]]),
        np.array([[0.0, 0.0, 0.04]]),
        np.array([0.01]),
        np.array([8], np.uint8),
    )


def test_hand_sdf_of_a_single_capsule_matches_hand_computed_distances():
    capsule = _one_capsule()
    points = np.array(
        [[0, 0, 0.02], [0.03, 0, 0.02], [0, 0, 0.06], [0.01, 0, -0.01], [0.004, 0.003, 0.04]]
    )
    expected = [-0.01, 0.02, 0.01, np.sqrt(2) * 0.01 - 0.01, 0.005 - 0.01]
    np.testing.assert_allclose(hand_sdf(points, capsule), expected, atol=1e-12)
    samples, per_sample = hand_volume_samples(capsule, spacing=0.001)
    exact = np.pi * 0.01**2 * 0.04 + 4 / 3 * np.pi * 0.01**3
    assert len(samples) * per_sample == pytest.approx(exact, rel=0.02)
    assert np.all(hand_sdf(samples, capsule) < 0)


def test_hand_surface_points_lie_on_the_skin_with_part_labels():
    keypoints = forward_kinematics(np.zeros((1, 15, 3)))[0]
    right = sample_hand_surface(keypoints, 1.0, is_left=False)
    np.testing.assert_allclose(hand_sdf(right.points, right.capsules), 0.0, atol=2e-4)
    assert set(np.unique(right.labels)) == set(range(7, 13))
    assert set(np.unique(right.finger)) == set(range(-1, 5))
    left = sample_hand_surface(keypoints * [-1, 1, 1], 1.0, is_left=True)
    assert set(np.unique(left.labels)) == set(range(1, 7))
    # The index fingertip cap's pole: tip + radius along the distal bone (7.6 mm for the mean hand).
    tip_direction = (keypoints[8] - keypoints[7]) / np.linalg.norm(keypoints[8] - keypoints[7])
    assert (
        np.min(np.linalg.norm(right.points - (keypoints[8] + 0.0076 * tip_direction), axis=1))
        < 1e-9
    )


@pytest.fixture(scope="module")
def grasps():
    split = load_split("interpolation")
    return [sample_grasp(split, "train", 3, index) for index in range(3)]


def test_grasps_touch_with_thumb_and_do_not_penetrate(grasps):
    for grasp in grasps:
        obj = grasp.object
        skin = sample_hand_surface(grasp.keypoints_world, float(grasp.shape[0]), grasp.is_left)
        distance = obj.sdf(skin.points)
        assert -distance.min() <= TOLERANCE
        assert grasp.penetration_depth == pytest.approx(max(0.0, -distance.min()))
        touching = np.array(
            [np.abs(distance[skin.finger == f].min()) <= TOLERANCE for f in range(5)]
        )
        assert touching[0] and touching.sum() >= 3
        np.testing.assert_array_equal(touching, grasp.finger_contacts)
        assert grasp.contact_ratio == pytest.approx(touching.mean()) and grasp.contact_ratio >= 0.6
        assert 0.0 <= grasp.interpenetration_volume < 1e-6  # below 1 cm^3


def test_grasp_labels_are_consistent_and_within_joint_limits(grasps):
    for grasp in grasps:
        assert JOINT_LIMITS.contains(grasp.pose)[0]
        again = forward_kinematics(
            grasp.pose[None],
            grasp.shape[None],
            grasp.global_rotation[None],
            grasp.translation[None],
            np.array([grasp.is_left]),
        )[0]
        np.testing.assert_allclose(again, grasp.keypoints_world, atol=1e-12)
        rotation, centre = grasp.object.pose[:3, :3], grasp.object.pose[:3, 3]
        np.testing.assert_allclose(
            grasp.keypoints_object @ rotation.T + centre, grasp.keypoints_world, atol=1e-12
        )
        # The palm faces the object: the object centre is on the palmar (-z) side of the hand.
        to_object = centre - grasp.translation
        assert to_object @ grasp.global_rotation[:, 2] < 0


def test_same_seed_gives_same_bytes():
    split = load_split("interpolation")
    a, b = (
        sample_grasp(split, "train", 7, 1).to_item(),
        sample_grasp(split, "train", 7, 1).to_item(),
    )
    assert set(a) == set(b)
    for name in a:
        assert np.asarray(a[name]).tobytes() == np.asarray(b[name]).tobytes(), name
    c = sample_grasp(split, "train", 7, 2).to_item()
    assert a["keypoints_world"].tobytes() != c["keypoints_world"].tobytes()


def test_object_extrapolation_split_puts_test_sizes_outside_the_training_range():
    split = load_split("extrapolation:object")  # size_m train [0.04, 0.10], test [0.02, 0.16]
    test_sizes = [sample_split_object(split, "test", 0, i).size for i in range(12)]
    train_sizes = [sample_split_object(split, "train", 0, i).size for i in range(12)]
    assert all((s < 0.04 or s > 0.10) and 0.02 <= s <= 0.16 for s in test_sizes)
    assert all(0.04 <= s <= 0.10 for s in train_sizes)
    grasp = sample_grasp(split, "test", 0, 0)
    assert not 0.04 <= grasp.object.size <= 0.10


def test_object_item_points_lie_on_the_surface():
    obj = sample_object(ObjectSpec(kinds=("box",)), 0, 0)
    item = object_item(obj, n_points=64)
    assert item["object_points"].shape == (64, 3) and item["object_kind"] == 0
    np.testing.assert_allclose(obj.sdf(item["object_points"]), 0.0, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(item["object_normals"], axis=1), 1.0)


def test_bad_inputs_raise_value_error():
    box = trimesh.creation.box(extents=(0.05, 0.05, 0.05))
    open_box = trimesh.Trimesh(box.vertices, box.faces[:-1])
    holed = ObjectSample(
        kind="box",
        size=0.05,
        params={"extents": np.full(3, 0.05)},
        pose=np.eye(4),
        local_mesh=open_box,
    )
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="not watertight"):
        grasp_object(holed, rng, mean_shape()[0], False)
    good = sample_object(ObjectSpec(kinds=("sphere",)), 0, 0)
    with pytest.raises(ValueError, match="shape"):
        grasp_object(good, rng, -mean_shape()[0], False)
    with pytest.raises(ValueError, match="size_range"):
        ObjectSpec(size_range=(-0.05, 0.1))
    with pytest.raises(ValueError, match="contact_threshold"):
        GraspSpec(contact_threshold=-0.001)
    with pytest.raises(ValueError, match="unknown object kinds"):
        GraspSpec(kinds=("teapot",))
    with pytest.raises(ValueError, match="spacing"):
        hand_volume_samples(_one_capsule(), spacing=0.0)
    with pytest.raises(ValueError, match="partition"):
        sample_grasp(load_split("interpolation"), "validation", 0, 0)
    with pytest.raises(ValueError, match="seed and index"):
        sample_grasp(load_split("interpolation"), "train", -1, 0)

import numpy as np
import pytest
import torch

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.lifting import (
    foreshortening_depth_bound,
    recover_root_depth,
    recover_root_depth_from_bones,
)
from handperception.msgconv.camera_info import camera_info_msg

CAMERA = PinholeCamera(500.0, 520.0, 320.0, 240.0, 640, 480)


def test_project_hand_computed():
    np.testing.assert_allclose(CAMERA.project(np.array([0.1, -0.05, 1.0])), [370.0, 214.0])
    np.testing.assert_allclose(CAMERA.project(np.array([[0.0, 0.0, 2.0]])), [[320.0, 240.0]])
    with pytest.raises(ValueError, match="behind"):
        CAMERA.project(np.array([0.0, 0.0, -1.0]))


def test_unproject_inverts_project():
    points = np.random.default_rng(0).uniform([-0.3, -0.3, 0.3], [0.3, 0.3, 2.0], size=(50, 3))
    np.testing.assert_allclose(
        CAMERA.unproject(CAMERA.project(points), points[:, 2]), points, atol=1e-12
    )


def test_crop_and_resize_keep_rays():
    point = np.array([0.05, 0.02, 0.7])
    crop = CAMERA.crop(100, 50, 200, 200)
    np.testing.assert_allclose(crop.project(point), CAMERA.project(point) - [100, 50])
    half = CAMERA.resize(320, 240)
    # pixel-centre aligned: pixel u maps to (u + 0.5) * 0.5 - 0.5
    np.testing.assert_allclose(half.project(point), (CAMERA.project(point) + 0.5) * 0.5 - 0.5)


def test_camera_info_round_trip_and_fov():
    again = PinholeCamera.from_camera_info(camera_info_msg(CAMERA))
    assert again == CAMERA
    fov = PinholeCamera.from_fov(640, 480, 90.0)
    assert fov.fx == pytest.approx(320.0)
    with pytest.raises(ValueError):
        PinholeCamera(0.0, 1.0, 0.0, 0.0, 10, 10)


def test_root_depth_recovered_from_2p5d():
    rng = np.random.default_rng(1)
    joints = rng.normal(0, 0.04, size=(4, 21, 3)) + np.array([0.05, -0.02, 0.6])
    joints[:, 0] = [0.05, -0.02, 0.6]
    uv = CAMERA.project(joints)
    normalized = (uv - [CAMERA.cx, CAMERA.cy]) / [CAMERA.fx, CAMERA.fy]
    bone_length = np.linalg.norm(joints[:, 9] - joints[:, 0], axis=-1)
    relative = joints[..., 2] - joints[:, :1, 2]
    depth = recover_root_depth(
        torch.tensor(normalized), torch.tensor(relative), (0, 9), torch.tensor(bone_length)
    )
    np.testing.assert_allclose(depth.numpy(), joints[:, 0, 2], rtol=1e-6)
    # scale-normalised: relative depth in units of the bone, bone length 1 -> depth in bone units
    depth_units = recover_root_depth(
        torch.tensor(normalized), torch.tensor(relative / bone_length[:, None]), (0, 9)
    )
    np.testing.assert_allclose(depth_units.numpy() * bone_length, joints[:, 0, 2], rtol=1e-6)


def test_root_depth_from_all_bones_recovers_a_hand_and_tolerates_depth_noise():
    from handperception.skeleton import BONES
    from handperception.skeleton.kinematics import forward_kinematics, mean_shape

    rng = np.random.default_rng(3)
    joints = forward_kinematics(np.zeros((1, 15, 3)), mean_shape(1))[0] + [0.02, -0.01, 0.55]
    uv = CAMERA.project(joints)
    normalized = ((uv - [CAMERA.cx, CAMERA.cy]) / [CAMERA.fx, CAMERA.fy])[None]
    relative = (joints[:, 2] - joints[0, 2])[None]
    lengths = np.linalg.norm(joints[[c for _, c in BONES]] - joints[[p for p, _ in BONES]], axis=1)
    exact = recover_root_depth_from_bones(normalized, relative, np.array(BONES), lengths)
    assert exact[0] == pytest.approx(0.55, abs=2e-4)
    noisy = relative + rng.normal(0, 0.01, relative.shape)  # 1 cm of relative-depth noise per joint
    assert (
        abs(recover_root_depth_from_bones(normalized, noisy, np.array(BONES), lengths)[0] - 0.55)
        < 0.05
    )
    with pytest.raises(ValueError):
        recover_root_depth_from_bones(
            normalized, relative, np.array(BONES), lengths, depth_range=(1.0, 0.5)
        )


def test_foreshortening_bound_is_where_a_bone_across_the_view_reaches_its_length():

    # Three bones from the root (joint 0): 0.1, 0.08 and 0.05 apart in normalized x, all 5 cm long,
    # at the root's depth: extent 0.1 z = 0.05 at z = 0.5, then 0.625 and 1.0.
    xy = np.array([[[0.0, 0.0], [0.1, 0.0], [0.0, 0.08], [-0.05, 0.0]]])
    bones = np.array([[0, 1], [0, 2], [0, 3]])
    flat, lengths = np.zeros((1, 4)), np.full(3, 0.05)
    bounds = [foreshortening_depth_bound(xy, flat, bones, lengths, outliers=k)[0] for k in (0, 1)]
    assert bounds == pytest.approx([0.5, 0.625])
    # The first bone's end 3 cm farther: 0.1 (z + 0.03) = 0.05 at z = 0.47.
    deeper = np.array([[0.0, 0.03, 0.0, 0.0]])
    bound = foreshortening_depth_bound(xy, deeper, bones, lengths, outliers=0)[0]
    assert bound == pytest.approx(0.47)
    # A bone pointing at the camera spans nothing across the view: it bounds nothing.
    end_on = np.array([[[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]])
    assert foreshortening_depth_bound(end_on, flat, bones, lengths, outliers=0)[0] == np.inf
    with pytest.raises(ValueError, match="outliers"):
        foreshortening_depth_bound(xy, flat, bones, lengths, outliers=3)


def test_a_true_hand_is_never_beyond_its_bones_bound():
    """Rendered hands in all their poses and views: with true 2D and depth, every bone's bound
    lies at or beyond the true root depth (at it for a bone exactly across the view)."""
    from handperception.skeleton import BONES
    from handperception.train.data import synthetic_crops

    crops = synthetic_crops("interpolation", "train", 12, 48, seed=4, cache_dir=None).arrays
    joints, k = crops["keypoints_3d"][:, 0].astype(np.float64), crops["K"]
    normalized = (crops["keypoints_2d"][:, 0] - k[:, None, :2, 2]) / k[:, None, [0, 1], [0, 1]]
    relative = joints[..., 2] - joints[:, :1, 2]
    lengths = np.linalg.norm(
        joints[:, [c for _, c in BONES]] - joints[:, [p for p, _ in BONES]], axis=-1
    )
    bound = foreshortening_depth_bound(normalized, relative, np.array(BONES), lengths, outliers=0)
    assert np.all(bound >= joints[:, 0, 2] * (1 - 1e-4))
    assert np.all(
        bound < joints[:, 0, 2] * 2.0
    )  # some bone always lies within 60 deg of across the view

"""HO-3D loader on a tiny fixture in the v2 (png) and v3 (jpg) layouts."""

import pickle

import numpy as np
import pytest
from fixtures_datasets import HO3D_K, colour, ho3d_joints_gl, ho3d_meta, write_ho3d

from handperception.data import HO3DDataset, load_dataset
from handperception.data.joint_orders import HO3D_ORDER, HO3D_TO_PROJECT, to_project_order
from handperception.skeleton import JOINT_NAMES


def test_ho3d_joint_order_table():
    # MANO joints (wrist; index, middle, little, ring, thumb 1-3) then tips thumb, index, middle,
    # ring, little.
    assert HO3D_TO_PROJECT == (
        0,
        13,
        14,
        15,
        16,
        1,
        2,
        3,
        17,
        4,
        5,
        6,
        18,
        10,
        11,
        12,
        19,
        7,
        8,
        9,
        20,
    )
    assert HO3D_ORDER[7:10] == ("little_mcp", "little_pip", "little_dip")
    assert HO3D_ORDER[16:] == ("thumb_tip", "index_tip", "middle_tip", "ring_tip", "little_tip")
    # A hand-made example: each joint's x is its HO-3D index; reordered, x reads the table.
    joints = np.zeros((21, 3))
    joints[:, 0] = np.arange(21)
    reordered = to_project_order(joints, HO3D_TO_PROJECT)
    assert reordered[JOINT_NAMES.index("thumb_cmc"), 0] == 13
    assert reordered[JOINT_NAMES.index("little_tip"), 0] == 20
    assert reordered[JOINT_NAMES.index("ring_mcp"), 0] == 10
    with pytest.raises(ValueError, match="shape"):
        to_project_order(np.zeros((20, 3)), HO3D_TO_PROJECT)


def test_opengl_joints_become_opencv_in_project_order(tmp_path):
    write_ho3d(tmp_path, {"ABF10": 2, "MC1": 1})
    dataset = load_dataset("ho3d", tmp_path, "train")
    assert len(dataset) == 3
    item = dataset[1]  # ABF10/0001
    assert item["image_path"].endswith("train/ABF10/rgb/0001.png")
    assert item["rgb"].shape == (480, 640, 3) and tuple(item["rgb"][0, 0]) == colour(1)
    gl = ho3d_joints_gl(1)
    # HO-3D joint 16 (thumb tip) = (0.032, 0.026, -0.448) in OpenGL -> (0.032, -0.026, 0.448)
    # at index 4.
    np.testing.assert_allclose(gl[16], [0.032, 0.026, -0.448])
    np.testing.assert_allclose(item["keypoints_3d"][0, 4], [0.032, -0.026, 0.448], atol=1e-7)
    expected = gl[list(HO3D_TO_PROJECT)] * [1, -1, -1]
    np.testing.assert_allclose(item["keypoints_3d"][0], expected, atol=1e-7)
    # u = 600 * 0.032 / 0.448 + 320, v = 600 * -0.026 / 0.448 + 240
    np.testing.assert_allclose(
        item["keypoints_2d"][0, 4],
        [600 * 0.032 / 0.448 + 320, 600 * -0.026 / 0.448 + 240],
        rtol=1e-6,
    )
    assert item["visibility"].all() and item["is_left"].tolist() == [False]
    np.testing.assert_allclose(item["K"], HO3D_K)


def test_object_pose_is_flipped_to_opencv(tmp_path):
    write_ho3d(tmp_path, {"SM2": 1})
    item = HO3DDataset(tmp_path)[0]
    assert item["object_name"] == "019_pitcher_base"
    # objRot = pi/2 about z: R_gl = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]; F R_gl flips rows y and z.
    np.testing.assert_allclose(
        item["object_rotation"], [[0, -1, 0], [-1, 0, 0], [0, 0, -1]], atol=1e-12
    )
    np.testing.assert_allclose(item["object_translation"], [0.1, -0.2, 0.5])
    corners = ho3d_meta(0)["objCorners3D"]
    np.testing.assert_allclose(item["object_corners_3d"], corners * [1, -1, -1], atol=1e-7)
    # Same point either way: the object's (0, 0.01, 0) in the GL camera, flipped == the OpenCV
    # pose applied.
    point = np.array([0.0, 0.01, 0.0])
    gl = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]]) @ point + [0.1, 0.2, -0.5]
    np.testing.assert_allclose(
        item["object_rotation"] @ point + item["object_translation"], gl * [1, -1, -1]
    )


def test_v3_jpg_images(tmp_path):
    write_ho3d(tmp_path, {"ABF10": 1}, extension=".jpg")
    item = HO3DDataset(tmp_path)[0]
    assert item["image_path"].endswith("0000.jpg")
    assert np.abs(item["rgb"][5, 5].astype(int) - colour(0)).max() <= 2


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train.txt"):
        HO3DDataset(tmp_path)
    with pytest.raises(ValueError, match="withholds"):
        HO3DDataset(tmp_path, "evaluation")
    write_ho3d(tmp_path, {"ABF10": 2})
    meta = ho3d_meta(1)
    del meta["objTrans"]
    (tmp_path / "train/ABF10/meta/0001.pkl").write_bytes(pickle.dumps(meta))
    dataset = HO3DDataset(tmp_path)
    with pytest.raises(
        ValueError, match=r"0001.pkl: sample 1 lacks annotation keys \['objTrans'\]"
    ):
        dataset[1]
    (tmp_path / "train/ABF10/meta/0000.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="0000.pkl: sample 0"):
        dataset[0]
    (tmp_path / "train/ABF10/rgb/0000.png").unlink()
    with pytest.raises(FileNotFoundError, match="0000"):
        HO3DDataset(tmp_path)
    (tmp_path / "train.txt").write_text("ABF10-0000\n")
    with pytest.raises(ValueError, match="line 1"):
        HO3DDataset(tmp_path)

"""InterHand2.6M loader on a tiny fixture in the v1.0 annotation layout."""

import json

import numpy as np
import pytest
import torch
from fixtures_datasets import colour, interhand_world, write_interhand

from handperception.data import InterHandDataset, load_dataset
from handperception.data.interhand import world_to_camera
from handperception.data.joint_orders import (
    INTERHAND_HAND_ORDER,
    INTERHAND_TO_PROJECT,
    to_project_order,
)
from handperception.skeleton import JOINT_NAMES

ALL_VALID = [1] * 42
RIGHT_ONLY = [1] * 21 + [0] * 21


def test_interhand_joint_order_table():
    # Per hand: thumb tip..base (0-3), index (4-7), middle, ring, little (16-19), wrist (20).
    assert INTERHAND_TO_PROJECT == (
        20,
        3,
        2,
        1,
        0,
        7,
        6,
        5,
        4,
        11,
        10,
        9,
        8,
        15,
        14,
        13,
        12,
        19,
        18,
        17,
        16,
    )
    assert INTERHAND_HAND_ORDER[:4] == ("thumb_tip", "thumb_ip", "thumb_mcp", "thumb_cmc")
    joints = np.zeros((21, 3))
    joints[:, 1] = np.arange(21)
    reordered = to_project_order(joints, INTERHAND_TO_PROJECT)
    assert reordered[JOINT_NAMES.index("wrist"), 1] == 20
    assert reordered[JOINT_NAMES.index("index_mcp"), 1] == 7
    assert reordered[JOINT_NAMES.index("little_tip"), 1] == 16


def test_world_millimetres_to_camera_metres_and_pixels(tmp_path):
    write_interhand(
        tmp_path, "train", [{"frame": 7, "hand_type": "interacting", "joint_valid": ALL_VALID}]
    )
    item = InterHandDataset(tmp_path, "train")[0]
    assert (
        item["rgb"].shape == (512, 334, 3)
        and np.abs(item["rgb"][3, 3].astype(int) - colour(0)).max() <= 2
    )
    assert item["is_left"].tolist() == [True, False] and item["hand_valid"].tolist() == [True, True]
    # Right index tip = InterHand joint 4: world (94, 188, 1707) mm; minus campos (100, 200, -300)
    # = (-6, -12, 2007); camrot (90 deg about z) gives (12, -6, 2007) mm = (0.012, -0.006, 2.007) m.
    np.testing.assert_allclose(interhand_world(7)[4], [94, 188, 1707])
    right_index_tip = item["keypoints_3d"][1, JOINT_NAMES.index("index_tip")]
    np.testing.assert_allclose(right_index_tip, [0.012, -0.006, 2.007], atol=1e-7)
    # u = 1200 * 0.012 / 2.007 + 160, v = 1100 * -0.006 / 2.007 + 250
    np.testing.assert_allclose(
        item["keypoints_2d"][1, JOINT_NAMES.index("index_tip")],
        [1200 * 0.012 / 2.007 + 160, 1100 * -0.006 / 2.007 + 250],
        rtol=1e-6,
    )
    # Left wrist = joint 41: world (131, 262, 1707) - campos = (31, 62, 2007)
    # -> camrot (-62, 31, 2007) mm.
    left_wrist = world_to_camera(
        interhand_world(7)[41:42],
        np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]]),
        np.array([100, 200, -300.0]),
    )
    np.testing.assert_allclose(left_wrist[0], [-0.062, 0.031, 2.007], atol=1e-9)
    np.testing.assert_allclose(item["keypoints_3d"][0, 0], left_wrist[0], atol=1e-7)
    np.testing.assert_allclose(item["K"], [[1200, 0, 160], [0, 1100, 250], [0, 0, 1]])
    np.testing.assert_allclose(item["bbox"], [10, 20, 100, 120])


def test_outside_and_unlabelled_joints_are_not_visible(tmp_path):
    world = interhand_world(3)
    world[20] = [150.0, 0.0, 700.0]  # right wrist -> camera (0.2, 0.05, 1.0): u = 400 > 334 wide
    write_interhand(
        tmp_path,
        "val",
        [
            {"frame": 3, "hand_type": "right", "joint_valid": RIGHT_ONLY, "world": world},
            {"frame": 4, "hand_type": "right", "joint_valid": [1] * 20 + [0] + [1] * 21},
        ],
    )
    dataset = load_dataset("interhand", tmp_path, "val")
    first = dataset[0]
    np.testing.assert_allclose(first["keypoints_3d"][1, 0], [0.2, 0.05, 1.0], atol=1e-7)
    np.testing.assert_allclose(first["keypoints_2d"][1, 0], [400.0, 305.0], atol=1e-4)
    assert first["visibility"][1].tolist() == [False] + [True] * 20
    assert first["hand_valid"].tolist() == [False, True] and not first["visibility"][0].any()
    assert first["hand_type"] == "right"
    # Right wrist unlabelled -> the whole right hand is unlabelled (root-relative pose undefined).
    second = dataset[1]
    assert not second["visibility"][1].any() and second["visibility"][0].all()
    assert second["hand_valid"].tolist() == [True, False]
    batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=2)))
    assert batch["keypoints_3d"].shape == (2, 2, 21, 3)


def test_missing_and_corrupt_annotations(tmp_path):
    with pytest.raises(FileNotFoundError, match="images/test"):
        InterHandDataset(tmp_path, "test")
    write_interhand(tmp_path, "test", [{"frame": 1, "hand_type": "left", "joint_valid": ALL_VALID}])
    joint_path = tmp_path / "annotations/test/InterHand2.6M_test_joint_3d.json"
    joints = json.loads(joint_path.read_text())
    joint_path.unlink()
    with pytest.raises(FileNotFoundError, match="InterHand2.6M_test_joint_3d.json"):
        InterHandDataset(tmp_path, "test")
    joint_path.write_text(json.dumps({"0": {"2": joints["0"]["1"]}}))  # frame 1 missing
    with pytest.raises(ValueError, match=r"joint_3d.json: no entry 0/1/world_coord for sample 0"):
        InterHandDataset(tmp_path, "test")[0]
    joints["0"]["1"]["world_coord"] = joints["0"]["1"]["world_coord"][:41]
    joint_path.write_text(json.dumps(joints))
    with pytest.raises(ValueError, match=r"joint_3d.json: entry 0 has shape \(41, 3\)"):
        InterHandDataset(tmp_path, "test")[0]
    with pytest.raises(ValueError, match="split"):
        InterHandDataset(tmp_path, "training")

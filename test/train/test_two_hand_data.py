"""Two-hand training sets: InterHand2.6M crops around both hands in the synthetic items' fields,
and the synthetic set rendered once then read from its cache."""

import numpy as np
from fixtures_datasets import write_interhand

from handperception.data.interhand import InterHandDataset
from handperception.synth.two_hand_items import TWO_HAND_FIELDS
from handperception.train.two_hand_data import (
    interhand_item,
    interhand_two_hand_items,
    synthetic_two_hand_items,
)

ALL_VALID = [1] * 42
RIGHT_ONLY = [1] * 21 + [0] * 21  # InterHand orders the right hand's joints first


def test_interacting_interhand_image_becomes_a_crop_with_both_slots(tmp_path):
    write_interhand(
        tmp_path, "train", [{"frame": 7, "hand_type": "interacting", "joint_valid": ALL_VALID}]
    )
    item = interhand_item(InterHandDataset(tmp_path, "train")[0], 64)
    assert tuple(item) == TWO_HAND_FIELDS
    assert item["present"].tolist() == [True, True] and not item["has_segmentation"]
    # Slot order: the wrist further left in the image first; one hand of each side.
    assert item["keypoints_2d"][0, 0, 0] <= item["keypoints_2d"][1, 0, 0]
    assert sorted(item["is_left"].tolist()) == [False, True]
    assert item["rgb"].shape == (64, 64, 3)
    # Every joint inside the crop, and the crop's intrinsics project the 3D labels onto them.
    uv = item["keypoints_2d"].reshape(-1, 2)
    assert np.all((uv >= 0) & (uv <= 63))
    xyz = item["keypoints_3d"].reshape(-1, 3)
    projected = (xyz @ item["K"].T)[:, :2] / xyz[:, 2:]
    np.testing.assert_allclose(projected, uv, atol=1e-3)


def test_a_right_hand_image_fills_the_first_slot_as_a_right_hand(tmp_path):
    write_interhand(
        tmp_path, "val", [{"frame": 3, "hand_type": "right", "joint_valid": RIGHT_ONLY}]
    )
    item = interhand_item(InterHandDataset(tmp_path, "val")[0], 32)
    assert item["present"].tolist() == [True, False] and item["is_left"].tolist() == [False, False]
    assert not item["visibility"][1].any() and not item["keypoints_3d"][1].any()


def test_images_without_labelled_hands_are_skipped(tmp_path):
    write_interhand(
        tmp_path,
        "val",
        [
            {"frame": 1, "hand_type": "right", "joint_valid": [0] * 42},
            {"frame": 2, "hand_type": "interacting", "joint_valid": ALL_VALID},
        ],
    )
    dataset = interhand_two_hand_items(tmp_path, "val", count=5, size=32, seed=0, progress=False)
    assert len(dataset) == 1 and dataset.arrays["present"].tolist() == [[True, True]]


def test_the_synthetic_set_is_rendered_once_then_read_back(tmp_path):
    first = synthetic_two_hand_items("interpolation", "train", 3, 32, 0, tmp_path, False)
    (cached,) = tmp_path.iterdir()
    assert cached.name.startswith("two_hands_")
    second = synthetic_two_hand_items("interpolation", "train", 3, 32, 0, tmp_path, False)
    for name in TWO_HAND_FIELDS:
        np.testing.assert_array_equal(first.arrays[name], second.arrays[name])

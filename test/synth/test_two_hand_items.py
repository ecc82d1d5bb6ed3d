"""Two-hand items: hands in slots leftmost wrist first, part labels by slot, 0/1/2 hands mixed."""

import numpy as np
import pytest

from handperception.skeleton.parts import HAND_SIDES, LEFT_PALM, RIGHT_PALM, hand_of_label
from handperception.synth.scenes import hand_crop, two_hand_crop
from handperception.synth.splits import load_split
from handperception.synth.two_hand_items import (
    MIX,
    TWO_HAND_FIELDS,
    frame_to_slots,
    mixed_item,
)

SPEC = load_split("interpolation")


def test_hands_fill_the_slots_leftmost_wrist_first_with_the_renderers_labels():
    frame = two_hand_crop(SPEC, "train", 0, 5, 64)
    item = frame_to_slots(frame)
    assert tuple(item) == TWO_HAND_FIELDS
    assert item["present"].tolist() == [True, True]
    first = int(np.argmin(frame.keypoints_2d[:, 0, 0]))
    for slot, hand in enumerate([first, 1 - first]):
        np.testing.assert_array_equal(item["keypoints_3d"][slot], frame.keypoints_3d[hand])
        assert item["is_left"][slot] == frame.is_left[hand]
    assert item["keypoints_2d"][0, 0, 0] <= item["keypoints_2d"][1, 0, 0]
    # Each slot's block of labels covers the pixels its visible joints project to, and is the
    # renderer's block of that hand's side moved (same parts, same pixels).
    blocks = hand_of_label(item["segmentation"])
    rendered = hand_of_label(frame.segmentation)
    for slot in range(2):
        visible = item["keypoints_2d"][slot][item["visibility"][slot]].round().astype(int)
        inside = (visible >= 0).all(1) & (visible < 64).all(1)
        seen = blocks[visible[inside, 1], visible[inside, 0]]
        assert np.mean(seen == slot + 1) > 0.7
        side = HAND_SIDES.index("left" if item["is_left"][slot] else "right") + 1
        np.testing.assert_array_equal(blocks == slot + 1, rendered == side)
    parts = RIGHT_PALM - LEFT_PALM
    labels, truth = item["segmentation"].astype(int), frame.segmentation.astype(int)
    np.testing.assert_array_equal((labels - 1) % parts, (truth - 1) % parts)


def test_a_hand_alone_is_in_the_first_slot_whichever_side():
    sides = set()
    for index in range(6):
        frame = hand_crop(SPEC, "train", 0, index, 32)
        item = frame_to_slots(frame)
        assert item["present"].tolist() == [True, False]
        assert item["is_left"][0] == frame.is_left[0] and not item["is_left"][1]
        assert not item["labelled"][1].any() and not item["keypoints_2d"][1].any()
        sides.add(bool(frame.is_left[0]))
    assert sides == {True, False}


def test_the_mix_has_none_one_and_two_hands_near_its_odds():
    counts = np.bincount(
        [int(mixed_item(SPEC, "train", 0, i, 16)["present"].sum()) for i in range(60)],
        minlength=3,
    )
    expected = np.array([1 - MIX["two"] - MIX["one"], MIX["one"], MIX["two"]]) * 60
    assert np.all(counts > 0) and np.all(np.abs(counts - expected) < 12), counts


def test_items_are_deterministic_and_square_only():
    a, b = mixed_item(SPEC, "test", 3, 7, 32), mixed_item(SPEC, "test", 3, 7, 32)
    for name in TWO_HAND_FIELDS:
        np.testing.assert_array_equal(a[name], b[name])
    frame = two_hand_crop(SPEC, "train", 0, 0, 32)
    wide = frame.__class__(**{**frame.__dict__, "rgb": np.zeros((32, 40, 3), np.uint8)})
    with pytest.raises(ValueError, match="square"):
        frame_to_slots(wide)

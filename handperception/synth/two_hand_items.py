"""Two-hand training items: crops with no hand, one hand or two interacting hands, in two slots.

Why slots: the two-hand network answers every crop in the same shape, two slots each with a
presence flag and a handedness, so items of 0, 1 or 2 hands stack into one batch. Slots are
ordered by what the image shows, the hand whose wrist is further left in the image first (a
single hand is always slot 0), not by handedness: left and right hands are mirror images, and
with the side as the slot a network that cannot yet tell them apart answers the average of both
hands in both slots (measured: 21 px 2D error on 128 px crops, both slots identical). The part
labels follow the slots for the same reason (``skeleton.parts``: block 0 the slot-0 hand's). Why
a mix: a model trained only on two hands always finds two; crops of one hand and of no hand
teach it which slots are empty. Real datasets (InterHand2.6M) are converted to the same fields by
``train.two_hand_data``.
"""

from __future__ import annotations

import numpy as np

from handperception.skeleton.definition import NUM_JOINTS, ROOT
from handperception.skeleton.parts import HAND_SIDES, relabel_hands
from handperception.synth.render import HandFrame
from handperception.synth.scenes import full_frame, hand_crop, two_hand_crop
from handperception.synth.splits import SplitSpec

# The fields of an item: rgb (S, S, 3) uint8; segmentation (S, S) uint8 labels, hand blocks by
# slot; has_segmentation () bool (False for real data without part labels); keypoints_2d
# (2, 21, 2) float32 pixels;
# keypoints_3d (2, 21, 3) float32 metres, camera frame; labelled (2, 21) bool, joints whose
# labels were annotated (every joint of a rendered hand, even hidden); visibility (2, 21) bool,
# labelled, in the crop and not hidden; present (2,) bool; is_left (2,) bool, the person's left
# hand; K (3, 3) float32. An absent hand's keypoints are zeros, its flags all False.
TWO_HAND_FIELDS = (
    "rgb",
    "segmentation",
    "has_segmentation",
    "keypoints_2d",
    "keypoints_3d",
    "labelled",
    "visibility",
    "present",
    "is_left",
    "K",
)
# Bumped when what an item holds changes (slot order, fields), so cached sets are rendered anew.
ITEM_VERSION = 3
# Share of items with two interacting hands and with one hand; the rest have none.
MIX = {"two": 0.6, "one": 0.3}


def slot_order(wrists_u: np.ndarray) -> np.ndarray:
    """(H,) the hands' wrist columns, pixels -> the hands in slot order (leftmost wrist first)."""
    return np.argsort(np.asarray(wrists_u), kind="stable")


def empty_slots(size: int) -> dict[str, np.ndarray]:
    """An item of a size x size crop with no hand, all labels zero (fields TWO_HAND_FIELDS)."""
    hands = len(HAND_SIDES)
    return {
        "rgb": np.zeros((size, size, 3), np.uint8),
        "segmentation": np.zeros((size, size), np.uint8),
        "has_segmentation": np.array(True),
        "keypoints_2d": np.zeros((hands, NUM_JOINTS, 2), np.float32),
        "keypoints_3d": np.zeros((hands, NUM_JOINTS, 3), np.float32),
        "labelled": np.zeros((hands, NUM_JOINTS), bool),
        "visibility": np.zeros((hands, NUM_JOINTS), bool),
        "present": np.zeros(hands, bool),
        "is_left": np.zeros(hands, bool),
        "K": np.eye(3, dtype=np.float32),
    }


def frame_to_slots(frame: HandFrame) -> dict[str, np.ndarray]:
    """A rendered square crop with 0-2 hands -> an item (hands in slot order)."""
    height, width = frame.rgb.shape[:2]
    if height != width:
        raise ValueError(f"two-hand items are square crops, got {width}x{height}")
    if len(frame.is_left) > len(HAND_SIDES):
        raise ValueError(f"a two-hand item holds at most {len(HAND_SIDES)} hands")
    item = empty_slots(height)
    item["rgb"] = frame.rgb
    item["K"] = frame.K.astype(np.float32)
    order = slot_order(frame.keypoints_2d[:, ROOT, 0])
    # the renderer labels by side: each side's block goes to its hand's slot
    slot_of_side = [None] * len(HAND_SIDES)
    for slot, hand in enumerate(order):
        slot_of_side[HAND_SIDES.index("left" if frame.is_left[hand] else "right")] = slot
    item["segmentation"] = relabel_hands(frame.segmentation, slot_of_side)
    for slot, hand in enumerate(order):
        item["keypoints_2d"][slot] = frame.keypoints_2d[hand]
        item["keypoints_3d"][slot] = frame.keypoints_3d[hand]
        item["labelled"][slot] = True
        item["visibility"][slot] = frame.visibility[hand]
        item["present"][slot] = True
        item["is_left"][slot] = frame.is_left[hand]
    return item


def mixed_item(
    spec: SplitSpec, partition: str, seed: int, index: int, size: int = 128
) -> dict[str, np.ndarray]:
    """Item ``index``: two interacting hands, one hand (either side) or none, with MIX's odds;
    a pure function of its arguments (the scene generators' own streams decide the rest)."""
    draw = np.random.default_rng([seed, index, 16]).random()
    if draw < MIX["two"]:
        frame = two_hand_crop(spec, partition, seed, index, size)
    elif draw < MIX["two"] + MIX["one"]:
        frame = hand_crop(spec, partition, seed, index, size)
    else:
        frame = full_frame(spec, partition, seed, index, size, size, n_hands=0)
    return frame_to_slots(frame)

"""The hand-part label table of every part segmentation in the project.

Why in the skeleton layer: the renderer writes these labels, the two-hand network predicts them,
the node publishes them as a mono8 image and the evaluation scores them; one table keeps the
four in agreement. Labels (uint8): 0 background; left hand 1 palm, 2..6 thumb..little; right
hand 7 palm, 8..12 thumb..little. Left and right are the person's own hands.

The two-hand network predicts the same table by *slot* instead (the first block the hand whose
wrist is leftmost in the image, the second the other; ``synth.two_hand_items``): where a pixel
is in the image is visible, which of a person's hands it belongs to is a mirror-image question
the network answers per hand (``models.digit``). ``relabel_hands`` moves labels between the
two conventions.
"""

from __future__ import annotations

import numpy as np

from handperception.skeleton.definition import FINGER_NAMES

BACKGROUND = 0
LEFT_PALM = 1
RIGHT_PALM = 7
NUM_LABELS = 13
HAND_SIDES: tuple[str, ...] = ("left", "right")
LABEL_NAMES: tuple[str, ...] = ("background",) + tuple(
    f"{side}_{part}" for side in HAND_SIDES for part in ("palm",) + FINGER_NAMES
)


def palm_label(is_left: bool) -> int:
    return LEFT_PALM if is_left else RIGHT_PALM


def finger_label(is_left: bool, finger: int) -> int:
    """Label of finger 0..4 (thumb..little) of a left or right hand."""
    if not 0 <= finger < len(FINGER_NAMES):
        raise ValueError(f"finger index {finger} outside 0..4")
    return palm_label(is_left) + 1 + finger


def relabel_hands(labels: np.ndarray, targets) -> np.ndarray:
    """Labels with each hand's block of parts moved: ``targets[h]`` is the block (0 or 1) that
    block ``h`` becomes, or None to clear it to background (parts keep their finger). E.g.
    (1, 0) swaps the hands (a mirrored image), (0, None) keeps the first and drops the second."""
    if len(targets) != len(HAND_SIDES):
        raise ValueError(f"targets needs one entry per hand block, got {targets!r:.60}")
    parts = RIGHT_PALM - LEFT_PALM
    table = np.zeros(NUM_LABELS, dtype=np.uint8)
    for source, target in enumerate(targets):
        if target is not None:
            if target not in (0, 1):
                raise ValueError(f"a hand block is 0 or 1, got {target!r:.40}")
            start = LEFT_PALM + parts * source
            table[start : start + parts] = LEFT_PALM + parts * target + np.arange(parts)
    return table[np.asarray(labels)]


def hand_of_label(label: np.ndarray) -> np.ndarray:
    """Labels -> 0 background, 1 left hand, 2 right hand (same shape)."""
    label = np.asarray(label)
    return np.where(label == BACKGROUND, 0, np.where(label < RIGHT_PALM, 1, 2))

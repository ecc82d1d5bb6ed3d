"""The part-label overlay of the two-hand node's debug image: each part in its own colour, the
left hand's cool and the right hand's warm, the background untouched."""

import colorsys

import numpy as np
import pytest

from handperception.skeleton.palette import PART_RGB
from handperception.skeleton.parts import BACKGROUND, LABEL_NAMES, NUM_LABELS, RIGHT_PALM
from handperception.viz.overlay import draw_part_labels


def test_every_label_has_its_own_colour_left_cool_right_warm():
    assert len(PART_RGB) == NUM_LABELS == len(LABEL_NAMES)
    assert len(set(PART_RGB[1:])) == NUM_LABELS - 1
    for label in range(1, NUM_LABELS):
        hue_deg = 360 * colorsys.rgb_to_hsv(*(c / 255 for c in PART_RGB[label]))[0]
        cool = 90 <= hue_deg <= 300  # greens, cyans, blues, violets
        assert cool == (label < RIGHT_PALM), (LABEL_NAMES[label], round(hue_deg))


def test_labels_are_blended_over_the_image_and_the_rest_is_left_alone():
    image = np.full((4, 5, 3), 100, np.uint8)
    labels = np.zeros((4, 5), np.uint8)
    labels[0, 0], labels[1, 1], labels[2, 2] = 3, 9, 200  # 200 is no label: not drawn
    draw_part_labels(image, labels, alpha=0.5)
    assert tuple(image[0, 0]) == tuple(np.round(50 + 0.5 * np.array(PART_RGB[3])).astype(int))
    assert tuple(image[1, 1]) == tuple(np.round(50 + 0.5 * np.array(PART_RGB[9])).astype(int))
    untouched = np.ones((4, 5), bool)
    untouched[0, 0] = untouched[1, 1] = False
    assert (image[untouched] == 100).all() and labels[untouched].max() != BACKGROUND
    opaque = np.zeros_like(image)
    draw_part_labels(opaque, labels, alpha=1.0)
    assert tuple(opaque[1, 1]) == PART_RGB[9]
    with pytest.raises(ValueError, match="labels"):
        draw_part_labels(image, labels[:3], 0.5)
    with pytest.raises(ValueError, match="alpha"):
        draw_part_labels(image, labels, 1.5)

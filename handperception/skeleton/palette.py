"""One colour per finger, shared by every picture of a hand: the annotated video, rviz markers
and the synthetic data's contact sheets; and one per hand part (``skeleton.parts``) for the
part segmentation's pictures.

Why one palette: a user reading the video beside rviz, or a contact sheet beside a debug image,
should see the thumb in the same colour everywhere. RGB, 0-255.
"""

from __future__ import annotations

from handperception.skeleton.definition import finger_of_joint

# thumb, index, middle, ring, little
FINGER_RGB: tuple[tuple[int, int, int], ...] = (
    (230, 60, 60),
    (240, 200, 40),
    (60, 200, 80),
    (50, 140, 240),
    (190, 80, 220),
)
WRIST_RGB = (255, 255, 255)
# Bones leaving the wrist, where a drawing tells palm from fingers.
PALM_RGB = (169, 169, 169)


def finger_rgb(joint: int) -> tuple[int, int, int]:
    """The colour of ``joint``: its finger's, white for the wrist."""
    finger = finger_of_joint(joint)
    return WRIST_RGB if finger < 0 else FINGER_RGB[finger]


def unit_rgb(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """0-255 RGB -> 0-1 floats, as matplotlib and ROS ColorRGBA take them."""
    return (rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0)


# Per part label of ``skeleton.parts`` (index = label): the left hand in cool colours, the right
# in warm ones, so which hand a pixel was given to reads at a glance even where the hands cross;
# palm darker than the fingers. Background (0) is never drawn.
PART_RGB: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),  # background
    (0, 120, 130),  # left palm
    (40, 80, 230),  # left thumb
    (0, 180, 240),  # left index
    (40, 200, 140),  # left middle
    (120, 110, 245),  # left ring
    (150, 60, 200),  # left little
    (150, 80, 30),  # right palm
    (230, 40, 40),  # right thumb
    (250, 140, 20),  # right index
    (250, 210, 40),  # right middle
    (245, 100, 150),  # right ring
    (200, 30, 100),  # right little
)

# Per handedness (``results.HANDEDNESS``), for pictures of a whole hand (the HALO surface
# meshes in rviz): the left hand's cool and the right hand's warm index colours of PART_RGB, so a
# mesh reads as the same hand as its part labels; a hand of unknown side in the palm's grey.
HANDEDNESS_RGB: dict[str, tuple[int, int, int]] = {
    "left": PART_RGB[3],
    "right": PART_RGB[9],
    "unknown": PALM_RGB,
}

"""The one 21-joint hand skeleton every module of the project uses."""

from handperception.skeleton.definition import (
    BONES,
    FINGER_JOINTS,
    FINGER_NAMES,
    FINGERTIPS,
    JOINT_NAMES,
    NUM_JOINTS,
    PALM_JOINTS,
    PARENTS,
    ROOT,
    finger_of_joint,
)

__all__ = [
    "BONES",
    "FINGER_JOINTS",
    "FINGER_NAMES",
    "FINGERTIPS",
    "JOINT_NAMES",
    "NUM_JOINTS",
    "PALM_JOINTS",
    "PARENTS",
    "ROOT",
    "finger_of_joint",
]

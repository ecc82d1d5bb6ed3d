"""21-joint hand skeleton in the FreiHAND / MANO-21 order.

Why one module: datasets disagree on joint order (FreiHAND and MANO-21 go wrist, thumb..little,
each finger base to tip; InterHand2.6M goes tip to base; MediaPipe matches FreiHAND). Every
loader converts into this order at its boundary so models, losses, metrics and messages never
have to ask which order they are in.
"""

from __future__ import annotations

FINGER_NAMES: tuple[str, ...] = ("thumb", "index", "middle", "ring", "little")

# Per finger, the four joint names from the base (attached to the wrist) to the tip.
_FINGER_JOINT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "thumb": ("cmc", "mcp", "ip", "tip"),
    "index": ("mcp", "pip", "dip", "tip"),
    "middle": ("mcp", "pip", "dip", "tip"),
    "ring": ("mcp", "pip", "dip", "tip"),
    "little": ("mcp", "pip", "dip", "tip"),
}

ROOT = 0
JOINT_NAMES: tuple[str, ...] = ("wrist",) + tuple(
    f"{finger}_{suffix}" for finger in FINGER_NAMES for suffix in _FINGER_JOINT_SUFFIXES[finger]
)
NUM_JOINTS = len(JOINT_NAMES)

# FINGER_JOINTS[f] = indices of finger f's joints, base to tip.
FINGER_JOINTS: tuple[tuple[int, ...], ...] = tuple(
    tuple(range(1 + 4 * f, 5 + 4 * f)) for f in range(len(FINGER_NAMES))
)

# Parent of each joint (the wrist is its own root, marked -1); each finger chains to the wrist.
PARENTS: tuple[int, ...] = (-1,) + tuple(
    ROOT if position == 0 else joints[position - 1]
    for joints in FINGER_JOINTS
    for position in range(4)
)

# Bones as (parent, child), in child order: bone i ends at joint i + 1.
BONES: tuple[tuple[int, int], ...] = tuple((PARENTS[j], j) for j in range(1, NUM_JOINTS))

FINGERTIPS: tuple[int, ...] = tuple(joints[-1] for joints in FINGER_JOINTS)

# Wrist and the five finger bases: the nearly rigid palm the biomechanical palm losses and the
# wrist frame use.
PALM_JOINTS: tuple[int, ...] = (ROOT,) + tuple(joints[0] for joints in FINGER_JOINTS)


def finger_of_joint(joint: int) -> int:
    """Index into FINGER_NAMES of the finger a joint belongs to; -1 for the wrist."""
    if not 0 <= joint < NUM_JOINTS:
        raise ValueError(f"joint index {joint} outside 0..{NUM_JOINTS - 1}")
    return -1 if joint == ROOT else (joint - 1) // 4

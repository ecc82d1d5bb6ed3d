"""Skin appearance that tells the palm from the back of the hand.

Why: with one albedo everywhere, the back of a right hand and the palm of a left hand are the
same silhouette in the same colour, so a network cannot learn from pixels which side it sees,
hence neither handedness nor which fingers are nearer. Real hands differ in two ways a camera
sees: palmar skin carries less melanin (lighter and pinker, most visibly on dark skin), it is
lined by flexion creases (three across the palm, one at each finger joint), and the nails sit on
the back of the fingertips. All are drawn here, per pixel, from the surface normal, each
capsule's "back of the hand" direction and the point's place on the hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.skeleton.definition import FINGER_JOINTS, ROOT
from handperception.skeleton.frames import MIDDLE_MCP, wrist_frame
from handperception.synth.hand_model import Capsules

# The colour palmar skin leans towards, and how far: dark skin's palms are far lighter than its
# backs, light skin's only a little pinker.
PALMAR_TINT = np.array([236.0, 178.0, 160.0])
NAIL_COLOUR = np.array([242.0, 214.0, 206.0])
_PALMAR_MIX_LIGHT, _PALMAR_MIX_DARK = 0.3, 0.55
_NAIL_MIX = 0.75
# A pixel is nail when its normal is this aligned with the fingertip's back direction and it lies
# this far along the distal phalanx (0 at the DIP joint, 1 at the tip joint, more on the tip cap).
NAIL_MIN_ALIGNMENT = 0.45
NAIL_MIN_AXIAL = 0.4
_PHALANGES = 15  # hand_capsules puts the 5 x 3 phalanges first, finger by finger, base to tip
# Creases: palmar pixels (normal . back below PALMAR_SIDE) this close to a crease line are darker.
PALMAR_SIDE = -0.2
# Subtle, as on real skin at camera resolution: at 0.68 the lines read as drawn on (and MediaPipe
# missed palms it found without them; docs/realism.md).
CREASE_DARKENING = 0.88
CREASE_HALF_WIDTH = 0.025  # palm units (wrist -> middle knuckle), ~2.4 mm on a mean hand
FINGER_CREASE_REACH = 0.09  # share of a phalanx from either end where its joint crease lies


def back_directions(
    keypoints: np.ndarray, is_left: bool, capsule_count: int
) -> tuple[np.ndarray, np.ndarray]:
    """For the capsules of ``synth.hand_model.hand_capsules``: (C, 3) unit vectors pointing out
    of the back of the hand at each capsule, and (C,) bool, the capsule carries a nail.

    A phalanx's back turns with its flexion: it is the bone direction crossed with the finger's
    flexion axis (the palm's across-the-knuckles axis), signed to equal the palm's back normal
    on a straight finger. The thumb's nail faces sideways as much as backwards, so its back is
    the palm's back tilted towards the thumb side, kept perpendicular to the bone.
    """
    if capsule_count < _PHALANGES:
        raise ValueError(f"a hand has at least {_PHALANGES} capsules, got {capsule_count}")
    rotation, _ = wrist_frame(keypoints)
    across = rotation[:, 1]  # little -> index side
    # wrist_frame's z is the back normal of a right hand and the palm normal of a left one.
    sign = -1.0 if is_left else 1.0
    back = sign * rotation[:, 2]
    directions = np.tile(back, (capsule_count, 1))
    for finger, joints in enumerate(FINGER_JOINTS):
        for level in range(3):
            bone = keypoints[joints[level + 1]] - keypoints[joints[level]]
            bone = bone / max(np.linalg.norm(bone), 1e-9)
            if finger == 0:
                wanted = back + across
                direction = wanted - np.dot(wanted, bone) * bone
            else:
                direction = sign * np.cross(bone, across)
            norm = np.linalg.norm(direction)
            directions[finger * 3 + level] = direction / norm if norm > 1e-6 else back
    nail = np.zeros(capsule_count, dtype=bool)
    nail[2:_PHALANGES:3] = True
    return directions, nail


def skin_albedo(skin: np.ndarray, alignment: np.ndarray, on_nail: np.ndarray) -> np.ndarray:
    """(M, 3) float32 albedos of M pixels of one skin (3,) RGB.

    alignment (M,) in [-1, 1]: surface normal . back direction (1 on the back, -1 on the palm);
    on_nail (M,) bool. The palmar tone blends in smoothly across the sides of the fingers.
    """
    skin = np.asarray(skin, dtype=np.float64)
    darkness = 1.0 - float(np.clip(skin.mean() / 240.0, 0.0, 1.0))
    mix = _PALMAR_MIX_LIGHT + (_PALMAR_MIX_DARK - _PALMAR_MIX_LIGHT) * darkness
    palmar = (1.0 - mix) * skin + mix * PALMAR_TINT
    palm_weight = np.clip(0.5 - 1.5 * np.asarray(alignment, dtype=np.float32), 0.0, 1.0)[:, None]
    albedo = skin.astype(np.float32) * (1.0 - palm_weight) + palmar.astype(np.float32) * palm_weight
    nail = ((1.0 - _NAIL_MIX) * skin + _NAIL_MIX * NAIL_COLOUR).astype(np.float32)
    albedo[on_nail] = nail
    return albedo


def nail_pixels(
    along: np.ndarray, alignment: np.ndarray, is_nail_capsule: np.ndarray
) -> np.ndarray:
    """(M,) bool: surface points on a nail, from their place along their capsule (M,)
    (``axial_position``), the normal's alignment with its back (M,) and whether the capsule
    carries a nail (M,)."""
    return is_nail_capsule & (alignment > NAIL_MIN_ALIGNMENT) & (along > NAIL_MIN_AXIAL)


def palm_coordinates(keypoints: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(M, 2) coordinates of points (M, 3) in the palm plane of a hand's (21, 3) keypoints, in
    units of the wrist -> middle knuckle length: x from the wrist (0) to the middle knuckle (1),
    y across from the little (-) to the index (+) side, the same for left and right hands."""
    rotation, origin = wrist_frame(keypoints)
    length = np.linalg.norm(keypoints[MIDDLE_MCP] - keypoints[ROOT])
    return (points - origin) @ rotation[:, :2] / length


def on_palm_crease(local: np.ndarray) -> np.ndarray:
    """(M,) bool: palm-plane points (M, 2) (``palm_coordinates``) on one of the three main palm
    creases: the distal and proximal transverse creases below the knuckles and the thenar crease
    curving round the thumb's base to the wrist."""
    x, y = local[:, 0], local[:, 1]
    near = CREASE_HALF_WIDTH
    distal = (np.abs(x - (0.8 + 0.1 * y)) < near) & (y < 0.3)
    proximal = (np.abs(x - (0.66 - 0.12 * y)) < near) & (y > -0.2)
    thenar = (np.abs(np.hypot(x - 0.2, y - 0.45) - 0.45) < near) & (x > 0.05) & (y < 0.45)
    return distal | proximal | thenar


def on_finger_crease(along: np.ndarray) -> np.ndarray:
    """(M,) bool: positions along phalanges (0 at the proximal joint, 1 at the distal one) that
    lie on a joint's flexion crease."""
    return (np.abs(along) < FINGER_CREASE_REACH) | (np.abs(along - 1.0) < FINGER_CREASE_REACH)


def axial_position(points: np.ndarray, capsule_a: np.ndarray, capsule_b: np.ndarray) -> np.ndarray:
    """(M,) where points (M, 3) project onto their capsules' axes, 0 at a and 1 at b."""
    axis = capsule_b - capsule_a
    return np.einsum("ij,ij->i", points - capsule_a, axis) / np.maximum(
        np.einsum("ij,ij->i", axis, axis), 1e-12
    )


# Skin texture: smooth value noise over the rest hand, two octaves of (cell size in metres,
# relative amplitude), modulating brightness (blotches) and redness (flushed knuckles, veins'
# shadows). Isotropic noise: plane waves read as stripes.
TEXTURE_OCTAVES = ((0.03, 0.05), (0.01, 0.025))
_LATTICE = 16


def skin_variation(rng: np.random.Generator, points: np.ndarray) -> np.ndarray:
    """(M, 3) float32 multiplicative factors for the albedo at points (M, 3) of the rest hand
    (metres): uneven tone and redness that stay on the skin as the hand moves.

    Value noise: random values on a lattice (periodic, _LATTICE cells a side), interpolated
    trilinearly with smoothstep weights; a fresh lattice per call (per rendered hand).
    """
    points = np.asarray(points, dtype=np.float32)
    brightness = np.ones(len(points), dtype=np.float32)
    redness = np.zeros(len(points), dtype=np.float32)
    strides = (_LATTICE * _LATTICE, _LATTICE, 1)
    for cell, amplitude in TEXTURE_OCTAVES:
        lattice = (rng.normal(size=(_LATTICE**3, 2)) * amplitude).astype(np.float32)
        scaled = points / np.float32(cell) + rng.uniform(0, _LATTICE, size=3).astype(np.float32)
        base = np.floor(scaled)
        fraction = scaled - base
        fraction = fraction * fraction * (3 - 2 * fraction)
        # Per axis, the flat lattice offsets of the two neighbouring cells and their smoothstep
        # weights; each of the 8 corners takes one of each per axis.
        cells = base.astype(np.int64) % _LATTICE
        offsets = [(c * k, (c + 1) % _LATTICE * k) for c, k in zip(cells.T, strides)]
        weights = [(1 - f, f) for f in fraction.T]
        for corner in range(8):
            x, y, z = corner & 1, (corner >> 1) & 1, (corner >> 2) & 1
            value = lattice[offsets[0][x] + offsets[1][y] + offsets[2][z]]
            weight = weights[0][x] * weights[1][y] * weights[2][z]
            brightness += weight * value[:, 0]
            redness += weight * value[:, 1]
    return np.stack(
        [brightness + redness, brightness - 0.5 * redness, brightness - 0.5 * redness], 1
    )


@dataclass(frozen=True)
class SkinMap:
    """What skin every capsule of N hands shows, to colour the pixels that see it.

    capsules: all hands' capsules, concatenated; hand (C,) which hand each belongs to; back (C, 3)
    float32 back-of-hand directions; nail (C,) carries a nail; phalanx (C,) is a finger bone;
    keypoints (N, 21, 3) the hands' joints.
    """

    capsules: Capsules
    hand: np.ndarray
    back: np.ndarray
    nail: np.ndarray
    phalanx: np.ndarray
    keypoints: np.ndarray

    @classmethod
    def of_hands(
        cls, keypoints: np.ndarray, is_left: np.ndarray, per_hand: list[Capsules]
    ) -> "SkinMap":
        """From the hands' (N, 21, 3) keypoints, sides (N,) and ``hand_capsules`` of each."""
        layouts = [
            back_directions(keypoints[i], bool(is_left[i]), len(c.radius))
            for i, c in enumerate(per_hand)
        ]
        counts = [len(c.radius) for c in per_hand]
        phalanx = np.concatenate([np.arange(count) < _PHALANGES for count in counts])
        return cls(
            Capsules.concatenate(per_hand),
            np.repeat(np.arange(len(per_hand)), counts),
            np.concatenate([layout[0] for layout in layouts]).astype(np.float32),
            np.concatenate([layout[1] for layout in layouts]),
            phalanx,
            np.asarray(keypoints),
        )

    def albedos(
        self, points: np.ndarray, normal: np.ndarray, capsule: np.ndarray, skins: np.ndarray
    ) -> np.ndarray:
        """(M, 3) float32 albedo of M surface points (M, 3) with shading normals (M, 3) on
        capsules `capsule` (M,), hands coloured by skins (N, 3): palmar or dorsal skin, nails,
        creases."""
        alignment = np.einsum("ij,ij->i", normal, self.back[capsule])
        along = axial_position(points, self.capsules.a[capsule], self.capsules.b[capsule])
        on_nail = nail_pixels(along, alignment, self.nail[capsule])
        palmar = alignment < PALMAR_SIDE
        crease = palmar & self.phalanx[capsule] & on_finger_crease(along)
        hand = self.hand[capsule]
        albedo = np.empty((len(points), 3), dtype=np.float32)
        for index, skin in enumerate(skins):
            mine = hand == index
            albedo[mine] = skin_albedo(skin, alignment[mine], on_nail[mine])
            palm = np.flatnonzero(mine & palmar & ~self.phalanx[capsule])
            if len(palm):
                crease[palm] = on_palm_crease(palm_coordinates(self.keypoints[index], points[palm]))
        albedo[crease] *= np.float32(CREASE_DARKENING)
        return albedo

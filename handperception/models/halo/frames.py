"""HALO's canonical frames: one rigid frame per hand part, computed from the 21 keypoints alone.

Why these frames: HALO (Karunratanakul et al., 3DV 2021) drives an occupancy function with
keypoints instead of a parametric model's angles, so it needs, from keypoints only, a transform
per bone that is *well defined and continuous*: a query point expressed in a bone's frame is
then nearly independent of the pose, which is what lets a small network per part learn the
part's shape. A bone's direction fixes two of its frame's degrees of freedom; the third (twist
about the bone) is not observable from keypoints, and the textbook choice, the plane through a
bone and its parent, breaks down exactly when the finger is straight (collinear bones), which
is the most common pose of all. So, as in the paper, frames are *propagated* down each finger:

- the palm frame is ``skeleton.frames.wrist_frame``'s (x wrist -> middle MCP, y towards the index
  side, z = x cross y); it needs only a non-degenerate palm, never a bent finger;
- each finger bone's frame is its parent's frame turned by the *swing*, the least rotation taking
  the parent bone's direction onto this bone's (the first bone of a finger takes the wrist ->
  base direction as its parent, starting from the palm frame). Its x axis is the bone's
  direction; the swing is smooth everywhere except for a bone folded straight back onto its
  parent (180 deg), which no hand can do (``models.halo.validity`` refuses more than 150 deg).
  Collinear bones give the identity swing, so straight fingers are the easy case.

Every frame is orthonormal and right-handed. Left hands are the mirror image of right hands
(``skeleton.kinematics``): the caller mirrors x of points and keypoints first (``mirror_x``), so
one network serves both sides and a left hand's part frames are its mirrored twin's.

Units: metres in, metres out; ``scale`` is the hand's size relative to the mean hand
(``skeleton.kinematics.MEAN_BONE_LENGTHS``), from the sum of its 20 bone lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from handperception.skeleton.definition import BONES, FINGER_JOINTS, NUM_JOINTS, ROOT
from handperception.skeleton.frames import INDEX_MCP, LITTLE_MCP, MIDDLE_MCP
from handperception.skeleton.kinematics import MEAN_BONE_LENGTHS

# Parts: the palm, then the 15 articulated bones (thumb metacarpal/proximal/distal, then each
# finger's proximal/middle/distal), named by the bone (parent, child) of skeleton.BONES.
PALM = 0
ARTICULATED_BONES: tuple[int, ...] = tuple(
    index for index, (parent, _) in enumerate(BONES) if parent != ROOT
)
NUM_PARTS = 1 + len(ARTICULATED_BONES)
# Index into BONES of each bone's parent bone (-1 for the five palm bones wrist -> base).
_PARENT_BONE: tuple[int, ...] = tuple(
    -1 if parent == ROOT else next(i for i, (_, child) in enumerate(BONES) if child == parent)
    for parent, _ in BONES
)
# Bones by level down the fingers: _LEVELS[l] holds each finger's bone l (palm bones first).
_LEVELS: tuple[tuple[int, ...], ...] = tuple(
    tuple(4 * finger + level for finger in range(5)) for level in range(4)
)
# Where each bone's swing starts in (palm x, directions of each bone's parent or itself): the
# palm's x (index 0) for the palm bones, the parent bone's direction otherwise.
_PARENT_BONE_OR_SELF: tuple[int, ...] = tuple(
    bone if parent < 0 else parent for bone, parent in enumerate(_PARENT_BONE)
)
_SWING_FROM: tuple[int, ...] = tuple(
    0 if parent < 0 else 1 + bone for bone, parent in enumerate(_PARENT_BONE)
)
# The palm keypoints whose box (in the palm frame) bounds the palm part: the wrist, the five
# finger bases and the thumb MCP (the thenar pad follows the thumb metacarpal).
PALM_BOX_JOINTS: tuple[int, ...] = (
    (ROOT,) + tuple(joints[0] for joints in FINGER_JOINTS) + (FINGER_JOINTS[0][1],)
)
_EPS = 1e-9


@dataclass
class HandFrames:
    """Canonical frames of B right hands (left ones mirrored first).

    rotations (B, NUM_PARTS, 3, 3): columns are the part frame's axes in the input frame;
    origins (B, NUM_PARTS, 3) metres (the wrist for the palm, the bone's parent joint otherwise);
    lengths (B, NUM_PARTS) metres along each part's x axis (the palm: wrist -> middle MCP);
    bone_lengths (B, 20) metres, skeleton.BONES order; scale (B,) relative to the mean hand.
    """

    rotations: torch.Tensor
    origins: torch.Tensor
    lengths: torch.Tensor
    bone_lengths: torch.Tensor
    scale: torch.Tensor

    def to_local(self, points: torch.Tensor) -> torch.Tensor:
        """(B, P, 3) metres -> (B, NUM_PARTS, P, 3): each point in each part's frame, in units
        of the mean hand (divided by ``scale``), so every hand size looks like the mean one."""
        relative = points[:, None, :, :] - self.origins[:, :, None, :]
        local = torch.einsum("bkji,bkpj->bkpi", self.rotations, relative)
        return local / self.scale[:, None, None, None]


def mirror_x(values: torch.Tensor, is_left: torch.Tensor) -> torch.Tensor:
    """(B, ..., 3) with x negated for the hands where ``is_left`` (B,) bool is True."""
    sign = 1.0 - 2.0 * is_left.to(values.dtype)
    shape = (len(sign),) + (1,) * (values.ndim - 2)
    return torch.cat([values[..., :1] * sign.view(shape + (1,)), values[..., 1:]], dim=-1)


def swing(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(..., 3) unit vectors -> (..., 3, 3) the least rotation taking ``source`` onto ``target``.

    Rodrigues' form without the angle: R = I + [v]x + [v]x^2 / (1 + c), v = source x target,
    c = source . target; smooth for every pair but opposite ones (c = -1), clamped there.
    """
    v = torch.cross(source, target, dim=-1)
    c = (source * target).sum(-1)
    zero = torch.zeros_like(c)
    skew = torch.stack(
        [
            torch.stack([zero, -v[..., 2], v[..., 1]], -1),
            torch.stack([v[..., 2], zero, -v[..., 0]], -1),
            torch.stack([-v[..., 1], v[..., 0], zero], -1),
        ],
        -2,
    )
    eye = torch.eye(3, dtype=source.dtype, device=source.device).expand(skew.shape)
    return eye + skew + skew @ skew / (1.0 + c).clamp_min(1e-6)[..., None, None]


def _unit(vectors: torch.Tensor) -> torch.Tensor:
    return vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(_EPS)


def palm_frame(keypoints: torch.Tensor) -> torch.Tensor:
    """(B, 21, 3) -> (B, 3, 3) the wrist frame of ``skeleton.frames.wrist_frame`` (columns x, y,
    z), differentiable; a degenerate palm gives a finite but meaningless frame (validity refuses
    such hands before meshing)."""
    x = _unit(keypoints[:, MIDDLE_MCP] - keypoints[:, ROOT])
    across = keypoints[:, INDEX_MCP] - keypoints[:, LITTLE_MCP]
    y = _unit(across - (across * x).sum(-1, keepdim=True) * x)
    return torch.stack([x, y, torch.cross(x, y, dim=-1)], dim=-1)


def hand_scale(bone_lengths: torch.Tensor) -> torch.Tensor:
    """(B, 20) metres -> (B,) size relative to the mean hand: total bone length over the mean's
    (averages out the per-bone ratios, so it is the shape's global scale within ~1 %)."""
    mean_total = float(MEAN_BONE_LENGTHS.sum())
    return (bone_lengths.sum(-1) / mean_total).clamp_min(_EPS)


def hand_frames(keypoints: torch.Tensor) -> HandFrames:
    """The canonical part frames of (B, 21, 3) right-hand keypoints (metres, any frame)."""
    if keypoints.ndim != 3 or tuple(keypoints.shape[1:]) != (NUM_JOINTS, 3):
        raise ValueError(f"keypoints must be (B, 21, 3), got {tuple(keypoints.shape)}")
    parents = [parent for parent, _ in BONES]
    children = [child for _, child in BONES]
    vectors = keypoints[:, children] - keypoints[:, parents]
    bone_lengths = vectors.norm(dim=-1)
    directions = _unit(vectors)
    palm = palm_frame(keypoints)
    # Every bone's swing at once (from the palm's x for the palm bones), then down the fingers
    # one level at a time: four batched products instead of twenty small ones.
    before = torch.cat([palm[:, None, :, 0], directions[:, _PARENT_BONE_OR_SELF]], dim=1)
    turns = swing(before[:, _SWING_FROM], directions)
    level = turns[:, _LEVELS[0]] @ palm[:, None]
    frames = [level]
    for bones in _LEVELS[1:]:
        level = turns[:, bones] @ level
        frames.append(level)
    # (B, finger, level, 3, 3) -> (B, 20, 3, 3): bone 4 * finger + level, skeleton.BONES order
    frames = torch.stack(frames, dim=2).reshape(len(keypoints), len(BONES), 3, 3)
    rotations = torch.cat([palm[:, None], frames[:, list(ARTICULATED_BONES)]], dim=1)
    origins = torch.cat(
        [keypoints[:, ROOT : ROOT + 1], keypoints[:, [parents[b] for b in ARTICULATED_BONES]]],
        dim=1,
    )
    palm_length = (keypoints[:, MIDDLE_MCP] - keypoints[:, ROOT]).norm(dim=-1, keepdim=True)
    lengths = torch.cat([palm_length, bone_lengths[:, list(ARTICULATED_BONES)]], dim=1)
    return HandFrames(rotations, origins, lengths, bone_lengths, hand_scale(bone_lengths))

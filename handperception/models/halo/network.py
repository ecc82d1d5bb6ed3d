"""HALO's occupancy network: is a point inside the hand whose 21 keypoints are given?

Why per part: in its own canonical frame (``models.halo.frames``) a finger bone's piece of skin
is nearly the same shape whatever the pose, so a small network per part, told the pose and the
bone lengths, learns it well; the parts are joined by a differentiable maximum, as in HALO
(Karunratanakul et al., 3DV 2021) and NASA before it. Everything is torch, batched, and
differentiable in the query points and in the keypoints (training HALO end to end from images,
or fitting keypoints to a surface, needs the latter).

What each part sees, all in mean-hand units (metres divided by the hand's scale, so a large hand
looks like the mean one and held-out sizes cost nothing):

- the query point in the part's frame, and its distance to the part's core (the bone's segment,
  the palm's keypoint box, see Support below): a capsule-like piece of skin is a level set of
  that distance, so the network only has to learn how the radius varies;
- a pose-and-shape code: every keypoint in the part's frame and the 20 bone lengths relative to
  the mean hand's, through a small per-part encoder; it is computed once per hand and enters the
  part network's first layer as a bias, so it costs nothing per point.

Support. A part only answers for points near it: within ``finger_support`` of its bone segment,
or, for the palm, of the box its keypoints span in the palm frame (``palm_support``). Elsewhere
it does not run at all, which is what makes meshing fast (most points of a grid are near one or
two parts, far from fifteen); over the last ``_RAMP`` of its support a part's logit is pushed
down linearly by ``_RAMP_DROP``, so its cut-off sits where it already says "outside" and the
field stays continuous. A point that no part supports is outside (logit ``FLOOR``).

Units: metres, any frame (the camera's); left hands (``is_left``) are mirrored in x into right
hands first, so one network serves both sides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from handperception.models.halo.frames import (
    NUM_PARTS,
    PALM,
    PALM_BOX_JOINTS,
    HandFrames,
    hand_frames,
    mirror_x,
)
from handperception.models.limits import check_choice, check_integer, is_number
from handperception.skeleton.definition import NUM_JOINTS
from handperception.skeleton.kinematics import MEAN_BONE_LENGTHS, NUM_BONES

COMBINES = ("softmax", "max")
# Logit of a point no part supports (probability ~1e-13).
FLOOR = -30.0
# Query points enter the part networks in this unit (mean-hand metres): a finger's radius is
# about one unit, so the first layer sees the skin's curvature at its own scale.
_UNIT = 0.01
# Keypoints enter the pose code in units of 5 cm (the code sees the whole hand).
_CODE_GAIN = _UNIT / 0.05
# Relative bone lengths (ratio - 1, a few per cent) are scaled by this before the encoder.
_RATIO_GAIN = 10.0
# The last _RAMP metres (mean hand) of a part's support lower its logit by up to _RAMP_DROP.
_RAMP = 0.005
_RAMP_DROP = 10.0
_CODE_INPUTS = NUM_JOINTS * 3 + NUM_BONES


@dataclass
class EncodedHands:
    """B hands as ``HaloNet.decode`` reads them (``HaloNet.encode``): their part frames (of the
    right hand, left ones mirrored), keypoints in every part frame (B, K, 21, 3) in _UNIT,
    each part's first-layer bias (B, K, H), is_left (B,), the palm box's corners (B, 3) and
    each part's length along its x axis (B, K), all in the parts' frames' _UNIT.

    ``projection`` (B, 3, 3K) and ``offset`` (B, 1, 3K) take a point (metres) into every part's
    frame at once, ``point @ projection + offset`` = K local points of 3: one matrix product
    per query batch instead of one per part."""

    frames: HandFrames
    joints: torch.Tensor
    first_bias: torch.Tensor
    is_left: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor
    lengths: torch.Tensor
    projection: torch.Tensor
    offset: torch.Tensor


def _uniform(shape: tuple[int, ...], fan_in: int) -> nn.Parameter:
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound))


class HaloNet(nn.Module):
    """Occupancy of B hands at P points each, from their keypoints.

    Args:
        hidden: width of each part network.
        layers: hidden layers of each part network after the first (0 = one hidden layer).
        code: width of each part's pose-and-shape code.
        combine: "softmax" (temperature * logsumexp(logits / temperature), smooth, the default)
            or "max" over the parts.
        temperature: of the soft maximum (logit units).
        palm_support, finger_support: how far (metres, mean hand) from its keypoints a part
            answers; the synthetic hand's skin lies within 2.2 cm of the palm box and 1.25 cm of
            a finger bone.
    """

    def __init__(
        self,
        hidden: int = 32,
        layers: int = 1,
        code: int = 16,
        combine: str = "softmax",
        temperature: float = 0.25,
        palm_support: float = 0.03,
        finger_support: float = 0.02,
    ):
        super().__init__()
        config = {
            "hidden": hidden,
            "layers": layers,
            "code": code,
            "combine": combine,
            "temperature": temperature,
            "palm_support": palm_support,
            "finger_support": finger_support,
        }
        self.check_config(config)
        self.config = config
        parts = NUM_PARTS
        self.encoder_weight = _uniform((parts, _CODE_INPUTS, code), _CODE_INPUTS)
        self.encoder_bias = _uniform((parts, code), _CODE_INPUTS)
        self.code_weight = _uniform((parts, code, hidden), code + 4)
        self.point_weight = _uniform((parts, 4, hidden), code + 4)
        self.first_bias = _uniform((parts, hidden), code + 4)
        self.hidden_weights = nn.ParameterList(
            [_uniform((parts, hidden, hidden), hidden) for _ in range(layers)]
        )
        self.hidden_biases = nn.ParameterList(
            [_uniform((parts, hidden), hidden) for _ in range(layers)]
        )
        self.out_weight = _uniform((parts, hidden), hidden)
        # Most of space is outside: start there.
        self.out_bias = nn.Parameter(torch.full((parts,), -2.0))
        support = torch.full((parts,), float(finger_support))
        support[PALM] = float(palm_support)
        self.register_buffer("support", support / _UNIT, persistent=False)
        self.register_buffer(
            "mean_bone_lengths",
            torch.as_tensor(MEAN_BONE_LENGTHS, dtype=torch.float32),
            persistent=False,
        )

    @classmethod
    def check_config(cls, config: dict) -> None:
        """One-line ValueError unless ``config`` (every constructor argument) builds this network
        (a checkpoint's config comes from a file; see ``models.checkpoint``)."""
        check_integer("hidden", config["hidden"], 4, 512)
        check_integer("layers", config["layers"], 0, 8)
        check_integer("code", config["code"], 1, 256)
        check_choice("combine", config["combine"], COMBINES)
        for name, low, high in (
            ("temperature", 0.01, 10.0),
            ("palm_support", 0.01, 0.1),
            ("finger_support", 0.01, 0.1),
        ):
            value = config[name]
            if not is_number(value) or not low <= value <= high:
                raise ValueError(f"{name} must be a number in {low}..{high}, got {value!r:.60}")

    def forward(
        self, points: torch.Tensor, keypoints: torch.Tensor, is_left: torch.Tensor
    ) -> torch.Tensor:
        """Occupancy logits (B, P) (> 0: inside) of points (B, P, 3) for hands with keypoints
        (B, 21, 3), metres in one frame per hand, and is_left (B,) bool."""
        points, keypoints, is_left = self._check_inputs(points, keypoints, is_left)
        return self.decode(points, self.encode(keypoints, is_left))

    def encode(self, keypoints: torch.Tensor, is_left: torch.Tensor) -> EncodedHands:
        """What ``decode`` needs of B hands, (B, 21, 3) keypoints and (B,) is_left: computed
        once when the same hands are queried many times (mesh extraction, level by level)."""
        is_left = torch.as_tensor(is_left, device=keypoints.device).bool()
        if tuple(keypoints.shape[1:]) != (NUM_JOINTS, 3) or is_left.shape != keypoints.shape[:1]:
            raise ValueError(
                f"need keypoints (B, 21, 3) and is_left (B,), got {tuple(keypoints.shape)} and "
                f"{tuple(is_left.shape)}"
            )
        keypoints = mirror_x(keypoints.to(self.out_bias.dtype), is_left)
        frames = hand_frames(keypoints)
        joints = frames.to_local(keypoints) / _UNIT  # (B, K, 21, 3)
        low, high = _palm_box(joints)
        unit = frames.scale[:, None, None, None] * _UNIT
        # local = R^T (p - o) / unit, as a row vector: p (R / unit) - o (R / unit)
        rotations = frames.rotations / unit  # (B, K, 3, 3)
        batch, parts = rotations.shape[:2]
        projection = rotations.transpose(1, 2).reshape(batch, 3, 3 * parts)
        offset = -(frames.origins[:, :, None, :] @ rotations).reshape(batch, 1, 3 * parts)
        return EncodedHands(
            frames,
            joints,
            self._first_bias(joints, frames),
            is_left,
            low,
            high,
            frames.lengths / (frames.scale[:, None] * _UNIT),
            projection,
            offset,
        )

    def decode(self, points: torch.Tensor, hands: EncodedHands) -> torch.Tensor:
        """Occupancy logits (B, P) of points (B, P, 3) metres for ``encode``'s hands."""
        if points.ndim != 3 or points.shape[-1] != 3 or len(points) != len(hands.is_left):
            raise ValueError(
                f"points must be ({len(hands.is_left)}, P, 3) metres, got {tuple(points.shape)}"
            )
        points = mirror_x(points.to(self.out_bias.dtype), hands.is_left)
        batch, count = points.shape[:2]
        # every point in every part's frame: (B, P, K, 3), _UNIT of the mean hand
        local = torch.baddbmm(hands.offset, points, hands.projection).view(batch, count, -1, 3)
        with torch.no_grad():
            # Which part runs on which point, decided without building a graph over all
            # B x P x K pairs (most are never evaluated); part-major, so each part's points are
            # one contiguous run.
            pairs = self._supported(local, hands).permute(2, 0, 1).nonzero()
        part, hand, point = pairs.unbind(1)
        logits = self._part_logits(local, part, hand, point, hands)
        return self._combine(logits, hand * count + point, (batch, count))

    def occupancy(
        self, points: torch.Tensor, keypoints: torch.Tensor, is_left: torch.Tensor
    ) -> torch.Tensor:
        """Probabilities (B, P) in [0, 1] that each point is inside its hand (see forward)."""
        return torch.sigmoid(self.forward(points, keypoints, is_left))

    def _check_inputs(self, points, keypoints, is_left):
        if points.ndim != 3 or points.shape[-1] != 3:
            raise ValueError(f"points must be (B, P, 3) metres, got {tuple(points.shape)}")
        batch = points.shape[0]
        if tuple(keypoints.shape) != (batch, NUM_JOINTS, 3):
            raise ValueError(
                f"keypoints must be ({batch}, 21, 3) metres, got {tuple(keypoints.shape)}"
            )
        is_left = torch.as_tensor(is_left, device=points.device)
        if tuple(is_left.shape) != (batch,):
            raise ValueError(f"is_left must be ({batch},) bool, got {tuple(is_left.shape)}")
        dtype = self.out_bias.dtype
        return points.to(dtype), keypoints.to(dtype), is_left.bool()

    def _first_bias(self, joints: torch.Tensor, frames: HandFrames) -> torch.Tensor:
        """(B, K, H): each part's pose-and-shape code, projected into its first layer."""
        batch = joints.shape[0]
        ratios = frames.bone_lengths / (frames.scale[:, None] * self.mean_bone_lengths) - 1.0
        ratios = (_RATIO_GAIN * ratios)[:, None, :].expand(batch, NUM_PARTS, NUM_BONES)
        inputs = torch.cat([_CODE_GAIN * joints.flatten(2), ratios], dim=-1)
        code = torch.relu(
            torch.einsum("bki,kic->bkc", inputs, self.encoder_weight) + self.encoder_bias
        )
        return torch.einsum("bkc,kch->bkh", code, self.code_weight) + self.first_bias

    def _supported(self, local: torch.Tensor, hands: EncodedHands) -> torch.Tensor:
        """(B, P, K) bool: the point, (B, P, K, 3) in every part's frame, lies within the part's
        support (squared distances: no square root for a comparison)."""
        fingers = _segment_squared(local[:, :, 1:], hands.lengths[:, None, 1:])
        palm = _box_squared(local[:, :, PALM], hands.low[:, None], hands.high[:, None])
        reach = self.support * self.support
        return torch.cat([palm[..., None] < reach[PALM], fingers < reach[1:]], dim=-1)

    def _part_logits(
        self,
        local: torch.Tensor,
        part: torch.Tensor,
        hand: torch.Tensor,
        point: torch.Tensor,
        hands: EncodedHands,
    ) -> torch.Tensor:
        """(N,) each part's logit at its supported points: pairs (part, hand, point) (N,) sorted
        by part (so the palm's, part 0, come first), ``local`` (B, P, K, 3) every point in every
        part's frame. Per part: the point in its frame and its distance to the part's core, the
        part network, minus the support ramp."""
        if len(part) == 0:
            return local.new_zeros(0)
        batch, count, parts = local.shape[:3]
        # index_select, not advanced indexing: several times faster on the CPU
        rows_local = local.reshape(-1, 3).index_select(0, (hand * count + point) * parts + part)
        runs = torch.bincount(part, minlength=parts).tolist()
        palm = runs[PALM]
        palm_hand, finger_hand = hand[:palm], hand[palm:]
        squared = torch.cat(
            [
                _box_squared(
                    rows_local[:palm],
                    hands.low.index_select(0, palm_hand),
                    hands.high.index_select(0, palm_hand),
                ),
                _segment_squared(
                    rows_local[palm:],
                    hands.lengths.reshape(-1).index_select(0, finger_hand * parts + part[palm:]),
                ),
            ]
        )
        core = torch.sqrt(squared + 1e-12)
        # the first layer's inputs: (x, y, z, core), one product per part
        features = torch.cat([rows_local, core[:, None]], dim=1)
        single = batch == 1  # one hand: its first-layer bias broadcasts, no gather
        layers = list(zip(self.hidden_weights, self.hidden_biases))
        values = []
        start = 0
        for index, run in enumerate(runs):
            if run == 0:
                continue
            rows = slice(start, start + run)
            start += run
            bias = (
                hands.first_bias[0, index]
                if single
                else hands.first_bias[:, index].index_select(0, hand[rows])
            )
            # in place: addmm's gradient does not need its output
            h = torch.addmm(bias, features[rows], self.point_weight[index]).relu_()
            for hidden, hidden_bias in layers:
                h = torch.addmm(hidden_bias[index], h, hidden[index]).relu_()
            values.append(torch.mv(h, self.out_weight[index]))
        edge = torch.relu(core - (self.support.index_select(0, part) - _RAMP / _UNIT))
        return (
            torch.cat(values)
            + self.out_bias.index_select(0, part)
            - edge * (_RAMP_DROP * _UNIT / _RAMP)
        )

    def _combine(
        self, logits: torch.Tensor, target: torch.Tensor, shape: tuple[int, int]
    ) -> torch.Tensor:
        """(B, P) the (soft) maximum of the pair logits (N,) over the parts of each point
        (target (N,) = hand * P + point); FLOOR where no part runs."""
        count = shape[0] * shape[1]
        floor = logits.new_full((count,), FLOOR)
        if self.config["combine"] == "max":
            combined = floor.scatter_reduce(0, target, logits, "amax", include_self=False)
            return combined.view(shape)
        temperature = self.config["temperature"]
        with torch.no_grad():
            peak = floor.scatter_reduce(0, target, logits, "amax", include_self=False)
        weights = torch.exp((logits - peak[target]) / temperature)
        sums = logits.new_zeros(count).index_add(0, target, weights)
        supported = sums > 0
        combined = peak + temperature * torch.log(
            torch.where(supported, sums, torch.ones_like(sums))
        )
        return torch.where(supported, combined, floor).view(shape)


def _segment_squared(local: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Squared distance from points (..., 3) to the segment from the origin along x of
    ``lengths`` (broadcast against (...))."""
    x = local[..., 0]
    beyond = x - torch.clamp(x, torch.zeros_like(lengths), lengths)
    return beyond * beyond + local[..., 1] * local[..., 1] + local[..., 2] * local[..., 2]


def _palm_box(joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3) low and high corners of the palm keypoints' box in the palm frame."""
    box = joints[:, PALM, list(PALM_BOX_JOINTS)]
    return box.min(dim=1).values, box.max(dim=1).values


def _box_squared(local: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Squared distance from points (..., 3) to the box from ``low`` to ``high`` (0 inside)."""
    outside = torch.relu(low - local) + torch.relu(local - high)
    return (outside * outside).sum(-1)

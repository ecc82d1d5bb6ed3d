"""Training-time augmentation of hand crops that keeps images, part labels, 2D, 3D and
intrinsics consistent, for the single-hand and the two-hand trainer alike.

Why exact geometry: the 2.5D targets and the biomechanical terms read each crop's intrinsics, so
a warp of the image must move the camera with it. Every geometric change here is one a real
camera could have made: a turn about its optical axis (turns the image about the principal point
and the joints about z), a zoom (focal length), a shift (principal point) and a mirror (x -> -x,
which makes a right hand a left one). One ``CameraMove`` warps every label of a crop, so the two
trainers cannot drift apart. Photometric jitter (brightness, contrast, saturation, sensor noise)
stands in for cameras and light the renderer does not vary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
import torch
import torch.nn.functional as F

from handperception.losses.pose import PoseTarget
from handperception.losses.two_hands import TwoHandTarget
from handperception.skeleton.definition import ROOT
from handperception.skeleton.parts import NUM_LABELS, relabel_hands

# ITU-R BT.601 luma, the grey that saturation and contrast jitter pivot on.
_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class CameraAugmentation:
    """Ranges of the random camera moves; each sample of a batch draws its own.

    rotation_deg: turn about the optical axis, uniform in +-; zoom: focal length times a
    log-uniform factor in [1 / (1 + zoom), 1 + zoom]; shift: principal point moved by up to this
    fraction of the crop side per axis. The two-hand trainer uses these alone (no mirror: see
    ``turn_zoom_shift_two_hands``); ``Augmentation`` adds the mirror and the colours.
    """

    rotation_deg: float = 30.0
    zoom: float = 0.1
    shift: float = 0.05

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"augmentation {field.name} must be a finite number >= 0, got {value!r}"
                )

    @classmethod
    def from_config(cls, value: bool | dict | None) -> CameraAugmentation | None:
        """The `train.augment` config value: false/null (none), true (these defaults) or a dict
        of overrides; ranges that are all zero are none too (no warp, the batch untouched)."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if not isinstance(value, dict):
            raise ValueError(
                f"train.augment must be true, false or a dict of ranges, got {value!r}"
            )
        unknown = set(value) - {field.name for field in fields(cls)}
        if unknown:
            raise ValueError(
                f"unknown augmentation keys {sorted(unknown)} "
                f"(known: {[f.name for f in fields(cls)]})"
            )
        augmentation = cls(**value)
        return augmentation if any(getattr(augmentation, f.name) for f in fields(cls)) else None

    def draw(
        self, images: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One move per image of (B, C, H, W) images: angle (B,) radians, scale (B,), shift
        (B, 2) pixels (``turn_zoom_shift``'s arguments), like images (device, dtype)."""
        b, _, h, w = images.shape
        angle = torch.deg2rad(_uniform(b, self.rotation_deg, generator, images))
        scale = torch.exp(_uniform(b, math.log1p(self.zoom), generator, images))
        shift = torch.stack(
            [
                _uniform(b, self.shift * w, generator, images),
                _uniform(b, self.shift * h, generator, images),
            ],
            dim=-1,
        )
        return angle, scale, shift


@dataclass(frozen=True)
class Augmentation(CameraAugmentation):
    """The single-hand trainer's ranges: the camera moves, then a mirror and the colours.

    mirror: probability of a left-right mirror; brightness, contrast, saturation: factors uniform
    in 1 +- value; noise: Gaussian sensor noise with a standard deviation uniform in [0, noise]
    (images in [0, 1]).
    """

    mirror: float = 0.5
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    noise: float = 0.02

    def __post_init__(self) -> None:
        if not 0.0 <= self.mirror <= 1.0:
            raise ValueError(f"mirror is a probability, got {self.mirror}")
        super().__post_init__()
        if max(self.brightness, self.contrast, self.saturation) >= 1.0:
            raise ValueError(
                "brightness, contrast and saturation ranges must stay below 1 (factors > 0)"
            )

    def __call__(
        self, images: torch.Tensor, target: PoseTarget, generator: torch.Generator
    ) -> tuple[torch.Tensor, PoseTarget]:
        """(B, 3, H, W) images in [0, 1] and their labels -> the augmented pair (new tensors)."""
        b = len(images)
        images, target = turn_zoom_shift(images, target, *self.draw(images, generator))
        images, target = mirror(
            images, target, torch.rand(b, generator=generator).to(images.device) < self.mirror
        )
        factors = [
            1.0 + _uniform(b, value, generator, images)
            for value in (self.brightness, self.contrast, self.saturation)
        ]
        sigma = torch.rand(b, generator=generator).to(images)[:, None, None, None] * self.noise
        noise = sigma * torch.randn(images.shape, generator=generator).to(images)
        return jitter_colours(images, *factors, noise), target


class CameraMove:
    """Each camera of a batch turned by angle (B,) radians about its optical axis, its focal
    length times scale (B,) and its principal point moved by shift (B, 2) pixels, for crops of
    intrinsics K (B, 3, 3); angle, scale and shift set the device and dtype of the maps.

    The image moves as p_out = A (p_in - c) + c + shift with A = scale diag(f) R diag(1 / f)
    and the joints turn about z by R. Why one object: images, part labels, 2D and 3D joints and
    K of a crop must all see the same move.
    """

    def __init__(
        self, K: torch.Tensor, angle: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor
    ) -> None:
        cos, sin = torch.cos(angle), torch.sin(angle)
        self.rotation = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
        focal = torch.stack([K[:, 0, 0], K[:, 1, 1]], dim=-1).to(angle)
        self.centre = K[:, :2, 2].to(angle)
        self.new_centre = self.centre + shift
        self.pixel_map = (
            scale[:, None, None] * focal[:, :, None] * self.rotation / focal[:, None, :]
        )
        self.K = K.clone()
        self.K[:, 0, 0] *= scale.to(K)
        self.K[:, 1, 1] *= scale.to(K)
        self.K[:, :2, 2] = self.new_centre.to(K)

    def pixels(self, uv: torch.Tensor) -> torch.Tensor:
        """(B, ..., 2) crop pixels -> where the moved camera sees them."""
        shape = (len(uv),) + (1,) * (uv.dim() - 2) + (2,)
        offsets = uv - self.centre.view(shape)
        return torch.einsum("bij,b...j->b...i", self.pixel_map, offsets) + self.new_centre.view(
            shape
        )

    def joints(self, xyz: torch.Tensor) -> torch.Tensor:
        """(B, ..., 3) camera-frame points -> the same points in the turned camera's frame."""
        turned = xyz.clone()
        turned[..., :2] = torch.einsum("bij,b...j->b...i", self.rotation.to(xyz), xyz[..., :2])
        return turned

    def warp(self, images: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
        """(B, C, H, W) float images -> what the moved cameras see; zeros fill what they did not.
        ``mode="nearest"`` moves label maps without blending labels."""
        _, _, h, w = images.shape
        # affine_grid wants output -> input in normalised coordinates, p = half * n + offset
        # (align_corners=False): n_in = S^-1 A^-1 S n_out + S^-1 (A^-1 (offset - c') + c - offset).
        half = torch.tensor([w / 2.0, h / 2.0]).to(self.pixel_map)
        offset = torch.tensor([(w - 1) / 2.0, (h - 1) / 2.0]).to(self.pixel_map)
        inverse = torch.linalg.inv(self.pixel_map)
        linear = inverse * half[None, None, :] / half[None, :, None]
        translation = (
            torch.einsum("bij,bj->bi", inverse, offset - self.new_centre) + self.centre - offset
        ) / half
        grid = F.affine_grid(
            torch.cat([linear, translation[..., None]], dim=-1).to(images),
            list(images.shape),
            align_corners=False,
        )
        return F.grid_sample(images, grid, mode=mode, padding_mode="zeros", align_corners=False)


def turn_zoom_shift(
    images: torch.Tensor,
    target: PoseTarget,
    angle: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
) -> tuple[torch.Tensor, PoseTarget]:
    """Move each single-hand crop's camera (``CameraMove``: angle (B,) radians, scale (B,),
    shift (B, 2) pixels); joints leaving the crop lose their visibility."""
    _, _, h, w = images.shape
    move = CameraMove(target.K, angle.to(images), scale.to(images), shift.to(images))
    uv = move.pixels(target.uv)
    return move.warp(images), replace(
        target,
        uv=uv,
        K=move.K,
        xyz=move.joints(target.xyz),
        visibility=target.visibility & _inside(uv, w, h),
    )


def turn_zoom_shift_two_hands(
    images: torch.Tensor,
    target: TwoHandTarget,
    angle: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
) -> tuple[torch.Tensor, TwoHandTarget]:
    """``turn_zoom_shift`` for two-hand crops: the images bilinear, the part labels nearest
    (what comes in from outside is background 0), both slots' joints and K; then the slots
    re-sorted, since a turn can bring the other wrist to the left (``sort_slots``).

    The 2D loss masks joints off the crop itself (``losses.two_hands``), so no visibility is
    kept here; the wrists' relative depth is read from the re-sorted xyz. Why no mirror: it
    makes each left hand a right one, so is_left and the slot order would have to flip with
    it, and the rendered sets already hold both sides; turns, zooms and shifts keep the
    knuckles' turn in the image (``models.pose2p5d.image_turn``) that handedness reads.
    """
    move = CameraMove(target.K, angle.to(images), scale.to(images), shift.to(images))
    labels = move.warp(target.segmentation[:, None].to(images), mode="nearest")[:, 0]
    moved = replace(
        target,
        segmentation=labels.round().to(target.segmentation.dtype),
        uv=move.pixels(target.uv),
        K=move.K,
        xyz=move.joints(target.xyz),
    )
    return move.warp(images), sort_slots(moved)


def sort_slots(target: TwoHandTarget) -> TwoHandTarget:
    """Crops with both hands whose second wrist lies left of the first get their slots swapped:
    every per-slot label and the part labels' hand blocks (``skeleton.parts.relabel_hands``),
    so the slot order stays ``synth.two_hand_items.slot_order``'s (ties keep their order)."""
    swap = target.present.all(-1) & (target.uv[:, 1, ROOT, 0] < target.uv[:, 0, ROOT, 0])
    if not bool(swap.any()):
        return target

    def per_slot(value: torch.Tensor) -> torch.Tensor:
        shape = (len(swap),) + (1,) * (value.dim() - 1)
        return torch.where(swap.view(shape), value.flip(1), value)

    blocks = torch.as_tensor(relabel_hands(np.arange(NUM_LABELS), (1, 0))).to(target.segmentation)
    segmentation = torch.where(
        swap[:, None, None], blocks[target.segmentation], target.segmentation
    )
    return replace(
        target,
        segmentation=segmentation,
        uv=per_slot(target.uv),
        labelled=per_slot(target.labelled),
        present=per_slot(target.present),
        is_left=per_slot(target.is_left),
        xyz=per_slot(target.xyz),
    )


def mirror(
    images: torch.Tensor, target: PoseTarget, flip: torch.Tensor
) -> tuple[torch.Tensor, PoseTarget]:
    """Mirror the samples where flip (B,) left-right: u -> W - 1 - u with c_x -> W - 1 - c_x is the
    camera's view of the hand mirrored in x, a hand of the other side."""
    width = images.shape[-1]
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    uv, k, xyz = target.uv.clone(), target.K.clone(), target.xyz.clone()
    uv[..., 0] = torch.where(flip[:, None], width - 1 - uv[..., 0], uv[..., 0])
    k[:, 0, 2] = torch.where(flip, width - 1 - k[:, 0, 2], k[:, 0, 2])
    xyz[..., 0] = torch.where(flip[:, None], -xyz[..., 0], xyz[..., 0])
    return images, replace(target, uv=uv, K=k, xyz=xyz, is_left=target.is_left ^ flip)


def jitter_colours(
    images: torch.Tensor,
    brightness: torch.Tensor,
    contrast: torch.Tensor,
    saturation: torch.Tensor,
    noise: torch.Tensor,
) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1], per-sample (B,) factors and additive noise like images -> [0, 1].

    Brightness scales, saturation pivots on each pixel's grey (BT.601 luma), contrast on the
    image's mean grey.
    """
    per_sample = [factor[:, None, None, None] for factor in (brightness, contrast, saturation)]
    brightness, contrast, saturation = per_sample
    luma = torch.tensor(_LUMA).to(images)[None, :, None, None]
    images = images * brightness
    grey = (images * luma).sum(1, keepdim=True)
    images = grey + (images - grey) * saturation
    mean = grey.mean((-2, -1), keepdim=True)
    return (mean + (images - mean) * contrast + noise).clamp(0.0, 1.0)


def _inside(uv: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """(B, J) whether each point lies on the crop (pixel centres 0..W-1, edges at -0.5, W-0.5)."""
    return (
        (uv[..., 0] >= -0.5)
        & (uv[..., 0] <= width - 0.5)
        & (uv[..., 1] >= -0.5)
        & (uv[..., 1] <= height - 0.5)
    )


def _uniform(
    count: int, half_range: float, generator: torch.Generator, like: torch.Tensor
) -> torch.Tensor:
    """(count,) draws uniform in +- half_range, on like's device and dtype."""
    return (2.0 * torch.rand(count, generator=generator) - 1.0).to(like) * half_range

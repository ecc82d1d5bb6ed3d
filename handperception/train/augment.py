"""Training-time augmentation of single-hand crops that keeps 2D, 3D and intrinsics consistent.

Why exact geometry: the 2.5D targets and the biomechanical terms read each crop's intrinsics, so
a warp of the image must move the camera with it. Every geometric change here is one a real
camera could have made: a turn about its optical axis (turns the image about the principal point
and the joints about z), a zoom (focal length), a shift (principal point) and a mirror (x -> -x,
which makes a right hand a left one). Photometric jitter (brightness, contrast, saturation,
sensor noise) stands in for cameras and light the renderer does not vary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch
import torch.nn.functional as F

from handperception.losses.pose import PoseTarget

# ITU-R BT.601 luma, the grey that saturation and contrast jitter pivot on.
_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random changes; each sample of a batch draws its own.

    mirror: probability of a left-right mirror; rotation_deg: turn about the optical axis,
    uniform in +-; zoom: focal length times a log-uniform factor in [1 / (1 + zoom), 1 + zoom];
    shift: principal point moved by up to this fraction of the crop side per axis; brightness,
    contrast, saturation: factors uniform in 1 +- value; noise: Gaussian sensor noise with a
    standard deviation uniform in [0, noise] (images in [0, 1]).
    """

    mirror: float = 0.5
    rotation_deg: float = 30.0
    zoom: float = 0.1
    shift: float = 0.05
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    noise: float = 0.02

    def __post_init__(self) -> None:
        if not 0.0 <= self.mirror <= 1.0:
            raise ValueError(f"mirror is a probability, got {self.mirror}")
        for field in fields(self):
            value = getattr(self, field.name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"augmentation {field.name} must be a finite number >= 0, got {value!r}"
                )
        if max(self.brightness, self.contrast, self.saturation) >= 1.0:
            raise ValueError(
                "brightness, contrast and saturation ranges must stay below 1 (factors > 0)"
            )

    @classmethod
    def from_config(cls, value: bool | dict | None) -> Augmentation | None:
        """The `train.augment` config value: false/null (none), true (these defaults) or a dict
        of overrides."""
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
        return cls(**value)

    def __call__(
        self, images: torch.Tensor, target: PoseTarget, generator: torch.Generator
    ) -> tuple[torch.Tensor, PoseTarget]:
        """(B, 3, H, W) images in [0, 1] and their labels -> the augmented pair (new tensors)."""
        b, _, h, w = images.shape

        def uniform(half_range: float) -> torch.Tensor:
            return (2.0 * torch.rand(b, generator=generator) - 1.0).to(images) * half_range

        angle = torch.deg2rad(uniform(self.rotation_deg))
        scale = torch.exp(uniform(math.log1p(self.zoom)))
        shift = torch.stack([uniform(self.shift * w), uniform(self.shift * h)], dim=-1)
        images, target = turn_zoom_shift(images, target, angle, scale, shift)
        images, target = mirror(
            images, target, torch.rand(b, generator=generator).to(images.device) < self.mirror
        )
        factors = [
            1.0 + uniform(value) for value in (self.brightness, self.contrast, self.saturation)
        ]
        sigma = torch.rand(b, generator=generator).to(images)[:, None, None, None] * self.noise
        noise = sigma * torch.randn(images.shape, generator=generator).to(images)
        return jitter_colours(images, *factors, noise), target


def turn_zoom_shift(
    images: torch.Tensor,
    target: PoseTarget,
    angle: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
) -> tuple[torch.Tensor, PoseTarget]:
    """Turn each camera by angle (B,) radians about its optical axis, multiply its focal length by
    scale (B,) and move its principal point by shift (B, 2) pixels; zeros fill what it did not see.

    The image moves as p_out = A (p_in - c) + c + shift with A = scale diag(f) R diag(1 / f), the
    joints turn about z, and joints leaving the crop lose their visibility.
    """
    b, _, h, w = images.shape
    cos, sin = torch.cos(angle), torch.sin(angle)
    rotation = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
    focal = torch.stack([target.K[:, 0, 0], target.K[:, 1, 1]], dim=-1).to(images)
    centre = target.K[:, :2, 2].to(images)
    new_centre = centre + shift
    pixel_map = scale[:, None, None] * focal[:, :, None] * rotation / focal[:, None, :]
    uv = torch.einsum("bij,bkj->bki", pixel_map, target.uv - centre[:, None]) + new_centre[:, None]

    # affine_grid wants output -> input in normalised coordinates, p = half * n + offset
    # (align_corners=False): n_in = S^-1 A^-1 S n_out + S^-1 (A^-1 (offset - c') + c - offset).
    half = torch.tensor([w / 2.0, h / 2.0]).to(images)
    offset = torch.tensor([(w - 1) / 2.0, (h - 1) / 2.0]).to(images)
    inverse = torch.linalg.inv(pixel_map)
    linear = inverse * half[None, None, :] / half[None, :, None]
    translation = (
        torch.einsum("bij,bj->bi", inverse, offset - new_centre) + centre - offset
    ) / half
    grid = F.affine_grid(
        torch.cat([linear, translation[..., None]], dim=-1), list(images.shape), align_corners=False
    )
    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    k = target.K.clone()
    k[:, 0, 0] *= scale.to(k)
    k[:, 1, 1] *= scale.to(k)
    k[:, :2, 2] = new_centre.to(k)
    turned = target.xyz.clone()
    turned[..., 0] = cos[:, None] * target.xyz[..., 0] - sin[:, None] * target.xyz[..., 1]
    turned[..., 1] = sin[:, None] * target.xyz[..., 0] + cos[:, None] * target.xyz[..., 1]
    return warped, replace(
        target, uv=uv, K=k, xyz=turned, visibility=target.visibility & _inside(uv, w, h)
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

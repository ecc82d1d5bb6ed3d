"""Supervised losses for the 2.5D hand pose network, combined with the biomechanical terms.

Why one combiner: training mixes fully labelled synthetic crops with crops that have 2D labels
only (as most real datasets do). Every sample gets the 2D, heatmap, handedness and biomechanical
terms; only samples flagged ``has_3d`` get the depth and 3D terms (Spurr et al. 2020 setup).
Units: 2D terms in heatmap pixels (image pixels / stride), depth and 3D terms in reference-bone
units (wrist -> middle MCP), angles in radians.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from handperception.geometry.lifting import backproject_2p5d, lift_reference_bone
from handperception.losses.biomechanical import BiomechanicalLoss, reference_length
from handperception.models.heatmaps import gaussian_heatmaps, image_to_heatmap
from handperception.models.pose2p5d import HandPoseOutput
from handperception.skeleton.definition import ROOT

KEYPOINT_NORMS = ("l1", "l2")
# Handedness at full weight: at 0.1 the palm-side cue stayed at 60 % after 8000 steps.
DEFAULT_WEIGHTS = {
    "uv": 1.0,
    "heatmap": 1.0,
    "depth": 1.0,
    "xyz": 1.0,
    "handedness": 1.0,
    "biomech": 1.0,
}


def merged_weights(
    defaults: dict[str, float], weights: dict[str, float] | None, stride: int, sigma: float
) -> dict[str, float]:
    """A loss's term weights: ``defaults`` overridden by ``weights``; ValueError for a term the
    loss does not have (a typo), a negative weight, or a non-positive stride or sigma."""
    unknown = set(weights or {}) - set(defaults)
    if unknown:
        raise ValueError(
            f"unknown loss weights {sorted(unknown)}; expected among {sorted(defaults)}"
        )
    merged = {**defaults, **(weights or {})}
    if min(merged.values()) < 0 or stride <= 0 or not sigma > 0:
        raise ValueError("weights must be >= 0, stride and sigma positive")
    return merged


@dataclass
class PoseTarget:
    """Labels for B crops.

    uv (B, 21, 2) crop pixels; visibility (B, 21) bool (joints whose 2D label counts); K (B, 3, 3)
    crop intrinsics; is_left (B,) bool; has_3d (B,) bool; xyz (B, 21, 3) metres, camera frame
    (read only where has_3d).
    """

    uv: torch.Tensor
    visibility: torch.Tensor
    K: torch.Tensor
    is_left: torch.Tensor
    has_3d: torch.Tensor
    xyz: torch.Tensor


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of values over the last dim where mask, per sample; 0 for samples with no entry."""
    mask = mask.to(values.dtype)
    return (values * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)


def keypoint_2d_loss(
    pred: torch.Tensor, target: torch.Tensor, visibility: torch.Tensor, norm: str = "l1"
) -> torch.Tensor:
    """(B, J, 2) predicted and labelled points, (B, J) mask -> (B,) mean L1 (|dx|+|dy|) or L2
    distance."""
    if norm not in KEYPOINT_NORMS:
        raise ValueError(f"unknown norm {norm!r}; expected one of {KEYPOINT_NORMS}")
    diff = pred - target
    error = diff.abs().sum(-1) if norm == "l1" else torch.sqrt((diff * diff).sum(-1) + 1e-12)
    return _masked_mean(error, visibility)


def heatmap_mse_loss(
    probabilities: torch.Tensor,
    target_uv: torch.Tensor,
    visibility: torch.Tensor,
    sigma: float = 1.5,
) -> torch.Tensor:
    """(B, J, h, w) predicted distributions vs Gaussians at (B, J, 2) heatmap-pixel labels -> (B,).

    The target Gaussian is normalised to sum to 1 like the prediction; the squared error is
    summed over pixels and multiplied by h * w so the term stays O(1) at any resolution.
    """
    h, w = probabilities.shape[-2:]
    target = gaussian_heatmaps(target_uv, h, w, sigma)
    target = target / target.sum((-2, -1), keepdim=True).clamp(min=1e-12)
    error = ((probabilities - target) ** 2).sum((-2, -1)) * (h * w)
    return _masked_mean(error, visibility)


def relative_depth(xyz: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) metres -> (B, J) depth minus the root's, in units of the reference bone."""
    return (xyz[..., 2] - xyz[:, ROOT : ROOT + 1, 2]) / reference_length(xyz)[:, None]


def relative_3d_errors(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) predicted and labelled points -> (B, J) L1 error of each root-relative position,
    in units of the labelled reference bone."""
    scale = reference_length(target)[:, None, None]
    pred_rel = (pred - pred[:, ROOT : ROOT + 1]) / scale
    target_rel = (target - target[:, ROOT : ROOT + 1]) / scale
    return (pred_rel - target_rel).abs().sum(-1)


def relative_3d_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) predicted and labelled points -> (B,) mean of ``relative_3d_errors``."""
    return relative_3d_errors(pred, target).mean(-1)


class PoseLoss(nn.Module):
    """Weighted sum of the supervised and biomechanical terms for a HandPoseOutput.

    The 3D terms use the labelled root depth and reference-bone length (so they train the
    2.5D quantities directly). The biomechanical terms judge the pose lifted with the labelled
    intrinsics in reference-bone units (``constraint_pose``).
    """

    def __init__(
        self,
        weights: dict[str, float] | None = None,
        stride: int = 4,
        sigma: float = 1.5,
        use_biomech: bool = True,
    ) -> None:
        super().__init__()
        self.weights = merged_weights(DEFAULT_WEIGHTS, weights, stride, sigma)
        self.stride, self.sigma = stride, sigma
        self.biomech = BiomechanicalLoss() if use_biomech else None

    def forward(self, output: HandPoseOutput, target: PoseTarget) -> dict[str, torch.Tensor]:
        """Returns {"total", and each weighted term}, all scalars."""
        has_3d = target.has_3d.to(output.uv.dtype)
        per_sample = {
            "uv": keypoint_2d_loss(
                output.uv / self.stride, target.uv / self.stride, target.visibility
            ),
            "heatmap": heatmap_mse_loss(
                output.probabilities,
                image_to_heatmap(target.uv, self.stride),
                target.visibility,
                self.sigma,
            ),
            "handedness": F.binary_cross_entropy_with_logits(
                output.handedness_logit, target.is_left.to(output.uv.dtype), reduction="none"
            ),
        }
        terms = {name: self.weights[name] * value.mean() for name, value in per_sample.items()}
        if bool(target.has_3d.any()):
            xyz = torch.where(
                target.has_3d[:, None, None], target.xyz, placeholder_hand(target.xyz)
            )
            length = reference_length(xyz)
            depth_error = (output.depth - relative_depth(xyz)).abs().mean(-1)
            lifted = backproject_2p5d(output.uv, output.depth, target.K, xyz[:, ROOT, 2], length)
            count = has_3d.sum()
            terms["depth"] = self.weights["depth"] * (depth_error * has_3d).sum() / count
            terms["xyz"] = (
                self.weights["xyz"] * (relative_3d_loss(lifted, xyz) * has_3d).sum() / count
            )
        if self.biomech is not None:
            pose = constraint_pose(output.uv, output.depth, target.K)
            terms["biomech"] = self.weights["biomech"] * self.biomech(pose, target.is_left)["total"]
        terms["total"] = sum(terms.values())
        return terms


def constraint_pose(uv: torch.Tensor, depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """(B, 21, 2) crop pixels, (B, 21) root-relative depth, (B, 3, 3) intrinsics -> (B, 21, 3) pose
    in reference-bone units, as the biomechanical terms judge it.

    The root depth is solved from the 2.5D input and detached: gradients through that quadratic's
    square root blow up when it is nearly degenerate (early predictions).
    """
    with torch.no_grad():
        root = lift_reference_bone(uv, depth, K, 1.0)[:, ROOT, 2]
    return backproject_2p5d(uv, depth, K, root, 1.0)


def placeholder_hand(like: torch.Tensor) -> torch.Tensor:
    """A (B, 21, 3) hand with unit bones in front of the camera, standing in for missing 3D
    labels so masked-out samples never divide by a zero-length reference bone."""
    offsets = torch.arange(like.shape[1], dtype=like.dtype, device=like.device)
    hand = torch.zeros_like(like)
    hand[..., 0] = offsets
    hand[..., 2] = 1.0
    return hand

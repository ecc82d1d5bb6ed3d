"""Losses of the two-hand network: part segmentation, each present hand's 2.5D pose, presence,
handedness and the wrists' relative depth.

Why masked per hand: a crop holds 0, 1 or 2 hands, so pose terms count only the slots whose hand
is there (``present``) and the relative depth only crops with both; real images without part
labels (InterHand2.6M) skip the segmentation term. The per-hand terms are the single-hand ones
(``losses.pose``), applied to the 2B hands of a batch, so both networks learn the same thing
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from handperception.geometry.lifting import backproject_2p5d
from handperception.losses.biomechanical import BiomechanicalLoss, reference_length
from handperception.losses.pose import (
    constraint_pose,
    heatmap_mse_loss,
    keypoint_2d_loss,
    merged_weights,
    placeholder_hand,
    relative_3d_errors,
    relative_depth,
)
from handperception.models.digit import NUM_HANDS, TwoHandOutput
from handperception.models.heatmaps import image_to_heatmap
from handperception.skeleton.definition import NUM_JOINTS, ROOT

# The biomechanical terms are off by default: from a random start they pin the early, collapsed
# predictions (measured on 256 crops, 300 steps: 2D error 8.6 -> 7.9 heatmap px with them at
# weight 1, 8.5 -> 5.2 without; a 2500-step run with them stalled at 21 px on 128 px crops).
DEFAULT_WEIGHTS = {
    "segmentation": 1.0,
    "uv": 1.0,
    "heatmap": 1.0,
    "depth": 1.0,
    "xyz": 1.0,
    "presence": 1.0,
    "handedness": 1.0,
    "root": 1.0,
    "biomech": 0.0,
}


@dataclass
class TwoHandTarget:
    """Labels of B crops (hand axis in slot order, ``synth.two_hand_items``).

    segmentation (B, H, W) int64 part labels at input resolution; has_segmentation (B,) bool;
    uv (B, 2, 21, 2) crop pixels; labelled (B, 2, 21) bool, joints with annotations (hidden ones
    too: where a hand hides the other's finger is the case DIGIT is for); present (B, 2) bool;
    is_left (B, 2) bool; K (B, 3, 3); xyz (B, 2, 21, 3) metres, camera frame (read only where
    labelled); has_3d (B,).
    """

    segmentation: torch.Tensor
    has_segmentation: torch.Tensor
    uv: torch.Tensor
    labelled: torch.Tensor
    present: torch.Tensor
    is_left: torch.Tensor
    K: torch.Tensor
    xyz: torch.Tensor
    has_3d: torch.Tensor


def labels_at_stride(
    segmentation: torch.Tensor, stride: int, size: tuple[int, int]
) -> torch.Tensor:
    """(B, H, W) labels -> (B, h, w) the label at each map cell's centre pixel (nearest, as the
    heatmaps' centre-aligned grid: cell i covers pixel (i + 0.5) s - 0.5)."""
    height, width = size
    rows = ((torch.arange(height) + 0.5) * stride - 0.5).round().long()
    cols = ((torch.arange(width) + 0.5) * stride - 0.5).round().long()
    rows = rows.clamp(0, segmentation.shape[-2] - 1).to(segmentation.device)
    cols = cols.clamp(0, segmentation.shape[-1] - 1).to(segmentation.device)
    return segmentation[:, rows][:, :, cols]


class TwoHandLoss(nn.Module):
    """Weighted sum of the two-hand terms; returns {"total", and each weighted term}."""

    def __init__(
        self,
        weights: dict[str, float] | None = None,
        stride: int = 4,
        sigma: float = 1.5,
    ) -> None:
        super().__init__()
        self.weights = merged_weights(DEFAULT_WEIGHTS, weights, stride, sigma)
        self.stride, self.sigma = stride, sigma
        self.biomech = BiomechanicalLoss() if self.weights["biomech"] > 0 else None

    def forward(self, output: TwoHandOutput, target: TwoHandTarget) -> dict[str, torch.Tensor]:
        weights, dtype = self.weights, output.uv.dtype
        terms = {
            "segmentation": weights["segmentation"] * self._segmentation(output, target),
            "presence": weights["presence"]
            * F.binary_cross_entropy_with_logits(output.presence_logit, target.present.to(dtype)),
        }
        hands = target.present
        handedness = F.binary_cross_entropy_with_logits(
            output.handedness_logit, target.is_left.to(dtype), reduction="none"
        )
        terms["handedness"] = (
            weights["handedness"] * (handedness * hands).sum() / hands.sum().clamp(min=1)
        )
        # The 2B hands of the batch, each with its crop's intrinsics. 2D terms count labelled
        # joints inside the crop (a heatmap cannot point outside it).
        hands = target.present.reshape(-1)
        labelled = target.labelled.reshape(-1, NUM_JOINTS) & hands[:, None]
        uv = output.uv.reshape(-1, NUM_JOINTS, 2)
        label_uv = target.uv.reshape(-1, NUM_JOINTS, 2)
        size = target.segmentation.shape[-1]
        on_crop = labelled & ((label_uv >= -0.5) & (label_uv <= size - 0.5)).all(-1)
        count = hands.sum().clamp(min=1)
        per_hand_uv = keypoint_2d_loss(uv / self.stride, label_uv / self.stride, on_crop)
        per_hand_heatmap = heatmap_mse_loss(
            output.probabilities.flatten(0, 1),
            image_to_heatmap(label_uv, self.stride),
            on_crop,
            self.sigma,
        )
        terms["uv"] = weights["uv"] * per_hand_uv.sum() / count
        terms["heatmap"] = weights["heatmap"] * per_hand_heatmap.sum() / count
        K = target.K.repeat_interleave(NUM_HANDS, dim=0)
        with_3d = labelled & target.has_3d.repeat_interleave(NUM_HANDS)[:, None]
        if bool(with_3d[:, ROOT].any()):
            terms.update(self._pose_3d(output, target, K, with_3d))
        if self.biomech is not None and bool(hands.any()):
            depth = output.depth.reshape(-1, NUM_JOINTS)
            pose = constraint_pose(uv[hands], depth[hands], K[hands])
            is_left = target.is_left.reshape(-1)[hands]
            terms["biomech"] = weights["biomech"] * self.biomech(pose, is_left)["total"]
        terms["total"] = sum(terms.values())
        return terms

    def _segmentation(self, output: TwoHandOutput, target: TwoHandTarget) -> torch.Tensor:
        logits = output.segmentation_logits
        labels = labels_at_stride(target.segmentation, self.stride, tuple(logits.shape[-2:]))
        per_crop = F.cross_entropy(logits, labels, reduction="none").mean((-2, -1))
        mask = target.has_segmentation.to(per_crop.dtype)
        return (per_crop * mask).sum() / mask.sum().clamp(min=1)

    def _pose_3d(self, output, target, K, with_3d) -> dict[str, torch.Tensor]:
        """Depth and 3D terms of the labelled joints of hands whose wrist is labelled (their
        root-relative pose is defined), and the wrists' relative depth of crops with both."""
        weights = self.weights
        rooted = with_3d[:, ROOT]
        joints = with_3d & rooted[:, None]
        xyz = target.xyz.reshape(-1, NUM_JOINTS, 3)
        xyz = torch.where(rooted[:, None, None], xyz, placeholder_hand(xyz))
        uv = output.uv.reshape(-1, NUM_JOINTS, 2)
        depth = output.depth.reshape(-1, NUM_JOINTS)
        length = reference_length(xyz)
        lifted = backproject_2p5d(uv, depth, K, xyz[:, ROOT, 2], length)
        per_joint = {
            "depth": (depth - relative_depth(xyz)).abs(),
            "xyz": relative_3d_errors(lifted, xyz),
        }
        mask = joints.to(depth.dtype)
        count = mask.sum()
        terms = {
            name: weights[name] * (value * mask).sum() / count for name, value in per_joint.items()
        }
        both = rooted.view(-1, NUM_HANDS).all(-1)
        if bool(both.any()):
            truth = wrist_depth_offset(xyz.view(-1, NUM_HANDS, NUM_JOINTS, 3)[both])
            terms["root"] = weights["root"] * (output.root_offset[both] - truth).abs().mean()
        return terms


def wrist_depth_offset(xyz: torch.Tensor) -> torch.Tensor:
    """(B, 2, 21, 3) metres, hands in slot order -> (B,) the second wrist's depth minus the
    first's, in units of the two hands' mean reference bone (what TwoHandNet's root_offset
    predicts)."""
    unit = (reference_length(xyz[:, 0]) + reference_length(xyz[:, 1])) / 2
    return (xyz[:, 1, ROOT, 2] - xyz[:, 0, ROOT, 2]) / unit

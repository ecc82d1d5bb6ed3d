"""Single-hand 2.5D pose network.

Why 2.5D (Iqbal et al., ECCV 2018): a crop cannot tell a small near hand from a large far one,
so the network predicts what the image does determine: each joint's pixel position (u, v) and
its depth relative to the wrist in units of one reference bone (wrist -> middle MCP), i.e. the
scale-normalised pose. Metric 3D is the job of ``geometry.lifting``, with the crop's real
intrinsics.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from handperception.models.backbone import BACKBONE_SIZES, OUTPUT_STRIDES, Backbone, Standardize
from handperception.models.heatmaps import heatmap_to_image, peak_mass, soft_argmax
from handperception.models.limits import check_choice, check_integer, is_number
from handperception.skeleton.definition import NUM_JOINTS, ROOT
from handperception.skeleton.frames import INDEX_MCP, LITTLE_MCP

# tanh(4 sin): a hand turned 15 deg out of edge-on already counts 76 % of a face-on one.
TURN_SHARPNESS = 4.0
# What the palm-side layer reads (see HandPoseNet).
PALM_FEATURES = ("pooled", "joints")
# Largest soft-argmax sharpness a config may declare (the shipped nets use 1): a file's 1e300 or
# Inf would overflow the scaled heatmap logits and turn every keypoint into NaN.
MAX_BETA = 1000.0


@dataclass
class HandPoseOutput:
    """What HandPoseNet predicts for B crops of size H x W (heatmaps h x w = H/s x W/s).

    heatmaps (B, 21, h, w) logits; probabilities (B, 21, h, w) their spatial softmax;
    uv (B, 21, 2) crop pixels; depth (B, 21) root-relative depth in reference-bone units (wrist
    exactly 0, positive = farther from the camera); confidence (B, 21) in [0, 1] (share of the
    heatmap mass near its expectation); palm_facing_logit (B,) > 0 means the palm faces the
    camera; handedness_logit (B,) > 0 means left hand.
    """

    heatmaps: torch.Tensor
    probabilities: torch.Tensor
    uv: torch.Tensor
    depth: torch.Tensor
    confidence: torch.Tensor
    palm_facing_logit: torch.Tensor
    handedness_logit: torch.Tensor


class HandPoseNet(nn.Module):
    """RGB crop (B, 3, H, W) float in [0, 1] -> HandPoseOutput.

    Backbone features feed a head with one heatmap and one depth map per joint; the joint's
    depth is its depth map averaged under its own heatmap's softmax, so depth is read where the
    joint is (Iqbal et al. 2018).

    Handedness is factored into what the features can see and what the keypoints show: a
    linear layer tells whether the palm or the back faces the camera (skin tone, creases,
    nails), and the predicted 2D knuckle layout tells which way the hand is turned in the image
    (``image_turn``); a left hand is palm-facing and turned positively or back-facing and turned
    negatively. Features alone cannot learn left from right, a mirror-image layout (measured:
    50 % on synthetic crops after 8000 steps).

    ``palm_features`` is what that layer reads: ``pooled``, the feature map's mean, or
    ``joints``, the features under each joint's heatmap (nails are at the fingertips, creases in
    the palm). On the mesh renders, with the same backbone, ``joints`` told palm from back on
    85 % of the crops seen face-on, ``pooled`` on 73 % (docs/checkpoints.md).
    """

    def __init__(
        self,
        size: str = "tiny",
        output_stride: int = 4,
        num_joints: int = NUM_JOINTS,
        beta: float = 1.0,
        palm_features: str = "pooled",
    ) -> None:
        super().__init__()
        config = {
            "size": size,
            "output_stride": output_stride,
            "num_joints": num_joints,
            "beta": beta,
            "palm_features": palm_features,
        }
        self.check_config(config)
        self.backbone = Backbone(size, output_stride)
        width = self.backbone.out_channels
        self.head = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * num_joints, 1),
        )
        self.palm_facing = nn.Linear(width * (num_joints if palm_features == "joints" else 1), 1)
        self.standardize = Standardize()
        self.num_joints, self.beta, self.palm_features = num_joints, beta, palm_features
        self.config = config

    @classmethod
    def check_config(cls, config: dict) -> None:
        """Raise a one-line ValueError unless ``config`` (every constructor argument) is one this
        network can be built from and run with.

        Why before building: a checkpoint's config comes from a file; every field here is from
        a finite set (num_joints is the skeleton's, which the rest of the package assumes), so
        a checkpoint cannot make the loader build a model larger than resnet34's.
        """
        choices = {
            "size": tuple(BACKBONE_SIZES),
            "output_stride": OUTPUT_STRIDES,
            "palm_features": PALM_FEATURES,
        }
        for name, allowed in choices.items():
            check_choice(name, config[name], allowed)
        check_integer("num_joints", config["num_joints"], NUM_JOINTS, NUM_JOINTS)
        beta = config["beta"]
        if not (is_number(beta) and 0 < beta <= MAX_BETA):
            raise ValueError(f"beta must be a number in (0, {MAX_BETA:g}], got {beta!r:.60}")

    def forward(self, images: torch.Tensor) -> HandPoseOutput:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(
                f"images must be (B, 3, H, W) floats in [0, 1], got {tuple(images.shape)}"
            )
        features = self.backbone(self.standardize(images))
        heatmaps, depth_maps = self.head(features).split(self.num_joints, dim=1)
        uv_heatmap, probabilities = soft_argmax(heatmaps, self.beta)
        depth = (probabilities * depth_maps).sum((-2, -1))
        palm_facing = self.palm_facing(self._palm_evidence(features, probabilities))[:, 0]
        return HandPoseOutput(
            heatmaps=heatmaps,
            probabilities=probabilities,
            uv=heatmap_to_image(uv_heatmap, self.backbone.output_stride),
            depth=depth - depth[:, ROOT : ROOT + 1],
            confidence=peak_mass(probabilities, uv_heatmap).detach(),
            palm_facing_logit=palm_facing,
            # Keypoints are not pulled around to fit a handedness label: the turn is detached.
            handedness_logit=palm_facing
            * torch.tanh(TURN_SHARPNESS * image_turn(uv_heatmap.detach())),
        )

    def _palm_evidence(self, features: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
        """(B, C) pooled or (B, 21 C) per-joint features; the joints' weights are detached, so
        the palm-side label never moves a keypoint."""
        if self.palm_features == "pooled":
            return features.mean((-2, -1))
        return torch.einsum("bjhw,bchw->bjc", probabilities.detach(), features).flatten(1)


def image_turn(uv: torch.Tensor) -> torch.Tensor:
    """(B, 21, 2) image points (y down) -> (B,) sine of the angle from wrist->index knuckle to
    wrist->little knuckle: > 0 for a left hand showing its palm or a right hand its back, ~0 when
    the hand is seen edge-on (then handedness cannot be seen either)."""
    index, little = uv[:, INDEX_MCP] - uv[:, ROOT], uv[:, LITTLE_MCP] - uv[:, ROOT]
    cross = index[:, 0] * little[:, 1] - index[:, 1] * little[:, 0]
    return cross / (index.norm(dim=-1) * little.norm(dim=-1)).clamp(min=1e-6)

"""DIGIT (Fan et al., 3DV 2021): two interacting hands from one crop, disambiguated per pixel.

Why per-pixel parts: two hands that touch or cross look alike, so a keypoint heatmap alone cannot
tell whose finger a pixel shows. DIGIT predicts, for every pixel, which hand and which part it
belongs to, and feeds those *probabilities* (not a hard mask) into the layers that make the keypoint
heatmaps; the pose then reads where the network is unsure as well as what it chose.

The network keeps two fixed slots, the hand whose wrist is further left in the image first
(``synth.two_hand_items``), each with a presence score and a handedness, so a crop with no hand, one
hand or two is answered in the same shape. The part segmentation is by slot too (block 0 of
``skeleton.parts``' table the slot-0 hand's parts): which slot a pixel belongs to shows in the
image, which of a person's hands does not, per pixel (a left hand is a right hand's mirror image);
the node relabels the blocks by the
sides its hands are published with (``skeleton.parts.relabel_hands``). Per hand it predicts 2.5D
joints (pixels plus depth relative to the wrist in reference-bone units, as ``HandPoseNet``), and
once per crop the second wrist's depth relative to the first's, which places the two hands relative
to each other (what MRRPE scores). Metric 3D is ``geometry.lifting``'s job, with the crop's
intrinsics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from handperception.models.backbone import (
    BACKBONE_SIZES,
    OUTPUT_STRIDES,
    Backbone,
    Standardize,
    conv_bn_relu,
)
from handperception.models.heatmaps import heatmap_to_image, peak_mass, soft_argmax
from handperception.models.limits import check_choice
from handperception.models.pose2p5d import TURN_SHARPNESS, image_turn
from handperception.skeleton.definition import NUM_JOINTS, ROOT
from handperception.skeleton.parts import HAND_SIDES, NUM_LABELS

# What the pose layers read besides the visual features (the paper's ablation):
# "probabilities": the part softmax (DIGIT); "hard": its one-hot argmax (a hard mask);
# "none": nothing (segmentation only as an auxiliary task).
FUSIONS = ("probabilities", "hard", "none")
NUM_HANDS = len(HAND_SIDES)


@dataclass
class TwoHandOutput:
    """What TwoHandNet predicts for B crops of size H x W (maps h x w = H/s x W/s); hand axis in
    slot order (the leftmost wrist in the image first).

    segmentation_logits (B, 13, h, w) part labels of ``skeleton.parts``, blocks by slot; heatmaps
    and probabilities (B, 2, 21, h, w); uv (B, 2, 21, 2) crop pixels; depth (B, 2, 21) root-relative
    depth in reference-bone units (wrist exactly 0); confidence (B, 2, 21) in [0, 1]; presence_logit
    (B, 2) > 0 means that slot holds a hand; palm_facing_logit (B, 2) > 0 means its palm faces the
    camera; handedness_logit (B, 2) > 0 means it is a left hand; root_offset (B,) the second wrist's
    depth minus the first's, in reference-bone units.
    """

    segmentation_logits: torch.Tensor
    heatmaps: torch.Tensor
    probabilities: torch.Tensor
    uv: torch.Tensor
    depth: torch.Tensor
    confidence: torch.Tensor
    presence_logit: torch.Tensor
    palm_facing_logit: torch.Tensor
    handedness_logit: torch.Tensor
    root_offset: torch.Tensor


class TwoHandNet(nn.Module):
    """RGB crop (B, 3, H, W) float in [0, 1] -> TwoHandOutput.

    A shared backbone feeds two interwoven branches, one for the part segmentation and one for
    visual features, which exchange their hidden features once (HRNet-style cross connections,
    as DIGIT's two branches). The part probabilities are concatenated to the visual features
    and fully-convolutional layers turn them into a heatmap and a depth map per joint of each
    hand; a joint's depth is its depth map averaged under its heatmap (Iqbal et al. 2018).
    Presence and the wrists' relative depth are read from the fused features, pooled.

    Handedness is factored as in ``HandPoseNet``: a linear layer on the fused features under
    each of the hand's joints (nails and creases sit at the joints) tells whether its palm or
    its back faces the camera, and the hand's predicted knuckles tell which way it is turned in
    the image (``image_turn``). A head asked for left or right directly stays at chance: the
    two are mirror images (measured here: 51 % after 4500 steps).
    """

    def __init__(self, size: str = "tiny", output_stride: int = 4, fusion: str = "probabilities"):
        super().__init__()
        config = {"size": size, "output_stride": output_stride, "fusion": fusion}
        self.check_config(config)
        self.backbone = Backbone(size, output_stride)
        width = self.backbone.out_channels
        self.segmentation_branch = conv_bn_relu(width, width)
        self.feature_branch = conv_bn_relu(width, width)
        self.to_segmentation = nn.Conv2d(width, width, 1)
        self.to_features = nn.Conv2d(width, width, 1)
        self.segmentation_head = nn.Conv2d(width, NUM_LABELS, 1)
        fused = width + (NUM_LABELS if fusion != "none" else 0)
        self.fusion_layers = nn.Sequential(conv_bn_relu(fused, width), conv_bn_relu(width, width))
        self.pose_head = nn.Conv2d(width, 2 * NUM_HANDS * NUM_JOINTS, 1)
        self.presence = nn.Linear(width, NUM_HANDS)
        self.palm_facing = nn.Linear(NUM_JOINTS * width, 1)
        self.root_offset = nn.Linear(width, 1)
        self.standardize = Standardize()
        self.fusion = fusion
        self.config = config

    @classmethod
    def check_config(cls, config: dict) -> None:
        """One-line ValueError unless ``config`` (every constructor argument) builds this network
        (a checkpoint's config comes from a file; see ``models.checkpoint``)."""
        choices = {
            "size": tuple(BACKBONE_SIZES),
            "output_stride": OUTPUT_STRIDES,
            "fusion": FUSIONS,
        }
        for name, allowed in choices.items():
            check_choice(name, config[name], allowed)

    def forward(self, images: torch.Tensor) -> TwoHandOutput:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(
                f"images must be (B, 3, H, W) floats in [0, 1], got {tuple(images.shape)}"
            )
        shared = self.backbone(self.standardize(images))
        segmentation_hidden = self.segmentation_branch(shared)
        feature_hidden = self.feature_branch(shared)
        segmentation_logits = self.segmentation_head(
            segmentation_hidden + self.to_segmentation(feature_hidden)
        )
        features = feature_hidden + self.to_features(segmentation_hidden)
        fused = self.fusion_layers(self._fuse(features, segmentation_logits))
        batch, _, height, width = fused.shape
        maps = self.pose_head(fused).view(batch, 2, NUM_HANDS * NUM_JOINTS, height, width)
        heatmaps, depth_maps = maps[:, 0], maps[:, 1]
        uv_heatmap, probabilities = soft_argmax(heatmaps)
        depth = (probabilities * depth_maps).sum((-2, -1)).view(batch, NUM_HANDS, NUM_JOINTS)
        pooled = fused.mean((-2, -1))
        hands = (batch, NUM_HANDS, NUM_JOINTS)
        # Each hand's features under its joints; the weights and the turn are detached, so the
        # handedness label never moves a keypoint.
        under_joints = torch.einsum("bjhw,bchw->bjc", probabilities.detach(), fused)
        palm_facing = self.palm_facing(under_joints.reshape(batch, NUM_HANDS, -1))[..., 0]
        turn = image_turn(uv_heatmap.detach().view(batch * NUM_HANDS, NUM_JOINTS, 2))
        handedness = palm_facing * torch.tanh(TURN_SHARPNESS * turn).view(batch, NUM_HANDS)
        return TwoHandOutput(
            segmentation_logits=segmentation_logits,
            heatmaps=heatmaps.view(*hands, height, width),
            probabilities=probabilities.view(*hands, height, width),
            uv=heatmap_to_image(uv_heatmap, self.backbone.output_stride).view(*hands, 2),
            depth=depth - depth[..., ROOT : ROOT + 1],
            confidence=peak_mass(probabilities, uv_heatmap).detach().view(hands),
            presence_logit=self.presence(pooled),
            palm_facing_logit=palm_facing,
            handedness_logit=handedness,
            root_offset=self.root_offset(pooled)[:, 0],
        )

    def _fuse(self, features: torch.Tensor, segmentation_logits: torch.Tensor) -> torch.Tensor:
        """The pose layers' input: features alone, or with the part probabilities or a hard
        one-hot mask of their argmax (no gradient flows back through a hard mask)."""
        if self.fusion == "none":
            return features
        if self.fusion == "probabilities":
            parts = segmentation_logits.softmax(1)
        else:
            labels = segmentation_logits.detach().argmax(1)
            parts = F.one_hot(labels, NUM_LABELS).permute(0, 3, 1, 2).to(features.dtype)
        return torch.cat([features, parts], dim=1)


@dataclass
class TwoHandPrediction:
    """TwoHandNet's answer for B uint8 crops, as float64 numpy (hand axis in slot order): uv
    (B, 2, 21, 2) crop pixels; depth (B, 2, 21); confidence (B, 2, 21); presence (B, 2) and
    left_probability (B, 2) probabilities; root_offset (B,); labels (B, S, S) uint8 part labels
    at crop resolution (the logits upsampled bilinearly, then their argmax), by *slot* as the
    network predicts them: labels 1-6 the slot-0 hand's parts, 7-12 the slot-1 hand's, whatever
    side either is (``skeleton.parts.relabel_hands`` turns them into the person's hands)."""

    uv: np.ndarray
    depth: np.ndarray
    confidence: np.ndarray
    presence: np.ndarray
    left_probability: np.ndarray
    root_offset: np.ndarray
    labels: np.ndarray


@torch.no_grad()
def predict_crops(model: TwoHandNet, crops: np.ndarray, device: str = "cpu") -> TwoHandPrediction:
    """The network on (B, S, S, 3) uint8 RGB crops, the one way the node and the evaluation run
    it (no gradients, eval mode, slot-ordered labels at crop resolution). A model already in
    eval mode is left as it is: walking its modules to set it again cost the node ~0.3 ms a
    frame."""
    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[-1] != 3 or crops.dtype != np.uint8:
        raise ValueError(f"crops must be (B, H, W, 3) uint8, got {crops.shape} {crops.dtype}")
    if model.training:
        model.eval()
    images = torch.from_numpy(crops).to(device).permute(0, 3, 1, 2).float() / 255.0
    output = model(images)
    logits = F.interpolate(
        output.segmentation_logits, size=crops.shape[1:3], mode="bilinear", align_corners=False
    )

    def numpy(tensor: torch.Tensor) -> np.ndarray:
        return tensor.cpu().numpy().astype(np.float64)

    return TwoHandPrediction(
        uv=numpy(output.uv),
        depth=numpy(output.depth),
        confidence=numpy(output.confidence),
        presence=numpy(torch.sigmoid(output.presence_logit)),
        left_probability=numpy(torch.sigmoid(output.handedness_logit)),
        root_offset=numpy(output.root_offset),
        labels=logits.argmax(1).cpu().numpy().astype(np.uint8),
    )

"""CenterNet-style hand detector: 0, 1 or several hands per frame, with handedness.

Why CenterNet (Zhou et al., "Objects as Points", 2019): hands are few, compact and often touch;
a centre heatmap with box-size and sub-pixel offset heads needs no anchors and no learned NMS,
and its decoding (a 3x3 max-pool) is cheap on a CPU. Two heatmap channels, left and right hand
(as seen from the person, the synthetic ``is_left``), make handedness part of detection.

Input: the frame is letterboxed to a small fixed size (default 160 x 120): scaled by one factor
to fit, aspect ratio kept, centred, the bars zero (black). ``Letterbox`` maps points both ways
with the pixel-centre convention of geometry.camera, so decoded boxes come back in the pixels of
the original frame, whatever its size.
Boxes follow ``geometry.crops``: a hand's box is its 21-keypoint bounding box scaled by
``DETECTION_BOX_PADDING`` about its centre, clipped to the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from handperception.models.backbone import BACKBONE_SIZES, Backbone, Standardize
from handperception.models.heatmaps import heatmap_to_image
from handperception.models.limits import check_integer

DEFAULT_INPUT_SIZE = (160, 120)  # (width, height) pixels
STRIDE = 4
# Largest input side a detector may be built with: 8x the default width, larger than a detector
# input that shrinks camera frames has reason to be.
MAX_INPUT_SIDE = 1280
CHANNEL_HANDEDNESS = ("left", "right")  # heatmap channel c holds hands of this side
# Initial heatmap bias: sigmoid(-2.19) = 0.1, CenterNet's prior that keeps the focal loss stable.
_HEATMAP_PRIOR_BIAS = -2.19


@dataclass(frozen=True)
class Letterbox:
    """Fit a frame_width x frame_height frame into input_width x input_height, aspect kept.

    The frame is resized by (scale_x, scale_y) (equal up to rounding of the resized size) and
    placed at integer offset (offset_x, offset_y). Pixel centres map as for a centre-aligned
    resize: ``input = (frame + 0.5) * scale - 0.5 + offset``.
    """

    frame_width: int
    frame_height: int
    input_width: int = DEFAULT_INPUT_SIZE[0]
    input_height: int = DEFAULT_INPUT_SIZE[1]

    def __post_init__(self) -> None:
        sizes = (self.frame_width, self.frame_height, self.input_width, self.input_height)
        if any(int(v) != v or v <= 0 for v in sizes):
            raise ValueError(f"frame and input sizes must be positive integers, got {sizes}")

    @property
    def resized_size(self) -> tuple[int, int]:
        """(width, height) of the frame inside the input."""
        scale = min(self.input_width / self.frame_width, self.input_height / self.frame_height)
        width = min(self.input_width, max(1, round(self.frame_width * scale)))
        height = min(self.input_height, max(1, round(self.frame_height * scale)))
        return width, height

    @property
    def scale(self) -> np.ndarray:
        """(2,) input pixels per frame pixel along x and y."""
        width, height = self.resized_size
        return np.array([width / self.frame_width, height / self.frame_height])

    @property
    def offset(self) -> np.ndarray:
        """(2,) input pixel where the frame's top-left corner pixel edge starts (integers)."""
        width, height = self.resized_size
        return np.array(
            [(self.input_width - width) // 2, (self.input_height - height) // 2], dtype=np.float64
        )

    def to_input(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) frame pixels -> (..., 2) input pixels."""
        return (np.asarray(points, dtype=np.float64) + 0.5) * self.scale - 0.5 + self.offset

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) input pixels -> (..., 2) frame pixels; inverse of to_input."""
        return (np.asarray(points, dtype=np.float64) - self.offset + 0.5) / self.scale - 0.5

    def apply(self, image: np.ndarray) -> np.ndarray:
        """(frame_height, frame_width, 3) image -> (input_height, input_width, 3), zero bars."""
        image = np.asarray(image)
        if image.shape[:2] != (self.frame_height, self.frame_width) or image.ndim != 3:
            raise ValueError(
                f"image must be ({self.frame_height}, {self.frame_width}, C) for this letterbox, "
                f"got {image.shape}"
            )
        width, height = self.resized_size
        shrinking = width < self.frame_width
        resized = cv2.resize(
            image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        )
        out = np.zeros((self.input_height, self.input_width, image.shape[2]), dtype=image.dtype)
        x0, y0 = (int(v) for v in self.offset)
        out[y0 : y0 + height, x0 : x0 + width] = resized.reshape(height, width, image.shape[2])
        return out


@dataclass(frozen=True)
class Detection:
    """One detected hand.

    box_xyxy (4,) frame pixels (x_min, y_min, x_max, y_max); score in [0, 1] the centre peak;
    handedness 'left' or 'right'; handedness_score in [0.5, 1] the two-channel softmax at the peak.
    """

    box_xyxy: np.ndarray
    score: float
    handedness: str
    handedness_score: float


@dataclass
class DetectorOutput:
    """Dense predictions on the stride-4 grid (h, w) of the input.

    heatmap (B, 2, h, w) centre logits, channels (left, right); size (B, 2, h, w) box (width,
    height) in grid cells; offset (B, 2, h, w) sub-cell (x, y) shift of the centre, in cells.
    """

    heatmap: torch.Tensor
    size: torch.Tensor
    offset: torch.Tensor


def _head(width: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(width, width, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, out_channels, 1),
    )


class HandDetector(nn.Module):
    """Letterboxed RGB input (B, 3, input_height, input_width) floats in [0, 1] ->
    DetectorOutput."""

    def __init__(
        self,
        size: str = "tiny",
        input_width: int = DEFAULT_INPUT_SIZE[0],
        input_height: int = DEFAULT_INPUT_SIZE[1],
    ) -> None:
        super().__init__()
        config = {"size": size, "input_width": input_width, "input_height": input_height}
        self.check_config(config)
        self.backbone = Backbone(size, output_stride=STRIDE)
        width = self.backbone.out_channels
        self.heatmap_head = _head(width, len(CHANNEL_HANDEDNESS))
        self.size_head = _head(width, 2)
        self.offset_head = _head(width, 2)
        nn.init.constant_(self.heatmap_head[-1].bias, _HEATMAP_PRIOR_BIAS)
        self.standardize = Standardize()
        self.input_width, self.input_height = input_width, input_height
        self.config = config

    @classmethod
    def check_config(cls, config: dict) -> None:
        """Raise a one-line ValueError unless ``config`` (every constructor argument) builds a
        detector this package can run.

        Why bounded: a checkpoint's config comes from a file, and the input size is what every
        frame is letterboxed to; 100000 x 100000 would ask for 120 GB per frame.
        """
        if not any(config["size"] == s and isinstance(config["size"], str) for s in BACKBONE_SIZES):
            raise ValueError(
                f"size must be one of {tuple(BACKBONE_SIZES)}, got {config['size']!r:.60}"
            )
        for name in ("input_width", "input_height"):
            check_integer(name, config[name], STRIDE, MAX_INPUT_SIDE)
            if config[name] % STRIDE:
                raise ValueError(f"{name} must be a multiple of {STRIDE}, got {config[name]}")

    def forward(self, images: torch.Tensor) -> DetectorOutput:
        expected = (3, self.input_height, self.input_width)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"images must be (B, {', '.join(map(str, expected))}) in [0, 1], "
                f"got {tuple(images.shape)}"
            )
        features = self.backbone(self.standardize(images))
        return DetectorOutput(
            self.heatmap_head(features), self.size_head(features), self.offset_head(features)
        )

    def letterbox(self, frame_width: int, frame_height: int) -> Letterbox:
        return Letterbox(frame_width, frame_height, self.input_width, self.input_height)

    def prepare(self, frames: list[np.ndarray]) -> tuple[torch.Tensor, list[Letterbox]]:
        """RGB uint8 frames (H_i, W_i, 3) of any sizes -> (B, 3, h, w) input batch and their
        letterboxes."""
        if not frames:
            raise ValueError("need at least one frame")
        boxes, images = [], []
        for frame in frames:
            frame = np.asarray(frame)
            if frame.ndim != 3 or frame.shape[2] != 3:
                raise ValueError(f"frames must be (H, W, 3) RGB, got {frame.shape}")
            box = self.letterbox(frame.shape[1], frame.shape[0])
            boxes.append(box)
            images.append(box.apply(frame))
        batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0)
        return batch.to(self.standardize.mean.device), boxes

    @torch.no_grad()
    def detect(
        self, frames: list[np.ndarray], score_threshold: float = 0.3, max_hands: int = 4
    ) -> list[list[Detection]]:
        """Detections in each RGB uint8 frame (any size), boxes in that frame's pixels."""
        batch, letterboxes = self.prepare(frames)
        return decode(self(batch), letterboxes, score_threshold, max_hands)


def decode(
    outputs: DetectorOutput,
    letterboxes: list[Letterbox],
    score_threshold: float = 0.3,
    max_hands: int = 4,
) -> list[list[Detection]]:
    """Peaks of the centre heatmaps -> per image, detections sorted by score (at most max_hands).

    One peak per hand regardless of side: the score map is the larger of the two channels'
    sigmoids, its local maxima (3x3 max-pool NMS) above `score_threshold` are hands, the channel
    winning at the peak is the handedness and the two-way softmax of the logits there its score.
    Boxes are mapped back through each image's letterbox and clipped to the frame.
    """
    heatmap, size, offset = outputs.heatmap, outputs.size, outputs.offset
    if heatmap.ndim != 4 or heatmap.shape[1] != len(CHANNEL_HANDEDNESS):
        raise ValueError(f"heatmap must be (B, 2, h, w), got {tuple(heatmap.shape)}")
    if size.shape != heatmap.shape or offset.shape != heatmap.shape:
        raise ValueError(f"size and offset must match the heatmap shape {tuple(heatmap.shape)}")
    if len(letterboxes) != heatmap.shape[0]:
        raise ValueError(
            f"need one letterbox per image: {len(letterboxes)} for a batch of {heatmap.shape[0]}"
        )
    if not 0.0 <= score_threshold <= 1.0 or max_hands < 1:
        raise ValueError(
            f"need score_threshold in [0, 1] and max_hands >= 1, got {score_threshold}, {max_hands}"
        )
    scores = torch.sigmoid(heatmap.detach().float()).amax(dim=1)
    peaks = scores == F.max_pool2d(scores[:, None], 3, stride=1, padding=1)[:, 0]
    scores = torch.where(peaks, scores, torch.zeros_like(scores))
    width = heatmap.shape[-1]
    top_scores, top_index = scores.flatten(1).topk(min(max_hands, scores[0].numel()), dim=1)
    side_probability = torch.softmax(heatmap.detach().float(), dim=1)
    results = []
    for b, letterbox in enumerate(letterboxes):
        detections = []
        for score, index in zip(top_scores[b].tolist(), top_index[b].tolist()):
            if score < score_threshold or score <= 0.0:
                continue
            y, x = divmod(index, width)
            centre = (
                torch.tensor([x, y], dtype=torch.float32)
                + offset[b, :, y, x].detach().float().cpu()
            )
            centre_input = heatmap_to_image(centre, STRIDE).numpy()
            half = size[b, :, y, x].detach().float().cpu().clamp(min=0.0).numpy() * STRIDE / 2
            corners = letterbox.to_frame(np.stack([centre_input - half, centre_input + half]))
            limit = np.array([letterbox.frame_width, letterbox.frame_height]) - 0.5
            corners = np.clip(corners, -0.5, limit)
            channel = int(side_probability[b, :, y, x].argmax())
            side_score = float(side_probability[b, channel, y, x])
            detections.append(
                Detection(corners.reshape(4), float(score), CHANNEL_HANDEDNESS[channel], side_score)
            )
        results.append(detections)
    return results

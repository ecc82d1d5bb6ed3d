"""Deep Pictorial Gaze (Park, Spurr, Hilliges, ECCV 2018): eye patch -> gazemaps -> pitch/yaw.

Why an intermediate picture: regressing two angles straight from pixels makes the network learn
appearance (skin, lids, lighting) and geometry at once; DPG first predicts two maps that only
depend on the eyeball's pose - the projected eyeball and the projected iris disc - and then reads
the angles from them. The maps are supervised exactly by the synthetic renderer
(``synth.eyes``), so most of what the network must learn transfers from synthetic to real eyes.

Layout: a stem to stride 2, then ``stacks`` hourglasses (Newell et al. 2016) at that stride,
each ending in two gazemap logits (intermediate supervision, and fed back into the next stack),
upsampled to the 36x60 patch; a small convolutional regressor reads pitch/yaw (radians,
normalised camera, ``geometry.gaze`` convention) from the last stack's map probabilities alone,
as in the paper. ``tiny`` (the default, the shipped ``gaze_tiny``) is sized for a 2-core CPU;
``stacks=3, channels=64, depth=3`` is the paper-sized variant (config/train/gaze_dpg.yaml).

Eye side: the synthetic renderer draws the subject's RIGHT eye in every normalised patch (``side
= +1``: the nose towards the patch's +x), so the network knows right eyes. A left eye is the
mirror image of a right eye: the pipeline mirrors left-eye patches horizontally
(``mirror_eye_patches``) and negates the yaw of what the network predicts for them
(``mirror_pitchyaw``); see ``MIRROR_RIGHT_EYE``.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from handperception.models.backbone import conv_bn_relu
from handperception.models.limits import check_integer

PATCH_SHAPE = (36, 60)  # height, width of a normalised eye patch (geometry.gaze.NormalizationSpec)
NUM_GAZEMAPS = 2  # eyeball, iris
# Constructor argument -> (lowest, highest) value. depth: an 18x30 map halves at most 4 times;
# the other upper bounds leave room above the paper-sized variant (3 stacks, 64 channels) while
# a checkpoint cannot declare a model of gigabytes.
CONFIG_LIMITS = {
    "stacks": (1, 4),
    "channels": (4, 256),
    "depth": (1, 4),
    "regressor_channels": (4, 256),
}

# False: the network is trained on right eyes as rendered, so RIGHT eyes go in unchanged and LEFT
# eyes are mirrored (``mirror_eye_patches``), their predicted yaw negated (``mirror_pitchyaw``).
# (MPIIGaze-trained models mirror the right eye instead; True would mean that convention.)
MIRROR_RIGHT_EYE: bool = False


def eye_patch_tensor(patches: np.ndarray) -> torch.Tensor:
    """(N, 36, 60) uint8 grey normalised eye patches -> (N, 1, 36, 60) float32 network input.

    The one preprocessing of training and run time: per-patch histogram equalisation (as
    MPIIGaze's baselines do; it cancels exposure and contrast, the largest synthetic-to-real gap)
    then scaling to [-1, 1]. Patches are not mirrored here.
    """
    array = np.asarray(patches)
    if array.ndim != 3 or tuple(array.shape[1:]) != PATCH_SHAPE:
        raise ValueError(
            f"eye patches must be (N, {PATCH_SHAPE[0]}, {PATCH_SHAPE[1]}), got {array.shape}"
        )
    if array.dtype != np.uint8:
        raise ValueError(f"eye patches must be uint8 grey images, got dtype {array.dtype}")
    equalised = (
        np.stack([cv2.equalizeHist(np.ascontiguousarray(p)) for p in array])
        if len(array)
        else np.zeros((0, *PATCH_SHAPE), np.uint8)
    )
    return torch.from_numpy(equalised.astype(np.float32) / 127.5 - 1.0).unsqueeze(1)


def mirror_eye_patches(patches: np.ndarray) -> np.ndarray:
    """(N, H, W[, C]) patches mirrored left-right: a left eye becomes a right eye and back."""
    array = np.asarray(patches)
    if array.ndim < 3:
        raise ValueError(f"patches must be (N, H, W[, C]), got shape {array.shape}")
    return np.ascontiguousarray(array[:, :, ::-1])


def mirror_pitchyaw(pitchyaw: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """(..., 2) pitch/yaw of a mirrored patch -> that of the original: the yaw changes sign."""
    if pitchyaw.shape[-1] != 2:
        raise ValueError(f"pitchyaw must be (..., 2), got {tuple(pitchyaw.shape)}")
    sign = [1.0, -1.0]
    if isinstance(pitchyaw, torch.Tensor):
        return pitchyaw * pitchyaw.new_tensor(sign)
    return np.asarray(pitchyaw) * np.asarray(sign, dtype=np.asarray(pitchyaw).dtype)


class GazeNetOutput(NamedTuple):
    """gazemaps: one (N, 2, 36, 60) logits tensor per stack (eyeball, iris); pitchyaw: (N, 2)
    radians, normalised camera."""

    gazemaps: tuple[torch.Tensor, ...]
    pitchyaw: torch.Tensor


class Residual(nn.Module):
    """One 3x3 convolution with an identity shortcut: the hourglass' building block.

    One convolution, not the usual two: at 18x30 the CPU cost is the number of convolutions, not
    their width (measured: two per block doubles the tiny model's latency for the same width).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.bn(self.conv(x)))


class Hourglass(nn.Module):
    """Recursive hourglass of ``depth`` halvings: features at every scale, same size out."""

    def __init__(self, channels: int, depth: int) -> None:
        super().__init__()
        self.skip = Residual(channels)
        self.down = Residual(channels)
        self.inner = Hourglass(channels, depth - 1) if depth > 1 else Residual(channels)
        self.up = Residual(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.up(self.inner(self.down(F.max_pool2d(x, 2, ceil_mode=True))))
        # ceil_mode pooling makes odd sizes (9x15 -> 5x8); interpolate back to the exact size.
        return self.skip(x) + F.interpolate(low, size=x.shape[-2:], mode="nearest")


class GazemapRegressor(nn.Module):
    """(N, 2, 36, 60) gazemap probabilities -> (N, 2) pitch/yaw radians.

    Strided convolutions keep where the iris sits relative to the eyeball (what the angles are),
    and a flattened linear layer reads it; no global pooling, which would discard position.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(NUM_GAZEMAPS, channels // 2, 3, 2),  # 18 x 30
            conv_bn_relu(channels // 2, channels, 3, 2),  # 9 x 15
            conv_bn_relu(channels, channels, 3, 2),  # 5 x 8
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * 5 * 8, 64), nn.ReLU(inplace=True), nn.Linear(64, 2)
        )

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(maps))


class DeepPictorialGaze(nn.Module):
    """(N, 1, 36, 60) input of ``eye_patch_tensor`` -> GazeNetOutput.

    Args:
        stacks: hourglasses in sequence, each supervised with its own gazemaps.
        channels: feature width of the hourglasses.
        depth: halvings inside each hourglass (18x30 -> 9x15 -> 5x8 for 2).
        regressor_channels: width of the gazemap -> angle regressor.
    """

    def __init__(
        self, stacks: int = 1, channels: int = 32, depth: int = 2, regressor_channels: int = 32
    ) -> None:
        super().__init__()
        self.config = {
            "stacks": stacks,
            "channels": channels,
            "depth": depth,
            "regressor_channels": regressor_channels,
        }
        self.check_config(self.config)
        self.stem = nn.Sequential(
            conv_bn_relu(1, channels // 2), conv_bn_relu(channels // 2, channels, 3, 2)
        )
        self.hourglasses = nn.ModuleList(Hourglass(channels, depth) for _ in range(stacks))
        self.map_heads = nn.ModuleList(nn.Conv2d(channels, NUM_GAZEMAPS, 1) for _ in range(stacks))
        # Between stacks: the features and the maps are projected back and added (Newell 2016).
        self.feature_merges = nn.ModuleList(
            nn.Conv2d(channels, channels, 1) for _ in range(stacks - 1)
        )
        self.map_merges = nn.ModuleList(
            nn.Conv2d(NUM_GAZEMAPS, channels, 1) for _ in range(stacks - 1)
        )
        self.regressor = GazemapRegressor(regressor_channels)

    @classmethod
    def check_config(cls, config: dict) -> None:
        """Raise a one-line ValueError unless ``config`` (every constructor argument) is within
        ``CONFIG_LIMITS``.

        Why bounded above: a checkpoint's config comes from a file and is checked before the
        model is built, so a few bytes cannot declare a network of gigabytes (the largest
        allowed, 4 stacks of 256 channels at depth 4, is 33 M parameters, 131 MB).
        """
        for name, (low, high) in CONFIG_LIMITS.items():
            check_integer(name, config[name], low, high)

    def forward(self, x: torch.Tensor) -> GazeNetOutput:
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, *PATCH_SHAPE):
            raise ValueError(
                f"input must be (N, 1, {PATCH_SHAPE[0]}, {PATCH_SHAPE[1]}) (eye_patch_tensor), "
                f"got {tuple(x.shape)}"
            )
        features = self.stem(x)
        gazemaps = []
        for stack, (hourglass, head) in enumerate(zip(self.hourglasses, self.map_heads)):
            hidden = hourglass(features)
            maps = head(hidden)
            gazemaps.append(F.interpolate(maps, size=PATCH_SHAPE, mode="bilinear"))
            if stack < len(self.feature_merges):
                features = (
                    features + self.feature_merges[stack](hidden) + self.map_merges[stack](maps)
                )
        pitchyaw = self.regressor(torch.sigmoid(gazemaps[-1]))
        return GazeNetOutput(tuple(gazemaps), pitchyaw)

    @torch.no_grad()
    def estimate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(pitchyaw (N, 2) radians, gazemaps (N, 2, 36, 60) probabilities of the last stack)."""
        output = self.forward(x)
        return output.pitchyaw, torch.sigmoid(output.gazemaps[-1])

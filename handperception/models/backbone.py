"""ResNet-style convolutional backbone with a light FPN neck, for dense (heatmap) heads.

Why written here: no torchvision on the target machines, and heatmap heads want a
high-resolution feature map (stride 4 or 8) rather than a classifier's stride-32 vector.
Sizes: ``tiny`` (CPU, channels 16-32-64-128, one BasicBlock per stage), ``resnet18`` and
``resnet34`` (the classic layouts, 64-128-256-512). Randomly initialised (no pretrained weights
can be fetched); trained on the project's synthetic data.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# name -> (stem channels, stage channels, blocks per stage, neck channels)
BACKBONE_SIZES: dict[str, tuple[int, tuple[int, ...], tuple[int, ...], int]] = {
    "tiny": (16, (16, 32, 64, 128), (1, 1, 1, 1), 32),
    "resnet18": (64, (64, 128, 256, 512), (2, 2, 2, 2), 128),
    "resnet34": (64, (64, 128, 256, 512), (3, 4, 6, 3), 128),
}
OUTPUT_STRIDES = (4, 8)


def conv_bn_relu(
    in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (He et al. 2016); stride on the first."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv_bn_relu(in_channels, out_channels, 3, stride)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn2(self.conv2(self.conv1(x))) + self.shortcut(x))


class Backbone(nn.Module):
    """(B, 3, H, W) normalised image -> (B, out_channels, ceil(H / s), ceil(W / s)) features.

    Stem (stride 4) then four residual stages at strides 4, 8, 16, 32; the neck projects each
    stage to the neck width and adds them top-down (upsampling the coarser one) down to the
    output stride, so the output mixes semantic depth with stride-4/8 localisation.
    """

    def __init__(self, size: str = "tiny", output_stride: int = 4) -> None:
        super().__init__()
        if size not in BACKBONE_SIZES:
            raise ValueError(
                f"unknown backbone size {size!r}; expected one of {sorted(BACKBONE_SIZES)}"
            )
        if output_stride not in OUTPUT_STRIDES:
            raise ValueError(f"output_stride must be one of {OUTPUT_STRIDES}, got {output_stride}")
        stem, channels, blocks, neck = BACKBONE_SIZES[size]
        stem_kernel = 3 if size == "tiny" else 7
        self.stem = nn.Sequential(conv_bn_relu(3, stem, stem_kernel, 2), nn.MaxPool2d(3, 2, 1))
        stages, previous = [], stem
        for index, (width, count) in enumerate(zip(channels, blocks)):
            layers = [BasicBlock(previous, width, 1 if index == 0 else 2)]
            layers += [BasicBlock(width, width) for _ in range(count - 1)]
            stages.append(nn.Sequential(*layers))
            previous = width
        self.stages = nn.ModuleList(stages)
        # Stages kept by the neck: stride 4 is stage 0, stride 8 is stage 1.
        self.first_kept = 0 if output_stride == 4 else 1
        self.lateral = nn.ModuleList(nn.Conv2d(c, neck, 1) for c in channels[self.first_kept :])
        self.smooth = conv_bn_relu(neck, neck)
        self.out_channels = neck
        self.output_stride = output_stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"backbone input must be (B, 3, H, W), got {tuple(x.shape)}")
        x = self.stem(x)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        kept = features[self.first_kept :]
        top = self.lateral[-1](kept[-1])
        for lateral, feature in zip(reversed(self.lateral[:-1]), reversed(kept[:-1])):
            top = lateral(feature) + F.interpolate(
                top, size=feature.shape[-2:], mode="bilinear", align_corners=False
            )
        return self.smooth(top)


class Standardize(nn.Module):
    """(B, 3, H, W) RGB in [0, 1] -> per-channel standardised with ImageNet's statistics.

    A neutral natural-image choice that keeps crops from other cameras in the same range; kept
    out of checkpoints (non-persistent buffers) since it is not learned.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer(
            "mean", torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1), persistent=False
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean) / self.std

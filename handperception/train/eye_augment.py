"""Augmentation of eye patches for the gaze model's transfer from synthetic to real eyes.

Why these: real normalised patches differ from rendered ones in where the eye sits (the
landmarks that place the virtual camera jitter by a few pixels), in sharpness (webcam optics and
the warp's resampling), in sensor noise and in exposure. Each is simulated on the uint8 patch;
a shift moves the gazemaps with the image (the eye moved in the patch, the gaze did not), the
photometric changes leave maps and angles alone. Exposure changes are mostly undone by the
histogram equalisation of ``models.gaze.eye_patch_tensor`` but still reach it through clipping
and quantisation, as in real under- and over-exposed patches.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import cv2
import numpy as np


@dataclass(frozen=True)
class EyeAugmentation:
    """Per-patch random ranges; zeros switch a change off.

    shift_px: (x, y) largest translation in pixels (uniform, both signs).
    blur_sigma: largest extra Gaussian blur sigma, pixels.
    noise_std: largest extra Gaussian noise, in grey levels of 255.
    contrast: scale about mid-grey drawn in [1 - contrast, 1 + contrast].
    brightness: offset drawn in [-brightness, brightness] grey levels.
    gamma: exponent drawn in [1 / (1 + gamma), 1 + gamma].
    """

    shift_px: tuple[float, float] = (3.0, 2.0)
    blur_sigma: float = 1.0
    noise_std: float = 6.0
    contrast: float = 0.4
    brightness: float = 40.0
    gamma: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            values = np.atleast_1d(np.asarray(getattr(self, f.name), dtype=np.float64))
            if not (np.all(np.isfinite(values)) and np.all(values >= 0)):
                raise ValueError(f"EyeAugmentation.{f.name} must be finite and >= 0")
        if len(self.shift_px) != 2:
            raise ValueError(f"shift_px must be (x, y), got {self.shift_px}")
        if self.contrast >= 1:
            raise ValueError(
                f"contrast must be < 1 (a scale must stay positive), got {self.contrast}"
            )

    @classmethod
    def from_config(cls, value) -> EyeAugmentation | None:
        """``false`` -> None, ``true`` -> the defaults, a dict -> the defaults overridden."""
        if value is False or value is None:
            return None
        if value is True:
            return cls()
        if not isinstance(value, dict):
            raise ValueError(f"augment must be true, false or a dict, got {value!r}")
        known = {f.name for f in fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown augment keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})

    def apply(
        self, images: np.ndarray, gazemaps: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, H, W) uint8 patches and (N, 2, H, W) maps -> augmented copies."""
        images = np.asarray(images)
        out_images = np.empty_like(images)
        out_maps = np.empty_like(gazemaps)
        for i, (image, maps) in enumerate(zip(images, gazemaps)):
            out_images[i], out_maps[i] = self._one(image, maps, rng)
        return out_images, out_maps

    def _one(
        self, image: np.ndarray, maps: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        height, width = image.shape
        dx, dy = rng.uniform(-1, 1, 2) * np.asarray(self.shift_px)
        shift = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
        shifted = cv2.warpAffine(
            image, shift, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        moved_maps = np.stack(
            [cv2.warpAffine(m, shift, (width, height), flags=cv2.INTER_LINEAR) for m in maps]
        )
        grey = shifted.astype(np.float32) / 255.0
        sigma = rng.uniform(0, self.blur_sigma)
        if sigma > 0.1:
            grey = cv2.GaussianBlur(grey, (0, 0), sigma)
        gamma = np.exp(rng.uniform(-1, 1) * np.log1p(self.gamma))
        grey = np.clip(grey, 0, 1) ** gamma
        contrast = 1 + rng.uniform(-1, 1) * self.contrast
        brightness = rng.uniform(-1, 1) * self.brightness / 255.0
        grey = (grey - 0.5) * contrast + 0.5 + brightness
        grey = grey + rng.normal(0, rng.uniform(0, self.noise_std) / 255.0, grey.shape)
        return (np.clip(grey, 0, 1) * 255 + 0.5).astype(np.uint8), moved_maps

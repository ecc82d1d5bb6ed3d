"""Random backgrounds: smooth noise, gradients, stripes/checkers and clutter shapes.

Why varied: a network trained on hands over flat colour learns "anything not flat is hand";
real robot scenes have texture, edges, skin-coloured objects and lighting gradients, so every
background mixes a base layer with clutter, including skin-like blobs as distractors.
"""
from __future__ import annotations

import cv2
import numpy as np

_KINDS = ("noise", "gradient", "texture")


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, size=3)


def _noise(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Multi-octave value noise: low-resolution random colours upsampled and summed."""
    image = np.zeros((height, width, 3), dtype=np.float32)
    weight = 1.0
    for cells in (3, 9, 27):
        small = rng.uniform(0, 255, size=(cells, cells, 3)).astype(np.float32)
        image += weight * cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        weight *= 0.45
    return image / (1.0 + 0.45 + 0.45**2)


def _gradient(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    xs, ys = _coordinates(height, width)
    ramp = np.float32(np.cos(angle) / width) * xs + np.float32(np.sin(angle) / height) * ys
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    first, second = _random_colour(rng).astype(np.float32), _random_colour(rng).astype(np.float32)
    return first + ramp[..., None] * (second - first)


def _coordinates(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel x (1, W) and y (H, 1) float32 grids that broadcast to (H, W)."""
    return np.arange(width, dtype=np.float32)[None, :], np.arange(height, dtype=np.float32)[:, None]


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Stripes or a checkerboard at a random angle and period."""
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(4, max(6.0, min(height, width) / 3))
    xs, ys = _coordinates(height, width)
    c, s = np.float32(np.cos(angle) / period), np.float32(np.sin(angle) / period)
    pattern = np.floor(c * xs + s * ys).astype(np.int32) & 1
    if rng.random() < 0.5:
        pattern ^= np.floor(c * ys - s * xs).astype(np.int32) & 1
    first, second = _random_colour(rng), _random_colour(rng)
    return np.where(pattern[..., None].astype(bool), first.astype(np.float32), second.astype(np.float32))


def _add_clutter(rng: np.random.Generator, image: np.ndarray, skin_colour: np.ndarray | None) -> None:
    """Draw random filled shapes and lines in place; some in skin colour as distractors."""
    height, width = image.shape[:2]
    scale = max(height, width)
    for _ in range(int(rng.integers(2, 9))):
        colour = skin_colour * rng.uniform(0.7, 1.2) if skin_colour is not None and rng.random() < 0.15 else _random_colour(rng)
        colour = tuple(float(c) for c in np.clip(colour, 0, 255))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        size = int(rng.uniform(0.03, 0.3) * scale) + 1
        kind = rng.integers(0, 4)
        if kind == 0:
            cv2.circle(image, centre, size, colour, -1, cv2.LINE_AA)
        elif kind == 1:
            corner = (centre[0] + size, centre[1] + int(rng.uniform(0.3, 1.5) * size))
            cv2.rectangle(image, centre, corner, colour, -1)
        elif kind == 2:
            axes = (size, int(rng.uniform(0.2, 1.0) * size) + 1)
            cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
        else:
            end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.line(image, centre, end, colour, int(rng.integers(1, max(2, scale // 40) + 1)), cv2.LINE_AA)


def random_background(
    rng: np.random.Generator, height: int, width: int, skin_colour: np.ndarray | None = None
) -> np.ndarray:
    """(height, width, 3) float32 RGB in [0, 255]: a random base layer plus clutter.

    skin_colour: (3,) RGB of the hand about to be drawn, reused for a few distractor shapes.
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"background size must be positive, got {width}x{height}")
    kind = _KINDS[int(rng.integers(0, len(_KINDS)))]
    base = {"noise": _noise, "gradient": _gradient, "texture": _texture}[kind](rng, height, width)
    base = np.ascontiguousarray(base)
    if rng.random() < 0.8:
        _add_clutter(rng, base, skin_colour)
    return base

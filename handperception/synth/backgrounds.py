"""Random backgrounds: real photographs, smooth noise, gradients, stripes/checkers, clutter.

Why varied: a network trained on hands over flat colour learns "anything not flat is hand";
real robot scenes have texture, edges, skin-coloured objects and lighting gradients. Most
backgrounds are crops of real photographs (``synth.photos``); the rest mix a procedural base
layer with clutter, and clutter (including skin-like blobs as distractors) also lands on some
photographs.
"""

from __future__ import annotations

import cv2
import numpy as np

from handperception.synth.photos import photo_background

_KINDS = ("noise", "gradient", "texture")
PHOTO_PROBABILITY = 0.75
CLUTTER_PROBABILITY = {"photo": 0.15, "procedural": 0.8}
# Largest side (pixels) at which noise octaves are summed before one final stretch.
_NOISE_WORK_PX = 160


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, size=3)


def _noise(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Multi-octave value noise: low-resolution random colours upsampled and summed.

    Even the finest octave (27 cells) is smooth, so the octaves are summed at most
    _NOISE_WORK_PX pixels wide and high and the sum is stretched once: a full 640x480 sum of
    three stretched layers costs ~10x more and looks the same.
    """
    shrink = max(1.0, max(height, width) / _NOISE_WORK_PX)
    work_size = (max(1, round(width / shrink)), max(1, round(height / shrink)))
    image = np.zeros((work_size[1], work_size[0], 3), dtype=np.float32)
    weight = 1.0
    for cells in (3, 9, 27):
        small = rng.uniform(0, 255, size=(cells, cells, 3)).astype(np.float32)
        image += weight * cv2.resize(small, work_size, interpolation=cv2.INTER_LINEAR)
        weight *= 0.45
    image /= 1.0 + 0.45 + 0.45**2
    if work_size == (width, height):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def _blend(weight: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(H, W) float32 weights in [0, 1] -> (H, W, 3) float32 RGB first + weight (second - first).

    One grey-to-RGB copy then per-channel scale and offset in place: numpy broadcasting over a
    trailing axis of 3 is several times slower, and every fresh full-frame temporary costs
    page faults (~1 ms per megabyte on a small VM).
    """
    image = cv2.cvtColor(weight, cv2.COLOR_GRAY2RGB)
    cv2.multiply(image, (*(second - first).tolist(), 0.0), dst=image)
    cv2.add(image, (*first.tolist(), 0.0), dst=image)
    return image


def _gradient(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    xs, ys = _coordinates(height, width)
    ramp = np.float32(np.cos(angle) / width) * xs + np.float32(np.sin(angle) / height) * ys
    ramp -= ramp.min()
    ramp /= max(float(ramp.max()), 1e-6)
    return _blend(ramp, _random_colour(rng), _random_colour(rng))


def _coordinates(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel x (1, W) and y (H, 1) float32 grids that broadcast to (H, W)."""
    return np.arange(width, dtype=np.float32)[None, :], np.arange(height, dtype=np.float32)[:, None]


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Stripes or a checkerboard at a random angle and period."""
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(4, max(6.0, min(height, width) / 3))
    xs, ys = _coordinates(height, width)
    c, s = np.float32(np.cos(angle) / period), np.float32(np.sin(angle) / period)
    pattern = _stripe_parity(c * xs + s * ys)
    if rng.random() < 0.5:
        # Checkerboard: the parity of two perpendicular stripe sets, XOR as |p - q| on 0/1.
        pattern -= _stripe_parity(c * ys - s * xs)
        np.abs(pattern, out=pattern)
    first, second = _random_colour(rng), _random_colour(rng)
    return _blend(pattern, second, first)


def _stripe_parity(phase: np.ndarray) -> np.ndarray:
    """floor(phase) mod 2 as float32 0/1, computed in place on `phase` (H, W) float32."""
    np.floor(phase, out=phase)
    return np.mod(phase, 2, out=phase)


def _add_clutter(
    rng: np.random.Generator, image: np.ndarray, skin_colour: np.ndarray | None
) -> None:
    """Draw random filled shapes and lines in place; some in skin colour as distractors."""
    height, width = image.shape[:2]
    scale = max(height, width)
    for _ in range(int(rng.integers(2, 9))):
        colour = (
            skin_colour * rng.uniform(0.7, 1.2)
            if skin_colour is not None and rng.random() < 0.15
            else _random_colour(rng)
        )
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
            cv2.ellipse(
                image, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA
            )
        else:
            end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.line(
                image,
                centre,
                end,
                colour,
                int(rng.integers(1, max(2, scale // 40) + 1)),
                cv2.LINE_AA,
            )


def random_background(
    rng: np.random.Generator, height: int, width: int, skin_colour: np.ndarray | None = None
) -> np.ndarray:
    """(height, width, 3) float32 RGB in [0, 255], a fresh C-contiguous array: a photograph or
    a procedural base layer, maybe with clutter.

    skin_colour: (3,) RGB of the hand about to be drawn, reused for a few distractor shapes.
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"background size must be positive, got {width}x{height}")
    if rng.random() < PHOTO_PROBABILITY:
        base, clutter = photo_background(rng, height, width), CLUTTER_PROBABILITY["photo"]
    else:
        kind = _KINDS[int(rng.integers(0, len(_KINDS)))]
        draw = {"noise": _noise, "gradient": _gradient, "texture": _texture}[kind]
        base, clutter = (
            np.ascontiguousarray(draw(rng, height, width)),
            CLUTTER_PROBABILITY["procedural"],
        )
    if rng.random() < clutter:
        _add_clutter(rng, base, skin_colour)
    return base

"""Camera effects on rendered RGB: colour/exposure jitter, motion blur, sensor noise.

Why: robot cameras blur moving hands, add noise in dim light and vary in white balance; a
network that has only seen clean renders fails on all three. Labels are untouched (they are the
ground truth of the sharp scene).
"""
from __future__ import annotations

import cv2
import numpy as np

MOTION_BLUR_PROBABILITY = 0.25
MAX_MOTION_BLUR_PX = 9
MAX_NOISE_STD = 8.0
# Standard deviation of the sum of two independent uniform bytes (each 0..255).
_TRIANGULAR_STD = float(np.sqrt(2 * (256**2 - 1) / 12))


def motion_blur(image: np.ndarray, length: int, angle_rad: float) -> np.ndarray:
    """Blur (H, W, 3) float32 along a line of `length` pixels at `angle_rad` (linear motion)."""
    if length < 1:
        raise ValueError(f"motion blur length must be >= 1, got {length}")
    kernel = np.zeros((length, length), dtype=np.float32)
    centre = (length - 1) / 2
    offset = np.array([np.cos(angle_rad), np.sin(angle_rad)]) * centre
    start = tuple(int(round(c)) for c in (centre - offset[0], centre - offset[1]))
    end = tuple(int(round(c)) for c in (centre + offset[0], centre + offset[1]))
    cv2.line(kernel, start, end, 1.0, 1)
    return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def sensor_noise(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    """Zero-mean float32 noise of standard deviation `std`, triangular-distributed.

    The sum of two uniform random bytes is triangular, close enough to Gaussian read noise, and
    drawing bytes is ~10x faster than normal variates, which matters at 640x480x3 per frame.
    """
    count = int(np.prod(shape))
    first = np.frombuffer(rng.bytes(count), dtype=np.uint8).astype(np.float32)
    second = np.frombuffer(rng.bytes(count), dtype=np.uint8)
    first += second
    first -= 255.0
    first *= np.float32(std / _TRIANGULAR_STD)
    return first.reshape(shape)


def apply_sensor_effects(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 255] -> same, with random exposure, white balance, blur, noise."""
    gain = (rng.uniform(0.7, 1.25) * rng.uniform(0.9, 1.1, size=3)).astype(np.float32)
    image = image * gain
    if rng.random() < MOTION_BLUR_PROBABILITY:
        image = motion_blur(image, int(rng.integers(3, MAX_MOTION_BLUR_PX + 1)), rng.uniform(0, np.pi))
    image += sensor_noise(rng, image.shape, rng.uniform(0, MAX_NOISE_STD))
    return image

"""Camera effects on rendered RGB: colour/exposure jitter, motion blur, sensor noise, JPEG.

Why: robot cameras blur moving hands, add noise in dim light and vary in white balance, and
most images reach a network through JPEG (webcams, compressed image topics); a network that has
only seen clean renders fails on all of these. Labels are untouched (they are the ground truth
of the sharp scene). ``wide_blur`` also serves the renderer (defocused photographs, shading).
"""

from __future__ import annotations

import cv2
import numpy as np

MOTION_BLUR_PROBABILITY = 0.25
MAX_MOTION_BLUR_PX = 9
# Noise std is MAX_NOISE_STD times a squared uniform draw: mostly the 1-3 grey levels of a
# well-lit camera, sometimes a dim room's 8. Measured with MediaPipe as a realism judge, a
# uniform draw up to 8 hid a fifth of the hands it otherwise found (docs/realism.md).
MAX_NOISE_STD = 8.0
# The camera's own smoothing of sensor noise (pixels).
ISP_SIGMA = 0.6
JPEG_PROBABILITY = 0.5
JPEG_QUALITY = (75, 95)
# Standard deviation of the sum of two independent uniform bytes (each 0..255).
_TRIANGULAR_STD = float(np.sqrt(2 * (256**2 - 1) / 12))
# Values of noise made at once (a band of rows): small buffers that malloc reuses.
_NOISE_BAND_VALUES = 1 << 16


def wide_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of (h, w, C) float32 by `sigma` pixels, approximated for wide kernels.

    The cost of a direct blur grows with sigma (a near palm needs sigma ~ 20 px, ~10 ms), so
    wide blurs shrink the image by k ~ sigma / 4 (area averaging), blur the small image by ~4 px
    and stretch it back (bilinear), within ~2 % of the exact blur at ~1/10 of its cost. Area
    averaging and bilinear stretching blur by about k / 2 together, which the small blur leaves
    out.
    """
    factor = int(sigma // 4)
    if factor < 2:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    height, width = image.shape[:2]
    small_size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), np.sqrt(sigma**2 - factor**2 / 4) / factor)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR).reshape(image.shape)


def motion_blur(image: np.ndarray, length: int, angle_rad: float) -> np.ndarray:
    """Blur (H, W, 3) float32 along a line of `length` pixels at `angle_rad` (linear motion), in
    place; returns `image`."""
    if length < 1:
        raise ValueError(f"motion blur length must be >= 1, got {length}")
    kernel = np.zeros((length, length), dtype=np.float32)
    centre = (length - 1) / 2
    offset = np.array([np.cos(angle_rad), np.sin(angle_rad)]) * centre
    start = tuple(int(round(c)) for c in (centre - offset[0], centre - offset[1]))
    end = tuple(int(round(c)) for c in (centre + offset[0], centre + offset[1]))
    cv2.line(kernel, start, end, 1.0, 1)
    return cv2.filter2D(image, -1, kernel / kernel.sum(), dst=image, borderType=cv2.BORDER_REFLECT)


def add_sensor_noise(rng: np.random.Generator, image: np.ndarray, std: float) -> np.ndarray:
    """Add zero-mean triangular noise of standard deviation `std` to float32 `image` in place;
    returns `image`.

    The sum of two uniform random bytes is triangular, close enough to Gaussian read noise, and
    raw 64-bit draws split into bytes are ~20x cheaper than normal variates, which matters at
    640x480x3 per frame; one cv2.addWeighted turns two byte arrays into scaled float noise.
    Noise is made and added a band of rows at a time so its buffers stay small: fresh
    full-frame temporaries cost more in page faults than the arithmetic.
    """
    if image.dtype != np.float32 or not image.flags.c_contiguous:
        raise ValueError(f"image must be C-contiguous float32, got {image.dtype}")
    if std < 0:
        raise ValueError(f"noise std must be >= 0, got {std}")
    scale = std / _TRIANGULAR_STD
    flat = image.reshape(len(image), -1) if image.ndim > 1 else image.reshape(1, -1)
    band = max(1, _NOISE_BAND_VALUES // max(flat.shape[1], 1))
    for start in range(0, len(flat), band):
        rows = flat[start : start + band]
        raw = rng.bit_generator.random_raw((2 * rows.size + 7) // 8).view(np.uint8)
        first, second = (
            raw[: rows.size].reshape(rows.shape),
            raw[rows.size : 2 * rows.size].reshape(rows.shape),
        )
        rows += cv2.addWeighted(first, scale, second, scale, -255.0 * scale, dtype=cv2.CV_32F)
    return image


def apply_sensor_effects(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 255] -> same, with random exposure, white balance, blur and
    noise, applied in place (the renderer's own buffer); returns `image`.

    The noise is then smoothed over a pixel, as a camera's demosaicing and denoising smooth
    sensor noise: uncorrelated per-pixel, per-channel noise is not what cameras deliver (and
    MediaPipe missed a tenth more rendered hands with it; docs/realism.md).
    """
    gain = rng.uniform(0.7, 1.25) * rng.uniform(0.9, 1.1, size=3)
    # cv2 scales the channels in one pass; numpy broadcasting over the trailing 3 is ~4x slower.
    cv2.multiply(image, (*gain.tolist(), 0.0), dst=image)
    if rng.random() < MOTION_BLUR_PROBABILITY:
        motion_blur(image, int(rng.integers(3, MAX_MOTION_BLUR_PX + 1)), rng.uniform(0, np.pi))
    add_sensor_noise(rng, image, MAX_NOISE_STD * rng.uniform() ** 2)
    return cv2.GaussianBlur(image, (3, 3), ISP_SIGMA, dst=image)


def jpeg_round_trip(rng: np.random.Generator, rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB encoded and decoded as JPEG at a random quality, with probability
    JPEG_PROBABILITY (else returned as is): the blocks and ringing of compressed camera
    streams."""
    if rng.random() >= JPEG_PROBABILITY:
        return rgb
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    ok, encoded = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)

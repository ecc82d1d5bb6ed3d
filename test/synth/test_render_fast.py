"""The renderer's fast paths give the same images as the straightforward computations."""

import cv2
import numpy as np
import pytest

from handperception.synth.backgrounds import _blend, _noise, _texture
from handperception.synth.effects import add_sensor_noise, wide_blur
from handperception.synth.scenes import full_frame
from handperception.synth.splits import load_split


@pytest.mark.parametrize("sigma", [1.5, 6.0, 14.0, 22.0])
def test_wide_blur_approximates_a_gaussian(sigma):
    rng = np.random.default_rng(1)
    image = np.zeros((120, 150, 3), np.float32)
    image[30:90, 40:110] = rng.uniform(0.2, 1.0, size=3)
    image[50:60, 20:140, 1] = 1.0
    expected = cv2.GaussianBlur(image, (0, 0), sigma)
    blurred = wide_blur(image, sigma)
    assert blurred.shape == image.shape and blurred.dtype == np.float32
    # Within 3 % of the signal's range everywhere; exact below sigma 8 (the direct path).
    error = np.abs(blurred - expected).max()
    assert error < (1e-6 if sigma < 8 else 0.03)


def test_sensor_noise_is_in_place_zero_mean_with_the_asked_std():
    image = np.full((200, 300, 3), 100.0, np.float32)
    out = add_sensor_noise(np.random.default_rng(0), image, 5.0)
    assert out is image
    assert abs(float(image.mean()) - 100.0) < 0.05
    assert abs(float(image.std()) - 5.0) < 0.05
    # Triangular: the sum of two bytes, so never beyond 255 steps of the scale either side.
    assert np.abs(image - 100.0).max() <= 5.0 * 255 / np.sqrt(2 * (256**2 - 1) / 12) + 1e-3
    again = np.full((200, 300, 3), 100.0, np.float32)
    add_sensor_noise(np.random.default_rng(0), again, 5.0)
    assert again.tobytes() == image.tobytes()
    with pytest.raises(ValueError, match="C-contiguous float32"):
        add_sensor_noise(np.random.default_rng(0), np.zeros((4, 4, 3)), 1.0)
    with pytest.raises(ValueError, match="std must be >= 0"):
        add_sensor_noise(np.random.default_rng(0), np.zeros((4, 4, 3), np.float32), -1.0)


def test_background_layers_match_their_definitions():
    weight = np.array([[0.0, 0.5], [1.0, 0.25]], np.float32)
    first, second = np.array([10.0, 20.0, 30.0]), np.array([110.0, 20.0, 0.0])
    expected = first + weight[..., None] * (second - first)
    np.testing.assert_allclose(_blend(weight, first, second), expected, atol=1e-4)
    # Stripes: floor(phase) parity picks one of two colours; exactly two colours appear.
    texture = _texture(np.random.default_rng(3), 40, 50)
    assert texture.shape == (40, 50, 3) and texture.dtype == np.float32
    assert len(np.unique(texture.reshape(-1, 3), axis=0)) == 2
    noise = _noise(np.random.default_rng(3), 480, 640)
    assert noise.shape == (480, 640, 3) and noise.min() >= 0 and noise.max() <= 255
    # Smooth: neighbouring pixels differ by a small fraction of the range.
    assert np.abs(np.diff(noise, axis=1)).max() < 12


def test_full_frames_are_deterministic_and_hands_keep_their_labels():
    spec = load_split("interpolation")
    first, again = (
        full_frame(spec, "train", 4, 2, 160, 120, n_hands=2),
        full_frame(spec, "train", 4, 2, 160, 120, n_hands=2),
    )
    for name in ("rgb", "depth", "segmentation", "keypoints_2d", "visibility"):
        assert getattr(first, name).tobytes() == getattr(again, name).tobytes()
    assert first.depth.dtype == np.float32 and ((first.depth > 0) == (first.segmentation > 0)).all()

"""The renderer's fast paths give the same images as the straightforward computations."""

import cv2
import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.synth import raster as raster_module
from handperception.synth.backgrounds import _blend, _noise, _texture
from handperception.synth.effects import add_sensor_noise
from handperception.synth.hand_model import Capsules
from handperception.synth.raster import _footprint_spans, rasterize_capsules
from handperception.synth.render import _wide_blur
from handperception.synth.scenes import full_frame
from handperception.synth.splits import load_split

CAMERA = PinholeCamera(120.0, 110.0, 40.0, 30.0, 80, 60)


def _reference_depth(camera: PinholeCamera, capsules: Capsules) -> np.ndarray:
    """(H, W) float64 nearest hit over every pixel and every capsule, with the textbook
    ray/capsule intersection (cylinder quadratic b^2 - a c, then the end sphere), no bounds."""
    v, u = np.mgrid[0 : camera.height, 0 : camera.width]
    rd = np.stack(
        [(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy, np.ones(u.shape)], axis=-1
    ).reshape(-1, 3)
    best = np.full(len(rd), np.inf)
    for a, b, r in zip(capsules.a, capsules.b, capsules.radius):
        ba, oa = b - a, -a
        baba, bard, baoa = ba @ ba, rd @ ba, ba @ oa
        rdoa, oaoa, rdrd = rd @ oa, oa @ oa, (rd * rd).sum(1)
        qa = baba * rdrd - bard * bard
        qb = baba * rdoa - baoa * bard
        qc = baba * oaoa - baoa * baoa - r * r * baba
        h = qb * qb - qa * qc
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (-qb - np.sqrt(h)) / qa
        y = baoa + t * bard
        side = (h >= 0) & (y > 0) & (y < baba)
        oc = np.where((y <= 0)[:, None], oa, -b)
        sb, sc = (rd * oc).sum(1), (oc * oc).sum(1) - r * r
        sh = sb * sb - rdrd * sc
        with np.errstate(invalid="ignore"):
            t_cap = (-sb - np.sqrt(sh)) / rdrd
        depth = np.where(side, t, np.where((h >= 0) & (sh >= 0), t_cap, np.inf))
        best = np.minimum(best, depth)
    return best.reshape(camera.height, camera.width)


def _scene() -> Capsules:
    """Capsules that stress the footprint bound: diagonal, end-on, off-axis near the image
    corner (strong perspective), tiny, and two crossing each other."""
    a = np.array(
        [
            [-0.2, -0.15, 0.6],
            [0.05, 0.05, 0.35],
            [0.25, 0.2, 0.5],
            [0.0, -0.1, 0.4],
            [-0.1, 0.1, 0.45],
            [-0.12, 0.02, 0.5],
        ]
    )
    b = np.array(
        [
            [0.1, 0.12, 0.7],
            [0.06, 0.055, 0.55],
            [0.33, 0.27, 0.45],
            [0.005, -0.1, 0.4],
            [0.1, -0.05, 0.5],
            [0.05, 0.15, 0.42],
        ]
    )
    radius = np.array([0.02, 0.03, 0.025, 0.004, 0.015, 0.018])
    return Capsules(a, b, radius, np.arange(1, 7, dtype=np.uint8))


def test_raster_matches_the_textbook_intersection_over_every_pixel():
    capsules = _scene()
    raster = rasterize_capsules(CAMERA, capsules)
    reference = _reference_depth(CAMERA, capsules)
    hit, expected = np.isfinite(raster.depth), np.isfinite(reference)
    # Same silhouettes (footprints miss nothing; float32 may flip a grazing ray or two) and
    # depths to a few micrometres; a capsule seen end-on loses most (float32 rays nearly along
    # its axis), still well under 0.1 mm.
    assert expected.sum() > 500
    assert (hit != expected).sum() <= 2
    both = hit & expected
    error = np.abs(raster.depth[both] - reference[both])
    assert np.percentile(error, 99) < 5e-6 and error.max() < 5e-5
    # Normals are unit length on hits and zero elsewhere; labels follow the capsule index.
    np.testing.assert_allclose(np.linalg.norm(raster.normal[hit], axis=1), 1.0, atol=1e-5)
    assert not raster.normal[~hit].any()
    np.testing.assert_array_equal(raster.label[hit], capsules.label[raster.capsule[hit]])


def test_footprint_spans_hold_every_hit_and_are_tighter_than_boxes():
    # One diagonal capsule: every pixel it covers lies in its spans, and the spans cover far
    # fewer pixels than its axis-aligned box.
    capsules = Capsules(
        np.array([[-0.15, -0.1, 0.6]]),
        np.array([[0.15, 0.12, 0.6]]),
        np.array([0.015]),
        np.array([3], np.uint8),
    )
    spans = _footprint_spans(CAMERA, capsules)
    covered = np.zeros((CAMERA.height, CAMERA.width), bool)
    for row, first, last in zip(spans.row, spans.first, spans.last):
        covered[row, first : last + 1] = True
    hit = np.isfinite(rasterize_capsules(CAMERA, capsules).depth)
    assert hit.any() and not (hit & ~covered).any()
    # Projected axis (30, 22) * 120/0.6 ... : ends at pixels (10, 8) and (70, 52), radius ~3 px;
    # the box of the stadium is ~66 x 50 = 3300 px, the stadium ~ 75 * 2 * 4.2 + pi 4.2^2 ~ 690.
    assert covered.sum() < 900
    assert covered.sum() > hit.sum()


def test_chunked_z_buffer_equals_single_pass(monkeypatch):
    capsules = _scene()
    whole = rasterize_capsules(CAMERA, capsules)
    monkeypatch.setattr(raster_module, "_CHUNK_PAIRS", 64)
    chunked = rasterize_capsules(CAMERA, capsules)
    for name in ("depth", "label", "capsule", "normal"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name))


def test_raster_of_capsules_outside_the_view_is_empty():
    capsules = Capsules(
        np.array([[5.0, 0.0, 1.0]]),
        np.array([[6.0, 0.0, 1.0]]),
        np.array([0.1]),
        np.array([1], np.uint8),
    )
    raster = rasterize_capsules(CAMERA, capsules)
    assert np.isinf(raster.depth).all() and (raster.capsule == -1).all() and not raster.label.any()


@pytest.mark.parametrize("sigma", [1.5, 6.0, 14.0, 22.0])
def test_wide_blur_approximates_a_gaussian(sigma):
    rng = np.random.default_rng(1)
    image = np.zeros((120, 150, 3), np.float32)
    image[30:90, 40:110] = rng.uniform(0.2, 1.0, size=3)
    image[50:60, 20:140, 1] = 1.0
    expected = cv2.GaussianBlur(image, (0, 0), sigma)
    blurred = _wide_blur(image, sigma)
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

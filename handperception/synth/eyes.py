"""Normalised synthetic eye patches with known gaze and Deep Pictorial Gaze maps.

Why render straight into the normalised camera: gaze models see MPIIGaze-normalised 36x60 grey
patches (``handperception.geometry.gaze.normalize_eye``), so rendering there gives exact labels
with no resampling, and the same eyes warped out of full face images
(``handperception.synth.eye_face``) land in the same space.

The virtual camera looks at the midpoint of the eye corners from ``spec.distance``; the head
is rotated by the sample's head pitch/yaw (no roll: normalisation removes it) and the eyeball
by the gaze. Gazemaps follow Park et al. (ECCV 2018): map 0 is the projected eyeball, map 1 the
projected iris disc, both drawn whole even where the lids hide them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from tqdm import tqdm

from handperception.geometry.gaze import (
    NormalizationSpec,
    pitchyaw_to_rotation,
    vector_to_pitchyaw,
)
from handperception.synth.eye_model import EyeParams, EyeSpec, sample_eye_params
from handperception.synth.eye_shading import EyePose, corner_midpoint, shade_eye

SUPERSAMPLING = 2  # rays per pixel side on edges; anti-aliases lid margins, glints and the gazemaps


@dataclass(frozen=True)
class EyePatch:
    """One rendered sample.

    image: (H, W) uint8 grey patch. gazemaps: (2, H, W) float32 in [0, 1] (eyeball, iris),
    the fraction of each pixel covered. gaze_pitchyaw: (2,) float32 radians and gaze_vector:
    (3,) float32 unit, both in the normalised camera. head_pitchyaw: (2,) float32 radians.
    """

    image: np.ndarray
    gazemaps: np.ndarray
    gaze_pitchyaw: np.ndarray
    gaze_vector: np.ndarray
    head_pitchyaw: np.ndarray


@lru_cache(maxsize=8)
def _window_rays(matrix: tuple, width: int, height: int, x0: int, y0: int, ss: int) -> np.ndarray:
    """(height*width, ss*ss, 3) float32 unit rays through ss x ss sub-pixel centres of each pixel
    of the window whose top-left pixel is (x0, y0). ``matrix`` is K as a tuple of 9 (hashable, so
    the fixed patch window is computed once)."""
    k = np.asarray(matrix, dtype=np.float64).reshape(3, 3)
    offsets = (np.arange(ss) + 0.5) / ss - 0.5
    ox, oy = [o.ravel() for o in np.meshgrid(offsets, offsets)]
    v, u = np.mgrid[y0 : y0 + height, x0 : x0 + width]
    us = u.reshape(-1, 1) + ox[None, :]
    vs = v.reshape(-1, 1) + oy[None, :]
    rays = np.stack([(us - k[0, 2]) / k[0, 0], (vs - k[1, 2]) / k[1, 1], np.ones_like(us)], -1)
    rays = (rays / np.linalg.norm(rays, axis=-1, keepdims=True)).astype(np.float32)
    rays.flags.writeable = False
    return rays


def shade_window(
    matrix: np.ndarray, width: int, height: int, x0: int, y0: int, pose: EyePose, params: EyeParams
) -> np.ndarray:
    """Shade a pixel window of a camera with intrinsics ``matrix`` (3, 3) looking at one eye.

    Returns (3, height, width) float32: linear intensity, eyeball map, iris map. Adaptive
    anti-aliasing: one ray per pixel first, then SUPERSAMPLING^2 rays only where a 3x3
    neighbourhood changes (lid margins, limbus, pupil, glints, map edges) - about half the
    cost of supersampling everything, with the same edges.
    """
    key = tuple(np.asarray(matrix, dtype=np.float64).ravel().tolist())
    coarse = _window_rays(key, width, height, x0, y0, 1)[:, 0]
    shaded = shade_eye(coarse, pose, params)
    layers = np.stack([shaded.intensity, shaded.eyeball, shaded.iris]).reshape(3, height, width)
    kernel = np.ones((3, 3), np.uint8)
    spread = np.stack([cv2.dilate(m, kernel) - cv2.erode(m, kernel) for m in layers])
    edges = np.nonzero(((spread[0] > 0.1) | (spread[1] > 0) | (spread[2] > 0)).ravel())[0]
    if len(edges):
        fine = _window_rays(key, width, height, x0, y0, SUPERSAMPLING)[edges]
        refined = shade_eye(fine.reshape(-1, 3), pose, params)
        n = SUPERSAMPLING**2
        flat = layers.reshape(3, -1)
        for row, values in enumerate((refined.intensity, refined.eyeball, refined.iris)):
            flat[row, edges] = values.reshape(-1, n).mean(axis=1)
    return layers


def finish_image(linear: np.ndarray, params: EyeParams, rng: np.random.Generator) -> np.ndarray:
    """Camera effects on a linear float image: blur, sensor noise, gamma; -> uint8."""
    image = linear
    if params.blur_sigma > 0.05:
        image = cv2.GaussianBlur(image, (0, 0), params.blur_sigma)
    image = image + rng.normal(0.0, params.noise_std, size=image.shape)
    return (np.clip(image, 0.0, 1.0) ** (1 / 2.2) * 255 + 0.5).astype(np.uint8)


def eye_pose_in_patch(params: EyeParams, spec: NormalizationSpec) -> EyePose:
    """The eye's pose in the normalised camera: corner midpoint at (0, 0, distance)."""
    head_rotation = pitchyaw_to_rotation(params.head_pitchyaw)
    centre = np.array([0.0, 0.0, spec.distance]) - head_rotation @ corner_midpoint(params)
    return EyePose(centre, head_rotation, params.gaze_vector)


def render_eye_patch(
    params: EyeParams, spec: NormalizationSpec = NormalizationSpec(), noise_seed: int = 0
) -> EyePatch:
    """Render one normalised eye patch with its gazemaps; noise drawn from ``noise_seed``."""
    layers = shade_window(
        spec.camera_matrix, spec.width, spec.height, 0, 0, eye_pose_in_patch(params, spec), params
    )
    image = finish_image(layers[0], params, np.random.default_rng(noise_seed))
    return EyePatch(
        image=image,
        gazemaps=layers[1:].copy(),
        gaze_pitchyaw=params.gaze_pitchyaw.astype(np.float32),
        gaze_vector=params.gaze_vector.astype(np.float32),
        head_pitchyaw=params.head_pitchyaw.astype(np.float32),
    )


def sample_eye_patch(
    spec: EyeSpec, seed: int, index: int, norm: NormalizationSpec = NormalizationSpec()
) -> EyePatch:
    """Sample ``index`` of data set ``seed``: deterministic, byte-identical on every call."""
    params = sample_eye_params(spec, seed, index)
    return render_eye_patch(
        params, norm, noise_seed=int(np.random.default_rng([seed, index, 1]).integers(2**31))
    )


def render_eye_batch(
    spec: EyeSpec,
    seed: int,
    start: int,
    count: int,
    norm: NormalizationSpec = NormalizationSpec(),
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Samples start..start+count-1 stacked: image (B, H, W) uint8, gazemaps (B, 2, H, W),
    gaze_pitchyaw (B, 2), gaze_vector (B, 3), head_pitchyaw (B, 2)."""
    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    patches = [
        sample_eye_patch(spec, seed, i, norm)
        for i in tqdm(range(start, start + count), desc="eye patches", disable=not progress)
    ]
    return {
        key: np.stack([getattr(p, key) for p in patches]) for key in EyePatch.__dataclass_fields__
    }


def _fit_clipped_disc(disc_map: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (x, y) and radius, pixels, of a disc map that may be cut by the patch's top/bottom.

    Each row's covered width is a chord: (w/2)^2 + (y - cy)^2 = R^2, which is linear in
    (cy, R^2 - cy^2) after adding y^2, so least squares over the rows gives the circle.
    """
    half = disc_map.sum(axis=1) / 2
    rows = np.nonzero(half > 1.0)[0]
    if len(rows) < 3:
        raise ValueError("eyeball map too small to fit a circle")
    ys = rows.astype(np.float64)
    xs = np.arange(disc_map.shape[1])
    cx = float(np.mean((disc_map[rows] * xs).sum(axis=1) / disc_map[rows].sum(axis=1)))
    design = np.stack([np.ones_like(ys), 2 * ys], axis=1)
    (c0, cy), *_ = np.linalg.lstsq(design, half[rows] ** 2 + ys**2, rcond=None)
    return np.array([cx, cy]), float(np.sqrt(c0 + cy * cy))


def pitchyaw_from_gazemaps(gazemaps: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Geometric gaze read-out of (2, H, W) gazemaps -> (2,) pitch/yaw radians.

    The eyeball (~38 px across at the MPIIGaze scale) overflows the 36-pixel-high patch, so its
    centre and radius come from a circle fit to the map's row chords; the iris ellipse must lie
    inside the patch. The iris disc's centre sits sqrt(R^2 - r^2) in front of the eyeball centre
    along the gaze, so (nearly orthographically) its image offset from the eyeball centroid is
    that length times the gaze's x/y components. R comes from the eyeball map's area; r from the
    iris ellipse's area, which shrinks with |g_z| (hence the fixed-point iterations). Used to
    check rendered maps and as a parameter-free decoder for predicted maps.
    """
    maps = np.asarray(gazemaps, dtype=np.float64)
    if maps.ndim != 3 or maps.shape[0] != 2:
        raise ValueError(f"gazemaps must have shape (2, H, W), got {maps.shape}")
    eyeball, iris = maps
    if eyeball.sum() < 1 or iris.sum() < 0.5:
        raise ValueError("gazemaps are empty: no eyeball or iris to read gaze from")
    centre, big_r = _fit_clipped_disc(eyeball)
    ys, xs = np.mgrid[: maps.shape[1], : maps.shape[2]]
    offset = np.array([(iris * xs).sum(), (iris * ys).sum()]) / iris.sum() - centre
    gz = 1.0
    for _ in range(iterations):
        small_r = np.sqrt(iris.sum() / (np.pi * max(gz, 0.1)))
        depth = big_r * np.sqrt(max(1.0 - (small_r / big_r) ** 2, 1e-3))
        gx, gy = np.clip(offset / depth, -0.999, 0.999)
        gz = np.sqrt(max(1.0 - gx * gx - gy * gy, 1e-6))
    return vector_to_pitchyaw(np.array([gx, gy, -gz]))

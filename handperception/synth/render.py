"""Render hands into an RGB-D frame with part segmentation, keypoints and visibility.

Why one call for all outputs: every label comes from the same z-buffer that made the pixels,
so segmentation, depth, visibility and keypoints can never disagree, including where two hands
occlude each other.

Output conventions: rgb uint8 (H, W, 3); depth float32 metres along the optical axis, 0 where no
hand was hit (as depth cameras report "no return"); segmentation uint8 with the labels of
``synth.hand_model`` (0 background, 1-6 left palm/thumb..little, 7-12 right).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.skeleton.kinematics import HandParameters
from handperception.synth.backgrounds import random_background
from handperception.synth.effects import apply_sensor_effects
from handperception.synth.hand_model import (
    LEFT_PALM,
    PALM_ROD_SPACING,
    RIGHT_PALM,
    hand_capsules,
    joint_radii,
)
from handperception.synth.raster import rasterize_capsules
from handperception.synth.skin import SkinMap

# Bumped whenever what the renderer draws changes, so cached training sets are rendered anew.
RENDERER_VERSION = 3
# Representative skin albedos (sRGB), light to dark, after Fitzpatrick-scale colour surveys.
SKIN_TONES = np.array(
    [
        [241, 204, 178],
        [228, 184, 152],
        [214, 160, 128],
        [190, 135, 100],
        [160, 104, 72],
        [122, 78, 52],
        [88, 56, 38],
    ],
    dtype=np.float64,
)
# A joint counts as occluded only when the surface in front of it is nearer than its own skin by
# more than this (metres); absorbs pixel rounding and neighbouring capsules of the same finger.
OCCLUSION_TOLERANCE = 0.004


@dataclass(frozen=True)
class HandFrame:
    """One rendered frame with H hands.

    rgb (h, w, 3) uint8; depth (h, w) float32 metres, 0 = background; segmentation (h, w) uint8;
    keypoints_2d (H, 21, 2) float32 pixels; keypoints_3d (H, 21, 3) float32 metres, camera frame;
    visibility (H, 21) bool, joint inside the image and not hidden by nearer surface;
    K (3, 3) float64 intrinsics; is_left (H,) bool; pose (H, 15, 3), shape (H, 21),
    global_rotation (H, 3, 3) the generating parameters (see skeleton.kinematics).
    """

    rgb: np.ndarray
    depth: np.ndarray
    segmentation: np.ndarray
    keypoints_2d: np.ndarray
    keypoints_3d: np.ndarray
    visibility: np.ndarray
    K: np.ndarray
    is_left: np.ndarray
    pose: np.ndarray
    shape: np.ndarray
    global_rotation: np.ndarray


def sample_skin(rng: np.random.Generator) -> np.ndarray:
    """(3,) RGB albedo: a palette tone with a small hue and brightness jitter."""
    tone = SKIN_TONES[int(rng.integers(0, len(SKIN_TONES)))]
    return np.clip(tone * rng.uniform(0.9, 1.1) + rng.normal(0, 6, size=3), 0, 255)


def _shade(rng: np.random.Generator, normal: np.ndarray, albedo: np.ndarray) -> np.ndarray:
    """Lambertian skin with an ambient term and a faint specular sheen; (M, 3) -> (M, 3) RGB.

    float32: 8 bits of output need nothing finer, and it halves the memory traffic.
    """
    light = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), -rng.uniform(0.4, 1.5)])
    light /= np.linalg.norm(light)
    ambient = rng.uniform(0.25, 0.5)
    half = light + np.array([0.0, 0.0, -1.0])
    half /= np.linalg.norm(half)
    lambert = np.maximum(normal @ light.astype(np.float32), 0.0)
    brightness = np.float32(ambient) + np.float32(1.0 - ambient) * lambert
    specular = np.float32(0.12 * 255.0) * np.maximum(normal @ half.astype(np.float32), 0.0) ** 20
    return albedo.astype(np.float32) * brightness[:, None] + specular[:, None]


def _wide_blur(image: np.ndarray, sigma: float) -> np.ndarray:
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


def _shading_normals(
    camera: PinholeCamera,
    raster,
    rows: np.ndarray,
    cols: np.ndarray,
    hand: np.ndarray,
    scales: np.ndarray,
) -> np.ndarray:
    """(M, 3) float32 unit shading normals at the M foreground pixels (rows, cols), of hands
    `hand` (M,) with shape scales (N,).

    A blur of about a pixel softens the creases where capsules meet (knuckles) the way skin does.
    The palm is a fan of overlapping rods whose grooves are shallow but tilt the normal by
    ~15 deg; blurring palm normals (alone, so fingers do not bleed in) over a rod spacing shades
    it as one slab. Each blur works on the box of the pixels it serves plus its reach, so the
    cost follows the hands' area rather than the frame's, and each palm is blurred by its own
    rod spacing in pixels (a near hand's is wider than a far hand's).
    """
    result = np.empty((len(rows), 3), dtype=np.float32)
    label = raster.label[rows, cols]
    is_palm = (label == LEFT_PALM) | (label == RIGHT_PALM)
    for index, scale in enumerate(scales):
        mine = np.flatnonzero(hand == index)
        if len(mine) == 0:
            continue
        box, box_rows, box_cols = _box_around(rows[mine], cols[mine], 2)
        result[mine] = cv2.GaussianBlur(raster.normal[box], (5, 5), 1.2)[box_rows, box_cols]
        palm = mine[is_palm[mine]]
        if len(palm):
            spacing_px = (
                camera.fx
                * PALM_ROD_SPACING
                * scale
                / float(np.median(raster.depth[rows[palm], cols[palm]]))
            )
            sigma = max(1.2, spacing_px)
            box, box_rows, box_cols = _box_around(
                rows[palm], cols[palm], int(np.ceil(3 * sigma)) + 2
            )
            palm_normal = np.zeros(raster.normal[box].shape, dtype=np.float32)
            palm_normal[box_rows, box_cols] = raster.normal[rows[palm], cols[palm]]
            result[palm] = _wide_blur(palm_normal, sigma)[box_rows, box_cols]
    return result / np.maximum(np.linalg.norm(result, axis=1, keepdims=True), 1e-6)


def _box_around(
    rows: np.ndarray, cols: np.ndarray, margin: int
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """The box (row and column slices) holding pixels (rows, cols) plus `margin` pixels (cut at
    the image's top and left; numpy cuts the rest), and the pixels' coordinates inside it."""
    top, left = max(int(rows.min()) - margin, 0), max(int(cols.min()) - margin, 0)
    box = (slice(top, int(rows.max()) + margin + 1), slice(left, int(cols.max()) + margin + 1))
    return box, rows - top, cols - left


def visibility_of(
    camera: PinholeCamera, keypoints: np.ndarray, radii: np.ndarray, depth: np.ndarray
) -> np.ndarray:
    """(21,) bool: projected inside the image and no surface nearer than the joint's own skin.

    keypoints (21, 3) metres camera frame, radii (21,) metres, depth (h, w) with +inf = empty.
    """
    pixels = camera.project(keypoints)
    u, v = np.rint(pixels[:, 0]).astype(np.int64), np.rint(pixels[:, 1]).astype(np.int64)
    inside = (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height)
    surface = np.full(len(keypoints), np.inf)
    surface[inside] = depth[v[inside], u[inside]]
    return inside & (surface >= keypoints[:, 2] - radii - OCCLUSION_TOLERANCE)


def render_hands(
    rng: np.random.Generator,
    camera: PinholeCamera,
    hands: HandParameters,
    skins: np.ndarray,
    background: np.ndarray | None = None,
    effects: bool = True,
    keypoints: np.ndarray | None = None,
) -> HandFrame:
    """Render N hands (parameters in the camera frame) over a background.

    skins: (N, 3) RGB albedos. background: (h, w, 3) float/uint8 RGB or None for a random one.
    effects: apply motion blur / sensor noise / colour jitter (synth.effects).
    keypoints: (N, 21, 3) hands.keypoints() when the caller already has them (forward
    kinematics is a noticeable share of a small crop's cost); None computes them.
    """
    if keypoints is None:
        keypoints = hands.keypoints()
    elif keypoints.shape != (len(hands.pose), 21, 3):
        raise ValueError(f"keypoints must be ({len(hands.pose)}, 21, 3), got {keypoints.shape}")
    n = len(keypoints)
    skins = np.asarray(skins, dtype=np.float64).reshape(n, 3)
    scales = hands.shape[:, 0]
    if background is None:
        # A fresh float32 array of our own: drawn on directly (a full-frame copy costs ~3 ms).
        image = random_background(rng, camera.height, camera.width, skins[0] if n else None)
    else:
        image = np.array(background, dtype=np.float32)
    if image.shape != (camera.height, camera.width, 3):
        raise ValueError(
            f"background must be ({camera.height}, {camera.width}, 3), got {image.shape}"
        )
    if n:
        per_hand = [hand_capsules(keypoints[i], scales[i], hands.is_left[i]) for i in range(n)]
        skin_map = SkinMap.of_hands(keypoints, hands.is_left, per_hand)
        raster = rasterize_capsules(camera, skin_map.capsules)
        label = raster.label
        rows, cols = np.nonzero(raster.capsule >= 0)
        if len(rows):
            capsule = raster.capsule[rows, cols]
            normal = _shading_normals(camera, raster, rows, cols, skin_map.hand[capsule], scales)
            points = camera.unproject(np.stack([cols, rows], axis=1), raster.depth[rows, cols])
            image[rows, cols] = _shade(
                rng, normal, skin_map.albedos(points, normal, capsule, skins)
            )
        depth = raster.depth
        visibility = np.stack(
            [visibility_of(camera, keypoints[i], joint_radii(scales[i]), depth) for i in range(n)]
        )
        depth[np.isinf(depth)] = 0.0
        keypoints_2d = camera.project(keypoints)
    else:
        label = np.zeros((camera.height, camera.width), dtype=np.uint8)
        depth = np.zeros((camera.height, camera.width), dtype=np.float32)
        visibility = np.zeros((0, 21), dtype=bool)
        keypoints_2d = np.zeros((0, 21, 2))
    # In place from here on: each fresh full-frame temporary costs page faults (~3 ms at 640x480).
    cv2.GaussianBlur(image, (3, 3), 0.6, dst=image)
    if effects:
        image = apply_sensor_effects(rng, image)
    np.add(image, 0.5, out=image)
    np.clip(image, 0, 255, out=image)
    return HandFrame(
        rgb=image.astype(np.uint8),
        depth=depth,
        segmentation=label,
        keypoints_2d=keypoints_2d.astype(np.float32),
        keypoints_3d=keypoints.astype(np.float32),
        visibility=visibility,
        K=camera.matrix,
        is_left=np.asarray(hands.is_left, dtype=bool),
        pose=hands.pose,
        shape=hands.shape,
        global_rotation=hands.global_rotation,
    )

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
    BACKGROUND,
    LEFT_PALM,
    PALM_ROD_SPACING,
    RIGHT_PALM,
    Capsules,
    hand_capsules,
    joint_radii,
)
from handperception.synth.raster import rasterize_capsules

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
    """Lambertian skin with an ambient term and a faint specular sheen; (M, 3) -> (M, 3) RGB."""
    light = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), -rng.uniform(0.4, 1.5)])
    light /= np.linalg.norm(light)
    ambient = rng.uniform(0.25, 0.5)
    lambert = np.clip(normal @ light, 0.0, None)
    half = light + np.array([0.0, 0.0, -1.0])
    half /= np.linalg.norm(half)
    specular = 0.12 * np.clip(normal @ half, 0.0, None) ** 20
    return albedo * (ambient + (1.0 - ambient) * lambert)[:, None] + 255.0 * specular[:, None]


def _smooth_normals(camera: PinholeCamera, raster, scale: float) -> tuple[tuple[slice, slice], np.ndarray]:
    """Shading normals over the hands' bounding box: (rows, cols) slices and (h, w, 3) normals.

    A blur of about a pixel softens the creases where capsules meet (knuckles) the way skin does.
    The palm is a fan of overlapping rods whose grooves are shallow but tilt the normal by
    ~15 deg; blurring palm normals (alone, so fingers do not bleed in) over a rod spacing shades
    it as one slab. Work is limited to the foreground's box (plus the blur's reach).
    """
    rows, cols = np.flatnonzero(raster.label.any(axis=1)), np.flatnonzero(raster.label.any(axis=0))
    label = raster.label
    palm = (label == LEFT_PALM) | (label == RIGHT_PALM)
    sigma = 1.2
    if palm.any():
        spacing_px = camera.fx * PALM_ROD_SPACING * scale / float(np.median(raster.depth[palm]))
        sigma = max(sigma, spacing_px)
    reach = int(np.ceil(3 * sigma)) + 2
    box = (
        slice(max(rows[0] - reach, 0), rows[-1] + reach + 1),
        slice(max(cols[0] - reach, 0), cols[-1] + reach + 1),
    )
    normal = raster.normal[box].astype(np.float32)
    smooth = cv2.GaussianBlur(normal, (5, 5), 1.2)
    palm = palm[box]
    if palm.any():
        palm_only = cv2.GaussianBlur(normal * palm[..., None], (0, 0), sigma)
        smooth[palm] = palm_only[palm]
    return box, smooth / np.maximum(np.linalg.norm(smooth, axis=2, keepdims=True), 1e-6)


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
) -> HandFrame:
    """Render N hands (parameters in the camera frame) over a background.

    skins: (N, 3) RGB albedos. background: (h, w, 3) float/uint8 RGB or None for a random one.
    effects: apply motion blur / sensor noise / colour jitter (synth.effects).
    """
    keypoints = hands.keypoints()
    n = len(keypoints)
    skins = np.asarray(skins, dtype=np.float64).reshape(n, 3)
    scales = hands.shape[:, 0]
    if background is None:
        background = random_background(rng, camera.height, camera.width, skins[0] if n else None)
    image = np.array(background, dtype=np.float32)
    if image.shape != (camera.height, camera.width, 3):
        raise ValueError(f"background must be ({camera.height}, {camera.width}, 3), got {image.shape}")
    if n:
        per_hand = [hand_capsules(keypoints[i], scales[i], hands.is_left[i]) for i in range(n)]
        capsule_hand = np.repeat(np.arange(n), [len(c.radius) for c in per_hand])
        raster = rasterize_capsules(camera, Capsules.concatenate(per_hand))
        label = raster.label
        foreground = label != BACKGROUND
        if foreground.any():
            albedo = skins[capsule_hand[raster.capsule[foreground]]]
            box, normal = _smooth_normals(camera, raster, float(np.mean(scales)))
            image[foreground] = _shade(rng, normal[foreground[box]], albedo)
        depth = raster.depth
        visibility = np.stack([visibility_of(camera, keypoints[i], joint_radii(scales[i]), depth) for i in range(n)])
        keypoints_2d = camera.project(keypoints)
    else:
        label = np.zeros((camera.height, camera.width), dtype=np.uint8)
        depth = np.full((camera.height, camera.width), np.inf)
        visibility = np.zeros((0, 21), dtype=bool)
        keypoints_2d = np.zeros((0, 21, 2))
    image = cv2.GaussianBlur(image, (3, 3), 0.6)
    if effects:
        image = apply_sensor_effects(rng, image)
    return HandFrame(
        rgb=np.clip(image + 0.5, 0, 255).astype(np.uint8),
        depth=np.where(np.isfinite(depth), depth, 0.0).astype(np.float32),
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

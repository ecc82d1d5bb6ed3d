"""Soft lighting for rendered skin and cloth: several lights, a sky/ground ambient, contact shade.

Why: one hard Lambertian light over flat albedo is what made the capsule hands read as plastic.
Real hands are lit by a key light, fill from the room and a sky/ground ambient tinted by the
scene, and skin scatters light under its surface, so its shading wraps softly past the
terminator; creases and the gaps between fingers are darker because less light reaches them.
Shading is computed in linear light (sRGB decoded, shaded, encoded), as cameras record it.

Directions are in the camera frame (x right, y down, z forward) and point from the surface
towards the light.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.synth.effects import wide_blur

_GAMMA = 2.2
# Wrap lighting: diffuse = (n.l + w) / (1 + w), clipped; skin's light reaches ~w past 90 deg.
SKIN_WRAP = 0.45
# Screen-space occlusion: how far behind its neighbourhood a pixel may sit before it is fully
# shaded (metres), the neighbourhood's radius (metres) and the darkest it gets.
OCCLUSION_DEPTH = 0.015
OCCLUSION_RADIUS = 0.012
OCCLUSION_STRENGTH = 0.45


def to_linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB values in [0, 255] -> linear light in [0, 1] (float32, a 2.2 power law)."""
    return (np.clip(np.asarray(srgb, dtype=np.float32), 0, 255) / np.float32(255)) ** _GAMMA


def to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light -> sRGB values in [0, 255] (float32), clipped at white."""
    return np.float32(255) * np.clip(linear, 0, 1).astype(np.float32) ** np.float32(1 / _GAMMA)


@dataclass(frozen=True)
class Lighting:
    """directions (L, 3) unit, colours (L, 3) linear intensities of the directional lights;
    sky and ground (3,) linear ambient from above and below; gloss (Blinn exponent) and sheen
    (specular strength) of skin."""

    directions: np.ndarray
    colours: np.ndarray
    sky: np.ndarray
    ground: np.ndarray
    gloss: float
    sheen: float


def sample_lighting(rng: np.random.Generator, scene_colour: np.ndarray) -> Lighting:
    """A key light mostly from the camera's side and above, a weaker fill from the other side,
    sometimes a rim light from behind, and an ambient tinted by the scene's mean sRGB colour
    (3,) so the hand belongs to its background."""
    key = np.array([rng.uniform(-1, 1), rng.uniform(-1.0, 0.4), -rng.uniform(0.3, 1.5)])
    fill = np.array([-key[0], rng.uniform(-0.5, 0.8), -rng.uniform(0.3, 1.2)])
    rim = np.array([rng.uniform(-1, 1), rng.uniform(-1, 0.3), rng.uniform(0.2, 1.0)])
    warmth = rng.uniform(-1, 1)
    tint = np.array([1.0 + 0.12 * warmth, 1.0, 1.0 - 0.18 * warmth])
    key_power = rng.uniform(0.55, 1.0)
    lights = [(key, key_power * tint), (fill, rng.uniform(0.08, 0.3) * key_power * tint[::-1])]
    if rng.random() < 0.4:
        lights.append((rim, rng.uniform(0.2, 0.6) * np.ones(3)))
    directions = np.stack([d / np.linalg.norm(d) for d, _ in lights])
    scene = to_linear(scene_colour).astype(np.float64)
    scene = scene / max(float(scene.mean()), 1e-3)
    ambient = rng.uniform(0.15, 0.4) * (0.5 + 0.5 * np.clip(scene, 0.2, 2.0))
    return Lighting(
        directions=directions,
        colours=np.stack([c for _, c in lights]),
        sky=ambient * rng.uniform(1.0, 1.4),
        ground=ambient * rng.uniform(0.4, 0.8),
        gloss=float(rng.uniform(8, 30)),
        sheen=float(rng.uniform(0.02, 0.1)),
    )


def shade(
    lighting: Lighting,
    albedo: np.ndarray,
    normal: np.ndarray,
    points: np.ndarray,
    occlusion: np.ndarray,
    sheen: np.ndarray,
) -> np.ndarray:
    """(M, 3) float32 linear radiance of M surface points.

    albedo (M, 3) linear; normal (M, 3) unit; points (M, 3) camera frame (for the view
    direction); occlusion (M,) in [0, 1] (1 = open); sheen (M,) specular weight (1 for skin,
    less for cloth).
    """
    view = -points / np.sqrt(np.einsum("ij,ij->i", points, points))[:, None]
    directions = lighting.directions.astype(np.float32)
    facing = normal @ directions.T
    diffuse = np.clip((facing + SKIN_WRAP) / (1 + SKIN_WRAP), 0.0, None) ** 1.5
    light = diffuse @ lighting.colours.astype(np.float32)
    upward = np.clip(0.5 - 0.5 * normal[:, 1:2], 0.0, 1.0)
    ambient = lighting.ground.astype(np.float32) + upward * (lighting.sky - lighting.ground).astype(
        np.float32
    )
    radiance = albedo * (light + ambient) * occlusion[:, None]
    specular = np.zeros(len(normal), dtype=np.float32)
    for direction, colour in zip(directions, lighting.colours):
        half = view + direction
        cosine = np.einsum("ij,ij->i", normal, half) / np.sqrt(np.einsum("ij,ij->i", half, half))
        strength = np.clip(cosine, 0.0, 1.0) ** np.float32(lighting.gloss)
        specular += strength * np.float32(colour.mean())
    # Fresnel: skin reflects more at grazing angles, which outlines fingers against the light.
    grazing = (1.0 - np.clip(np.einsum("ij,ij->i", normal, view), 0.0, 1.0)) ** 5
    specular = (lighting.sheen * specular + 0.04 * grazing) * sheen
    return (radiance + specular[:, None]).astype(np.float32)


def screen_occlusion(depth: np.ndarray, focal: float) -> np.ndarray:
    """(H, W) float32 in [0, 1]: how open each covered pixel of depth (H, W) (+inf = empty) is.

    A pixel sitting behind the mean depth of its covered neighbourhood (OCCLUSION_RADIUS across,
    in pixels at the typical depth) is in a crease or behind a finger and gets less light. Only
    the box around the covered pixels is filtered, so the cost follows the surfaces' area.
    """
    result = np.ones(depth.shape, dtype=np.float32)
    rows, cols = np.nonzero(np.isfinite(depth))
    if len(rows) == 0:
        return result
    sigma = max(1.0, focal * OCCLUSION_RADIUS / float(np.median(depth[rows, cols])))
    reach = int(np.ceil(2 * sigma))
    box = (
        slice(max(int(rows.min()) - reach, 0), int(rows.max()) + reach + 1),
        slice(max(int(cols.min()) - reach, 0), int(cols.max()) + reach + 1),
    )
    part = depth[box]
    covered = np.isfinite(part)
    filled = np.where(covered, part, 0).astype(np.float32)
    stacked = np.ascontiguousarray(np.stack([filled, covered.astype(np.float32)], axis=-1))
    blurred = wide_blur(stacked, sigma)
    mean = blurred[..., 0] / np.maximum(blurred[..., 1], 1e-6)
    behind = np.clip((filled - mean) / OCCLUSION_DEPTH, 0.0, 1.0)
    result[box] = np.where(covered, 1.0 - OCCLUSION_STRENGTH * behind, 1.0)
    return result

"""Ray-cast shading of one eye region: eyeball, iris, pupil, eyelids, lashes and skin.

Why its own module: the normalised-patch renderer and the face renderer cast different rays
(a 60x36 virtual camera vs. a whole robot camera image) at the same eye, so the eye's look is a
function of rays only. Everything is vectorised numpy over N rays from the camera centre.

Geometry, in the head frame centred on the eyeball (x right in a frontal image, y down, face
looking along -z; metres): the eyeball is a sphere; the iris is the cap of the sphere around the
gaze axis whose rim is a circle of ``iris_radius`` (so its projection is exactly the projected
iris disc of Deep Pictorial Gaze's iris map); the skin is a height field over the eyeball
(a plane with a smooth bulge over the eyeball, brow ridge and cheek); the lids cut an almond-shaped
opening (wider than the eyeball, as real eye fissures are: the deep corners show as shadow) whose
upper lid follows the eye's pitch, as real lids do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.synth.eye_model import EyeParams

SKIN_PLANE_DEPTH = 0.0066  # skin plane in front of the eyeball centre, metres
LID_THICKNESS = 0.0008  # lids drape this far outside the eyeball, metres
CORNER_HALF_WIDTH = (
    1.15  # eye corners at +-this fraction of the eyeball radius (past its silhouette)
)
CORNER_DROP = 0.05  # eye corners this fraction of the radius below the eyeball centre


@dataclass(frozen=True)
class EyePose:
    """Where one eye is, camera frame: eyeball_centre (3,) metres, head_rotation (3, 3) head ->
    camera, gaze (3,) unit vector."""

    eyeball_centre: np.ndarray
    head_rotation: np.ndarray
    gaze: np.ndarray


@dataclass(frozen=True)
class EyeShading:
    """Per-ray outputs, all (N,): intensity (linear, ~[0, 1]); eyeball and iris: 1.0 where the
    ray meets the (unoccluded) eyeball sphere / iris disc, the Deep Pictorial Gaze maps."""

    intensity: np.ndarray
    eyeball: np.ndarray
    iris: np.ndarray


def corner_midpoint(params: EyeParams) -> np.ndarray:
    """(3,) head frame offset from the eyeball centre to the midpoint of the two eye corners.

    This is the "eye centre" a landmark detector finds and MPIIGaze normalises on; it sits in front
    of the eyeball centre (the corners lie in the skin plane), so head rotation moves the eyeball
    inside the normalised patch.
    """
    return np.array([0.0, CORNER_DROP * params.eyeball_radius, -SKIN_PLANE_DEPTH])


def _lid_curves(
    s: np.ndarray, params: EyeParams, eye_pitch: float
) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower lid heights (head-frame y, metres) at s = x / corner half-width in
    [-1, 1]."""
    r = params.eyeball_radius
    inside = np.clip(1.0 - s * s, 0.0, None)
    # Lids follow the eye's pitch (looking down lowers the upper lid), a strong real cue for pitch.
    # Python floats, not numpy float64 scalars, so float32 ray arrays stay float32.
    upper = float(max(params.openness * 0.55 * r + 0.5 * r * np.sin(eye_pitch), 0.03 * r))
    lower = float(max(0.36 * r - 0.15 * r * np.sin(eye_pitch), 0.05 * r))
    skew = 1.0 - 0.15 * params.side * s  # the upper lid peaks towards the temple
    y_upper = CORNER_DROP * r - upper * inside**0.65 * skew
    y_lower = CORNER_DROP * r + lower * inside**0.8
    return y_upper, y_lower


def _skin_height(
    x: np.ndarray, y: np.ndarray, r: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Skin height H(x, y) outwards (-z) from the skin plane and its gradient, head frame, metres.

    The lids' bulge over the eyeball is a Gaussian reaching LID_THICKNESS outside the eyeball's
    apex: smooth everywhere, so no eyeball silhouette shows through the skin's shading.
    """
    bulge_height = r + LID_THICKNESS - SKIN_PLANE_DEPTH
    sigma2 = (0.6 * r) ** 2
    bulge = bulge_height * np.exp(-(x * x + y * y) / (2 * sigma2))
    brow = 0.004 * np.exp(-(((y + 0.017) / 0.005) ** 2))
    cheek = 0.003 * np.exp(-(((y - 0.021) / 0.006) ** 2))
    height = bulge + brow + cheek
    gx = -bulge * x / sigma2
    gy = (
        -bulge * y / sigma2
        + brow * (-2 * (y + 0.017) / 0.005**2)
        + cheek * (-2 * (y - 0.021) / 0.006**2)
    )
    return height, gx, gy


def _skin_albedo(
    x: np.ndarray, y: np.ndarray, params: EyeParams, y_upper: np.ndarray, s: np.ndarray
) -> np.ndarray:
    """Skin albedo with pores-scale texture, the upper lid crease, lashes and the eyebrow."""
    phase = params.texture_phase.tolist()  # Python floats keep the arrays float32
    texture = np.zeros_like(x)
    for k in range(4):
        wavelength = 0.0015 + 0.0008 * k
        angle = phase[4 + k]
        texture += np.sin(
            (np.cos(angle) * x + np.sin(angle) * y) * 2 * np.pi / wavelength + phase[8 + k]
        )
    albedo = params.skin_albedo * (1.0 + 0.025 * texture)
    on_lid = np.clip(1.2 - np.abs(s), 0.0, 1.0)
    crease = np.exp(-(((y - (y_upper - 0.0042)) / 0.0008) ** 2)) * on_lid
    above = y_upper - y  # > 0 above the upper lid margin
    lash_density = 0.6 + 0.4 * np.sin(x * 2 * np.pi / 0.0007 + phase[12]) ** 2
    lashes = (
        np.clip(1.0 - above / 0.0013, 0.0, 1.0)
        * (above > -0.0002)
        * lash_density
        * np.clip(1.0 - np.abs(s), 0, 1) ** 0.3
    )
    arch = -0.0185 + 0.004 * (x * params.side / 0.02) + 0.005 * (x / 0.02) ** 2
    brow = np.exp(-(((y - arch) / 0.0022) ** 2)) * np.clip(1.0 - (x / 0.026) ** 2, 0.0, 1.0)
    darkening = 1.0 - 0.25 * crease - 0.85 * np.clip(lashes, 0, 1) - 0.55 * brow
    return albedo * darkening


def _iris_albedo(
    n_dot_g: np.ndarray, theta: np.ndarray, params: EyeParams, sclera: np.ndarray
) -> np.ndarray:
    """Albedo on the eyeball: sclera, limbus, textured iris and pupil, blended over ~0.05 iris
    radii."""
    alpha = np.arcsin(params.iris_radius / params.eyeball_radius)
    rho = np.arccos(np.clip(n_dot_g, -1.0, 1.0)) / alpha  # 0 at the pupil centre, 1 at the limbus
    phase = params.texture_phase.tolist()  # Python floats keep the arrays float32
    streaks = (
        np.sin(9 * theta + phase[0]) + np.sin(17 * theta + phase[1]) + np.sin(31 * theta + phase[2])
    ) / 3
    iris = params.iris_albedo * (
        1.0 + 0.3 * streaks * rho + 0.4 * np.exp(-(((rho - 0.62) / 0.08) ** 2))
    )
    iris *= 1.0 - 0.6 * np.clip((rho - 0.82) / 0.18, 0.0, 1.0)  # dark limbal ring
    pupil_edge = np.clip((rho - params.pupil_ratio) / 0.06 + 0.5, 0.0, 1.0)
    iris = 0.02 + (iris - 0.02) * pupil_edge
    limbus = np.clip((rho - 0.97) / 0.06, 0.0, 1.0)
    return iris * (1 - limbus) + sclera * limbus


def shade_eye(dirs: np.ndarray, pose: EyePose, params: EyeParams) -> EyeShading:
    """Shade N rays from the camera centre. dirs: (N, 3) unit directions, camera frame.

    Runs in float32 (ample for millimetre detail at a metre) and shades the eyeball only on the
    rays inside the lid opening: both roughly halve the cost, which matters at 10^5 patches.
    """
    dirs = np.asarray(dirs, dtype=np.float32)
    c = np.asarray(pose.eyeball_centre, dtype=np.float32)
    rot = np.asarray(pose.head_rotation, dtype=np.float32)
    g = np.asarray(pose.gaze, dtype=np.float32)
    light = np.asarray(params.light_dir, dtype=np.float32)
    r = params.eyeball_radius
    eye_pitch = float(np.arcsin(np.clip(-(rot.T @ g)[1], -1, 1)))

    # Eyeball sphere.
    b = dirs @ c
    disc = b * b - float(c @ c - r * r)
    hit = disc > 0
    t_sphere = b - np.sqrt(np.clip(disc, 0.0, None))
    q = t_sphere[:, None] * (dirs @ rot) - rot.T @ c  # head-frame offset of the sphere hit

    # Iris map (Deep Pictorial Gaze): the ray meets the iris disc's plane within the iris radius.
    disc_centre = c + g * np.float32(np.sqrt(r * r - params.iris_radius**2))
    denom = dirs @ g
    t_disc = float(disc_centre @ g) / np.where(np.abs(denom) > 1e-9, denom, np.float32(1e-9))
    miss = t_disc[:, None] * dirs - disc_centre
    iris_map = ((np.einsum("ij,ij->i", miss, miss) < params.iris_radius**2) & (t_disc > 0)).astype(
        np.float32
    )

    # Skin: intersect the height field by fixed-point iteration along each ray.
    d_head, c_head = dirs @ rot, rot.T @ c
    dz = np.where(np.abs(d_head[:, 2]) > 1e-9, d_head[:, 2], np.float32(-1e-9))
    height = np.float32(0.0)
    for _ in range(2):
        t_skin = (c_head[2] - SKIN_PLANE_DEPTH - height) / dz
        x = t_skin * d_head[:, 0] - c_head[0]
        y = t_skin * d_head[:, 1] - c_head[1]
        height, gx, gy = _skin_height(x, y, r)
    width = CORNER_HALF_WIDTH * r
    s_skin = x / width
    albedo = _skin_albedo(x, y, params, _lid_curves(s_skin, params, eye_pitch)[0], s_skin)
    normal = np.stack([-gx, -gy, -np.ones_like(gx)], axis=1)
    normal = normal / np.linalg.norm(normal, axis=1, keepdims=True) @ rot.T

    # Lid opening, tested on the eyeball surface so the lid margin sits on the eyeball.
    qx, qy = np.where(hit, q[:, 0], x), np.where(hit, q[:, 1], y)
    s = qx / width
    y_upper, y_lower = _lid_curves(s, params, eye_pitch)
    inside = np.nonzero((np.abs(s) < 1.0) & (qy > y_upper) & (qy < y_lower))[0]

    # Eyeball (or the deep eye corner past its silhouette) on the rays inside the opening.
    s_in, qy_in, hit_in = s[inside], qy[inside], hit[inside]
    n_in = (q[inside] @ rot.T) / r
    e1 = np.cross(g, np.array([0.0, 1.0, 0.0], dtype=np.float32))
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(g, e1)
    theta = np.arctan2(n_in @ e2, n_in @ e1)
    caruncle = np.exp(-(((s_in - params.side) / 0.25) ** 2))
    sclera = params.sclera_albedo * (1.0 - 0.45 * caruncle) * (1.0 - 0.25 * s_in**4)
    eye_albedo = np.where(
        hit_in, _iris_albedo(n_in @ g, theta, params, sclera), 0.35 * params.skin_albedo
    )
    lid_shadow = (1.0 - 0.5 * np.exp(-(qy_in - y_upper[inside]) / 0.0009)) * (
        1.0 - 0.25 * np.exp(-(y_lower[inside] - qy_in) / 0.0005)
    )
    albedo[inside] = eye_albedo * np.clip(lid_shadow, 0.0, 1.0)
    on_eyeball = inside[hit_in]
    normal[on_eyeball] = n_in[hit_in]

    lambert = np.clip(normal @ light, 0.0, None)
    half = light - dirs
    half /= np.linalg.norm(half, axis=1, keepdims=True)
    n_dot_h = np.clip(np.einsum("ij,ij->i", normal, half), 0.0, None)
    specular = 0.04 * n_dot_h**8
    cornea = on_eyeball[n_in[hit_in] @ g > np.cos(1.3 * np.arcsin(params.iris_radius / r))]
    specular[cornea] = params.glint * n_dot_h[cornea] ** 150
    intensity = albedo * (params.ambient + (1.0 - params.ambient) * lambert) + specular
    return EyeShading(intensity, hit.astype(np.float32), iris_map)

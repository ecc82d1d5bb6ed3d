"""Points on, and occupancy of, the synthetic hand: the renderer's capsules as a solid.

Why: grasp synthesis must know where the skin is, not just the joints (a fingertip keypoint sits
~7 mm inside the pad), to decide contact and penetration against an object's SDF; and the
interpenetration volume needs samples filling the hand. Using ``hand_model.hand_capsules`` keeps
this solid identical to what the renderer draws, so a grasp that looks closed is closed.

Units metres, any frame (whatever frame the keypoints are in).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from handperception.skeleton.parts import palm_label
from handperception.synth.hand_model import Capsules, hand_capsules

# Surface template of a capsule: rings along the cylinder plus latitude rings on each cap.
_AROUND = 12
_CYLINDER_RINGS = 6
_CAP_LATITUDES_DEG = (30.0, 60.0)
# A surface sample counts as exterior when no other capsule contains it by more than this (m):
# neighbouring capsules meet tangentially at joints, where samples sit exactly on both.
_EXTERIOR_TOLERANCE = 1e-4


@lru_cache(maxsize=1)
def _template() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per template point: axial fraction t in [0, 1], axial offset in radii beyond the ends,
    and radial (cos, sin) in radii. Point = a + w (t L + k r) + r (c u + s v)."""
    angles = 2 * np.pi * np.arange(_AROUND) / _AROUND
    cos, sin = np.cos(angles), np.sin(angles)
    t, k, c, s = [], [], [], []
    for fraction in np.linspace(0.0, 1.0, _CYLINDER_RINGS):
        t += [np.full(_AROUND, fraction)]
        k += [np.zeros(_AROUND)]
        c += [cos]
        s += [sin]
    for end, direction in ((0.0, -1.0), (1.0, 1.0)):
        for latitude in np.radians(_CAP_LATITUDES_DEG):
            t += [np.full(_AROUND, end)]
            k += [np.full(_AROUND, direction * np.sin(latitude))]
            c += [cos * np.cos(latitude)]
            s += [sin * np.cos(latitude)]
        t += [np.array([end])]
        k += [np.array([direction])]
        c += [np.zeros(1)]
        s += [np.zeros(1)]
    return tuple(np.concatenate(x) for x in (t, k, c, s))


POINTS_PER_CAPSULE = len(_template()[0])


def _axes(capsules: Capsules) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unit axis w (C, 3), length L (C,), and two unit vectors u, v (C, 3) perpendicular to w."""
    axis = capsules.b - capsules.a
    length = np.linalg.norm(axis, axis=1)
    w = np.where(
        length[:, None] > 1e-12, axis / np.maximum(length, 1e-12)[:, None], [0.0, 0.0, 1.0]
    )
    helper = np.where(np.abs(w[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    u = np.cross(w, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return w, length, u, np.cross(w, u)


def capsule_surface_points(capsules: Capsules) -> np.ndarray:
    """(C, P, 3) metres: the fixed surface template on each capsule (P = POINTS_PER_CAPSULE)."""
    t, k, c, s = _template()
    w, length, u, v = _axes(capsules)
    r = capsules.radius[:, None, None]
    along = t[None, :, None] * length[:, None, None] + k[None, :, None] * r
    around = c[None, :, None] * u[:, None, :] + s[None, :, None] * v[:, None, :]
    return capsules.a[:, None, :] + along * w[:, None, :] + r * around


def capsule_distances(points: np.ndarray, capsules: Capsules) -> np.ndarray:
    """(N, 3) points -> (N, C) signed distance to each capsule, metres, negative inside."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be (N, 3), got {points.shape}")
    axis = capsules.b - capsules.a
    squared = np.einsum("ci,ci->c", axis, axis)
    relative = points[:, None, :] - capsules.a[None]
    t = np.clip(np.einsum("nci,ci->nc", relative, axis) / np.maximum(squared, 1e-24), 0.0, 1.0)
    closest = capsules.a[None] + t[..., None] * axis[None]
    return np.linalg.norm(points[:, None, :] - closest, axis=-1) - capsules.radius[None]


def hand_sdf(points: np.ndarray, capsules: Capsules) -> np.ndarray:
    """(N, 3) points -> (N,) signed distance to the union of the capsules, negative inside.

    Exact outside and on the surface; inside, the min over capsules is the union's SDF up to
    where capsules overlap (then it is still negative, i.e. the occupancy test is exact)."""
    return capsule_distances(points, capsules).min(axis=1)


@dataclass(frozen=True)
class HandSurface:
    """Exterior surface samples of one hand.

    points: (M, 3) metres. labels: (M,) uint8 part labels (hand_model: palm, thumb..little of
    that side). finger: (M,) int, 0..4 thumb..little, -1 palm. capsules: the solid they bound.
    """

    points: np.ndarray
    labels: np.ndarray
    finger: np.ndarray
    capsules: Capsules


def finger_of_labels(labels: np.ndarray, is_left: bool) -> np.ndarray:
    """Part labels of one hand -> finger index 0..4, -1 for the palm."""
    return np.asarray(labels, dtype=np.int64) - palm_label(is_left) - 1


def sample_hand_surface(keypoints: np.ndarray, scale: float, is_left: bool) -> HandSurface:
    """Surface samples of the hand with (21, 3) keypoints (metres) and shape scale.

    Template points of each capsule that lie inside another capsule are dropped, so every
    returned point is on the skin of the union (what an object can touch).
    """
    capsules = hand_capsules(keypoints, scale, is_left)
    per_capsule = capsule_surface_points(capsules)
    points = per_capsule.reshape(-1, 3)
    owner = np.repeat(np.arange(len(capsules.radius)), POINTS_PER_CAPSULE)
    distances = capsule_distances(points, capsules)
    distances[np.arange(len(points)), owner] = np.inf
    exterior = distances.min(axis=1) >= -_EXTERIOR_TOLERANCE
    labels = capsules.label[owner[exterior]]
    return HandSurface(points[exterior], labels, finger_of_labels(labels, is_left), capsules)


def hand_volume_samples(
    capsules: Capsules,
    spacing: float = 0.0025,
    region: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, float]:
    """Points filling the union of capsules, each standing for ``spacing ** 3`` cubic metres.

    A lattice of pitch ``spacing`` in each capsule's own frame, keeping the nodes inside that
    capsule and outside every earlier one, so overlaps are counted once: the union's volume is
    the sum over capsules of (capsule minus the earlier ones). Feed the result to
    ``geometry.contact.interpenetration_volume(points, object_sdf, volume_per_sample)``.

    region: optional (N, 3) -> (N,) bool; only nodes where it is True are kept. Passing "inside
    the object" skips the costly overlap test for the ~all of the hand that cannot count.

    Returns (M, 3) metres (M may be 0) and the volume per sample (cubic metres).
    """
    if not np.isfinite(spacing) or spacing <= 0:
        raise ValueError(f"spacing must be a positive length, got {spacing}")
    w, length, u, v = _axes(capsules)
    kept = []
    for index, radius in enumerate(capsules.radius):
        count = int(np.ceil(2 * radius / spacing))
        across = (np.arange(count) - (count - 1) / 2) * spacing
        along = np.arange(-radius, length[index] + radius + 1e-12, spacing)
        x, y, z = np.meshgrid(across, across, along, indexing="ij")
        local = np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1)
        # Inside this capsule, tested in its own frame (axis along z from 0 to L).
        axial = local[:, 2] - np.clip(local[:, 2], 0.0, length[index])
        local = local[local[:, 0] ** 2 + local[:, 1] ** 2 + axial**2 < radius**2]
        points = (
            capsules.a[index]
            + local[:, :1] * u[index]
            + local[:, 1:2] * v[index]
            + local[:, 2:] * w[index]
        )
        if region is not None:
            points = points[np.asarray(region(points), dtype=bool)]
        if index > 0 and len(points):
            points = points[hand_sdf(points, _subset(capsules, slice(0, index))) >= 0]
        kept.append(points)
    return np.concatenate(kept), float(spacing**3)


def _subset(capsules: Capsules, selection) -> Capsules:
    return Capsules(
        capsules.a[selection],
        capsules.b[selection],
        capsules.radius[selection],
        capsules.label[selection],
    )

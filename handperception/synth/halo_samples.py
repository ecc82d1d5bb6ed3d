"""Training and test samples for HALO: hands from a split, and points near and away from their
skin labelled inside or outside exactly.

Why the capsule solid and not the rendered mesh: HALO learns occupancy, so every training point
needs an inside/outside label, and training draws thousands of hands. The capsules of
``synth.hand_model`` have an exact signed distance: ~3 ms for 2,000 points (``capsule_sdf``).
The skinned WebXR mesh (``synth.hand_mesh``) poses in ~4 ms and stays closed, but labelling
points against it is the problem: ray parity needs trimesh's rtree or embree backends (not
installed) and is wrong wherever skinning makes the surface pass through itself, and the robust
test, the generalised winding number over its 9,256 triangles, measured ~6.7 s per 2,000 points
in numpy on the 2-core CPU (docs/halo.md), two thousand times the capsules' cost. The capsules
are also the solid grasp synthesis tests contact against, so a HALO hand and a synthetic grasp
agree on where the skin is.

Units: metres, any frame (the keypoints'); one hand per call unless a function says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.synth.hand_model import Capsules, hand_capsules
from handperception.synth.scenes import sample_hand
from handperception.synth.splits import SplitSpec

# A surface sample counts as skin when no other capsule contains it by more than this (m).
_SKIN_TOLERANCE = 1e-4
# Point mix of a training example: fraction near the skin (two noise widths, metres for the
# mean hand, scaled with the hand) and the rest uniform in the keypoints' box with a margin.
NEAR_FRACTION = 0.8
NEAR_SIGMAS = (0.002, 0.01)
BOX_MARGIN = 0.03
# Where hands are placed: anywhere in front of a camera (the model must not care).
_PLACEMENT_LOW, _PLACEMENT_HIGH = np.array([-0.3, -0.3, 0.2]), np.array([0.3, 0.3, 1.0])


@dataclass(frozen=True)
class HaloHands:
    """N hands: keypoints (N, 21, 3) metres, scale (N,) the shape's global scale (the capsules'
    radii follow it), is_left (N,) bool."""

    keypoints: np.ndarray
    scale: np.ndarray
    is_left: np.ndarray

    def capsules(self, index: int) -> Capsules:
        return hand_capsules(self.keypoints[index], float(self.scale[index]), self.is_left[index])


def sample_halo_hands(
    rng: np.random.Generator, spec: SplitSpec, partition: str, count: int, place: bool = True
) -> HaloHands:
    """``count`` hands drawn as the renderer's (``synth.scenes.sample_hand``: shape, articulation
    and viewpoint from the split), either side; ``place`` moves each wrist somewhere in front of a
    camera, else it stays at the origin."""
    keypoints, scales, sides = [], [], []
    for _ in range(count):
        is_left = bool(rng.random() < 0.5)
        hand = sample_hand(rng, spec, partition, is_left)
        offset = rng.uniform(_PLACEMENT_LOW, _PLACEMENT_HIGH) if place else np.zeros(3)
        keypoints.append(hand.keypoints()[0] + offset)
        scales.append(float(hand.shape[0, 0]))
        sides.append(is_left)
    return HaloHands(
        np.array(keypoints).reshape(count, 21, 3), np.array(scales), np.array(sides, dtype=bool)
    )


def skin_samples(capsules: Capsules, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 3) points uniformly distributed over the skin (the union's outer surface).

    Uniform on each capsule (cylinder and end caps by area), capsules by area, then the points
    buried in another capsule are rejected.
    """
    axis = capsules.b - capsules.a
    length = np.linalg.norm(axis, axis=1)
    w = axis / np.maximum(length, 1e-12)[:, None]
    w[length < 1e-12] = [0.0, 0.0, 1.0]
    radius = capsules.radius
    areas = 2 * np.pi * radius * length + 4 * np.pi * radius**2
    chunks, found = [], 0
    while found < count:
        draws = max(64, 3 * (count - found))
        owner = rng.choice(len(radius), size=draws, p=areas / areas.sum())
        r, ell, axis_w = radius[owner], length[owner], w[owner]
        normal = rng.normal(size=(draws, 3))
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        # Cylinder points: the normal made perpendicular to the axis, at a uniform position.
        on_cylinder = rng.random(draws) < (ell / (ell + 2 * r))
        perpendicular = normal - np.einsum("ni,ni->n", normal, axis_w)[:, None] * axis_w
        perpendicular /= np.maximum(np.linalg.norm(perpendicular, axis=1, keepdims=True), 1e-12)
        along = rng.random(draws) * ell
        cylinder = capsules.a[owner] + along[:, None] * axis_w + r[:, None] * perpendicular
        # Cap points: a uniform direction, on the cap of the end it points away from.
        forward = np.einsum("ni,ni->n", normal, axis_w) > 0
        end = np.where(forward[:, None], capsules.b[owner], capsules.a[owner])
        cap = end + r[:, None] * normal
        points = np.where(on_cylinder[:, None], cylinder, cap)
        keep = capsule_sdf(points, capsules) >= -_SKIN_TOLERANCE
        chunks.append(points[keep])
        found += int(keep.sum())
    return np.concatenate(chunks)[:count]


def capsule_sdf(points: np.ndarray, capsules: Capsules) -> np.ndarray:
    """(N, 3) points -> (N,) signed distance to the union of the capsules, metres, negative
    inside: ``synth.hand_surface.hand_sdf``'s value (to 1e-12 m), written as (N, C) products of
    coordinates instead of (N, C, 3) temporaries, five times faster (labels are HALO training's
    main cost). Column by column, not ``points @ axes.T``: a threaded BLAS is slower for these
    shapes on a busy machine.
    """
    points = np.asarray(points, dtype=np.float64)
    a, axis = capsules.a, capsules.b - capsules.a
    squared = np.maximum(np.einsum("ci,ci->c", axis, axis), 1e-24)
    # (p - a) . axis and |p - a|^2, both (N, C), with the first capsule's start as origin
    origin = a[0]
    points, a = points - origin, a - origin
    x, y, z = points[:, :1], points[:, 1:2], points[:, 2:]
    along = x * axis[:, 0] + y * axis[:, 1] + z * axis[:, 2] - np.einsum("ci,ci->c", a, axis)
    t = np.clip(along / squared, 0.0, 1.0)
    dot = x * a[:, 0] + y * a[:, 1] + z * a[:, 2]
    to_start = (points**2).sum(1)[:, None] - 2.0 * dot + (a**2).sum(1)[None]
    distance_squared = np.maximum(to_start - 2.0 * t * along + t * t * squared, 0.0)
    return (np.sqrt(distance_squared) - capsules.radius[None]).min(axis=1)


def occupancy_labels(points: np.ndarray, capsules: Capsules) -> np.ndarray:
    """(N,) bool: inside the hand's solid (exact, from the capsules' signed distance)."""
    return capsule_sdf(points, capsules) < 0


def hand_box(keypoints: np.ndarray, scale: float, margin: float = BOX_MARGIN):
    """(low, high) (3,) metres: the keypoints' axis-aligned box grown by ``margin * scale``, which
    holds the whole skin when margin >= 0.015 (the thickest capsule's radius)."""
    return keypoints.min(axis=0) - margin * scale, keypoints.max(axis=0) + margin * scale


def halo_points(
    rng: np.random.Generator,
    keypoints: np.ndarray,
    scale: float,
    is_left: bool,
    count: int,
    near_fraction: float = NEAR_FRACTION,
) -> tuple[np.ndarray, np.ndarray]:
    """One training example: points (count, 3) metres and their occupancy (count,) bool.

    ``near_fraction`` of the points are skin samples moved by Gaussian noise (half of them by
    NEAR_SIGMAS[0], half by NEAR_SIGMAS[1], times the hand's scale), the rest uniform in the
    hand's box (``hand_box``).
    """
    if not 0.0 <= near_fraction <= 1.0:
        raise ValueError(f"near_fraction must be in [0, 1], got {near_fraction}")
    capsules = hand_capsules(keypoints, scale, is_left)
    near = int(round(count * near_fraction))
    skin = skin_samples(capsules, near, rng) if near else np.zeros((0, 3))
    sigma = np.where(np.arange(near) % 2 == 0, NEAR_SIGMAS[0], NEAR_SIGMAS[1]) * scale
    low, high = hand_box(keypoints, scale)
    points = np.concatenate(
        [
            skin + rng.normal(size=skin.shape) * sigma[:, None],
            rng.uniform(low, high, (count - near, 3)),
        ]
    )
    return points, occupancy_labels(points, capsules)


def halo_batch(
    rng: np.random.Generator,
    spec: SplitSpec,
    partition: str,
    hands: int,
    points_per_hand: int,
    near_fraction: float = NEAR_FRACTION,
) -> dict[str, np.ndarray]:
    """A training batch: keypoints (B, 21, 3), is_left (B,), points (B, P, 3) float32,
    occupancy (B, P) float32 in {0, 1}, scale (B,)."""
    sampled = sample_halo_hands(rng, spec, partition, hands)
    points, labels = zip(
        *(
            halo_points(
                rng,
                sampled.keypoints[i],
                float(sampled.scale[i]),
                bool(sampled.is_left[i]),
                points_per_hand,
                near_fraction,
            )
            for i in range(hands)
        )
    )
    return {
        "keypoints": sampled.keypoints.astype(np.float32),
        "is_left": sampled.is_left,
        "points": np.stack(points).astype(np.float32),
        "occupancy": np.stack(labels).astype(np.float32),
        "scale": sampled.scale,
    }

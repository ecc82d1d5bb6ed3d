"""Graspable synthetic objects: watertight meshes with fast signed-distance functions.

Why: grasp synthesis and hand-object scenes need objects whose inside/outside is exact and cheap
to query at 10^5 points (penetration and contact tests), so every primitive carries an analytic
SDF in its own frame; convex hulls use their face planes. Sign convention: negative inside.
Units metres; sizes are household scale (2-30 cm largest extent by default).

Note: trimesh's own ``contains``/``proximity`` need the optional ``rtree`` package, which this
environment lacks, so the mesh-based reference used for checking is the generalised winding
number (``winding_number``), exact for closed meshes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh

KINDS = ("box", "cylinder", "sphere", "capsule", "torus", "convex")


@dataclass(frozen=True)
class ObjectSpec:
    """What to sample: kinds (uniform choice), largest extent range (metres), and the box in which
    the object's centre is placed (metres, world frame; a degenerate box fixes the position)."""

    kinds: tuple[str, ...] = KINDS
    size_range: tuple[float, float] = (0.02, 0.30)
    position_low: tuple[float, float, float] = (0.0, 0.0, 0.0)
    position_high: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if len(self.kinds) == 0:
            raise ValueError("ObjectSpec.kinds is empty")
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown object kinds {unknown}; known: {list(KINDS)}")
        low, high = self.size_range
        if not (np.isfinite(low) and np.isfinite(high) and 0 < low <= high):
            raise ValueError(
                f"ObjectSpec.size_range must satisfy 0 < low <= high, got {self.size_range}"
            )
        pl, ph = np.asarray(self.position_low, float), np.asarray(self.position_high, float)
        if (
            pl.shape != (3,)
            or ph.shape != (3,)
            or not np.all(np.isfinite(pl) & np.isfinite(ph))
            or np.any(pl > ph)
        ):
            raise ValueError(
                "ObjectSpec position box must be two finite 3-vectors with low <= high, "
                f"got {pl}, {ph}"
            )


def check_watertight(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Return ``mesh`` if it is finite and closed with consistent outward winding and a finite
    volume; raise ValueError otherwise (a NaN vertex leaves the topology closed, and the volume
    NaN, which no comparison refuses)."""
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ValueError("expected a non-empty trimesh.Trimesh")
    if not np.all(np.isfinite(mesh.vertices)):
        raise ValueError("mesh has NaN or infinite vertices")
    if not mesh.is_watertight:
        edges = np.sort(mesh.edges, axis=1)
        _, counts = np.unique(edges, axis=0, return_counts=True)
        raise ValueError(
            f"mesh is not watertight: {int(np.sum(counts != 2))} edges are not shared by "
            "exactly two faces"
        )
    if not mesh.is_winding_consistent:
        raise ValueError("mesh is closed but its face winding is inconsistent")
    if not np.isfinite(mesh.volume):
        raise ValueError(f"mesh volume {mesh.volume} overflows: no object is that large")
    if mesh.volume <= 0:
        raise ValueError(f"mesh has non-positive volume {mesh.volume:.3g} (faces point inwards)")
    return mesh


def winding_number(mesh: trimesh.Trimesh, points: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Generalised winding number (Jacobson et al. 2013) of (N, 3) points: ~1 inside, ~0 outside.

    Sum of the signed solid angles of all triangles (Van Oosterom-Strackee formula) / 4 pi.
    O(N * F): the slow, mesh-only reference, not the SDF path.
    """
    points = np.asarray(points, dtype=np.float64)
    tri = mesh.triangles
    total = np.empty(len(points))
    for start in range(0, len(points), chunk):
        a, b, c = (tri[None, :, k, :] - points[start : start + chunk, None, :] for k in range(3))
        la, lb, lc = (np.linalg.norm(v, axis=-1) for v in (a, b, c))
        det = np.einsum("pfi,pfi->pf", a, np.cross(b, c))
        dots = (
            np.einsum("pfi,pfi->pf", a, b) * lc
            + np.einsum("pfi,pfi->pf", b, c) * la
            + np.einsum("pfi,pfi->pf", c, a) * lb
        )
        total[start : start + chunk] = np.arctan2(det, la * lb * lc + dots).sum(axis=1) * 2
    return total / (4 * np.pi)


def _sdf_box(p: np.ndarray, half: np.ndarray) -> np.ndarray:
    q = np.abs(p) - half
    return np.linalg.norm(np.maximum(q, 0.0), axis=1) + np.minimum(q.max(axis=1), 0.0)


def _sdf_cylinder(p: np.ndarray, radius: float, half_height: float) -> np.ndarray:
    """Cylinder along z, centred at the origin."""
    d = np.stack([np.linalg.norm(p[:, :2], axis=1) - radius, np.abs(p[:, 2]) - half_height], axis=1)
    return np.linalg.norm(np.maximum(d, 0.0), axis=1) + np.minimum(d.max(axis=1), 0.0)


def _sdf_capsule(p: np.ndarray, radius: float, half_segment: float) -> np.ndarray:
    """Capsule: points within ``radius`` of the z-axis segment [-half_segment, half_segment]."""
    closest = np.stack(
        [np.zeros(len(p)), np.zeros(len(p)), np.clip(p[:, 2], -half_segment, half_segment)], axis=1
    )
    return np.linalg.norm(p - closest, axis=1) - radius


def _sdf_torus(p: np.ndarray, major: float, minor: float) -> np.ndarray:
    """Torus around the z-axis."""
    ring = np.linalg.norm(p[:, :2], axis=1) - major
    return np.hypot(ring, p[:, 2]) - minor


def _sdf_convex(p: np.ndarray, normals: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """max over face planes of n.p - d: exact inside, a lower bound on the distance outside (exact
    where the closest surface point is inside a face), always of the right sign."""
    return (p @ normals.T - offsets).max(axis=1)


@dataclass
class ObjectSample:
    """One object. ``mesh`` is in the world frame (``local_mesh`` transformed by ``pose``).

    kind: one of KINDS. size: the largest extent of the exact primitive (metres; the tessellated
    mesh's is up to ~1% smaller). params: the primitive's
    dimensions in its own frame (metres). pose: (4, 4) object -> world.
    """

    kind: str
    size: float
    params: dict
    pose: np.ndarray
    local_mesh: trimesh.Trimesh
    mesh: trimesh.Trimesh = field(init=False)

    def __post_init__(self) -> None:
        self.mesh = self.local_mesh.copy()
        self.mesh.apply_transform(self.pose)

    def local_sdf(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) points in the object frame -> (N,) signed distance, metres, negative inside."""
        p, k = points, self.params
        if self.kind == "box":
            return _sdf_box(p, np.asarray(k["extents"]) / 2)
        if self.kind == "cylinder":
            return _sdf_cylinder(p, k["radius"], k["height"] / 2)
        if self.kind == "sphere":
            return np.linalg.norm(p, axis=1) - k["radius"]
        if self.kind == "capsule":
            return _sdf_capsule(p, k["radius"], k["segment"] / 2)
        if self.kind == "torus":
            return _sdf_torus(p, k["major_radius"], k["minor_radius"])
        return _sdf_convex(p, k["normals"], k["offsets"])

    def sdf(self, points_world: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N,) signed distance in metres, negative inside."""
        points = np.asarray(points_world, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"points must have shape (N, 3), got {points.shape}")
        if not np.all(np.isfinite(points)):
            raise ValueError("points contain NaN or infinite values")
        rotation, translation = self.pose[:3, :3], self.pose[:3, 3]
        return self.local_sdf((points - translation) @ rotation)


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniform random rotation from a normalised Gaussian quaternion."""
    quaternion = rng.normal(size=4)
    w, x, y, z = quaternion / np.linalg.norm(quaternion)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _make_primitive(
    kind: str, size: float, rng: np.random.Generator
) -> tuple[dict, trimesh.Trimesh]:
    """Dimensions and object-frame mesh of a primitive whose largest extent is ``size``."""
    if kind == "box":
        extents = rng.permutation(size * np.concatenate([[1.0], rng.uniform(0.2, 1.0, size=2)]))
        return {"extents": extents}, trimesh.creation.box(extents=extents)
    if kind == "sphere":
        return {"radius": size / 2}, trimesh.creation.icosphere(subdivisions=3, radius=size / 2)
    if kind == "cylinder":
        # The largest extent is either the height or the diameter.
        if rng.uniform() < 0.5:
            height, radius = size, size * rng.uniform(0.05, 0.5)
        else:
            radius, height = size / 2, size * rng.uniform(0.1, 1.0)
        return {"radius": radius, "height": height}, trimesh.creation.cylinder(
            radius=radius, height=height, sections=48
        )
    if kind == "capsule":
        radius = size / 2 * rng.uniform(0.15, 0.5)
        segment = size - 2 * radius
        return {"radius": radius, "segment": segment}, trimesh.creation.capsule(
            height=segment, radius=radius, count=[24, 24]
        )
    if kind == "torus":
        minor = size / 2 * rng.uniform(0.1, 0.35)
        major = size / 2 - minor
        mesh = trimesh.creation.torus(
            major_radius=major, minor_radius=minor, major_sections=48, minor_sections=24
        )
        return {"major_radius": major, "minor_radius": minor}, mesh
    points = rng.normal(size=(int(rng.integers(12, 40)), 3)) * rng.uniform(0.3, 1.0, size=3)
    hull = trimesh.convex.convex_hull(points)
    hull.apply_translation(-hull.bounds.mean(axis=0))
    hull.apply_scale(size / hull.extents.max())
    return {
        "normals": hull.face_normals.copy(),
        "offsets": np.einsum("ij,ij->i", hull.face_normals, hull.triangles[:, 0]),
    }, hull


def sample_object(spec: ObjectSpec, seed: int, index: int) -> ObjectSample:
    """Object ``index`` of data set ``seed`` (deterministic): random kind, size and pose."""
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got seed={seed}, index={index}")
    rng = np.random.default_rng([seed, index])
    kind = spec.kinds[int(rng.integers(len(spec.kinds)))]
    size = float(rng.uniform(*spec.size_range))
    params, mesh = _make_primitive(kind, size, rng)
    pose = np.eye(4)
    pose[:3, :3] = _random_rotation(rng)
    pose[:3, 3] = rng.uniform(spec.position_low, spec.position_high)
    return ObjectSample(
        kind=kind, size=size, params=params, pose=pose, local_mesh=check_watertight(mesh)
    )

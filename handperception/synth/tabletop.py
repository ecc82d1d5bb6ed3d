"""A synthetic RGB-D tabletop: a table and 1-4 objects standing on it, seen from above-front by
a pinhole camera, with exact depth and the ground truth (the table's plane, each object's
mesh, centre and height, and which pixel shows what).

Why exact depth and no sensor model: the tabletop pipeline's tests compare recovered planes
and objects with the scene's to millimetres, which only a noiseless depth allows; noise and
holes are for the tests to add on top. The table is a rectangle intersected with every pixel's
ray in closed form (it covers most of the image, and rasterising it would test every one of its
pixels against its triangles); the objects are rasterised (``synth.raster``) and the nearer
surface wins per pixel. Pixels off the table and objects have no depth (0), as beyond a depth
camera's range.

Objects: the engine's primitives (``synth.objects.sample_object``: boxes, cylinders, spheres,
capsules, tori, convex hulls), turned so their longest side stands up (a flat box lying on its
smallest side would hide within the plane's threshold) and about the vertical at random, set
down on the table side by side; or real meshes (``TabletopSpec.mesh_paths``: any file trimesh
loads, e.g. pybullet_data's mug, which is not installed here) scaled to the same sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from handperception.geometry.camera import PinholeCamera
from handperception.synth.objects import ObjectSpec, check_watertight, sample_object
from handperception.synth.raster import rasterize

# Table top: metres along world x (left-right) and y (away from the camera) around the origin;
# world z is up, the table's surface is z = 0.
TABLE_X = (-0.6, 0.6)
TABLE_Y = (-0.35, 0.45)
# Objects stand on slots this far apart along x, each jittered along y: with objects at most
# OBJECT_SIZE wide there are 4 cm between neighbours, twice the pipeline's cluster tolerance.
SLOT_SPACING = 0.16
OBJECT_SIZE = (0.05, 0.12)
TABLE_RGB = (0.55, 0.38, 0.22)
OBJECT_RGB = ((0.85, 0.2, 0.2), (0.2, 0.65, 0.3), (0.2, 0.4, 0.85), (0.9, 0.75, 0.15))
LIGHT = np.array([0.3, -0.4, 1.0]) / np.linalg.norm([0.3, -0.4, 1.0])  # world, towards the light


@dataclass(frozen=True)
class TabletopSpec:
    """objects: how many (1-4; None: 1-4 at random); camera_height, camera_distance: metres of
    the camera above the table and back from the objects' row (0.6, 0.5: looking down about
    50 deg, as a robot's head camera over a table); mesh_paths: real meshes used instead of the
    engine's primitives, in turn (empty: primitives)."""

    objects: int | None = None
    camera_height: float = 0.6
    camera_distance: float = 0.5
    mesh_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.objects is not None and not 1 <= self.objects <= len(OBJECT_RGB):
            raise ValueError(f"objects must be 1..{len(OBJECT_RGB)} or None, got {self.objects}")
        if not (self.camera_height > 0 and self.camera_distance >= 0):
            raise ValueError("camera_height must be > 0 and camera_distance >= 0")


@dataclass(frozen=True)
class TabletopScene:
    """One rendered frame, camera frame (x right, y down, z forward), metres.

    rgb (H, W, 3) uint8; depth (H, W) float32 metres, 0 where nothing is seen; labels (H, W)
    int16: -1 nothing, 0 the table, k + 1 object k; plane_normal (3,) up from the table and
    plane_offset: the table is normal . p + offset = 0; meshes: each object's closed mesh;
    centres (K, 3): their bounding boxes' centres; heights (K,): their tops above the table;
    kinds: their kinds (or mesh file names), left to right in the image.
    """

    rgb: np.ndarray
    depth: np.ndarray
    labels: np.ndarray
    plane_normal: np.ndarray
    plane_offset: float
    meshes: list[trimesh.Trimesh]
    centres: np.ndarray
    heights: np.ndarray
    kinds: list[str]

    def depth_mm(self) -> np.ndarray:
        """The depth as a 16UC1 image: uint16 millimetres, 0 where nothing is seen."""
        return np.round(self.depth * 1000.0).astype(np.uint16)


def _camera_pose(spec: TabletopSpec) -> tuple[np.ndarray, np.ndarray]:
    """(R, C): the optical frame's axes (columns) and origin in the world, looking at the
    origin from ``camera_distance`` back and ``camera_height`` up."""
    position = np.array([0.0, -spec.camera_distance, spec.camera_height])
    forward = -position / np.linalg.norm(position)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward], axis=1), position


def _standing(mesh: trimesh.Trimesh, size: float, yaw: float) -> trimesh.Trimesh:
    """``mesh`` scaled to ``size`` largest extent, its longest side turned vertical, turned by
    ``yaw`` about the vertical, centred on the z axis with its bottom at z = 0."""
    mesh = mesh.copy()
    mesh.apply_translation(-mesh.bounds.mean(axis=0))
    mesh.apply_scale(size / mesh.extents.max())
    longest = int(np.argmax(mesh.extents))
    if longest != 2:  # a quarter turn about the other horizontal axis brings it up
        axis = [0.0, 1.0, 0.0] if longest == 0 else [1.0, 0.0, 0.0]
        mesh.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, axis))
    mesh.apply_transform(trimesh.transformations.rotation_matrix(yaw, [0.0, 0.0, 1.0]))
    low, high = mesh.bounds
    mesh.apply_translation([-(low[0] + high[0]) / 2, -(low[1] + high[1]) / 2, -low[2]])
    return mesh


def _object_meshes(spec: TabletopSpec, rng: np.random.Generator, seed: int) -> list:
    """(kind, world mesh) of each object, left to right on the table."""
    count = spec.objects or int(rng.integers(1, len(OBJECT_RGB) + 1))
    slots = (np.arange(count) - (count - 1) / 2) * SLOT_SPACING
    objects = []
    for index, x in enumerate(slots):
        size = float(rng.uniform(*OBJECT_SIZE))
        if spec.mesh_paths:
            path = spec.mesh_paths[index % len(spec.mesh_paths)]
            kind, mesh = path, trimesh.load(path, force="mesh")
        else:
            sample = sample_object(ObjectSpec(), seed, index)
            kind, mesh = sample.kind, sample.local_mesh
        mesh = _standing(mesh, size, float(rng.uniform(0, 2 * np.pi)))
        mesh.apply_translation([x, rng.uniform(-0.04, 0.04), 0.0])
        objects.append((kind, check_watertight(mesh)))
    return objects


def _table_depth(camera: PinholeCamera, rotation: np.ndarray, position: np.ndarray) -> np.ndarray:
    """(H, W) float32 depth of the table top along each pixel's ray, inf where it misses."""
    cols, rows = np.meshgrid(np.arange(camera.width), np.arange(camera.height))
    rays = np.stack(
        [(cols - camera.cx) / camera.fx, (rows - camera.cy) / camera.fy, np.ones(cols.shape)],
        axis=-1,
    )
    world = rays @ rotation.T  # z = 1 in the camera: t along this ray is the depth
    with np.errstate(divide="ignore"):
        depth = np.where(world[..., 2] < 0, -position[2] / world[..., 2], np.inf)
    hit = position[:2] + depth[..., None] * world[..., :2]
    on_table = (
        (hit[..., 0] >= TABLE_X[0])
        & (hit[..., 0] <= TABLE_X[1])
        & (hit[..., 1] >= TABLE_Y[0])
        & (hit[..., 1] <= TABLE_Y[1])
    )
    return np.where(on_table, depth, np.inf).astype(np.float32)


def render_tabletop(
    camera: PinholeCamera, seed: int = 0, spec: TabletopSpec | None = None
) -> TabletopScene:
    """Scene ``seed`` (deterministic) seen by ``camera``."""
    spec = spec or TabletopSpec()
    rng = np.random.default_rng([seed, 7])
    rotation, position = _camera_pose(spec)
    objects = _object_meshes(spec, rng, seed)
    to_camera = [(mesh.vertices - position) @ rotation for _, mesh in objects]
    face_offsets = np.cumsum([0] + [len(mesh.faces) for _, mesh in objects])
    vertex_offsets = np.cumsum([0] + [len(v) for v in to_camera])
    faces = np.concatenate([mesh.faces + vertex_offsets[i] for i, (_, mesh) in enumerate(objects)])
    raster = rasterize(camera, np.concatenate(to_camera), faces)
    table = _table_depth(camera, rotation, position)
    object_nearer = raster.depth < table
    depth = np.where(object_nearer, raster.depth, table)
    labels = np.where(np.isfinite(table), 0, -1).astype(np.int16)
    owner = np.searchsorted(face_offsets, raster.face, side="right").astype(np.int16)
    labels[object_nearer] = owner[object_nearer]
    world_normals = np.concatenate([mesh.face_normals for _, mesh in objects])
    shade = 0.35 + 0.65 * np.clip(world_normals @ LIGHT, 0.0, 1.0)
    colours = np.array([TABLE_RGB, *OBJECT_RGB], dtype=np.float64)
    rgb = np.zeros((camera.height, camera.width, 3))
    rgb[labels == 0] = colours[0] * (0.35 + 0.65 * LIGHT[2])
    seen = labels > 0
    rgb[seen] = colours[labels[seen]] * shade[raster.face[seen], None]
    normal = rotation.T @ np.array([0.0, 0.0, 1.0])
    meshes = [
        trimesh.Trimesh(vertices, mesh.faces, process=False)
        for vertices, (_, mesh) in zip(to_camera, objects)
    ]
    return TabletopScene(
        rgb=(rgb * 255).round().astype(np.uint8),
        depth=np.where(np.isfinite(depth), depth, 0.0).astype(np.float32),
        labels=labels,
        plane_normal=normal,
        plane_offset=float(position[2]),
        meshes=meshes,
        centres=np.array([mesh.bounds.mean(axis=0) for mesh in meshes]),
        heights=np.array([mesh.bounds[1, 2] for _, mesh in objects]),
        kinds=[kind for kind, _ in objects],
    )

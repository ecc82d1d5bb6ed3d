"""A triangle mesh of a HALO hand: marching cubes over the network's occupancy, coarse to fine.

Why coarse to fine: a dense 128^3 grid is two million network queries for a surface that
crosses a few percent of its cells. The grid is evaluated at ``coarse_resolution`` first; then,
level by level (each halving the spacing), only the cells whose corners straddle the surface
(or come within ``_BAND`` logits of it), grown by one cell, are split and their new corners
queried; everywhere else the values are the trilinear interpolation of the coarser level, which
keeps their sign. Outside the box of those cells nothing is evaluated again: a solid lies
within its surface's bounding box. The final level is exactly the dense grid's resolution, so
marching cubes (scikit-image's Lewiner variant) sees the same surface where it matters at a
fraction of the queries.

The grid is a cube in the wrist frame (``skeleton.frames.wrist_frame``) around the keypoints
with a margin of ``GRID_MARGIN`` times the hand's scale; ``resolution`` is its number of cells per
side (so a dense pass queries ``(resolution + 1) ** 3`` points). The volume is padded with an
outside layer, so the surface is closed: a valid hand gives a watertight mesh.

Units: metres, vertices in the keypoints' frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from handperception.models.halo.network import FLOOR
from handperception.models.halo.validity import hand_keypoint_problem
from handperception.skeleton.definition import BONES, NUM_JOINTS
from handperception.skeleton.frames import wrist_frame
from handperception.skeleton.kinematics import MEAN_BONE_LENGTHS

# Grid margin around the keypoints (metres for the mean hand, times the hand's scale): the
# thickest part of the synthetic skin is 1.4 cm from its bone.
GRID_MARGIN = 0.025
RESOLUTION_LIMITS = (4, 512)
# A cell is refined when its corners' logits straddle 0 or come within this of it.
_BAND = 1.0
# The first levels' active cells grow by one cell (a surface between two coarse samples is
# caught by its neighbour); finer levels refine only where the surface is.
_DILATED_LEVELS = 0
# Finer levels split a cell's children only where the interpolated values come within this
# many logits of the surface.
_CHILD_BAND = 0.5
# Points per network call (memory stays under ~100 MB for any resolution).
_CHUNK = 65536


@dataclass
class HandSurfaceMesh:
    """One hand's surface: vertices (V, 3) float64 metres in the keypoints' frame, faces (F, 3)
    int64 counter-clockwise seen from outside, queries (points the network evaluated), watertight
    (every edge shared by exactly two faces). Empty arrays when nothing was inside the grid."""

    vertices: np.ndarray
    faces: np.ndarray
    queries: int
    watertight: bool

    def to_trimesh(self):
        """The mesh as a ``trimesh.Trimesh`` (vertices kept as they are)."""
        import trimesh

        return trimesh.Trimesh(self.vertices, self.faces, process=False)


@dataclass(frozen=True)
class _Grid:
    """A cube of ``cells`` cells per side: index (i, j, k) at the finest level is the point
    origin + axes @ (spacing * (i, j, k)) (axes: a rotation, columns the grid's axes); low and
    high (3,) bound, in finest-level indices, the keypoints' box with its margin."""

    origin: np.ndarray
    axes: np.ndarray
    spacing: float
    cells: int
    low: np.ndarray
    high: np.ndarray

    def points(self, index: np.ndarray, step: int, dtype=np.float64) -> np.ndarray:
        """(N, 3) metres of (N, 3) indices at a level whose spacing is ``step`` finest cells."""
        # Column by column: a (N, 3) @ (3, 3) product goes through a threaded BLAS that is
        # slower than this for any N on a busy machine.
        axes = (self.axes * (step * self.spacing)).astype(dtype)
        index = np.asarray(index, dtype=dtype)
        return (
            self.origin.astype(dtype)
            + index[:, :1] * axes[:, 0]
            + index[:, 1:2] * axes[:, 1]
            + index[:, 2:] * axes[:, 2]
        )


def extract_mesh(
    model,
    keypoints,
    is_left: bool,
    resolution: int = 128,
    coarse_resolution: int = 32,
    device: str | torch.device = "cpu",
) -> HandSurfaceMesh:
    """The surface of the hand with these (21, 3) keypoints (metres) by coarse-to-fine marching
    cubes at an effective ``resolution`` cells per side. ``resolution`` must be
    ``coarse_resolution`` times a power of two. The model must already be on ``device``.

    Raises ValueError(reason) for keypoints ``hand_keypoint_problem`` refuses.
    """
    keypoints = _checked_keypoints(keypoints)
    levels = _levels(resolution, coarse_resolution)
    grid = _grid(keypoints, resolution)
    query = _Queries(model, grid, keypoints, is_left, device)
    cells, step = coarse_resolution, 2**levels
    # The coarse level is queried inside the keypoints' own box only (the cube is as wide as the
    # hand is long); the rest of the cube is farther from every keypoint than any skin.
    low = np.clip(np.floor(grid.low / step).astype(int), 0, cells)
    high = np.clip(np.ceil(grid.high / step).astype(int), 0, cells)
    axes = [np.arange(a, b + 1) for a, b in zip(low, high)]
    index = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    values = np.full((cells + 1,) * 3, FLOOR, dtype=np.float32)
    box = tuple(slice(a, b + 1) for a, b in zip(low, high))
    values[box] = query(index, step).reshape(values[box].shape)
    exact = np.ones(values.shape, dtype=bool)
    offset = np.zeros(3, dtype=np.int64)
    for level in range(levels):
        active = _active_cells(values, dilate=level < _DILATED_LEVELS)
        if not active.any():
            return _empty(query.count)
        low = np.argwhere(active).min(axis=0)
        high = np.argwhere(active).max(axis=0) + 1
        box = tuple(slice(a, b + 1) for a, b in zip(low, high))
        values, exact, active = (
            values[box],
            exact[box],
            active[tuple(slice(a, b) for a, b in zip(low, high))],
        )
        offset = 2 * (offset + low)
        step //= 2
        values, exact = _refine(
            values,
            exact,
            active,
            lambda idx, o=offset, s=step: query(idx + o, s),
            cull=level >= _DILATED_LEVELS,
        )
    return _surface(values, grid, offset, query.count)


def extract_mesh_dense(
    model,
    keypoints,
    is_left: bool,
    resolution: int = 128,
    device: str | torch.device = "cpu",
) -> HandSurfaceMesh:
    """The same surface from every point of the ``resolution`` grid, (resolution + 1) ** 3
    queries: the reference coarse-to-fine extraction is measured against."""
    keypoints = _checked_keypoints(keypoints)
    _levels(resolution, resolution)
    grid = _grid(keypoints, resolution)
    query = _Queries(model, grid, keypoints, is_left, device)
    axis = np.arange(resolution + 1)
    values = np.empty((resolution + 1,) * 3, dtype=np.float32)
    for i in range(resolution + 1):  # one slab at a time keeps the index arrays small
        index = np.stack(np.meshgrid([i], axis, axis, indexing="ij"), -1).reshape(-1, 3)
        values[i] = query(index, 1).reshape(resolution + 1, resolution + 1)
    return _surface(values, grid, np.zeros(3, dtype=np.int64), query.count)


class _Queries:
    """The network's logits at grid indices, counting the points asked. A model with HaloNet's
    ``encode``/``decode`` encodes the hand once for all levels; any other callable
    ``model(points, keypoints, is_left)`` works too."""

    def __init__(self, model, grid: _Grid, keypoints: np.ndarray, is_left: bool, device):
        self.model, self.grid, self.device = model, grid, torch.device(device)
        self.keypoints = torch.as_tensor(keypoints, dtype=torch.float32, device=self.device)[None]
        self.is_left = torch.tensor([bool(is_left)], device=self.device)
        self.encoded = None
        self.count = 0

    def __call__(self, index: np.ndarray, step: int) -> np.ndarray:
        points = self.grid.points(index, step, np.float32)  # the network's precision
        self.count += len(points)
        out = np.empty(len(points), dtype=np.float32)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(points), _CHUNK):
                    chunk = torch.as_tensor(
                        points[start : start + _CHUNK], dtype=torch.float32, device=self.device
                    )[None]
                    out[start : start + chunk.shape[1]] = self._logits(chunk).float().cpu().numpy()
        finally:
            self.model.train(was_training)
        return out

    def _logits(self, points: torch.Tensor) -> torch.Tensor:
        if not hasattr(self.model, "encode"):
            return self.model(points, self.keypoints, self.is_left)[0]
        if self.encoded is None:
            self.encoded = self.model.encode(self.keypoints, self.is_left)
        return self.model.decode(points, self.encoded)[0]


def _checked_keypoints(keypoints) -> np.ndarray:
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.shape != (NUM_JOINTS, 3):
        raise ValueError(f"keypoints must be (21, 3) metres, got shape {keypoints.shape}")
    reason = hand_keypoint_problem(keypoints)
    if reason is not None:
        raise ValueError(reason)
    return keypoints


def _levels(resolution: int, coarse_resolution: int) -> int:
    """How many halvings take ``coarse_resolution`` to ``resolution``; ValueError unless it is a
    whole number and both lie in RESOLUTION_LIMITS."""
    low, high = RESOLUTION_LIMITS
    for name, value in (("resolution", resolution), ("coarse_resolution", coarse_resolution)):
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"{name} must be an integer in {low}..{high}, got {value!r:.40}")
    ratio = resolution // coarse_resolution
    if ratio * coarse_resolution != resolution or ratio & (ratio - 1):
        raise ValueError(
            f"resolution ({resolution}) must be coarse_resolution ({coarse_resolution}) times a "
            "power of two"
        )
    return ratio.bit_length() - 1


def _grid(keypoints: np.ndarray, resolution: int) -> _Grid:
    """The cube in the wrist frame around the keypoints, GRID_MARGIN * scale beyond them."""
    rotation, wrist = wrist_frame(keypoints)
    parents = [parent for parent, _ in BONES]
    children = [child for _, child in BONES]
    lengths = np.linalg.norm(keypoints[children] - keypoints[parents], axis=1)
    scale = lengths.sum() / MEAN_BONE_LENGTHS.sum()
    local = (keypoints - wrist) @ rotation
    low = local.min(axis=0) - GRID_MARGIN * scale
    high = local.max(axis=0) + GRID_MARGIN * scale
    side = float((high - low).max())
    corner = (low + high) / 2 - side / 2
    spacing = side / resolution
    return _Grid(
        wrist + rotation @ corner,
        rotation,
        spacing,
        resolution,
        (low - corner) / spacing,
        (high - corner) / spacing,
    )


def _active_cells(values: np.ndarray, dilate: bool = True, band: float = _BAND) -> np.ndarray:
    """(nx, ny, nz) bool: cells of a (nx + 1, ny + 1, nz + 1) volume whose corners straddle the
    surface or come within ``band`` of it, grown by one cell in every direction if ``dilate``."""
    near = _cells_with_both(values > -band, values < band)
    if not dilate:
        return near
    grown = F.max_pool3d(torch.from_numpy(near.astype(np.float32))[None, None], 3, 1, 1)
    return grown[0, 0].numpy() > 0


def _any_corner(flags: np.ndarray) -> np.ndarray:
    """(nx, ny, nz) bool: cells of a (nx + 1, ny + 1, nz + 1) bool volume of points with a
    corner where it holds. One axis at a time (three ORs, not seven over the eight corners'
    strided views): three times faster, and several times faster than pooling."""
    pairs = flags[:-1] | flags[1:]
    pairs = pairs[:, :-1] | pairs[:, 1:]
    return pairs[:, :, :-1] | pairs[:, :, 1:]


def _cells_with_both(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Cells with a corner where ``first`` holds and a corner where ``second`` does (bool
    volumes of points; on bytes, four times less memory to sweep than the values' extremes)."""
    return _any_corner(first) & _any_corner(second)


def _cell_corners(cells: np.ndarray) -> np.ndarray:
    """(nx + 1, ny + 1, nz + 1) bool: the points that are a corner of some marked cell (grown
    one axis at a time, as ``_any_corner``)."""
    points = cells
    for axis in range(3):
        shape = list(points.shape)
        shape[axis] += 1
        grown = np.zeros(shape, dtype=bool)
        low = [slice(None)] * 3
        high = [slice(None)] * 3
        low[axis], high[axis] = slice(None, -1), slice(1, None)
        grown[tuple(low)] = points
        grown[tuple(high)] |= points
        points = grown
    return points


def _refine(
    values: np.ndarray,
    exact: np.ndarray,
    active: np.ndarray,
    query: Callable[[np.ndarray], np.ndarray],
    cull: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """One level finer: the volume (2n + 1 points per side) interpolated from ``values``, with
    every corner of an ``active`` cell's children that is not yet exact queried; with ``cull``
    only of the children whose interpolated corners come within _CHILD_BAND of the surface."""
    shape = tuple(2 * s - 1 for s in values.shape)
    volume = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))[None, None]
    fine = F.interpolate(volume, size=shape, mode="trilinear", align_corners=True)[0, 0].numpy()
    fine_exact = np.zeros(shape, dtype=bool)
    fine_exact[::2, ::2, ::2] = exact
    children = active.repeat(2, axis=0).repeat(2, axis=1).repeat(2, axis=2)
    if cull:
        children &= _active_cells(fine, False, _CHILD_BAND)
    todo = _cell_corners(children)
    todo &= ~fine_exact
    flat = np.flatnonzero(todo)
    if len(flat):
        fine.reshape(-1)[flat] = query(np.stack(np.unravel_index(flat, shape), axis=1))
    return fine, fine_exact | todo


def _surface(values: np.ndarray, grid: _Grid, offset: np.ndarray, queries: int) -> HandSurfaceMesh:
    """Marching cubes of the zero level of ``values`` (finest-level points from ``offset``),
    padded with an outside layer so the surface is closed; only cells that straddle the level
    are visited (``mask``, a quarter of the time of the whole volume)."""
    from skimage.measure import marching_cubes

    if not (values.max() > 0 > values.min()):
        return _empty(queries)
    outside = min(float(values.min()), -1.0)
    padded = np.pad(values, 1, constant_values=outside)
    # skimage wants every corner of a cell marked
    mask = _cell_corners(_cells_with_both(padded > 0, padded <= 0))
    vertices, faces, _, _ = marching_cubes(
        padded, level=0.0, gradient_direction="ascent", mask=mask
    )
    index = vertices.astype(np.float64) - 1.0 + offset
    vertices = grid.points(index, 1)
    faces = faces.astype(np.int64)
    if not np.isfinite(vertices).all():  # cannot happen for finite logits; never publish NaN
        return _empty(queries)
    return HandSurfaceMesh(vertices, faces, int(queries), _closed(faces, len(vertices)))


def _closed(faces: np.ndarray, count: int) -> bool:
    """Watertight: every edge is shared by exactly two faces (and there is at least one)."""
    if len(faces) == 0:
        return False
    following = np.roll(faces, -1, axis=1)  # each face's edges (0, 1), (1, 2), (2, 0)
    # 32-bit keys where they fit: a third faster to sort
    dtype = np.int32 if count * count < 2**31 else np.int64
    faces, following = faces.astype(dtype), following.astype(dtype)
    keys = np.minimum(faces, following) * dtype(count) + np.maximum(faces, following)
    keys = np.sort(keys.ravel())
    # sorted, every key exactly twice: an even count, pairs (0, 1), (2, 3), ... equal and
    # neighbouring pairs different
    return bool(
        len(keys) % 2 == 0
        and (keys[0::2] == keys[1::2]).all()
        and (keys[1:-1:2] != keys[2::2]).all()
    )


def _empty(queries: int) -> HandSurfaceMesh:
    return HandSurfaceMesh(
        np.zeros((0, 3), dtype=np.float64), np.zeros((0, 3), dtype=np.int64), int(queries), False
    )

"""Z-buffered rasterisation of triangle meshes under a pinhole camera (vectorised numpy).

Why numpy and no graphics library: it runs wherever the project runs (no OpenGL context, no GPU,
no native build), and meshes of a few thousand triangles covering a few thousand pixels each
are a handful of array operations: every (triangle, pixel of its bounding box) pair is tested
at once with precomputed edge equations, and the nearest surface per pixel wins through one
``np.minimum.at``.

Conventions: pixel centres at integer coordinates (OpenCV, like ``geometry.camera``); a pixel is
covered when its centre lies inside the projected triangle; depth is z along the optical axis,
interpolated perspective-correctly (1/z is linear across the image), and so are the
barycentric weights returned for attribute interpolation. Back faces (seen from behind) are
culled: meshes must be closed and their faces counter-clockwise seen from outside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.geometry.camera import PinholeCamera

# Triangles with a corner nearer than this (metres) are dropped rather than clipped; the
# renderer keeps its surfaces farther away.
NEAR = 0.01
# (triangle, pixel) pairs tested at once: per-pair temporaries of ~256 KiB stay in the cache.
_CHUNK_PAIRS = 1 << 16


@dataclass(frozen=True)
class Raster:
    """The visible surface. depth (H, W) float32 metres, +inf where empty; face (H, W) int32
    index of the visible triangle, -1 where empty; rows, cols (M,) the covered pixels, row-major;
    barycentric (M, 3) float32 perspective-correct weights of the visible triangle's corners
    there (rows sum to 1)."""

    depth: np.ndarray
    face: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    barycentric: np.ndarray


def rasterize(camera: PinholeCamera, vertices: np.ndarray, faces: np.ndarray) -> Raster:
    """The nearest front-facing triangle per pixel of `vertices` (V, 3) metres, camera frame,
    and `faces` (F, 3) vertex indices."""
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    height, width = camera.height, camera.width
    depth = np.full(height * width, np.inf, dtype=np.float32)
    owner = np.full(height * width, -1, dtype=np.int32)
    weights = np.zeros((height * width, 2), dtype=np.float32)
    corners = vertices[faces]
    normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    front = (np.einsum("ij,ij->i", normal, corners[:, 0]) < 0) & (corners[:, :, 2] > NEAR).all(1)
    index = np.flatnonzero(front)
    corners = corners[index]
    z = corners[:, :, 2]
    x = camera.fx * corners[:, :, 0] / z + camera.cx
    y = camera.fy * corners[:, :, 1] / z + camera.cy
    left = np.maximum(np.ceil(x.min(1)), 0).astype(np.int64)
    right = np.minimum(np.floor(x.max(1)), width - 1).astype(np.int64)
    top = np.maximum(np.ceil(y.min(1)), 0).astype(np.int64)
    bottom = np.minimum(np.floor(y.max(1)), height - 1).astype(np.int64)
    box_width = np.maximum(right - left + 1, 0)
    counts = box_width * np.maximum(bottom - top + 1, 0)
    keep = np.flatnonzero(counts > 0)
    plane = _edge_planes(x[keep], y[keep], 1.0 / z[keep])
    index, counts, box_width = index[keep], counts[keep], box_width[keep]
    left, top = left[keep], top[keep]
    ends = np.cumsum(counts)
    bounds = np.searchsorted(
        ends, np.arange(_CHUNK_PAIRS, ends[-1] if len(ends) else 0, _CHUNK_PAIRS)
    )
    starts = np.concatenate([[0], bounds])
    stops = np.concatenate([bounds, [len(counts)]])
    for start, stop in zip(starts, stops):
        if stop > start:
            part = slice(start, stop)
            _draw(
                plane[part],
                index[part],
                counts[part],
                box_width[part],
                left[part],
                top[part],
                width,
                depth,
                owner,
                weights,
            )
    pixels = np.flatnonzero(owner >= 0)
    barycentric = np.empty((len(pixels), 3), dtype=np.float32)
    barycentric[:, :2] = weights[pixels]
    barycentric[:, 2] = 1.0 - barycentric[:, 0] - barycentric[:, 1]
    rows, cols = np.divmod(pixels, width)
    return Raster(
        depth.reshape(height, width), owner.reshape(height, width), rows, cols, barycentric
    )


def _edge_planes(x: np.ndarray, y: np.ndarray, inverse_z: np.ndarray) -> np.ndarray:
    """(T, 9) per triangle with projected corners x, y (T, 3) and their 1/z (T, 3): the
    screen-space barycentric weights of corners 0 and 1 as planes a u + b v + c over pixel
    (u, v), then the corners' 1/z: columns (a0, b0, c0, a1, b1, c1, 1/z0, 1/z1, 1/z2).

    Weight i is the signed area of the triangle the pixel makes with the opposite edge over the
    whole triangle's, linear in (u, v); corner 2's is 1 minus the others.
    """
    area = (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (x[:, 2] - x[:, 0]) * (y[:, 1] - y[:, 0])
    columns = []
    for i in range(2):
        j, k = (i + 1) % 3, (i + 2) % 3
        columns += [
            (y[:, j] - y[:, k]) / area,
            (x[:, k] - x[:, j]) / area,
            (x[:, j] * y[:, k] - x[:, k] * y[:, j]) / area,
        ]
    return np.stack(columns + [inverse_z[:, 0], inverse_z[:, 1], inverse_z[:, 2]], axis=1)


def _draw(
    plane: np.ndarray,
    face: np.ndarray,
    counts: np.ndarray,
    box_width: np.ndarray,
    left: np.ndarray,
    top: np.ndarray,
    width: int,
    depth: np.ndarray,
    owner: np.ndarray,
    weights: np.ndarray,
) -> None:
    """Test every pixel of the triangles' boxes (counts (T,) pixels, box_width (T,) wide, from
    column left and row top) and z-buffer the covered ones into the flat buffers, in place.

    Per-triangle values reach their pixels by np.repeat (pixels are grouped by triangle), which
    is several times faster than gathering by index. A pixel at least as near as anything drawn
    so far is written; a later chunk may still cover it, leaving the nearest surface at the end.
    """
    total = int(counts.sum())
    triangle = np.repeat(np.arange(len(counts)), counts)
    offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    row_in_box, col_in_box = np.divmod(offset, np.repeat(box_width, counts))
    u = (np.repeat(left, counts) + col_in_box).astype(np.float64)
    v = (np.repeat(top, counts) + row_in_box).astype(np.float64)

    def per_pixel(column: int) -> np.ndarray:
        return np.repeat(plane[:, column], counts)

    w0 = per_pixel(0) * u + per_pixel(1) * v + per_pixel(2)
    w1 = per_pixel(3) * u + per_pixel(4) * v + per_pixel(5)
    inside = np.flatnonzero((w0 >= 0) & (w1 >= 0) & (w0 + w1 <= 1))
    if len(inside) == 0:
        return
    u, v, w0, w1, triangle = u[inside], v[inside], w0[inside], w1[inside], triangle[inside]
    corner_iz = plane[triangle, 6:]
    # 1/z is linear in screen space: its value is the screen weights' mix of the corners'.
    weighted = np.stack(
        [w0 * corner_iz[:, 0], w1 * corner_iz[:, 1], (1.0 - w0 - w1) * corner_iz[:, 2]], axis=1
    )
    inverse_z = weighted.sum(axis=1)
    z = (1.0 / inverse_z).astype(np.float32)
    pixel = v.astype(np.int64) * width + u.astype(np.int64)
    np.minimum.at(depth, pixel, z)
    won = np.flatnonzero(z <= depth[pixel])
    pixel = pixel[won]
    owner[pixel] = face[triangle[won]]
    # Perspective-correct weights: each corner's screen weight times its 1/z, renormalised.
    weights[pixel] = weighted[won, :2] / inverse_z[won, None]

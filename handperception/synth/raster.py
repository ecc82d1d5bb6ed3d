"""Z-buffered ray casting of capsules under a pinhole camera (vectorised numpy).

Why ray casting instead of meshes: capsule/ray intersection is closed form, so the whole hand
is a few array operations over the pixels a capsule can cover, fast enough on a CPU to make
training data on the fly, and exact (no tessellation) for depth, normals and labels.

Why per-row footprints: the cost is the number of (capsule, pixel) candidates tested. Fingers
are long, thin and mostly diagonal in the image, so their axis-aligned boxes are mostly empty;
each capsule's image is instead bounded by a stadium (all pixels within a conservative radius
of its projected axis) and only the pixels of that stadium's row spans are tested.

Rays use the direction (x, y, 1) = K^-1 [u, v, 1] from the camera centre, so the ray parameter
of a hit *is* its depth z in metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.synth.hand_model import BACKGROUND, Capsules

# Extra pixels around each footprint: the bound is exact in real numbers, this absorbs rounding.
_FOOTPRINT_MARGIN_PX = 1.0


@dataclass(frozen=True)
class Raster:
    """Per-pixel result: depth (H, W) float32 metres (+inf where nothing was hit), label (H, W)
    uint8, capsule (H, W) int32 index of the visible capsule (-1 on background), normal (H, W, 3)
    float32 unit camera-frame normals (zero on background)."""

    depth: np.ndarray
    label: np.ndarray
    capsule: np.ndarray
    normal: np.ndarray


@dataclass(frozen=True)
class _Spans:
    """S horizontal pixel runs, one per (capsule, row) a capsule may cover: capsule (S,), row
    (S,), first and last (S,) columns (inclusive; last < first = empty), all int32."""

    capsule: np.ndarray
    row: np.ndarray
    first: np.ndarray
    last: np.ndarray

    def part(self, start: int, stop: int) -> "_Spans":
        return _Spans(
            self.capsule[start:stop],
            self.row[start:stop],
            self.first[start:stop],
            self.last[start:stop],
        )


def _footprint_spans(camera: PinholeCamera, capsules: Capsules) -> _Spans:
    """Row spans of each capsule's stadium footprint, clipped to the image.

    A hit X lies within r of some axis point Q, and projecting moves it at most
    f |X - Q| sqrt(1 + |Q_xy / Q_z|^2) / (Q_z - r) pixels from Q's image (f the larger focal
    length). |Q_xy / Q_z| is largest at an end (the image of a segment is a segment) and
    Q_z >= min(z_a, z_b), so one radius R per capsule bounds the silhouette by the stadium of
    radius R around the projected axis. The stadium is convex and is the union of the discs at
    its ends and the rectangle between them, so its span on a row runs from the least to the
    greatest x of those three pieces on that row.
    """
    focal = np.array([camera.fx, camera.fy])
    principal = np.array([camera.cx, camera.cy])
    slope_a = capsules.a[:, :2] / capsules.a[:, 2:]
    slope_b = capsules.b[:, :2] / capsules.b[:, 2:]
    ends_a, ends_b = focal * slope_a + principal, focal * slope_b + principal
    tilt = np.sqrt(1.0 + np.maximum((slope_a**2).sum(1), (slope_b**2).sum(1)))
    nearest = np.minimum(capsules.a[:, 2], capsules.b[:, 2]) - capsules.radius
    reach = focal.max() * capsules.radius * tilt / nearest + _FOOTPRINT_MARGIN_PX

    top = np.maximum(np.ceil(np.minimum(ends_a[:, 1], ends_b[:, 1]) - reach), 0).astype(np.int64)
    bottom = np.minimum(
        np.floor(np.maximum(ends_a[:, 1], ends_b[:, 1]) + reach), camera.height - 1
    ).astype(np.int64)
    rows_per = np.maximum(bottom - top + 1, 0)
    capsule = np.repeat(np.arange(len(reach)), rows_per)
    row = (
        top[capsule] + np.arange(len(capsule)) - np.repeat(np.cumsum(rows_per) - rows_per, rows_per)
    )
    y, radius = row.astype(np.float64), reach[capsule]
    end_a, end_b = ends_a[capsule], ends_b[capsule]

    low, high = _disc_row_span(end_a, radius, y)
    low_b, high_b = _disc_row_span(end_b, radius, y)
    axis = end_b - end_a
    length = np.linalg.norm(axis, axis=1, keepdims=True)
    # Unit normal of the projected axis; an axis pointing at the camera projects to a point,
    # where the discs alone cover the footprint and any direction will do.
    normal = np.where(
        length > 1e-9, axis[:, ::-1] * [-1.0, 1.0] / np.maximum(length, 1e-9), [1.0, 0.0]
    )
    offset = radius[:, None] * normal
    corners = (end_a + offset, end_b + offset, end_b - offset, end_a - offset)
    low_r, high_r = _polygon_row_span(corners, y)
    first = np.ceil(np.minimum(np.minimum(low, low_b), low_r))
    last = np.floor(np.maximum(np.maximum(high, high_b), high_r))
    first = np.clip(first, 0, camera.width).astype(np.int32)
    last = np.clip(last, -1, camera.width - 1).astype(np.int32)
    return _Spans(capsule.astype(np.int32), row.astype(np.int32), first, last)


def _disc_row_span(
    centre: np.ndarray, radius: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """x range of discs (centre (S, 2), radius (S,)) on rows y (S,); (+inf, -inf) where missed."""
    half_sq = radius**2 - (y - centre[:, 1]) ** 2
    half = np.sqrt(np.maximum(half_sq, 0.0))
    hit = half_sq >= 0
    return np.where(hit, centre[:, 0] - half, np.inf), np.where(hit, centre[:, 0] + half, -np.inf)


def _polygon_row_span(
    corners: tuple[np.ndarray, ...], y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """x range of convex polygons (corners: K arrays (S, 2) in order) on rows y (S,).

    The row meets the boundary where it crosses an edge; horizontal edges are skipped (their
    ends belong to the neighbouring edges). (+inf, -inf) where the row misses the polygon.
    """
    low, high = np.full(len(y), np.inf), np.full(len(y), -np.inf)
    for start, end in zip(corners, corners[1:] + corners[:1]):
        rise = end[:, 1] - start[:, 1]
        crossed = (
            (np.minimum(start[:, 1], end[:, 1]) <= y)
            & (y <= np.maximum(start[:, 1], end[:, 1]))
            & (rise != 0)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            x = start[:, 0] + (y - start[:, 1]) * (end[:, 0] - start[:, 0]) / rise
        low = np.where(crossed, np.minimum(low, x), low)
        high = np.where(crossed, np.maximum(high, x), high)
    return low, high


@dataclass(frozen=True)
class _Axes:
    """Per-capsule constants of the ray test (C capsules, metres, float64): unit axis u (C, 3),
    length (C,), offset (C,) = u . a, perp (C, 3) = a_perp, the axis line's point nearest the
    camera, across (C, 3) = u x a_perp, qc (C,) = |a_perp|^2 - r^2, radius_sq (C,), and caps
    (5, 2C) float32 rows x, y, z, r^2, |c|^2 - r^2 of the end spheres a_0, b_0, a_1, b_1, ..."""

    unit: np.ndarray
    length: np.ndarray
    offset: np.ndarray
    perp: np.ndarray
    across: np.ndarray
    qc: np.ndarray
    radius_sq: np.ndarray
    caps: np.ndarray

    @staticmethod
    def of(capsules: Capsules) -> "_Axes":
        a, b, radius_sq = capsules.a, capsules.b, capsules.radius**2
        length = np.linalg.norm(b - a, axis=1)
        # A zero-length capsule is a sphere: u = 0 makes every ray miss the "cylinder" sides.
        unit = (b - a) / np.maximum(length, 1e-12)[:, None]
        offset = np.einsum("ij,ij->i", unit, a)
        perp = a - offset[:, None] * unit
        centre = np.stack([a, b], axis=1).reshape(-1, 3)
        cap_sq = np.repeat(radius_sq, 2)
        caps = np.column_stack([centre, cap_sq, (centre**2).sum(1) - cap_sq]).T.astype(np.float32)
        qc = (perp**2).sum(1) - radius_sq
        # u x a_perp, written out: np.cross costs more than the rest of this method.
        across = unit[:, [1, 2, 0]] * perp[:, [2, 0, 1]] - unit[:, [2, 0, 1]] * perp[:, [1, 2, 0]]
        return _Axes(unit, length, offset, perp, across, qc, radius_sq, caps)


# Pairs tested at once: each per-pair temporary then stays ~64 KiB, inside the L2 cache and
# below malloc's mmap threshold, so it is reused rather than page-faulted in afresh (a fault
# costs ~3 us on a small VM, more than the arithmetic on its 4 KiB).
_CHUNK_PAIRS = 1 << 14


def rasterize_capsules(camera: PinholeCamera, capsules: Capsules) -> Raster:
    """Nearest capsule surface per pixel. Capsules must be entirely in front of the camera."""
    if np.any(capsules.a[:, 2] - capsules.radius <= 0) or np.any(
        capsules.b[:, 2] - capsules.radius <= 0
    ):
        raise ValueError("capsules must lie entirely in front of the camera (z - r > 0)")
    height, width = camera.height, camera.width
    raster = Raster(
        np.full((height, width), np.inf, dtype=np.float32),
        np.full((height, width), BACKGROUND, dtype=np.uint8),
        np.full((height, width), -1, dtype=np.int32),
        np.zeros((height, width, 3), dtype=np.float32),
    )
    spans = _footprint_spans(camera, capsules)
    if len(spans.row) == 0:
        return raster
    axes = _Axes.of(capsules)
    counts = np.maximum(spans.last - spans.first + 1, 0)
    ends = np.cumsum(counts)
    bounds = np.searchsorted(ends, np.arange(_CHUNK_PAIRS, ends[-1], _CHUNK_PAIRS), side="right")
    for start, stop in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(counts)]])):
        if stop > start and ends[stop - 1] > (ends[start - 1] if start else 0):
            _draw_spans(camera, capsules, axes, spans.part(start, stop), counts[start:stop], raster)
    return raster


def _draw_spans(
    camera: PinholeCamera,
    capsules: Capsules,
    axes: _Axes,
    spans: "_Spans",
    counts: np.ndarray,
    raster: Raster,
) -> None:
    """Z-buffer the pixels of `spans` (counts (S,) pixels each) into `raster`, in place.

    Writes the labels, capsule and normal of every hit at least as near as anything drawn so
    far; a later call may still cover it, which leaves the nearest surface's values at the end.
    """
    # The (capsule, pixel) pairs of the spans in order, capsule by capsule; int32 halves the
    # memory traffic of int64 and pixel indices stay far below 2^31.
    total = int(counts.sum())
    owner = np.repeat(spans.capsule, counts)
    py = np.repeat(spans.row, counts)
    px = np.repeat(spans.first - (np.cumsum(counts, dtype=np.int32) - counts), counts) + np.arange(
        total, dtype=np.int32
    )
    t = _ray_capsule_depth(camera, axes, spans, counts, px, py, owner)
    hit = np.flatnonzero(np.isfinite(t))
    owner, t, px, py = owner[hit], t[hit], px[hit], py[hit]
    pixel = py * camera.width + px
    depth = raster.depth.reshape(-1)
    np.minimum.at(depth, pixel, t)
    front = np.flatnonzero(t <= depth[pixel])
    pixel, owner = pixel[front], owner[front]
    raster.label.reshape(-1)[pixel] = capsules.label[owner]
    raster.capsule.reshape(-1)[pixel] = owner
    raster.normal.reshape(-1, 3)[pixel] = _surface_normals(
        camera, capsules, axes, px[front], py[front], t[front], owner
    )


def _surface_normals(
    camera: PinholeCamera,
    capsules: Capsules,
    axes: _Axes,
    px: np.ndarray,
    py: np.ndarray,
    t: np.ndarray,
    owner: np.ndarray,
) -> np.ndarray:
    """(M, 3) float32 unit normals at the hits of pixels (px, py) (M,) at depth t (M,) on
    capsules `owner` (M,), non-decreasing: the hit point minus its closest point on the axis.

    Computed per coordinate because per-capsule values expand to hits with np.repeat, which
    needs the hits grouped by capsule and is several times faster than gathering by index.
    """
    hits_per_capsule = np.bincount(owner, minlength=len(capsules.radius))

    def per_hit(values: np.ndarray) -> np.ndarray:
        return np.repeat(values.astype(np.float32), hits_per_capsule)

    dx = (px.astype(np.float32) - np.float32(camera.cx)) / np.float32(camera.fx)
    dy = (py.astype(np.float32) - np.float32(camera.cy)) / np.float32(camera.fy)
    offset = [
        dx * t - per_hit(capsules.a[:, 0]),
        dy * t - per_hit(capsules.a[:, 1]),
        t - per_hit(capsules.a[:, 2]),
    ]
    direction = [per_hit(axes.unit[:, i]) for i in range(3)]
    along = np.clip(sum(o * d for o, d in zip(offset, direction)), 0.0, per_hit(axes.length))
    radial = np.stack([o - along * d for o, d in zip(offset, direction)], axis=1)
    return radial / np.maximum(np.sqrt((radial**2).sum(1)), 1e-12)[:, None]


def _ray_capsule_depth(
    camera: PinholeCamera,
    axes: _Axes,
    spans: "_Spans",
    counts: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    owner: np.ndarray,
) -> np.ndarray:
    """(P,) float32 depth of the first hit of each pair's ray d = (dx, dy, 1) with its capsule;
    +inf on a miss. Pairs are the pixels (px, py) of the spans in order, owner their capsule.

    Infinite cylinder first: if the hit falls between the ends it is the answer, otherwise the
    ray can only enter through the sphere cap on that side (the capsule is convex). With unit
    axis u, a_perp the axis point nearest the camera and d_perp the part of d across the axis,
    the ray meets the cylinder where  qa t^2 + 2 qb t + qc = 0  with qa = |d_perp|^2,
    qb = -a_perp . d and qc = |a_perp|^2 - r^2, whose discriminant equals
    r^2 qa - ((u x a_perp) . d)^2 (Lagrange's identity). Written that way, and taking the near
    root as qc / (sqrt(h) - qb), nothing cancels catastrophically, so the per-pixel work runs in
    float32. Along a span dy is fixed, so each dot product with d is slope * dx + offset with
    per-span coefficients (computed in float64), and the per-pixel work is a few multiply-adds.
    """
    dy_span = (spans.row - camera.cy) / camera.fy

    def per_pair(per_capsule: np.ndarray) -> np.ndarray:
        return np.repeat(per_capsule[spans.capsule].astype(np.float32), counts)

    def dot_d(vectors: np.ndarray, dx: np.ndarray) -> np.ndarray:
        """vectors (C, 3) . d for every pair, as slope * dx + per-span offset."""
        rows = vectors[spans.capsule]
        offset = (rows[:, 1] * dy_span + rows[:, 2]).astype(np.float32)
        return np.repeat(rows[:, 0].astype(np.float32), counts) * dx + np.repeat(offset, counts)

    dx = (px.astype(np.float32) - np.float32(camera.cx)) / np.float32(camera.fx)
    dd = dx * dx + np.repeat((dy_span**2 + 1.0).astype(np.float32), counts)
    ud = dot_d(axes.unit, dx)
    qa = dd - ud * ud
    qb = -dot_d(axes.perp, dx)
    h = per_pair(axes.radius_sq) * qa - dot_d(axes.across, dx) ** 2
    inside = h >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t_cyl = per_pair(axes.qc) / (np.sqrt(np.maximum(h, 0.0)) - qb)
    along = t_cyl * ud - per_pair(axes.offset)
    on_side = inside & (along > 0) & (along < per_pair(axes.length))
    t = np.where(on_side, t_cyl, np.float32(np.inf))
    cap = np.flatnonzero(inside & ~on_side)
    # The cap on the side of the end the cylinder hit lies beyond: a below 0, b past the length.
    end = 2 * owner[cap] + ~(along[cap] <= 0)
    dy = (py[cap].astype(np.float32) - np.float32(camera.cy)) / np.float32(camera.fy)
    t[cap] = _ray_sphere_depth(dx[cap], dy, dd[cap], axes.caps[:, end])
    return t


def _ray_sphere_depth(
    dx: np.ndarray, dy: np.ndarray, dd: np.ndarray, spheres: np.ndarray
) -> np.ndarray:
    """(M,) float32 depth where rays d = (dx, dy, 1) (dd = |d|^2; all (M,) float32) first meet
    their spheres, +inf on a miss. spheres (5, M) float32 rows: centre x, y, z, r^2 and
    |centre|^2 - r^2 (metres).

    As for the cylinder, the discriminant is written without cancellation,
    r^2 |d|^2 - |c x d|^2, and the near root as (|c|^2 - r^2) / (c . d + sqrt(h)).
    """
    cx, cy, cz, radius_sq, offset = spheres
    cd = cx * dx + cy * dy + cz
    h = radius_sq * dd - ((cy - cz * dy) ** 2 + (cz * dx - cx) ** 2 + (cx * dy - cy * dx) ** 2)
    with np.errstate(invalid="ignore"):
        return np.where(h >= 0, offset / (cd + np.sqrt(np.maximum(h, 0.0))), np.float32(np.inf))

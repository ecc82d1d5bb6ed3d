"""Tabletop objects from a depth camera: the dominant support plane, and every cluster of points
standing on it as an object with an id, a pose, its points and a closed mesh. No ROS: the
``tabletop_objects`` node is a shell over this, and it is tested and benchmarked offline the
same way.

Steps: depth pixels -> camera-frame points (``PinholeCamera.unproject``, every
``pixel_stride``-th pixel of every ``pixel_stride``-th row) -> a voxel grid (one point per
occupied voxel: uniform density whatever the distance, and a bounded cost) -> the plane with
the most points within ``distance_threshold`` (RANSAC, refined by least squares on its
inliers) -> the points above it clustered by DBSCAN (scikit-learn) -> per cluster a pose, a box
and a convex hull.

Why these libraries and not Open3D: open3d-cpu 0.20's wheel is 313 MB installed, needs
Debian's libusb-1.0-0, and ``import open3d`` unconditionally imports its web visualiser (dash,
plotly, flask, werkzeug, requests: 24 more packages on a robot) before any geometry runs.
scikit-learn's DBSCAN is the same algorithm as Open3D's ``cluster_dbscan``, with three small
dependencies. The plane fit is a short vectorised RANSAC here because no maintained library
fits a plane by point-to-plane distance: scikit-learn's ``RANSACRegressor`` regresses one
coordinate on the other two, so its residual (and threshold) depends on the camera's unknown
tilt and it breaks down for a plane parallel to that axis; pyransac3d is unmaintained since
2022 and draws from Python's global, unseeded ``random``. The RANSAC here is seeded, so the
same frame always gives the same plane.

Bad input is a ValueError with its reason (a depth image of the wrong dtype or shape,
intrinsics that are not finite, points that are not (N, 3)); input that is valid but holds no
table (all pixels without depth, no plane, nothing finite) is an empty result with its
``drop`` reason, which the node counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import ConvexHull, QhullError
from sklearn.cluster import DBSCAN
from threadpoolctl import threadpool_limits

from handperception.geometry.camera import PinholeCamera

# Why a frame gave no objects (TabletopResult.drop): short codes the node counts drops by.
NO_DEPTH = "no_depth"  # no pixel with a depth within [min_depth, max_depth]
EMPTY_CLOUD = "empty_cloud"  # a point cloud with no finite point within the depth range
NO_PLANE = "no_plane"  # no plane holds min_plane_points points within distance_threshold
# Why one cluster was left out of a frame's objects (TabletopResult.object_drops).
TOO_MANY_OBJECTS = "too_many_objects"  # max_objects larger clusters were kept
FLAT_OBJECT = "flat_object"  # all points in a line or a plane: no closed hull (a sheet of paper)
# Seed of the RANSAC draws: fixed, so one frame always gives one plane (tests, replays).
RANSAC_SEED = 0
# Points RANSAC scores each candidate plane on: enough to tell a table (tens of percent of the
# points) from a clutter plane by thousands of votes, at a cost independent of the frame.
RANSAC_SCORED_POINTS = 4000
# Bounds of the configuration (the node's parameter ranges).
VOXEL_SIZE_LIMITS = (0.001, 0.05)  # metres: 1 mm (a close-range sensor) to 5 cm (coarse boxes)
DISTANCE_THRESHOLD_LIMITS = (0.001, 0.1)
CLUSTER_TOLERANCE_LIMITS = (0.002, 0.2)
MIN_CLUSTER_POINTS_LIMITS = (3, 100_000)
MIN_PLANE_POINTS_LIMITS = (3, 1_000_000)
MAX_OBJECTS_LIMITS = (1, 100)
DEPTH_LIMITS = (0.0, 20.0)  # metres, any depth camera's range
MAX_HEIGHT_LIMITS = (0.01, 5.0)
PIXEL_STRIDE_LIMITS = (1, 16)
RANSAC_ITERATIONS_LIMITS = (10, 10_000)


@dataclass(frozen=True)
class TabletopConfig:
    """voxel_size: metres per voxel side (one point kept per voxel, their mean); pixel_stride:
    every n-th pixel of every n-th row is lifted (2: a 640x480 frame's 77k pixels, 2.2 mm apart
    at 0.6 m with a 60 deg lens, still several per 5 mm voxel up to about 1.1 m);
    distance_threshold: metres from the plane within which a point is the table's (sensor noise
    plus the table's flatness); cluster_tolerance: DBSCAN's eps, metres (points this close are
    one object: objects closer than this merge); min_cluster_points: voxels a cluster needs to
    be an object (fewer: noise); min_plane_points: voxels the plane needs; max_objects: most
    objects per frame, the largest kept; min_depth, max_depth: metres of depth trusted (outside:
    no return); max_height: metres above the plane beyond which points are not tabletop objects
    (a wall, a person); ransac_iterations: candidate planes drawn.

    Defaults: 5 mm voxels and 1 cm from the plane (a structured-light camera's noise at 1 m is
    about 3 mm), 2 cm between objects; they run a 640x480 frame in well under 50 ms on one core
    (docs/tabletop.md).
    """

    voxel_size: float = 0.005
    pixel_stride: int = 2
    distance_threshold: float = 0.01
    cluster_tolerance: float = 0.02
    min_cluster_points: int = 30
    min_plane_points: int = 200
    max_objects: int = 10
    min_depth: float = 0.1
    max_depth: float = 3.0
    max_height: float = 0.5
    ransac_iterations: int = 200

    def __post_init__(self) -> None:
        ranges = {
            "voxel_size": VOXEL_SIZE_LIMITS,
            "pixel_stride": PIXEL_STRIDE_LIMITS,
            "distance_threshold": DISTANCE_THRESHOLD_LIMITS,
            "cluster_tolerance": CLUSTER_TOLERANCE_LIMITS,
            "min_cluster_points": MIN_CLUSTER_POINTS_LIMITS,
            "min_plane_points": MIN_PLANE_POINTS_LIMITS,
            "max_objects": MAX_OBJECTS_LIMITS,
            "min_depth": DEPTH_LIMITS,
            "max_depth": DEPTH_LIMITS,
            "max_height": MAX_HEIGHT_LIMITS,
            "ransac_iterations": RANSAC_ITERATIONS_LIMITS,
        }
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            kind = int if isinstance(low, int) else float
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if (kind is int and type(value) is not int) or not low <= value <= high:
                raise ValueError(f"{name} must be {kind.__name__} in [{low}, {high}], got {value}")
        if self.min_depth >= self.max_depth:
            raise ValueError(
                f"min_depth ({self.min_depth}) must be below max_depth ({self.max_depth})"
            )


@dataclass(frozen=True)
class SupportPlane:
    """The table: points p with normal . p + offset = 0, camera frame, metres. ``normal`` is a
    unit vector pointing up from the table, towards the camera (so offset > 0: the camera is
    above it); inliers: voxels within distance_threshold of it."""

    normal: np.ndarray
    offset: float
    inliers: int

    def height(self, points: np.ndarray) -> np.ndarray:
        """Signed metres above the plane of (N, 3) points."""
        return points @ self.normal + self.offset


@dataclass(frozen=True)
class TabletopObject:
    """One object on the table, camera frame, metres.

    id: its index in the frame, left to right in the image (by its centroid's column), so ids
    are stable within a frame and follow the objects as they appear; not a track across
    frames. position: centroid of its points. rotation: (3, 3) columns x, y, z: z the plane's
    normal (up), x the cluster's principal axis in the plane (its longer side), pointing to the
    image's right half-space, y = z cross x. box_center, box_size: the box of the mesh in those
    axes (from the table up to the top). points: (N, 3) its voxels. vertices (V, 3), faces
    (F, 3): its closed mesh (``object_hull``).
    """

    id: int
    position: np.ndarray
    rotation: np.ndarray
    box_center: np.ndarray
    box_size: np.ndarray
    points: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray


@dataclass(frozen=True)
class TabletopResult:
    """plane: the support plane (None when there was none); objects: left to right; drop: why
    the frame gave no plane (NO_DEPTH, EMPTY_CLOUD, NO_PLANE), else None; object_drops: one
    reason per cluster left out (TOO_MANY_OBJECTS, FLAT_OBJECT); points: voxels the frame
    gave."""

    plane: SupportPlane | None
    objects: list[TabletopObject] = field(default_factory=list)
    drop: str | None = None
    object_drops: list[str] = field(default_factory=list)
    points: int = 0


def depth_to_metres(depth: np.ndarray, stride: int = 1) -> np.ndarray:
    """Every ``stride``-th pixel of every ``stride``-th row of an (H, W) depth image as float32
    metres: uint16 is millimetres (16UC1, 0 = no return), float32 metres (32FC1, 0 or NaN =
    no return). Subsampled before converting: only the pixels used are converted. ValueError
    for another dtype or shape."""
    depth = np.asarray(depth)
    if depth.ndim != 2 or depth.size == 0:
        raise ValueError(f"depth must be a non-empty (H, W) image, got shape {depth.shape}")
    sampled = depth[::stride, ::stride]
    if depth.dtype == np.uint16:
        return sampled.astype(np.float32) * np.float32(0.001)
    if depth.dtype == np.float32:
        return sampled
    raise ValueError(f"depth must be uint16 millimetres or float32 metres, got {depth.dtype}")


def depth_to_points(depth: np.ndarray, camera: PinholeCamera, config: TabletopConfig) -> np.ndarray:
    """(N, 3) camera-frame metres of every ``pixel_stride``-th pixel with a depth within
    [min_depth, max_depth]. ValueError for a bad image or intrinsics that are not finite or
    not the image's size."""
    stride = config.pixel_stride
    sampled = depth_to_metres(depth, stride)
    intrinsics = (camera.fx, camera.fy, camera.cx, camera.cy)
    if not np.all(np.isfinite(intrinsics)):
        raise ValueError(f"camera intrinsics must be finite, got fx, fy, cx, cy = {intrinsics}")
    height, width = np.shape(depth)
    if (height, width) != (camera.height, camera.width):
        raise ValueError(
            f"depth is {width}x{height} but the camera is {camera.width}x{camera.height}"
        )
    with np.errstate(invalid="ignore"):  # NaN is no return, and fails both comparisons
        rows, cols = np.nonzero((sampled >= config.min_depth) & (sampled <= config.max_depth))
    pixels = np.stack([cols * stride, rows * stride], axis=1)
    return camera.unproject(pixels, sampled[rows, cols])


def voxel_downsample(points: np.ndarray, voxel_size: float) -> np.ndarray:
    """The mean of the points in each occupied voxel of a grid of ``voxel_size`` metres, in
    the order of the voxels' keys (deterministic)."""
    if len(points) == 0:
        return points.reshape(0, 3)
    cells = np.floor(points / voxel_size).astype(np.int64)
    cells -= cells.min(axis=0)
    span = cells.max(axis=0) + 1
    keys = (cells[:, 0] * span[1] + cells[:, 1]) * span[2] + cells[:, 2]
    _, voxel, counts = np.unique(keys, return_inverse=True, return_counts=True)
    sums = np.stack(
        [np.bincount(voxel, weights=points[:, axis], minlength=len(counts)) for axis in range(3)],
        axis=1,
    )
    return sums / counts[:, None]


def fit_plane(points: np.ndarray, config: TabletopConfig) -> SupportPlane | None:
    """The plane with the most points within ``distance_threshold`` (RANSAC over
    ``ransac_iterations`` triples, scored on at most RANSAC_SCORED_POINTS of them), refined
    by a least-squares fit to its inliers; None when it has fewer than min_plane_points."""
    if len(points) < max(3, config.min_plane_points):
        return None
    rng = np.random.default_rng(RANSAC_SEED)
    scored = points[rng.choice(len(points), min(len(points), RANSAC_SCORED_POINTS), replace=False)]
    triples = points[rng.integers(0, len(points), size=(config.ransac_iterations, 3))]
    normals = np.cross(triples[:, 1] - triples[:, 0], triples[:, 2] - triples[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    usable = lengths > 1e-12  # three points in a line span no plane
    if not usable.any():
        return None
    normals = normals[usable] / lengths[usable, None]
    offsets = -np.einsum("ij,ij->i", normals, triples[usable, 0])
    votes = (np.abs(scored @ normals.T + offsets) <= config.distance_threshold).sum(axis=0)
    best = int(np.argmax(votes))
    normal, offset = normals[best], offsets[best]
    # Refined once, to its inliers' least-squares plane (a second pass moved it < 0.1 mm).
    inliers = points[np.abs(points @ normal + offset) <= config.distance_threshold]
    centre = inliers.mean(axis=0)
    normal = np.linalg.eigh(np.cov(inliers.T))[1][:, 0]  # least variance: the normal
    offset = -float(normal @ centre)
    count = int((np.abs(points @ normal + offset) <= config.distance_threshold).sum())
    if count < config.min_plane_points:
        return None
    if offset < 0:  # the normal points to the camera's side: up from the table
        normal, offset = -normal, -offset
    return SupportPlane(normal=normal, offset=float(offset), inliers=count)


def plane_axes(normal: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(3, 3) rotation, columns x, y, z: z = ``normal``, x = the principal axis of ``points``
    projected into the plane, signed to point to the camera's +x side (or +y when it is
    perpendicular to x), y = z cross x."""
    centred = points - points.mean(axis=0)
    in_plane = centred - np.outer(centred @ normal, normal)
    x = np.linalg.svd(in_plane, full_matrices=False)[2][0]
    x -= (x @ normal) * normal
    x /= np.linalg.norm(x)
    if x[0] < -1e-9 or (abs(x[0]) <= 1e-9 and x[1] < 0):
        x = -x
    return np.stack([x, np.cross(normal, x), normal], axis=1)


def object_hull(points: np.ndarray, plane: SupportPlane) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3), faces (F, 3)) of the convex hull of an object's points and of their
    shadows on the table (the points moved along the normal onto the plane): closed, each face
    wound counter-clockwise seen from outside.

    Why a hull is enough for a grasp target: a grasp planner needs where the object's surface
    is, how large it is and which side is free, and the hull bounds all of it conservatively
    (a hand that does not enter it does not enter the object). The shadows fill what the
    camera cannot see below the visible surface, down to the table the object stands on. What
    it misses: every concavity (a mug's inside, a handle's hole, the gap under a bridge), the
    back of the object beyond the visible outline, and an overhang (filled down to the table).

    Closed by construction: Qhull (scipy) triangulates every facet of the hull, so each edge
    is shared by exactly two triangles. Raises scipy.spatial.QhullError (a ValueError's
    sibling: RuntimeError) for points all in a line or a plane.
    """
    shadows = points - np.outer(plane.height(points), plane.normal)
    hull = ConvexHull(np.concatenate([points, shadows]))
    used, faces = np.unique(hull.simplices, return_inverse=True)
    vertices, faces = hull.points[used], faces.reshape(-1, 3)
    corners = vertices[faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    inward = np.einsum("ij,ij->i", normals, corners[:, 0] - vertices.mean(axis=0)) < 0
    faces[inward] = faces[inward][:, ::-1]
    return vertices, faces


def describe_object(index: int, points: np.ndarray, plane: SupportPlane) -> TabletopObject | None:
    """A cluster's TabletopObject (its pose, box and hull), or None when its points span no
    volume (all in a line or a plane)."""
    try:
        vertices, faces = object_hull(points, plane)
    except QhullError:
        return None
    rotation = plane_axes(plane.normal, points)
    local = vertices @ rotation
    low, high = local.min(axis=0), local.max(axis=0)
    return TabletopObject(
        id=index,
        position=points.mean(axis=0),
        rotation=rotation,
        box_center=rotation @ ((low + high) / 2),
        box_size=high - low,
        points=points,
        vertices=vertices,
        faces=faces.astype(np.int64),
    )


def detect_objects(points: np.ndarray, config: TabletopConfig, empty: str = EMPTY_CLOUD):
    """TabletopResult of (N, 3) camera-frame metres (non-finite points, those whose z is
    outside [min_depth, max_depth] and those more than DEPTH_LIMITS' 20 m to a side are
    ignored); ``empty`` is the drop reason when none is left.

    Why bound x and y too: no depth camera returns a point 20 m to the side of one at most
    20 m ahead, and a cloud's point at 1e30 m would overflow the voxel grid's integer keys,
    merging unrelated voxels of the real points (found by test/fuzz)."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1:] != (3,):
        raise ValueError(f"points must be (N, 3), got shape {points.shape}")
    with np.errstate(invalid="ignore"):  # NaN fails every comparison: it is no return
        depth = points[:, 2]
        keep = np.isfinite(points).all(axis=1) & (depth >= config.min_depth)
        keep &= (depth <= config.max_depth) & (np.abs(points[:, :2]) <= DEPTH_LIMITS[1]).all(1)
    voxels = voxel_downsample(points[keep], config.voxel_size)
    if len(voxels) == 0:
        return TabletopResult(plane=None, drop=empty)
    plane = fit_plane(voxels, config)
    if plane is None:
        return TabletopResult(plane=None, drop=NO_PLANE, points=len(voxels))
    height = plane.height(voxels)
    above = voxels[(height > config.distance_threshold) & (height <= config.max_height)]
    clusters: list[np.ndarray] = []
    if len(above) >= config.min_cluster_points:
        labels = DBSCAN(eps=config.cluster_tolerance, min_samples=3).fit_predict(above)
        counts = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, int)
        large = [label for label in np.argsort(-counts, kind="stable") if counts[label]]
        clusters = [
            above[labels == label] for label in large if counts[label] >= config.min_cluster_points
        ]
    drops = [TOO_MANY_OBJECTS] * max(0, len(clusters) - config.max_objects)
    clusters = clusters[: config.max_objects]
    # Left to right in the image: by each centroid's x / z (its column, up to the intrinsics).
    centroids = np.array([cluster.mean(axis=0) for cluster in clusters]).reshape(-1, 3)
    order = np.argsort(centroids[:, 0] / centroids[:, 2], kind="stable")
    objects = []
    for cluster in (clusters[i] for i in order):
        found = describe_object(len(objects), cluster, plane)
        if found is None:
            drops.append(FLAT_OBJECT)
        else:
            objects.append(found)
    return TabletopResult(plane=plane, objects=objects, object_drops=drops, points=len(voxels))


class TabletopPipeline:
    """``from_depth(depth, camera)`` or ``from_points(points)`` -> TabletopResult.

    BLAS and OpenMP run on one thread here: the arrays are thousands of points, where waking
    a thread pool costs more than it saves, and measured 2-3 times slower on a CPU shared with
    other work (the other nodes of the graph).
    """

    def __init__(self, config: TabletopConfig | None = None):
        self.config = config or TabletopConfig()

    def from_depth(self, depth: np.ndarray, camera: PinholeCamera) -> TabletopResult:
        """A depth image (H, W) uint16 mm or float32 m of ``camera`` (undistorted)."""
        with threadpool_limits(limits=1):
            points = depth_to_points(depth, camera, self.config)
            return detect_objects(points, self.config, NO_DEPTH)

    def from_points(self, points: np.ndarray) -> TabletopResult:
        """(N, 3) camera-frame metres (a PointCloud2's x, y, z; NaN points are no return)."""
        with threadpool_limits(limits=1):
            return detect_objects(points, self.config, EMPTY_CLOUD)

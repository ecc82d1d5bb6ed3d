"""The tabletop pipeline on synthetic depth images of known objects (``synth.tabletop``): the
table's plane, the number of objects, their centres, heights and meshes recovered; 16UC1 and
32FC1 agree; bad input is a ValueError or an empty result with its reason, never a crash."""

import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree

from handperception.geometry.camera import PinholeCamera
from handperception.pipeline.tabletop import (
    EMPTY_CLOUD,
    NO_DEPTH,
    NO_PLANE,
    TOO_MANY_OBJECTS,
    TabletopConfig,
    TabletopPipeline,
    depth_to_points,
    voxel_downsample,
)
from handperception.synth.tabletop import TabletopSpec, render_tabletop

CAMERA = PinholeCamera.from_fov(640, 480, 60.0)
CONFIG = TabletopConfig()


@pytest.fixture(scope="module")
def scenes():
    return [render_tabletop(CAMERA, seed, TabletopSpec(objects=n)) for seed, n in ((0, 4), (3, 3))]


def _visible_centroid(scene, index: int) -> np.ndarray:
    """Centroid of object ``index``'s voxels more than distance_threshold above the table, from
    the exact depth and the scene's labels: what the pipeline should find for it."""
    points = depth_to_points(np.where(scene.labels == index + 1, scene.depth, 0), CAMERA, CONFIG)
    height = points @ scene.plane_normal + scene.plane_offset
    return voxel_downsample(points[height > CONFIG.distance_threshold], CONFIG.voxel_size).mean(0)


def test_plane_and_objects_recovered(scenes):
    for scene in scenes:
        result = TabletopPipeline(CONFIG).from_depth(scene.depth, CAMERA)
        assert result.drop is None and result.object_drops == []
        # Exact depth: the plane is a least-squares fit to points on it, to float32 precision.
        np.testing.assert_allclose(result.plane.normal, scene.plane_normal, atol=1e-4)
        assert result.plane.offset == pytest.approx(scene.plane_offset, abs=1e-4)
        assert len(result.objects) == len(scene.meshes)
        for found, mesh, top, index in zip(
            result.objects, scene.meshes, scene.heights, range(len(scene.meshes))
        ):
            assert found.id == index  # left to right, as the scene places them
            # The cluster is this object's surface: every voxel mean lies within one voxel
            # (its diagonal, 8.7 mm at 5 mm) of the true mesh, measured to 40k points sampled
            # on it (about 1 mm apart, so at most 1 mm more).
            surface = cKDTree(trimesh.sample.sample_surface(mesh, 40_000, seed=0)[0])
            assert surface.query(found.points)[0].max() < np.sqrt(3) * CONFIG.voxel_size + 1e-3
            # Its centroid is that of the object's visible voxels: the grids differ only in
            # their origin, which moves each voxel mean by less than a voxel, and the mean of
            # hundreds of them far less; 3 mm.
            np.testing.assert_allclose(found.position, _visible_centroid(scene, index), atol=3e-3)
            # The box reaches from the table to the top (flat tops are sampled exactly, round
            # ones within a voxel); the axes are right-handed with z up.
            assert found.box_size[2] == pytest.approx(top, abs=CONFIG.voxel_size)
            np.testing.assert_allclose(found.rotation[:, 2], scene.plane_normal, atol=1e-4)
            np.testing.assert_allclose(found.rotation.T @ found.rotation, np.eye(3), atol=1e-9)
            assert np.linalg.det(found.rotation) == pytest.approx(1.0)
            hull = trimesh.Trimesh(found.vertices, found.faces, process=False)
            assert hull.is_watertight and hull.is_winding_consistent and hull.volume > 0
            # The hull holds the object's visible points, and its bottom lies on the table.
            heights = found.vertices @ scene.plane_normal + scene.plane_offset
            assert heights.min() == pytest.approx(0.0, abs=1e-3)


def test_millimetres_and_metres_agree(scenes):
    scene = scenes[0]
    pipeline = TabletopPipeline(CONFIG)
    metres = pipeline.from_depth(scene.depth, CAMERA)
    millimetres = pipeline.from_depth(scene.depth_mm(), CAMERA)
    assert len(millimetres.objects) == len(metres.objects)
    np.testing.assert_allclose(millimetres.plane.normal, metres.plane.normal, atol=1e-3)
    for a, b in zip(metres.objects, millimetres.objects):
        # Rounding to the millimetre moves each point by at most 0.5 mm along its ray.
        np.testing.assert_allclose(a.position, b.position, atol=1e-3)


def test_point_cloud_input_matches_depth(scenes):
    scene = scenes[1]
    config = TabletopConfig(pixel_stride=1)
    cloud = depth_to_points(scene.depth, CAMERA, config)
    organised_nans = np.full((1000, 3), np.nan)  # a driver's "no return" points
    result = TabletopPipeline(config).from_points(np.concatenate([cloud, organised_nans]))
    expected = TabletopPipeline(config).from_depth(scene.depth, CAMERA)
    assert len(result.objects) == len(expected.objects) == len(scene.meshes)
    for a, b in zip(result.objects, expected.objects):
        np.testing.assert_allclose(a.position, b.position, atol=1e-9)


def test_points_far_to_the_side_are_no_return(scenes):
    """A cloud's point at 1e30 m would overflow the voxel keys and merge the real voxels."""
    scene = scenes[1]
    cloud = depth_to_points(scene.depth, CAMERA, CONFIG)
    far = np.array([[1e30, 0.0, 1.0], [-1e30, 1e30, 1.0], [0.0, 5e18, 0.8], [21.0, 0.0, 1.0]])
    with np.errstate(all="raise"):
        result = TabletopPipeline(CONFIG).from_points(np.concatenate([cloud, far]))
    expected = TabletopPipeline(CONFIG).from_points(cloud)
    assert result.points == expected.points
    assert len(result.objects) == len(expected.objects) == len(scene.meshes)


def test_max_objects_keeps_the_largest_and_counts_the_rest(scenes):
    scene = scenes[0]
    result = TabletopPipeline(TabletopConfig(max_objects=2)).from_depth(scene.depth, CAMERA)
    assert len(result.objects) == 2 and result.object_drops == [TOO_MANY_OBJECTS] * 2
    assert [found.id for found in result.objects] == [0, 1]


def test_no_depth_no_plane_and_empty_clouds_are_reasons():
    pipeline = TabletopPipeline(CONFIG)
    zeros = pipeline.from_depth(np.zeros((480, 640), np.uint16), CAMERA)
    assert zeros.drop == NO_DEPTH and zeros.plane is None and zeros.objects == []
    nans = pipeline.from_depth(np.full((480, 640), np.nan, np.float32), CAMERA)
    assert nans.drop == NO_DEPTH
    assert pipeline.from_points(np.zeros((0, 3))).drop == EMPTY_CLOUD
    assert pipeline.from_points(np.full((50, 3), np.nan)).drop == EMPTY_CLOUD
    # A few scattered points: no plane holds min_plane_points of them.
    scattered = np.random.default_rng(0).uniform([-1, -1, 0.5], [1, 1, 2.5], size=(150, 3))
    assert pipeline.from_points(scattered).drop == NO_PLANE


def test_bad_input_is_a_clear_value_error():
    pipeline = TabletopPipeline(CONFIG)
    depth = np.ones((480, 640), np.float32)
    with pytest.raises(ValueError, match="uint16 millimetres or float32 metres"):
        pipeline.from_depth(depth.astype(np.float64), CAMERA)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        pipeline.from_depth(np.ones((480, 640, 3), np.float32), CAMERA)
    with pytest.raises(ValueError, match="is 320x240"):
        pipeline.from_depth(np.ones((240, 320), np.float32), CAMERA)
    nan_camera = PinholeCamera(500.0, 500.0, float("nan"), 240.0, 640, 480)
    with pytest.raises(ValueError, match="intrinsics must be finite"):
        pipeline.from_depth(depth, nan_camera)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        pipeline.from_points(np.zeros((10, 2)))


@pytest.mark.parametrize(
    "change",
    [
        {"voxel_size": 0.0},
        {"max_objects": 0},
        {"min_depth": 2.0, "max_depth": 1.0},
        {"pixel_stride": 1.5},
    ],
)
def test_config_ranges_are_checked(change):
    with pytest.raises(ValueError):
        TabletopConfig(**change)

"""The synthetic tabletop: exact depth of the table plane and of the objects standing on it,
labels that say which pixel shows what, deterministic by seed, and fast to render."""

import time

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.sources import open_source
from handperception.synth.tabletop import TabletopSpec, render_tabletop

CAMERA = PinholeCamera.from_fov(640, 480, 60.0)


@pytest.fixture(scope="module")
def scene():
    return render_tabletop(CAMERA, 0, TabletopSpec(objects=3))


def _points(scene, mask):
    rows, cols = np.nonzero(mask)
    return CAMERA.unproject(np.stack([cols, rows], axis=1), scene.depth[rows, cols])


def test_table_depth_is_exact_on_the_plane(scene):
    table = _points(scene, scene.labels == 0)
    assert len(table) > 0.3 * CAMERA.width * CAMERA.height  # the table fills the view
    # Looking at the table from 0.6 m up and 0.5 m back: the normal's camera coordinates.
    expected = np.array([0.0, -0.5, -0.6]) / np.hypot(0.5, 0.6)
    np.testing.assert_allclose(scene.plane_normal, expected, atol=1e-12)
    assert scene.plane_offset == 0.6
    np.testing.assert_allclose(table @ scene.plane_normal + scene.plane_offset, 0, atol=1e-6)


def test_objects_stand_on_the_table_where_they_are_seen(scene):
    assert len(scene.meshes) == len(scene.kinds) == len(scene.heights) == 3
    for index, mesh in enumerate(scene.meshes):
        heights = mesh.vertices @ scene.plane_normal + scene.plane_offset
        assert heights.min() == pytest.approx(0.0, abs=1e-9)  # resting on the table
        assert heights.max() == pytest.approx(scene.heights[index], abs=1e-9)
        assert 0.05 * 0.2 <= scene.heights[index] <= 0.12  # within OBJECT_SIZE
        seen = _points(scene, scene.labels == index + 1)
        assert len(seen) > 200
        low, high = mesh.bounds
        assert (seen >= low - 1e-4).all() and (seen <= high + 1e-4).all()
    # left to right in the image
    columns = [CAMERA.project(centre)[0] for centre in scene.centres]
    assert columns == sorted(columns)


def test_depth_images_agree_and_nothing_is_zero_depth_where_seen(scene):
    assert scene.depth.dtype == np.float32
    assert ((scene.depth > 0) == (scene.labels >= 0)).all()
    np.testing.assert_array_less(np.abs(scene.depth_mm() / 1000.0 - scene.depth), 0.0005 + 1e-6)
    assert scene.rgb.shape == (480, 640, 3) and scene.rgb.dtype == np.uint8


def test_deterministic_and_fast():
    start = time.perf_counter()
    first = render_tabletop(CAMERA, 5)
    assert time.perf_counter() - start < 2.0  # well under a second unloaded
    second = render_tabletop(CAMERA, 5)
    np.testing.assert_array_equal(first.depth, second.depth)
    assert 1 <= len(first.meshes) <= 4


def test_synthetic_tabletop_source_gives_rgb_and_depth():
    source = open_source("synthetic:tabletop", 320, 240, 60.0, seed=2)
    rgb, depth = source.read_rgbd()
    assert rgb.shape == (240, 320, 3) and depth.shape == (240, 320)
    np.testing.assert_array_equal(source.read(), rgb)
    assert source.camera.width == 320
    source.close()

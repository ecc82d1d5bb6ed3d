"""The triangle rasteriser, the photograph backgrounds and the labels of mesh renders."""

import warnings

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.skeleton.parts import finger_label, hand_of_label, palm_label
from handperception.synth import photos, raster
from handperception.synth.hand_mesh import hand_mesh_path
from handperception.synth.photos import installed_photo_paths, photo_background, photo_library
from handperception.synth.raster import rasterize
from handperception.synth.scenes import two_hand_crop
from handperception.synth.splits import load_split

CAMERA = PinholeCamera(100.0, 100.0, 20.0, 15.0, 41, 31)
# A square 0.205 m wide at z = 1 m seen head-on (two triangles, counter-clockwise from the camera)
# and a triangle tilted in depth: z = 1 + x.
SQUARE = np.array(
    [[-0.1025, -0.1025, 1.0], [-0.1025, 0.1025, 1.0], [0.1025, 0.1025, 1.0], [0.1025, -0.1025, 1.0]]
)
SQUARE_FACES = np.array([[0, 1, 2], [0, 2, 3]])


def _mesh_installed() -> bool:
    try:
        hand_mesh_path()
    except FileNotFoundError:
        return False
    return True


def test_a_square_covers_its_projected_pixels_at_its_depth():
    result = rasterize(CAMERA, SQUARE, SQUARE_FACES)
    # Corners project to x = 20 -+ 10.25, y = 15 -+ 10.25: pixel centres 10..30 and 5..25.
    covered = result.face >= 0
    assert covered[5:26, 10:31].all() and covered.sum() == 21 * 21
    np.testing.assert_allclose(result.depth[covered], 1.0, rtol=1e-6)
    assert np.isinf(result.depth[~covered]).all()
    np.testing.assert_allclose(result.barycentric.sum(axis=1), 1.0, atol=1e-6)
    # Seen from behind (faces reversed), the square is culled.
    assert (rasterize(CAMERA, SQUARE, SQUARE_FACES[:, ::-1]).face == -1).all()


def test_depth_and_weights_are_perspective_correct():
    # Corners (x, y, z): a = (-0.1, -0.1, 0.9), b = (-0.1, 0.1, 0.9), c = (0.1, 0.0, 1.1).
    vertices = np.array([[-0.1, -0.1, 0.9], [-0.1, 0.1, 0.9], [0.1, 0.0, 1.1]])
    result = rasterize(CAMERA, vertices, np.array([[0, 1, 2]]))
    # The ray through pixel (20, 15) is x = y = 0: the triangle's plane z = 1 + x meets it at
    # z = 1, the point (0, 0, 1) = 0.25 a + 0.25 b + 0.5 c.
    assert result.depth[15, 20] == pytest.approx(1.0, abs=1e-6)
    at = np.flatnonzero((result.rows == 15) & (result.cols == 20))[0]
    np.testing.assert_allclose(result.barycentric[at], [0.25, 0.25, 0.5], atol=1e-6)


def test_the_nearer_surface_wins_and_chunks_do_not_matter(monkeypatch):
    nearer = SQUARE * [0.5, 0.5, 0.9]  # smaller, at z = 0.9, covering the middle
    vertices = np.concatenate([SQUARE, nearer])
    faces = np.concatenate([SQUARE_FACES, SQUARE_FACES + 4])
    whole = rasterize(CAMERA, vertices, faces)
    assert whole.face[15, 20] >= 2 and whole.depth[15, 20] == pytest.approx(0.9)
    assert whole.face[6, 11] < 2
    monkeypatch.setattr(raster, "_CHUNK_PAIRS", 16)
    chunked = rasterize(CAMERA, vertices, faces)
    np.testing.assert_array_equal(chunked.depth, whole.depth)
    np.testing.assert_array_equal(chunked.face, whole.face)


def test_photographs_load_from_their_installed_place():
    try:
        paths = installed_photo_paths()
    except FileNotFoundError:
        pytest.skip("background photographs are not installed: run `make assets` as root")
    assert all(str(path).startswith("/usr/share/") for path in paths)
    image = photo_background(np.random.default_rng(0), 48, 64)
    assert image.shape == (48, 64, 3) and image.dtype == np.float32
    again = photo_background(np.random.default_rng(0), 48, 64)
    assert image.tobytes() == again.tobytes()


def test_missing_photographs_name_make_assets_and_fall_back(tmp_path, monkeypatch):
    sources = (("some-wallpapers", str(tmp_path / "*.jpg")),)
    with pytest.raises(FileNotFoundError, match="make assets"):
        installed_photo_paths(sources)
    monkeypatch.setattr(photos, "PHOTO_SOURCES", sources)
    photo_library.cache_clear()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            library = photo_library()
        assert len(library) == len(photos.SKIMAGE_PHOTOS)
        assert any("make assets" in str(w.message) for w in caught)
    finally:
        photo_library.cache_clear()


@pytest.mark.skipif(
    not _mesh_installed(), reason="the hand mesh is not installed: run `make assets`"
)
def test_segmentation_agrees_with_visibility_where_two_hands_overlap():
    spec = load_split("interpolation")
    occluded_by_other_hand = 0
    for index in range(4):
        frame = two_hand_crop(spec, "train", 0, index, 96)
        owner = hand_of_label(frame.segmentation)
        for hand in range(2):
            is_left = bool(frame.is_left[hand])
            own = 1 if is_left else 2
            u, v = np.rint(frame.keypoints_2d[hand]).astype(int).T
            inside = (u >= 0) & (u < 96) & (v >= 0) & (v < 96)
            label = np.where(inside, frame.segmentation[v.clip(0, 95), u.clip(0, 95)], 0)
            parts = {palm_label(is_left)} | {finger_label(is_left, f) for f in range(5)}
            # A visible joint's pixel shows its own hand; one showing the other hand is hidden.
            visible = frame.visibility[hand]
            assert all(label[j] in parts for j in np.flatnonzero(visible))
            other = inside & (owner[v.clip(0, 95), u.clip(0, 95)] == 3 - own)
            assert not (visible & other).any()
            occluded_by_other_hand += int(other.sum())
    assert occluded_by_other_hand > 0, "these crops should have hands hiding each other's joints"

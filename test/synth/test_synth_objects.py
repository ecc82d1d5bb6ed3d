"""Synthetic graspable objects: watertightness, sizes, poses and signed distances."""

import numpy as np
import pytest
import trimesh

from handperception.synth.objects import (
    KINDS,
    ObjectSpec,
    check_watertight,
    sample_object,
    winding_number,
)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_watertight_sized_and_posed(kind):
    spec = ObjectSpec(
        kinds=(kind,),
        size_range=(0.05, 0.12),
        position_low=(0.1, -0.1, 0.4),
        position_high=(0.2, 0.1, 0.6),
    )
    for i in range(3):
        obj = sample_object(spec, 0, i)
        assert obj.kind == kind
        check_watertight(obj.mesh)
        assert 0.05 <= obj.size <= 0.12
        assert obj.local_mesh.extents.max() == pytest.approx(obj.size, rel=0.03)
        rotation = obj.pose[:3, :3]
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(rotation) == pytest.approx(1.0)
        assert np.all(obj.pose[:3, 3] >= [0.1, -0.1, 0.4]) and np.all(
            obj.pose[:3, 3] <= [0.2, 0.1, 0.6]
        )


def test_hand_computed_signed_distances():
    box = sample_object(ObjectSpec(kinds=("box",)), 0, 0)
    half = np.asarray(box.params["extents"]) / 2
    centre = box.pose[:3, 3]
    axis = box.pose[:3, 0]  # the box's local x axis in the world
    points = np.stack([centre, centre + axis * (half[0] + 0.01), centre + axis * (half[0] - 0.004)])
    np.testing.assert_allclose(
        box.sdf(points), [-half.min(), 0.01, -min(0.004, half[1], half[2])], atol=1e-12
    )

    sphere = sample_object(ObjectSpec(kinds=("sphere",)), 0, 1)
    r, c = sphere.params["radius"], sphere.pose[:3, 3]
    np.testing.assert_allclose(
        sphere.sdf(np.stack([c, c + [0, 0, r + 0.05]])), [-r, 0.05], atol=1e-12
    )

    torus = sample_object(ObjectSpec(kinds=("torus",)), 0, 2)
    major, minor = torus.params["major_radius"], torus.params["minor_radius"]
    t_centre = torus.pose[:3, 3]
    on_ring = t_centre + torus.pose[:3, 0] * major
    # The hole's centre is outside at distance major - minor; the tube's core is -minor.
    np.testing.assert_allclose(
        torus.sdf(np.stack([t_centre, on_ring])), [major - minor, -minor], atol=1e-12
    )


def test_sdf_sign_matches_mesh_inside_test_on_random_points():
    rng = np.random.default_rng(0)
    for i in range(len(KINDS) * 2):
        obj = sample_object(ObjectSpec(kinds=(KINDS[i % len(KINDS)],)), 3, i)
        low, high = obj.mesh.bounds
        points = rng.uniform(low - 0.01, high + 0.01, size=(300, 3))
        d = obj.sdf(points)
        inside_mesh = winding_number(obj.mesh, points) > 0.5
        # Away from the surface (tessellation error ~1% of size) the two must agree exactly.
        far = np.abs(d) > 0.01 * obj.size
        assert far.sum() > 200 and np.any(d[far] < 0)
        np.testing.assert_array_equal(d[far] < 0, inside_mesh[far])


def test_sdf_of_many_points_at_once_equals_it_in_chunks():
    """The grasp sampler asks for 1e5 points in one call (its speed is in ``make bench``)."""
    obj = sample_object(ObjectSpec(kinds=("convex",)), 0, 0)
    points = np.random.default_rng(0).normal(size=(100_000, 3)) * 0.1
    whole = obj.sdf(points)
    chunks = np.concatenate([obj.sdf(chunk) for chunk in np.array_split(points, 7)])
    assert whole.shape == (100_000,) and np.all(np.isfinite(whole))
    np.testing.assert_allclose(whole, chunks, rtol=0, atol=1e-12)


def test_same_seed_same_object():
    a, b = sample_object(ObjectSpec(), 7, 11), sample_object(ObjectSpec(), 7, 11)
    assert a.kind == b.kind and a.mesh.vertices.tobytes() == b.mesh.vertices.tobytes()


def test_bad_specs_and_meshes_raise():
    with pytest.raises(ValueError, match="unknown object kinds"):
        ObjectSpec(kinds=("banana",))
    with pytest.raises(ValueError, match="empty"):
        ObjectSpec(kinds=())
    with pytest.raises(ValueError, match="size_range"):
        ObjectSpec(size_range=(-0.1, 0.2))
    with pytest.raises(ValueError, match="size_range"):
        ObjectSpec(size_range=(0.3, 0.2))
    with pytest.raises(ValueError, match="position"):
        ObjectSpec(position_low=(1.0, 0, 0), position_high=(0.0, 0, 0))
    open_box = trimesh.creation.box()
    open_box.update_faces(np.arange(len(open_box.faces)) != 0)
    with pytest.raises(ValueError, match="not watertight"):
        check_watertight(open_box)
    inverted = trimesh.creation.box()
    inverted.invert()
    with pytest.raises(ValueError, match="volume"):
        check_watertight(inverted)
    obj = sample_object(ObjectSpec(), 0, 0)
    with pytest.raises(ValueError, match="shape"):
        obj.sdf(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        obj.sdf(np.full((1, 3), np.nan))

"""The grasp-synthesis pipeline: for a closed mesh (a sphere, a box, anywhere in its frame) it
returns the requested number of finite proposals near the object, best first, in [0, 1], the
same ones each time; meshes no hand can grasp and bad requests are ValueErrors that say why;
missing or wrong checkpoints are refused at load."""

import numpy as np
import pytest
import trimesh
from grasp_fixtures import grasp_checkpoint
from halo_fixtures import halo_checkpoint

from handperception.models.checkpoint import CheckpointError
from handperception.pipeline.grasp_synthesis import (
    GraspSynthesisConfig,
    mesh_surface,
    unit_score,
)
from handperception.pipeline.loading import load_grasp_synthesis_pipeline

FAST = GraspSynthesisConfig(refinement_steps=3)


@pytest.fixture(scope="module")
def pipeline():
    return load_grasp_synthesis_pipeline(str(grasp_checkpoint()), str(halo_checkpoint()), FAST)


def _sphere(centre=(0.0, 0.0, 0.0), radius=0.04) -> trimesh.Trimesh:
    return trimesh.creation.icosphere(2, radius).apply_translation(centre)


@pytest.mark.parametrize(
    "mesh",
    [_sphere((0.3, -0.1, 0.6)), trimesh.creation.box((0.05, 0.07, 0.11))],
    ids=["sphere_away_from_the_origin", "box"],
)
def test_proposals_are_finite_near_the_object_and_best_first(pipeline, mesh):
    grasps = pipeline.propose_for_mesh(mesh.vertices, mesh.faces, 6, "unknown")
    assert len(grasps) == 6
    scores = [g.score for g in grasps]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert sorted(g.handedness for g in grasps) == ["left"] * 3 + ["right"] * 3
    centre = mesh.bounds.mean(axis=0)
    for grasp in grasps:
        assert np.isfinite(grasp.joints).all()
        # In the mesh's frame, around the object: not at the origin of the centred frame.
        assert np.linalg.norm(grasp.joints - centre, axis=1).max() < 0.15
        assert 0 <= grasp.contact_ratio <= 1
        assert grasp.penetration_depth >= 0 and grasp.penetration_volume >= 0
    again = pipeline.propose_for_mesh(mesh.vertices, mesh.faces, 6, "unknown")
    assert all(np.allclose(a.joints, b.joints) for a, b in zip(grasps, again, strict=True))


def test_one_side_only_and_oriented_points(pipeline):
    points, normals = mesh_surface(*_box_arrays(), count=512)
    grasps = pipeline.propose(points, normals, 2, "left")
    assert [g.handedness for g in grasps] == ["left", "left"]


def _box_arrays():
    box = trimesh.creation.box((0.06, 0.06, 0.1))
    return box.vertices, box.faces


def test_the_score_keeps_the_order_and_reads_as_a_fraction():
    raw = np.array([1.0, 0.8, 0.0, -3.0])
    unit = unit_score(raw)
    assert unit[0] == 1.0 and np.all(np.diff(unit) < 0) and np.all(unit > 0)


def _open_box():
    vertices, faces = _box_arrays()
    return vertices, faces[:-1]


def _flat():
    vertices, faces = _box_arrays()
    return vertices * [1.0, 1.0, 0.0], faces


def _nan():
    vertices, faces = _box_arrays()
    vertices = vertices.copy()
    vertices[3, 1] = np.nan
    return vertices, faces


@pytest.mark.parametrize(
    "mesh, match",
    [
        (_open_box(), "not watertight"),
        (_flat(), "degenerate|non-positive|not watertight"),
        (_nan(), "NaN"),
        ((_box_arrays()[0] * 20, _box_arrays()[1]), "at most 1 m"),
        ((np.zeros((3, 3)), np.array([[0, 1, 2]] * 4)), r"V >= 4"),
        ((np.zeros((0, 3)), np.zeros((0, 3), dtype=int)), r"V >= 4"),
        ((_box_arrays()[0], _box_arrays()[1] + 100), "index its 8 vertices"),
        ((_box_arrays()[0], _box_arrays()[1][::-1, ::-1]), "non-positive volume"),
    ],
    ids=["open", "flat", "nan", "huge", "three_vertices", "empty", "bad_index", "inside_out"],
)
def test_meshes_no_hand_can_grasp_are_clear_errors(pipeline, mesh, match):
    with pytest.raises(ValueError, match=match):
        pipeline.propose_for_mesh(*mesh, 2, "right")


@pytest.mark.parametrize(
    "count, handedness, match",
    [
        (0, "right", r"count must be in 1\.\.64"),
        (10**6, "right", r"count must be in 1\.\.64"),
        (2.5, "right", "integer"),
        (True, "right", "integer"),
        (2, "both", "handedness"),
    ],
)
def test_bad_requests_are_clear_errors(pipeline, count, handedness, match):
    with pytest.raises(ValueError, match=match):
        pipeline.propose_for_mesh(*_box_arrays(), count, handedness)


def test_bad_configs_and_checkpoints_are_refused(tmp_path):
    with pytest.raises(ValueError, match="refinement_steps"):
        GraspSynthesisConfig(refinement_steps=1000)
    with pytest.raises(FileNotFoundError, match="handperception train grasp"):
        load_grasp_synthesis_pipeline(str(tmp_path / "none.pt"), str(halo_checkpoint()), FAST)
    # A HALO file given as the generator names what it holds and how to train the right one.
    with pytest.raises(CheckpointError, match="expected 'grasp_vae'.*train grasp"):
        load_grasp_synthesis_pipeline(str(halo_checkpoint()), str(halo_checkpoint()), FAST)

"""Grasp refinement through HALO: hands pushed into an object come out of it; bad inputs are
clear errors; the metrics are those of geometry.contact on the synthetic hand's skin."""

import numpy as np
import pytest
from halo_fixtures import halo_model

from handperception.pipeline.grasp_refinement import (
    GraspObject,
    RefinementWeights,
    measure_grasps,
    refine_grasps,
)
from handperception.synth.grasps import sample_grasp
from handperception.synth.splits import load_split
from handperception.train.grasp_evaluation import object_in_own_frame


@pytest.fixture(scope="module")
def sunk_grasps():
    """A synthetic grasp of a sphere (index 1 of seed 0) and 10 copies of it pushed 30 % of
    the way towards the object's centre, a few mm apart: hands that start inside the object."""
    grasp = sample_grasp(load_split("interpolation"), "train", 0, 1)
    keypoints = grasp.keypoints_object
    rng = np.random.default_rng(0)
    sunk = np.stack(
        [keypoints - 0.3 * keypoints.mean(0) + rng.normal(0, 0.003, 3) for _ in range(10)]
    )
    return grasp, object_in_own_frame(grasp.object, 2048), sunk


def test_refinement_lowers_the_penetration_of_hands_inside_an_object(sunk_grasps):
    grasp, grasp_object, sunk = sunk_grasps
    before = measure_grasps(sunk, grasp.is_left, grasp_object.sdf)
    assert before.penetration_volume.min() > 1e-7 and before.penetration_depth.min() > 0.002
    refined = refine_grasps(sunk, grasp.is_left, grasp_object, halo_model(), steps=15)
    after = refined.metrics
    assert refined.keypoints.shape == (10, 21, 3)
    assert after.penetration_volume.mean() < 0.5 * before.penetration_volume.mean()
    assert after.penetration_depth.mean() < before.penetration_depth.mean()
    assert refined.objective[-1] < refined.objective[0]
    assert np.all(np.diff(refined.score[refined.order]) <= 0)  # best first
    assert np.allclose(refined.score, after.score())


def test_zero_steps_returns_the_proposals_and_their_metrics(sunk_grasps):
    grasp, grasp_object, sunk = sunk_grasps
    refined = refine_grasps(sunk[:2], grasp.is_left, grasp_object, halo_model(), steps=0)
    assert np.allclose(refined.keypoints, sunk[:2], atol=1e-6)
    assert len(refined.objective) == 1


def test_a_hand_far_from_the_object_neither_touches_nor_penetrates(sunk_grasps):
    grasp, grasp_object, sunk = sunk_grasps
    far = measure_grasps(sunk[:1] + 1.0, grasp.is_left, grasp_object.sdf)
    assert far.penetration_depth[0] == 0 and far.penetration_volume[0] == 0
    assert far.contact_ratio[0] == 0


def test_without_an_exact_sdf_the_samples_estimate_it(sunk_grasps):
    _, grasp_object, _ = sunk_grasps
    estimate = GraspObject(grasp_object.points, grasp_object.normals)
    queries = np.concatenate([grasp_object.points * 0.5, grasp_object.points * 1.5])
    exact, estimated = grasp_object.sdf(queries), estimate.signed_distance(queries)
    assert np.all(np.sign(exact) == np.sign(estimated))
    assert len(estimate.interior_points(64)) == 64
    assert np.all(grasp_object.sdf(estimate.interior_points(64)) < 0)


def test_nan_and_degenerate_inputs_are_clear_errors(sunk_grasps):
    grasp, grasp_object, sunk = sunk_grasps
    halo = halo_model()
    broken = sunk[:3].copy()
    broken[1, 5] = np.nan
    with pytest.raises(ValueError, match="grasp 1 has NaN"):
        refine_grasps(broken, grasp.is_left, grasp_object, halo)
    with pytest.raises(ValueError, match="grasp 0 cannot be refined: degenerate_bones"):
        refine_grasps(np.zeros((1, 21, 3)), False, grasp_object, halo)
    with pytest.raises(ValueError, match=r"\(B >= 1, 21, 3\)"):
        refine_grasps(sunk[:, :20], False, grasp_object, halo)
    with pytest.raises(ValueError, match="is_left"):
        refine_grasps(sunk, [True, False], grasp_object, halo)
    with pytest.raises(ValueError, match="steps"):
        refine_grasps(sunk, False, grasp_object, halo, steps=-1)
    with pytest.raises(ValueError, match="NaN"):
        GraspObject(np.full((10, 3), np.nan), np.ones((10, 3)))
    with pytest.raises(ValueError, match="non-zero"):
        GraspObject(np.ones((10, 3)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="contact"):
        RefinementWeights(contact=-1.0)

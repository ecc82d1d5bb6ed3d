"""Metrics against hand-computed values: alignment, MPJPE, PCK/AUC, F-score, mIoU, gaze, grasps."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from handperception.eval.grasp import grasp_diversity
from handperception.eval.metrics import (
    handedness_accuracy,
    keypoint_errors,
    mpjpe,
    mrrpe,
    pa_mpjpe,
    pck,
    pck_2d,
    pck_curve,
    per_joint_errors,
    root_relative_mpjpe,
)
from handperception.eval.pointsets import fscore
from handperception.eval.procrustes import procrustes_align
from handperception.eval.segmentation import confusion_matrix, mean_iou
from handperception.geometry.contact import (
    contact_ratio,
    interpenetration_volume,
    penetration_depth,
)
from handperception.geometry.gaze import (
    angular_error_deg,
    pitchyaw_error_deg,
    pitchyaw_to_vector,
    vector_to_pitchyaw,
)

RNG = np.random.default_rng(7)
HAND = RNG.normal(scale=0.05, size=(21, 3))  # a non-degenerate 21-point cloud, metres


def sphere_sdf(radius):
    return lambda p: np.linalg.norm(p, axis=1) - radius


# ---------------------------------------------------------------- Procrustes / PA-MPJPE


def test_procrustes_recovers_known_similarity_transform():
    rotation = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90 deg about z
    second = Rotation.from_rotvec([0.3, -0.2, 0.5]).as_matrix()
    target = np.stack(
        [2.0 * HAND @ rotation.T + [1.0, 2.0, 3.0], 0.5 * HAND @ second.T - [0.1, 0.0, 0.2]]
    )
    source = np.stack([HAND, HAND])
    transform = procrustes_align(source, target)
    np.testing.assert_allclose(transform.scale, [2.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(transform.rotation[0], rotation, atol=1e-12)
    np.testing.assert_allclose(transform.rotation[1], second, atol=1e-12)
    np.testing.assert_allclose(
        transform.translation, [[1.0, 2.0, 3.0], [-0.1, 0.0, -0.2]], atol=1e-12
    )
    np.testing.assert_allclose(transform.apply(source), target, atol=1e-12)
    assert pa_mpjpe(source, target) == pytest.approx(0.0, abs=1e-12)
    # Before alignment the error is large: the test would fail if alignment were skipped.
    assert mpjpe(source, target) > 0.5


def test_procrustes_planar_mirror_is_a_rotation_not_a_reflection():
    # Points in the z = 0 plane mirrored x -> -x are reached exactly by a 180 degree turn about y.
    planar = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 3.0, 0.0]])
    mirrored = planar * [-1.0, 1.0, 1.0]
    transform = procrustes_align(planar, mirrored)
    np.testing.assert_allclose(transform.rotation[0], np.diag([-1.0, 1.0, -1.0]), atol=1e-12)
    assert pa_mpjpe(planar, mirrored) == pytest.approx(0.0, abs=1e-12)


def test_procrustes_never_uses_a_reflection_for_a_mirrored_3d_hand():
    mirrored = HAND * [-1.0, 1.0, 1.0]  # a left hand for a right one: no rotation matches it
    transform = procrustes_align(HAND, mirrored)
    assert np.linalg.det(transform.rotation[0]) == pytest.approx(1.0)
    # The optimal proper rotation (Wahba's problem, solved independently by scipy) is the same.
    centred_src, centred_dst = HAND - HAND.mean(0), mirrored - mirrored.mean(0)
    reference, _ = Rotation.align_vectors(centred_dst, centred_src)
    np.testing.assert_allclose(transform.rotation[0], reference.as_matrix(), atol=1e-9)
    assert pa_mpjpe(HAND, mirrored) > 0.005


def test_procrustes_mask_ignores_outlier_joints():
    target = 1.5 * HAND + [0.2, 0.0, 0.0]
    corrupted = HAND.copy()
    corrupted[5] += 1.0
    mask = np.ones(21, dtype=bool)
    mask[5] = False
    assert pa_mpjpe(corrupted, target, mask) == pytest.approx(0.0, abs=1e-12)
    assert pa_mpjpe(corrupted, target) > 0.01


def test_procrustes_rejects_too_few_points():
    with pytest.raises(ValueError, match=">= 3 valid points"):
        procrustes_align(HAND, HAND, mask=np.arange(21) < 2)


# ---------------------------------------------------------------- MPJPE variants


PRED_2J = np.array([[[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]]])
GT_2J = np.array([[[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]])


def test_mpjpe_two_joints_by_hand():
    # Joint errors: |(0,0,-1)| = 1 and |(3,4,0)| = 5.
    assert mpjpe(PRED_2J, GT_2J) == pytest.approx(3.0)
    # Root-relative: gt joint 1 becomes (0,0,-1); error |(3,4,1)| = sqrt(26), root error 0.
    assert root_relative_mpjpe(PRED_2J, GT_2J) == pytest.approx(math.sqrt(26) / 2)
    assert mpjpe(PRED_2J, GT_2J, mask=[True, False]) == pytest.approx(1.0)


def test_mpjpe_accepts_torch_and_single_pose():
    assert mpjpe(torch.tensor(PRED_2J[0]), torch.tensor(GT_2J[0])) == pytest.approx(3.0)


def test_per_joint_errors_average_over_valid_samples():
    pred = np.zeros((2, 3, 3))
    gt = np.zeros((2, 3, 3))
    gt[0, 1] = [2.0, 0.0, 0.0]
    gt[1, 1] = [4.0, 0.0, 0.0]
    gt[1, 2] = [0.0, 6.0, 0.0]
    mask = np.array([[True, True, False], [True, True, True]])
    np.testing.assert_allclose(per_joint_errors(pred, gt, mask), [0.0, 3.0, 6.0])
    never = np.array([[True, True, False], [True, True, False]])
    assert np.isnan(per_joint_errors(pred, gt, never)[2])


def test_root_invalid_samples_are_dropped_from_root_relative():
    with pytest.raises(ValueError, match="no valid entries"):
        root_relative_mpjpe(PRED_2J, GT_2J, mask=[False, True])
    _, valid = keypoint_errors(PRED_2J, GT_2J, mask=[False, True], alignment="root")
    assert not valid.any()


def test_bad_inputs_raise():
    bad = GT_2J.copy()
    bad[0, 1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mpjpe(PRED_2J, bad)
    with pytest.raises(ValueError, match="shapes differ"):
        mpjpe(PRED_2J, np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="alignment"):
        keypoint_errors(PRED_2J, GT_2J, alignment="rigid")
    with pytest.raises(ValueError, match="0 and 1"):
        mpjpe(PRED_2J, GT_2J, mask=[0.5, 1.0])


# ---------------------------------------------------------------- PCK / AUC


def test_auc_of_constant_10mm_errors():
    errors = np.full((4, 21), 10.0)
    curve = pck_curve(errors, 0.0, 50.0, steps=100)
    # Thresholds 50 i / 99 reach 10 mm at i = 20: PCK is 0 for i <= 19 and 1 from i = 20, so the
    # trapezoid area is 79 full intervals plus half of [19, 20], over 99 intervals.
    assert curve.values[19] == 0.0 and curve.values[20] == 1.0
    assert curve.auc == pytest.approx(79.5 / 99)
    assert pck_curve(errors, 20.0, 50.0).auc == pytest.approx(1.0)


def test_auc_of_constant_29mm_errors_over_20_50():
    # Thresholds 20 + 30 i / 99 pass 29 mm at i = 30 (29.09 mm; i = 29 is 28.79 mm): area 69.5 / 99.
    assert pck_curve(np.full(5, 29.0), 20.0, 50.0).auc == pytest.approx(69.5 / 99)


def test_auc_half_perfect_half_hopeless_is_one_half():
    errors = np.array([0.0, 0.0, 100.0, 100.0])
    assert pck_curve(errors, 0.0, 50.0).auc == pytest.approx(0.5)
    assert pck_curve(errors, 0.0, 50.0, valid=[True, True, False, False]).auc == pytest.approx(1.0)


def test_pck_curve_rejects_bad_ranges():
    with pytest.raises(ValueError, match="low < high"):
        pck_curve(np.ones(3), 50.0, 20.0)
    with pytest.raises(ValueError, match="steps"):
        pck_curve(np.ones(3), 0.0, 50.0, steps=1)


def test_pck_2d_pixels():
    gt = np.zeros((1, 2, 2))
    pred = np.array([[[3.0, 0.0], [0.0, 12.0]]])
    assert pck_2d(pred, gt, threshold_px=10.0) == pytest.approx(0.5)
    assert pck_2d(pred, gt, threshold_px=12.0) == pytest.approx(1.0)  # inclusive
    assert pck(np.array([1.0, 2.0, 3.0]), 2.0) == pytest.approx(2 / 3)


# ---------------------------------------------------------------- two hands


def test_mrrpe_and_handedness():
    # Left relative to right: predicted (1, 0, 0), true (1, 0, 0.02) -> error 0.02; second: 0.
    pred_r = np.array([[0.0, 0.0, 0.5], [0.1, 0.1, 0.6]])
    pred_l = np.array([[1.0, 0.0, 0.5], [0.2, 0.1, 0.6]])
    gt_r = np.array([[0.5, 0.0, 0.4], [0.0, 0.0, 0.0]])
    gt_l = np.array([[1.5, 0.0, 0.42], [0.1, 0.0, 0.0]])
    assert mrrpe(pred_r, pred_l, gt_r, gt_l) == pytest.approx(0.01)
    assert mrrpe(pred_r, pred_l, gt_r, gt_l, valid=[True, False]) == pytest.approx(0.02)
    assert handedness_accuracy(
        ["left", "right", "left"], ["left", "left", "left"]
    ) == pytest.approx(2 / 3)
    assert handedness_accuracy([0, 1, 1], [0, 0, 1], valid=[True, False, True]) == pytest.approx(
        1.0
    )


# ---------------------------------------------------------------- F-score


def test_fscore_small_point_sets():
    gt = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    pred = np.array([[0.0, 0.0, 0.004], [5.0, 0.0, 0.0], [1.0, 0.0, 0.01]])
    at5 = fscore(pred, gt, 0.005)
    # Precision: only the first prediction is within 5 mm (1/3); recall: only gt point 0 (1/2).
    assert (at5.precision, at5.recall) == pytest.approx((1 / 3, 1 / 2))
    assert at5.fscore == pytest.approx(0.4)
    at15 = fscore(pred, gt, 0.015)
    assert (at15.precision, at15.recall, at15.fscore) == pytest.approx((2 / 3, 1.0, 0.8))
    assert fscore(pred + 10.0, gt, 0.005).fscore == 0.0


# ---------------------------------------------------------------- segmentation


SEG_GT = np.array([[0, 0, 1], [1, 2, 2]])
SEG_PRED = np.array([[0, 1, 1], [1, 2, 0]])


def test_miou_tiny_label_map():
    np.testing.assert_array_equal(
        confusion_matrix(SEG_PRED, SEG_GT, 3), [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    )
    scores = mean_iou(SEG_PRED, SEG_GT, 3)
    np.testing.assert_allclose(scores.per_class_iou, [1 / 3, 2 / 3, 1 / 2])
    assert scores.miou == pytest.approx(0.5)
    # A fourth class in neither map is left out of the mean.
    four = mean_iou(SEG_PRED, SEG_GT, 4)
    assert np.isnan(four.per_class_iou[3]) and four.miou == pytest.approx(0.5)


def test_miou_ignore_label():
    gt = SEG_GT.copy()
    gt[1, 2] = 255
    scores = mean_iou(SEG_PRED, gt, 3, ignore_index=255)
    np.testing.assert_allclose(scores.per_class_iou, [1 / 2, 2 / 3, 1.0])
    with pytest.raises(ValueError, match="outside"):
        mean_iou(SEG_PRED, gt, 3)


# ---------------------------------------------------------------- gaze


def test_angular_error_known_pairs():
    pred = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
    gt = np.array([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(angular_error_deg(pred, gt), [90.0, 45.0, 180.0, 0.0], atol=1e-9)
    with pytest.raises(ValueError, match="zero-length"):
        angular_error_deg(np.zeros((1, 3)), gt[:1])


def test_pitchyaw_mpiigaze_convention():
    np.testing.assert_allclose(pitchyaw_to_vector([[0.0, 0.0]]), [[0.0, 0.0, -1.0]], atol=1e-12)
    # Looking up (negative y in the camera frame) is positive pitch: pitch = arcsin(-y).
    np.testing.assert_allclose(
        pitchyaw_to_vector([[math.pi / 2, 0.0]]), [[0.0, -1.0, 0.0]], atol=1e-12
    )
    angles = np.array([[0.2, -0.4], [-0.3, 1.0]])
    np.testing.assert_allclose(
        vector_to_pitchyaw(3.0 * pitchyaw_to_vector(angles)), angles, atol=1e-12
    )
    # At pitch 0 a yaw difference is the angle itself; likewise a pitch difference at fixed yaw.
    errors = pitchyaw_error_deg([[0.0, 0.3], [0.1, 0.5]], [[0.0, 0.0], [0.4, 0.5]])
    np.testing.assert_allclose(errors, np.degrees([0.3, 0.3]), atol=1e-9)


# ---------------------------------------------------------------- grasps


def test_penetration_depth_on_sphere():
    sdf = sphere_sdf(0.05)
    hand = np.array([[0.0, 0.0, 0.03], [0.0, 0.0, 0.06], [0.1, 0.0, 0.0]])  # sdf -0.02, 0.01, 0.05
    assert penetration_depth(hand, sdf) == pytest.approx(0.02)
    assert penetration_depth(hand[1:], sdf) == 0.0


def test_contact_ratio_on_sphere():
    radii = np.array([0.052, 0.048, 0.06, 0.03, 0.0505])  # |sdf| = 2, 2, 10, 20, 0.5 mm
    tips = radii[:, None] * np.array([0.0, 1.0, 0.0])
    assert contact_ratio(tips, sphere_sdf(0.05), threshold=0.005) == pytest.approx(3 / 5)
    assert contact_ratio(tips[None], sphere_sdf(0.05), threshold=0.025) == pytest.approx(1.0)


def test_interpenetration_volume_voxels():
    # Hand = unit cube as 10^3 voxel centres; object = half-space z < 0.5: 5 layers of 100 voxels.
    centres = (
        np.stack(np.meshgrid(*[np.arange(10)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5
    ) / 10
    half_space = lambda p: p[:, 2] - 0.5  # noqa: E731
    assert interpenetration_volume(centres, half_space, 0.001) == pytest.approx(0.5)
    # Only voxels with hand sdf < 0 (x < 0.3: 3 of 10 columns) are hand: 3 * 10 * 5 voxels.
    assert interpenetration_volume(
        centres, half_space, 0.001, hand_sdf=centres[:, 0] - 0.3
    ) == pytest.approx(0.15)
    with pytest.raises(ValueError, match="volume_per_sample"):
        interpenetration_volume(centres, half_space, 0.0)


def test_grasp_sdf_must_return_one_distance_per_point():
    with pytest.raises(ValueError, match="object_sdf must return"):
        penetration_depth(HAND, lambda p: np.zeros(3))


def test_grasp_diversity():
    a = np.zeros((2, 3))
    b = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]])  # per-keypoint distances 5 and 1
    two = grasp_diversity(np.stack([a, b]), num_clusters=2)
    assert two.mean_pairwise_distance == pytest.approx(3.0)
    assert two.cluster_entropy == pytest.approx(1.0)
    groups = np.repeat(np.arange(4.0), 3)[:, None, None] * np.ones((1, 2, 3)) + RNG.normal(
        scale=1e-3, size=(12, 2, 3)
    )
    spread = grasp_diversity(groups, num_clusters=4)
    np.testing.assert_array_equal(np.sort(spread.cluster_sizes), [3, 3, 3, 3])
    assert spread.cluster_entropy == pytest.approx(1.0)
    same = grasp_diversity(np.ones((5, 2, 3)), num_clusters=2)
    assert same.mean_pairwise_distance == 0.0 and same.cluster_entropy == 0.0
    with pytest.raises(ValueError, match="num_clusters"):
        grasp_diversity(np.ones((3, 2, 3)), num_clusters=4)

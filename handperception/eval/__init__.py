"""Evaluation: metrics, HANDS'19-style split reports and the published-claims harness.

Pure numpy/scipy (torch tensors are accepted and converted); no ROS imports.
"""
from handperception.eval.claims import (
    ClaimContext,
    ClaimRegistry,
    ClaimResult,
    ClaimRun,
    DEFAULT_REGISTRY,
    register_claim,
    run_claims,
)
from handperception.eval.gaze import angular_error_deg, angular_error_pitchyaw_deg, pitchyaw_to_vector, vector_to_pitchyaw
from handperception.eval.grasp import (
    GraspDiversity,
    contact_ratio,
    grasp_diversity,
    interpenetration_volume,
    penetration_depth,
)
from handperception.eval.metrics import (
    PCKCurve,
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
from handperception.eval.pointsets import FScore, fscore
from handperception.eval.procrustes import SimilarityTransform, procrustes_align
from handperception.eval.report import EvaluationReport, SplitResult, check_split_name, evaluate_keypoints
from handperception.eval.segmentation import SegmentationScores, confusion_matrix, iou_from_confusion, mean_iou

__all__ = [
    "ClaimContext",
    "ClaimRegistry",
    "ClaimResult",
    "ClaimRun",
    "DEFAULT_REGISTRY",
    "run_claims",
    "EvaluationReport",
    "FScore",
    "GraspDiversity",
    "PCKCurve",
    "SegmentationScores",
    "SimilarityTransform",
    "SplitResult",
    "angular_error_deg",
    "angular_error_pitchyaw_deg",
    "check_split_name",
    "confusion_matrix",
    "contact_ratio",
    "evaluate_keypoints",
    "fscore",
    "grasp_diversity",
    "handedness_accuracy",
    "interpenetration_volume",
    "iou_from_confusion",
    "keypoint_errors",
    "mean_iou",
    "mpjpe",
    "mrrpe",
    "pa_mpjpe",
    "pck",
    "pck_2d",
    "pck_curve",
    "penetration_depth",
    "per_joint_errors",
    "pitchyaw_to_vector",
    "procrustes_align",
    "register_claim",
    "root_relative_mpjpe",
    "vector_to_pitchyaw",
]

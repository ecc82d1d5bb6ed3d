"""Building the pipelines from checkpoints, with errors that say what to do."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from handperception.models.checkpoint import CheckpointError, load_checkpoint, read_checkpoint
from handperception.pipeline.faces import (
    MEDIAPIPE_INSTALL,
    YUNET_MODEL,
    FaceDetector,
    MediaPipeFaceMesh,
    OpenCVYuNet,
    mediapipe_available,
)
from handperception.pipeline.gaze import GazeConfig, GazePipeline
from handperception.pipeline.gaze_estimators import IrisGeometryGaze, NetworkEyeGaze
from handperception.pipeline.hand_pose import HandPoseConfig, HandPosePipeline
from handperception.pipeline.interface import FramePipeline
from handperception.pipeline.mediapipe_backend import MediaPipeHandPipeline
from handperception.pipeline.pose_estimator import CropPoseEstimator
from handperception.pipeline.two_hand_pose import TwoHandPoseConfig, TwoHandPosePipeline
from handperception.runtime.paths import package_root, resolve_package_path

if TYPE_CHECKING:  # imported where used: the other pipelines load without HALO's model code
    from handperception.pipeline.grasp_synthesis import (
        GraspSynthesisConfig,
        GraspSynthesisPipeline,
    )
    from handperception.pipeline.hand_mesh import HandMeshConfig, HandMeshPipeline


def trained_crop_size(checkpoint: str | Path) -> int:
    """The crop side a pose checkpoint was trained at (its meta), or the historical default.

    Checked against CROP_SIZE_LIMITS, so a file's -8 or 100000 (30 GB per frame) is a
    CheckpointError when the node configures, not a failure on every frame after it.
    """
    size = read_checkpoint(checkpoint).get("meta", {}).get("crop_size", DEFAULT_CROP_SIZE)
    low, high = CROP_SIZE_LIMITS
    if type(size) is not int or not low <= size <= high:
        raise CheckpointError(
            f"{checkpoint}: stored crop_size {size!r:.60} is not an integer in {low}..{high} px"
        )
    return size


def _require(path: str, what: str, how: str) -> Path:
    checkpoint = resolve_package_path(path)
    if not checkpoint.is_file():
        raise FileNotFoundError(
            f"{what} checkpoint {path} does not exist (looked in . and {package_root()}); {how}"
        )
    return checkpoint


BACKENDS = ("native", "mediapipe")
# Crop side for checkpoints that do not record theirs (saved before meta existed).
DEFAULT_CROP_SIZE = 96
# The crop sides, in pixels, a pose checkpoint may record (the hand node's crop_size parameter
# allows the same): below 16 a hand has no detail left, above 512 a crop is larger than most frames.
CROP_SIZE_LIMITS = (16, 512)


def load_hand_pose_pipeline(
    pose_checkpoint: str,
    detector_checkpoint: str,
    config: HandPoseConfig,
    device: str = "cpu",
    bone_length_m: float | None = None,
    backend: str = "native",
) -> FramePipeline:
    """Weights-only loading; a missing or mismatched checkpoint raises before any frame is taken.

    backend "mediapipe" runs MediaPipe Hands (a pretrained peer from its wheel) instead of the
    project's networks; the checkpoints are then not used.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got '{backend}'")
    if backend == "mediapipe":
        return MediaPipeHandPipeline(config, model_complexity=0)
    pose_path = _require(
        pose_checkpoint,
        "hand pose",
        "train one with `handperception train hand --config config/train/hand_tiny.yaml`",
    )
    detector_path = _require(
        detector_checkpoint, "hand detector", "train one with `handperception train detector`"
    )
    pose_model, _ = load_checkpoint(pose_path, expected_model="hand_pose_net", map_location=device)
    if config.crop_size == 0:
        config = replace(config, crop_size=trained_crop_size(pose_path))
    detector, _ = load_checkpoint(
        detector_path, expected_model="hand_detector", map_location=device
    )
    estimator = (
        CropPoseEstimator(pose_model, device)
        if bone_length_m is None
        else CropPoseEstimator(pose_model, device, bone_length_m)
    )
    return HandPosePipeline(estimator, detector, config)


def load_two_hand_pose_pipeline(
    checkpoint: str,
    detector_checkpoint: str,
    config: TwoHandPoseConfig,
    device: str = "cpu",
    bone_length_m: float | None = None,
) -> TwoHandPosePipeline:
    """Weights-only loading of the two-hand network and the hand detector; a missing or
    mismatched checkpoint raises before any frame is taken. ``config.crop_size`` 0 takes the
    size the network was trained at; ``bone_length_m`` None the mean hand's reference bone."""
    path = _require(
        checkpoint,
        "two-hand pose",
        "train one with `handperception train two_hands --config config/train/two_hands_tiny.yaml`",
    )
    detector_path = _require(
        detector_checkpoint, "hand detector", "train one with `handperception train detector`"
    )
    model, _ = load_checkpoint(path, expected_model="two_hand_net", map_location=device)
    if config.crop_size == 0:
        config = replace(config, crop_size=trained_crop_size(path))
    detector, _ = load_checkpoint(
        detector_path, expected_model="hand_detector", map_location=device
    )
    if bone_length_m is None:
        return TwoHandPosePipeline(model, detector, config, device)
    return TwoHandPosePipeline(model, detector, config, device, bone_length_m)


HALO_TRAINING = "handperception train halo --config config/train/halo_tiny.yaml"


def load_hand_mesh_pipeline(
    checkpoint: str, config: HandMeshConfig, device: str = "cpu"
) -> HandMeshPipeline:
    """The HALO surface pipeline, ready before any hand arrives: FileNotFoundError for a missing
    checkpoint, CheckpointError for one that is not a valid HALO model, each naming the command
    that trains one."""
    from handperception.pipeline.hand_mesh import HandMeshPipeline

    path = _require(checkpoint, "HALO hand mesh", f"train one with `{HALO_TRAINING}`")
    try:
        model, _ = load_checkpoint(path, expected_model="halo", map_location=device)
    except CheckpointError as error:
        raise CheckpointError(f"{error}; train a HALO model with `{HALO_TRAINING}`") from error
    return HandMeshPipeline(model, config, device)


GRASP_TRAINING = "handperception train grasp --config config/train/grasp_tiny.yaml"


def load_grasp_synthesis_pipeline(
    generator_checkpoint: str,
    halo_checkpoint: str,
    config: GraspSynthesisConfig,
    device: str = "cpu",
) -> GraspSynthesisPipeline:
    """The grasp pipeline, ready before any request: FileNotFoundError for a missing checkpoint,
    CheckpointError for one that is not the model it should be (a HALO file given as the
    generator, a hostile config), each naming the command that trains one. The generator runs
    on ``device``; HALO on the CPU, where refinement's tensors are."""
    from handperception.pipeline.grasp_synthesis import GraspSynthesisPipeline

    trained = {}
    for name, what, path, how, where in (
        ("grasp_vae", "grasp generator", generator_checkpoint, GRASP_TRAINING, device),
        ("halo", "HALO", halo_checkpoint, HALO_TRAINING, "cpu"),
    ):
        found = _require(path, what, f"train one with `{how}`")
        try:
            trained[name], _ = load_checkpoint(found, expected_model=name, map_location=where)
        except CheckpointError as error:
            raise CheckpointError(f"{error}; train a {what} model with `{how}`") from error
    return GraspSynthesisPipeline(trained["grasp_vae"], trained["halo"], config)


GAZE_BACKENDS = ("network", "geometric")
FACE_DETECTORS = ("auto", "mediapipe", "opencv")


def load_gaze_pipeline(
    checkpoint: str,
    config: GazeConfig,
    device: str,
    backend: str = "network",
    detector: str = "auto",
) -> GazePipeline:
    """The gaze pipeline, ready before any frame is taken; ValueError naming the fix otherwise.

    backend "network" runs Deep Pictorial Gaze from ``checkpoint``; "geometric" the iris-geometry
    peer (no checkpoint; needs MediaPipe's iris landmarks). detector "auto" is MediaPipe's face
    mesh where mediapipe imports, else OpenCV's YuNet.
    """
    if backend not in GAZE_BACKENDS:
        raise ValueError(f"gaze backend must be one of {GAZE_BACKENDS}, got '{backend}'")
    if detector not in FACE_DETECTORS:
        raise ValueError(f"face detector must be one of {FACE_DETECTORS}, got '{detector}'")
    if detector == "auto":
        detector = "mediapipe" if mediapipe_available() else "opencv"
    if backend == "geometric" and detector != "mediapipe":
        raise ValueError(
            "the geometric gaze backend needs MediaPipe's iris landmarks; install it with "
            f"`{MEDIAPIPE_INSTALL}` or use backend 'network'"
        )
    faces = _face_detector(detector, config)
    if backend == "geometric":
        estimator = IrisGeometryGaze()
    else:
        try:
            path = _require(
                checkpoint,
                "gaze",
                "train one with `handperception train gaze --config config/train/gaze_tiny.yaml`",
            )
        except FileNotFoundError as error:
            raise ValueError(str(error)) from error
        model, _ = load_checkpoint(path, expected_model="deep_pictorial_gaze", map_location=device)
        estimator = NetworkEyeGaze(model, device)
    return GazePipeline(faces, estimator, config)


def _face_detector(name: str, config: GazeConfig) -> FaceDetector:
    if name == "mediapipe":
        return MediaPipeFaceMesh(config.max_faces, config.min_face_confidence)
    weights = resolve_package_path(YUNET_MODEL)
    return OpenCVYuNet(weights, config.max_faces, config.min_face_confidence)

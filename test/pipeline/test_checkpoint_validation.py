"""Hostile checkpoints are refused in one line when a node configures, before they cost anything.

Each file here is written as an attacker or a broken training run would write it: a dict in the
project's format (``models.checkpoint.save_checkpoint``) saved with ``torch.save``.
"""

import os
import shlex
import time

import pytest
import torch

from handperception.models.checkpoint import (
    FORMAT,
    CheckpointError,
    load_checkpoint,
    model_builders,
    save_checkpoint,
)
from handperception.models.detector import HandDetector
from handperception.models.gaze import DeepPictorialGaze
from handperception.models.pose2p5d import HandPoseNet
from handperception.pipeline.hand_pose import HandPoseConfig
from handperception.pipeline.loading import load_hand_pose_pipeline, trained_crop_size


def _write(path, model="hand_pose_net", config=None, state_dict=None, meta=None):
    torch.save(
        {
            "format": FORMAT,
            "model": model,
            "config": config or {},
            "meta": {} if meta is None else meta,
            "state_dict": state_dict or {},
        },
        path,
    )
    return path


@pytest.mark.parametrize(
    "model, config, reason",
    [
        (
            "hand_pose_net",
            {"num_joints": 4_000_000},
            "num_joints must be an integer 21, got 4000000",
        ),
        ("hand_pose_net", {"num_joints": 21.0}, "num_joints must be an integer 21"),
        ("hand_pose_net", {"size": "resnet1000"}, "size must be one of"),
        ("hand_pose_net", {"output_stride": 1}, "output_stride must be one of"),
        ("hand_pose_net", {"beta": float("inf")}, "beta must be a number"),
        ("hand_pose_net", {"depth_of_field": 3}, "unexpected keyword argument"),
        ("hand_detector", {"input_width": 100_000}, "input_width must be an integer in 4..1280"),
        ("hand_detector", {"input_height": 122}, "input_height must be a multiple of 4"),
        ("hand_detector", {"input_width": True}, "input_width must be an integer"),
        ("two_hand_net", {"fusion": "soft"}, "fusion must be one of"),
        ("two_hand_net", {"output_stride": 4.0}, "output_stride must be one of"),
        ("deep_pictorial_gaze", {"channels": 100_000}, "channels must be an integer in 4..256"),
        ("deep_pictorial_gaze", {"stacks": 1000}, "stacks must be an integer in 1..4"),
        ("deep_pictorial_gaze", {"depth": "2"}, "depth must be an integer in 1..4"),
    ],
)
def test_a_config_beyond_the_models_limits_is_refused_before_anything_is_built(
    tmp_path, monkeypatch, model, config, reason
):
    """The 1.4 KB file that declared 4 million joints used to build an 800 MB model first."""
    model_builders()  # imports the model modules, so the timing below is the check alone

    def no_building(self, *args, **kwargs):
        raise AssertionError("a module was built for a refused config")

    monkeypatch.setattr(torch.nn.Module, "__init__", no_building)
    path = _write(tmp_path / "hostile.pt", model, config)
    assert path.stat().st_size < 2000
    started = time.perf_counter()
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert time.perf_counter() - started < 0.5
    message = str(error.value)
    assert reason in message and f"does not build {model!r}" in message
    assert "\n" not in message


def _small_gaze(path):
    model = DeepPictorialGaze(stacks=1, channels=8, depth=1, regressor_channels=8)
    return save_checkpoint(path, model, "deep_pictorial_gaze", model.config), model


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, value):
    path, model = _small_gaze(tmp_path / "gaze.pt")
    data = torch.load(path, weights_only=True)
    data["state_dict"]["regressor.head.3.weight"][0, 5] = value
    torch.save(data, path)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert "tensor 'regressor.head.3.weight' is not finite (1 of 128 values NaN or Inf)" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"state_dict": {"stem.0.0.weight": [1.0, 2.0]}}, "'stem.0.0.weight' is not a tensor"),
        ({"meta": ["crop_size", 96]}, "field 'meta' is not a dict"),
    ],
)
def test_a_file_of_the_wrong_shape_is_refused_in_one_line(tmp_path, fields, reason):
    path = _write(tmp_path / "odd.pt", "deep_pictorial_gaze", **fields)
    with pytest.raises(CheckpointError, match=reason) as error:
        load_checkpoint(path)
    assert "\n" not in str(error.value)


@pytest.fixture(scope="module")
def pose_and_detector(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hand")
    detector = save_checkpoint(
        folder / "detector.pt", HandDetector("tiny"), "hand_detector", {"size": "tiny"}
    )
    return HandPoseNet("tiny").state_dict(), str(detector), folder


@pytest.mark.parametrize("stored", [-8, 0, 100_000, 96.0, "96", None])
def test_a_stored_crop_size_out_of_range_fails_configure_not_every_frame(pose_and_detector, stored):
    """100000 px asked for 30 GB per frame; -8 failed every frame. Both pass configure no more."""
    state, detector, folder = pose_and_detector
    meta = {"crop_size": stored}
    pose = _write(folder / "pose.pt", config={"size": "tiny"}, state_dict=state, meta=meta)
    with pytest.raises(
        CheckpointError, match=r"stored crop_size .* not an integer in 16\.\.512 px"
    ):
        trained_crop_size(pose)
    with pytest.raises(CheckpointError, match="stored crop_size"):
        load_hand_pose_pipeline(str(pose), detector, HandPoseConfig(crop_size=0))


def test_a_stored_crop_size_in_range_is_used_and_a_missing_one_defaults(pose_and_detector):
    state, detector, folder = pose_and_detector
    pose = _write(folder / "pose64.pt", config={"size": "tiny"}, state_dict=state)
    assert trained_crop_size(pose) == 96
    _write(pose, config={"size": "tiny"}, state_dict=state, meta={"crop_size": 64})
    assert trained_crop_size(pose) == 64
    pipeline = load_hand_pose_pipeline(str(pose), detector, HandPoseConfig(crop_size=0))
    assert pipeline.config.crop_size == 64


class _RunsCode:
    """Pickles as a call of os.system: what a hostile "checkpoint" holds instead of tensors."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_a_pickle_that_runs_code_is_refused_and_runs_nothing(tmp_path):
    ran = tmp_path / "ran"
    path = tmp_path / "trojan.pt"
    torch.save(
        {
            "format": FORMAT,
            "model": "hand_pose_net",
            "config": _RunsCode(f"touch {shlex.quote(str(ran))}"),
        },
        path,
    )
    with pytest.raises(CheckpointError, match="not a readable weights-only checkpoint") as error:
        load_checkpoint(path)
    assert "\n" not in str(error.value)
    assert not ran.exists()

import numpy as np
import pytest
import torch

from handperception.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from handperception.models.gaze import (
    MIRROR_RIGHT_EYE,
    DeepPictorialGaze,
    GazeNetOutput,
    eye_patch_tensor,
    mirror_eye_patches,
    mirror_pitchyaw,
)

SMALL = {"stacks": 2, "channels": 8, "depth": 2, "regressor_channels": 8}


def test_patch_tensor_equalises_and_scales_to_unit_range():
    patches = np.zeros((2, 36, 60), np.uint8)
    patches[:, :, 30:] = 100  # two grey levels -> equalised to the extremes
    x = eye_patch_tensor(patches)
    assert x.shape == (2, 1, 36, 60) and x.dtype == torch.float32
    assert x.max().item() == pytest.approx(1.0) and x.min().item() >= -1.0
    assert torch.all(x[:, :, :, 30:] > x[:, :, :, :30])
    assert eye_patch_tensor(np.zeros((0, 36, 60), np.uint8)).shape == (0, 1, 36, 60)


@pytest.mark.parametrize(
    "bad", [np.zeros((36, 60), np.uint8), np.zeros((1, 36, 61), np.uint8), np.zeros((1, 36, 60))]
)
def test_patch_tensor_rejects_wrong_shapes_and_types(bad):
    with pytest.raises(ValueError):
        eye_patch_tensor(bad)


def test_mirroring_flips_columns_and_negates_yaw():
    patches = np.arange(2 * 36 * 60, dtype=np.uint8).reshape(2, 36, 60)
    assert np.array_equal(mirror_eye_patches(patches)[:, :, 0], patches[:, :, -1])
    assert np.array_equal(mirror_eye_patches(mirror_eye_patches(patches)), patches)
    assert np.allclose(mirror_pitchyaw(np.array([[0.1, 0.3]])), [[0.1, -0.3]])
    assert torch.allclose(mirror_pitchyaw(torch.tensor([[0.1, 0.3]])), torch.tensor([[0.1, -0.3]]))
    assert isinstance(MIRROR_RIGHT_EYE, bool)


def test_forward_and_estimate_contract():
    model = DeepPictorialGaze(**SMALL).eval()
    x = eye_patch_tensor(np.random.default_rng(0).integers(0, 256, (3, 36, 60), dtype=np.uint8))
    output = model(x)
    assert isinstance(output, GazeNetOutput)
    assert len(output.gazemaps) == 2
    assert all(maps.shape == (3, 2, 36, 60) for maps in output.gazemaps)
    assert output.pitchyaw.shape == (3, 2)
    pitchyaw, maps = model.estimate(x)
    assert not pitchyaw.requires_grad and torch.allclose(pitchyaw, output.pitchyaw)
    assert maps.shape == (3, 2, 36, 60) and 0 <= maps.min() and maps.max() <= 1
    with pytest.raises(ValueError, match="input must be"):
        model(torch.zeros(1, 3, 36, 60))


@pytest.mark.parametrize(
    "config", [{"stacks": 0}, {"channels": 2}, {"depth": 5}, {"regressor_channels": 1.5}]
)
def test_bad_configs_raise(config):
    with pytest.raises(ValueError):
        DeepPictorialGaze(**config)


def test_checkpoint_round_trip_and_mismatch_refused(tmp_path):
    model = DeepPictorialGaze(**SMALL)
    path = save_checkpoint(tmp_path / "gaze.pt", model, "deep_pictorial_gaze", model.config)
    loaded, config = load_checkpoint(path, expected_model="deep_pictorial_gaze")
    assert config == SMALL
    x = torch.zeros(1, 1, 36, 60)
    assert torch.allclose(loaded(x).pitchyaw, model.eval()(x).pitchyaw)
    wider = DeepPictorialGaze(**{**SMALL, "channels": 16})
    save_checkpoint(tmp_path / "wrong.pt", wider, "deep_pictorial_gaze", SMALL)
    with pytest.raises(CheckpointError, match="mis-shaped"):
        load_checkpoint(tmp_path / "wrong.pt")
    with pytest.raises(CheckpointError, match="expected 'hand_pose_net'"):
        load_checkpoint(path, expected_model="hand_pose_net")

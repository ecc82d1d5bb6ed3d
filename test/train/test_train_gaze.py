import numpy as np
import pytest

from handperception.models.gaze import DeepPictorialGaze
from handperception.synth.eye_model import EyeSpec
from handperception.synth.eyes import render_eye_batch
from handperception.train.eye_augment import EyeAugmentation
from handperception.train.gaze import fit_gaze, merge_config

TRAIN = {
    "steps": 40,
    "batch_size": 8,
    "lr": 0.003,
    "weight_decay": 0.0,
    "loss_weights": {},
    "augment": False,
    "device": "cpu",
    "threads": None,
    "max_minutes": None,
}


def test_a_few_steps_lower_the_loss():
    patches = render_eye_batch(EyeSpec(), 0, 0, 8, progress=False)
    model = DeepPictorialGaze(stacks=1, channels=8, depth=2, regressor_channels=8)
    history = fit_gaze(model, patches, TRAIN, seed=0, progress=False)
    assert len(history) == 40
    first = np.mean([r["total"] for r in history[:5]])
    last = np.mean([r["total"] for r in history[-5:]])
    assert last < 0.6 * first
    assert history[-1]["gazemap"] < history[0]["gazemap"]


def test_time_budget_stops_training():
    patches = render_eye_batch(EyeSpec(), 0, 0, 4, progress=False)
    model = DeepPictorialGaze(stacks=1, channels=8, depth=1, regressor_channels=8)
    history = fit_gaze(model, patches, {**TRAIN, "max_minutes": 1e-9}, seed=0, progress=False)
    assert len(history) == 1  # the first step always runs; the budget ends the rest


def test_shift_moves_maps_with_the_image_and_photometrics_leave_maps_alone():
    images = np.zeros((1, 36, 60), np.uint8)
    images[0, 10:20, 20:30] = 200
    maps = np.zeros((1, 2, 36, 60), np.float32)
    maps[0, :, 10:20, 20:30] = 1.0
    shift_only = EyeAugmentation(
        shift_px=(3.0, 2.0), blur_sigma=0, noise_std=0, contrast=0, brightness=0, gamma=0
    )
    out_images, out_maps = shift_only.apply(images, maps, np.random.default_rng(1))
    bright = out_images[0] > 100
    assert np.array_equal(bright, out_maps[0, 0] > 0.5)
    assert not np.array_equal(bright, images[0] > 100)  # it moved
    photometric = EyeAugmentation(shift_px=(0.0, 0.0))
    out_images, out_maps = photometric.apply(images, maps, np.random.default_rng(2))
    assert np.array_equal(out_maps, maps) and out_images.dtype == np.uint8


def test_bad_augmentation_and_config_raise():
    with pytest.raises(ValueError, match="unknown augment keys"):
        EyeAugmentation.from_config({"rotate": 5})
    with pytest.raises(ValueError):
        EyeAugmentation(contrast=1.5)
    assert EyeAugmentation.from_config(False) is None
    with pytest.raises(ValueError, match="unknown keys"):
        merge_config({"train": {"step": 3}})
    with pytest.raises(ValueError, match="unknown config section"):
        merge_config({"trian": {}})

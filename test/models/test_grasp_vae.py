"""The grasp generator: its loss falls on a tiny grasp set, its samples are hands in metres near
the object in the object's frame, its inputs and checkpoints are checked."""

import numpy as np
import pytest
import torch

from handperception.losses.grasp import cvae_loss
from handperception.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from handperception.models.grasp_vae import GraspVAE
from handperception.models.halo import hand_keypoint_problem
from handperception.train.grasp import fit_grasp_vae, grasp_set

SMALL = {"bps_points": 64, "object_features": 16, "latent": 4, "hidden": 64}


@pytest.fixture(scope="module")
def tiny_grasps():
    return grasp_set("interpolation", "train", 2, 3, seed=0, progress=False)


def _set_loss(model, grasps) -> float:
    torch.manual_seed(0)
    keypoints = torch.as_tensor(grasps["keypoints"])
    points = torch.as_tensor(grasps["object_points"][grasps["object"]])
    with torch.no_grad():
        reconstruction, mean, log_variance = model(keypoints, grasps["is_left"], points)
        return float(cvae_loss(reconstruction, keypoints, mean, log_variance, 0.5)["total"])


def test_the_loss_falls_and_samples_are_hands_around_the_object(tiny_grasps):
    torch.manual_seed(0)
    model = GraspVAE(**SMALL)
    before = _set_loss(model, tiny_grasps)
    history = fit_grasp_vae(model, tiny_grasps, 60, batch_size=6, lr=3e-3, progress=False)
    assert len(history) == 60
    assert _set_loss(model, tiny_grasps) < 0.5 * before

    points = tiny_grasps["object_points"][0]
    samples = model.eval().sample(points, 8, False, torch.Generator().manual_seed(1))
    assert samples.shape == (8, 21, 3) and samples.dtype == torch.float32
    samples = samples.double().numpy()
    # Metres, in the object's frame: within a hand's reach of the object's centre (the training
    # grasps' keypoints lie within ~15 cm of it), not at the origin of some other frame.
    training = tiny_grasps["keypoints"][tiny_grasps["object"] == 0]
    reach = np.linalg.norm(training, axis=-1).max()
    assert np.linalg.norm(samples, axis=-1).max() < reach + 0.05
    wrist_error = np.linalg.norm(samples[:, 0].mean(0) - training[:, 0].mean(0))
    assert wrist_error < 0.08
    # The same generator seed gives the same grasps; another gives others.
    again = model.sample(points, 8, False, torch.Generator().manual_seed(1)).double().numpy()
    other = model.sample(points, 8, False, torch.Generator().manual_seed(2)).double().numpy()
    assert np.allclose(samples, again) and not np.allclose(samples, other)


def test_an_untrained_generator_already_draws_hands_of_either_side():
    """The decoder composes a wrist pose with offsets from the mean hand of the asked side."""
    model = GraspVAE(**SMALL).eval()
    points = torch.randn(50, 3) * 0.03
    right = model.sample(points, 4, False, torch.Generator().manual_seed(0)).double().numpy()
    left = model.sample(points, 4, True, torch.Generator().manual_seed(0)).double().numpy()
    assert all(hand_keypoint_problem(hand) is None for hand in np.concatenate([left, right]))
    assert not np.allclose(left, right)


def test_kl_is_zero_for_the_prior_and_shapes_must_match():
    keypoints = torch.zeros(2, 21, 3)
    terms = cvae_loss(keypoints, keypoints, torch.zeros(2, 4), torch.zeros(2, 4), 1.0)
    assert float(terms["total"]) == 0.0
    with pytest.raises(ValueError, match="differ"):
        cvae_loss(keypoints, keypoints[:1], torch.zeros(2, 4), torch.zeros(2, 4), 1.0)


@pytest.mark.parametrize(
    ("points", "count", "match"),
    [
        (torch.full((10, 3), float("nan")), 2, "NaN"),
        (torch.zeros(0, 3), 2, r"\(N >= 1, 3\)"),
        (torch.zeros(10, 2), 2, r"\(N >= 1, 3\)"),
        (torch.zeros(10, 3), 0, "count"),
    ],
)
def test_bad_sample_inputs_are_clear_errors(points, count, match):
    with pytest.raises(ValueError, match=match):
        GraspVAE(**SMALL).sample(points, count, False)


def test_checkpoints_round_trip_and_a_hostile_config_is_refused(tmp_path):
    model = GraspVAE(**SMALL)
    path = save_checkpoint(tmp_path / "grasp.pt", model, "grasp_vae", model.config)
    loaded, config = load_checkpoint(path, expected_model="grasp_vae")
    assert config == model.config and torch.equal(loaded.basis, model.basis)
    hostile = torch.load(path, weights_only=True)
    hostile["config"]["bps_points"] = 10**9
    torch.save(hostile, tmp_path / "hostile.pt")
    with pytest.raises(CheckpointError, match="bps_points"):
        load_checkpoint(tmp_path / "hostile.pt", expected_model="grasp_vae")

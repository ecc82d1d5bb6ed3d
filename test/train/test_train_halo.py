"""HALO training: samples with exact labels, the pool, a tiny run that lowers the loss, a briefly
trained model that knows inside from outside, the config-driven run and its checkpoint."""

import numpy as np
import pytest
import torch

from handperception.models.checkpoint import load_checkpoint
from handperception.models.halo import HaloNet
from handperception.skeleton.kinematics import HandParameters
from handperception.synth.halo_samples import (
    capsule_sdf,
    halo_batch,
    halo_points,
    sample_halo_hands,
    skin_samples,
)
from handperception.synth.hand_model import hand_capsules
from handperception.synth.hand_surface import hand_sdf
from handperception.synth.poses import SYNERGY_POSTURES
from handperception.synth.splits import load_split
from handperception.train.config import ConfigError
from handperception.train.halo import HaloPool, fit_halo, merge_config, train_halo


def _hand(posture: str = "relaxed", is_left: bool = False) -> np.ndarray:
    return HandParameters(
        SYNERGY_POSTURES[posture][None],
        np.ones((1, 21)),
        np.eye(3)[None],
        np.array([[0.0, 0.0, 0.5]]),
        np.array([is_left]),
    ).keypoints()[0]


def test_labels_are_the_capsule_solids_signed_distance():
    keypoints = _hand()
    capsules = hand_capsules(keypoints, 1.1, False)
    points = keypoints.mean(axis=0) + np.random.default_rng(0).normal(scale=0.05, size=(500, 3))
    assert np.allclose(capsule_sdf(points, capsules), hand_sdf(points, capsules), atol=1e-9)
    skin = skin_samples(capsules, 400, np.random.default_rng(1))
    assert skin.shape == (400, 3)
    # on the skin: never outside it, buried at most where capsules meet tangentially (0.1 mm)
    assert hand_sdf(skin, capsules).max() < 1e-9 and hand_sdf(skin, capsules).min() > -1.1e-4


def test_training_points_mix_near_and_far_with_both_labels():
    rng = np.random.default_rng(0)
    hands = sample_halo_hands(rng, load_split("interpolation"), "train", 3)
    assert hands.keypoints.shape == (3, 21, 3)
    points, inside = halo_points(rng, hands.keypoints[0], hands.scale[0], hands.is_left[0], 1000)
    assert points.shape == (1000, 3) and inside.dtype == bool
    assert 0.15 < inside.mean() < 0.6
    batch = halo_batch(rng, load_split("interpolation"), "train", 2, 256)
    assert batch["points"].shape == (2, 256, 3) and batch["occupancy"].shape == (2, 256)
    assert set(np.unique(batch["occupancy"])) <= {0.0, 1.0}


def test_pool_batches_and_refreshes():
    pool = HaloPool("interpolation", 4, 300, seed=0, progress=False)
    points, keypoints, is_left, occupancy = pool.batch(3, 100, "cpu")
    assert points.shape == (3, 100, 3) and keypoints.shape == (3, 21, 3)
    assert is_left.dtype == torch.bool and occupancy.shape == (3, 100)
    before = pool.keypoints.copy()
    pool.refresh(2)
    assert (np.abs(pool.keypoints - before).sum(axis=(1, 2)) > 0).sum() == 2


def test_tiny_training_lowers_the_loss():
    torch.manual_seed(0)
    pool = HaloPool("interpolation", 12, 512, seed=0, progress=False)
    history = fit_halo(HaloNet(), pool, 60, hands=4, points=512, lr=0.01, progress=False)
    assert len(history) == 60
    first = np.mean([r["total"] for r in history[:10]])
    last = np.mean([r["total"] for r in history[-10:]])
    assert last < 0.8 * first


class _OneHand(HaloPool):
    """A pool of one fixed hand (no sampling after construction)."""

    def __init__(self, keypoints: np.ndarray, count: int):
        rng = np.random.default_rng(0)
        points, inside = halo_points(rng, keypoints, 1.0, False, count)
        self.rng = np.random.default_rng(1)
        self.points_per_hand = count
        self.keypoints = keypoints[None].astype(np.float32)
        self.is_left = np.zeros(1, dtype=bool)
        self.points = points[None].astype(np.float32)
        self.occupancy = inside[None]


def test_briefly_trained_model_knows_inside_from_outside():
    keypoints = _hand()
    torch.manual_seed(0)
    model = HaloNet()
    fit_halo(model, _OneHand(keypoints, 4096), 250, 1, 1024, lr=0.01, refresh=0, progress=False)
    # clearly inside: the middle of every finger bone and the palm's centre (on the capsule
    # axes, 6+ mm under the skin); clearly outside: 4 cm above and below the palm, and far away
    bones = [(j, j + 1) for j in range(1, 21) if j % 4 != 0]
    inside = [(keypoints[a] + keypoints[b]) / 2 for a, b in bones]
    inside.append(keypoints[[0, 5, 9, 13, 17]].mean(axis=0))
    palm_normal = np.cross(keypoints[9] - keypoints[0], keypoints[5] - keypoints[17])
    palm_normal /= np.linalg.norm(palm_normal)
    centre = keypoints[[0, 5, 9, 13, 17]].mean(axis=0)
    outside = [centre + 0.04 * palm_normal, centre - 0.04 * palm_normal]
    outside += [keypoints.mean(axis=0) + offset for offset in np.eye(3) * 0.3]
    points = torch.as_tensor(np.array(inside + outside)[None], dtype=torch.float32)
    with torch.no_grad():
        probability = model.occupancy(
            points, torch.as_tensor(keypoints[None], dtype=torch.float32), torch.tensor([False])
        )[0]
    assert (probability[: len(inside)] > 0.5).all(), probability[: len(inside)]
    assert (probability[len(inside) :] < 0.5).all(), probability[len(inside) :]


def test_config_driven_run_writes_a_loadable_checkpoint(tmp_path):
    config = {
        "model": {"hidden": 16, "code": 8},
        "data": {"pool": 4, "points_per_hand": 256},
        "train": {"steps": 5, "hands": 2, "points": 128, "device": "cpu"},
        "eval": {"hands": 2, "points": 500},
        "out": str(tmp_path / "halo.pt"),
    }
    threads = torch.get_num_threads()
    result = train_halo(config, progress=False)
    assert torch.get_num_threads() == threads  # the run's thread setting is undone
    assert result["checkpoint"].is_file()
    assert (tmp_path / "halo.loss.png").is_file()
    model, saved = load_checkpoint(result["checkpoint"], expected_model="halo")
    assert saved == {**HaloNet().config, "hidden": 16, "code": 8}
    assert set(result["evaluation"]) == {"interpolation", "extrapolation:shape"}
    assert all(0.0 <= v["iou"] <= 1.0 for v in result["evaluation"].values())


def test_config_typos_are_refused():
    with pytest.raises(ConfigError, match="steps_"):
        merge_config({"train": {"steps_": 3}})
    with pytest.raises(ConfigError, match="unknown config section"):
        merge_config({"trainer": {}})
    with pytest.raises(ValueError, match="points"):
        fit_halo(HaloNet(), _OneHand(_hand(), 64), 1, 1, 128, progress=False)

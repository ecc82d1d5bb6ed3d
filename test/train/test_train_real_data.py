"""Training on real datasets in their native layouts: crops framed like the node's, mixed into
the synthetic sets by the `data.real` config (Spurr et al.'s RHD 3D + FreiHAND 2D-only setting)."""

import numpy as np
import pytest
from fixtures_datasets import colour, write_freihand

from handperception.data import FreiHANDDataset
from handperception.data.crops import labelled_hand_crops
from handperception.models.checkpoint import read_checkpoint
from handperception.train.data import real_crops
from handperception.train.hand import train_hand


@pytest.fixture()
def freihand(tmp_path):
    write_freihand(tmp_path / "FreiHAND", "training", count=3, versions=4)
    return tmp_path / "FreiHAND"


def test_a_real_hand_is_cropped_like_the_node_crops_it(freihand):
    # Annotation 0 (z = 0.5 m) projects to u = 10 j + 12, v = 4.8 j + 52: a 200 x 96 px box, so a
    # 1.5 x 200 = 300 px square at (-38, -50) (centre 112, 100), resized to 64 px.
    (item,) = labelled_hand_crops(FreiHANDDataset(freihand, "training")[0], 64)
    s = 64 / 300
    np.testing.assert_allclose(
        item["K"],
        [
            [500 * s, 0, (112 + 38 + 0.5) * s - 0.5],
            [0, 480 * s, (100 + 50 + 0.5) * s - 0.5],
            [0, 0, 1],
        ],
        rtol=1e-9,
    )
    j = np.arange(21)
    expected_uv = np.stack(
        [(10 * j + 12 + 38 + 0.5) * s - 0.5, (4.8 * j + 52 + 50 + 0.5) * s - 0.5], axis=-1
    )
    np.testing.assert_allclose(item["keypoints_2d"][0], expected_uv, atol=1e-4)
    assert (
        item["rgb"].shape == (64, 64, 3)
        and item["visibility"].all()
        and item["is_left"].tolist() == [False]
    )
    assert np.abs(item["rgb"][32, 32].astype(int) - colour(0)).max() <= 2  # the image ...
    assert (
        item["rgb"][32, 2].max() == 0
    )  # ... and zeros where the crop leaves the frame (x < 38 * s)


def test_real_crops_are_a_seeded_draw_across_the_file_order(freihand):
    first = real_crops("freihand", freihand, "training", 6, 48, seed=3, progress=False)
    again = real_crops("freihand", freihand, "training", 6, 48, seed=3, progress=False)
    assert len(first) == 6 and sorted(first.arrays) == sorted(
        ["rgb", "keypoints_2d", "keypoints_3d", "visibility", "K", "is_left"]
    )
    np.testing.assert_array_equal(first.arrays["rgb"], again.arrays["rgb"])
    # Images 0-2 are the first background version; a seeded draw of 6 of 12 is not just those.
    centre_colours = {tuple(int(c) for c in rgb[24, 24] // 20) for rgb in first.arrays["rgb"]}
    assert len(centre_colours) > 3
    assert (
        len(real_crops("freihand", freihand, "training", 50, 48, seed=0, progress=False)) == 12
    )  # all there are


def _config(tmp_path, real, labelled_3d=4):
    return {
        "data": {
            "crop_size": 32,
            "labelled_3d": labelled_3d,
            "labelled_2d_only": 0,
            "cache_dir": str(tmp_path / "cache"),
            "real": real,
        },
        "train": {"steps": 2, "batch_size": 2, "device": "cpu"},
        "out": str(tmp_path / "hand.pt"),
    }


def test_real_2d_only_and_3d_sets_join_the_synthetic_ones(tmp_path, freihand):
    entry = {
        "dataset": "freihand",
        "root": str(freihand),
        "split": "training",
        "count": 6,
        "labels": "2d",
    }
    run = train_hand(_config(tmp_path, [entry]), progress=False)
    assert run["set_sizes"] == {"labelled_3d": 4, "labelled_2d_only": 6}
    run = train_hand(
        _config(tmp_path, [{**entry, "labels": "3d", "count": 5}], labelled_3d=0), progress=False
    )
    assert run["set_sizes"] == {"labelled_3d": 5, "labelled_2d_only": 0}
    meta = read_checkpoint(run["checkpoint"])["meta"]
    assert (
        meta["data"]["real"][0]["dataset"] == "freihand" and meta["set_sizes"]["labelled_3d"] == 5
    )


def test_bad_real_entries_fail_before_training(tmp_path, freihand):
    entry = {
        "dataset": "freihand",
        "root": str(freihand),
        "split": "training",
        "count": 6,
        "labels": "2d",
    }
    with pytest.raises(ValueError, match="exactly the keys"):
        train_hand(_config(tmp_path, [{**entry, "lables": "2d"}]), progress=False)
    with pytest.raises(ValueError, match="labels must be one of"):
        train_hand(_config(tmp_path, [{**entry, "labels": "2.5d"}]), progress=False)
    with pytest.raises(ValueError, match="no fully labelled data"):
        train_hand(_config(tmp_path, [entry], labelled_3d=0), progress=False)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        train_hand(
            _config(tmp_path, [{**entry, "root": str(tmp_path / "nowhere")}]), progress=False
        )
    for dataset in ("rhd", "mpiigaze"):
        with pytest.raises(ValueError, match="dataset must be one of"):
            train_hand(_config(tmp_path, [{**entry, "dataset": dataset}]), progress=False)


def test_the_shipped_freihand_config_trains_on_a_freihand_layout(tmp_path, freihand):
    import yaml

    config = yaml.safe_load(open("config/train/hand_freihand_2d.yaml"))
    assert config["data"]["real"][0]["labels"] == "2d" and config["train"]["biomech"] is True
    assert (
        config["train"]["augment"] is True
    )  # FreiHAND is right hands only: mirrors make left ones
    config["data"]["real"][0].update(root=str(freihand), count=4)
    config["data"].update(crop_size=32, labelled_3d=4, cache_dir=str(tmp_path / "cache"))
    config["train"].update(steps=2, batch_size=2, device="cpu")
    config["out"] = str(tmp_path / "hand.pt")
    assert train_hand(config, progress=False)["set_sizes"] == {
        "labelled_3d": 4,
        "labelled_2d_only": 4,
    }


def test_two_hand_images_give_one_crop_per_labelled_hand(tmp_path):
    """InterHand2.6M: an interacting pair gives two crops (left, right); a right-only image one."""
    from fixtures_datasets import write_interhand

    write_interhand(
        tmp_path,
        "train",
        [
            {"frame": 7, "hand_type": "interacting", "joint_valid": [1] * 42},
            {"frame": 8, "hand_type": "right", "joint_valid": [1] * 21 + [0] * 21},
        ],
    )
    crops = real_crops("interhand", tmp_path, "train", 10, 32, seed=0, progress=False).arrays
    assert sorted(crops["is_left"][:, 0].tolist()) == [False, False, True]
    for uv, xyz, k in zip(crops["keypoints_2d"][:, 0], crops["keypoints_3d"][:, 0], crops["K"]):
        np.testing.assert_allclose(
            uv, (xyz[:, :2] / xyz[:, 2:]) * [k[0, 0], k[1, 1]] + k[:2, 2], atol=1e-3
        )


def test_an_unlabelled_joint_stored_as_zeros_is_cropped_around_not_projected():
    """Loaders store joints a dataset does not label as zeros (z = 0): the crop skips them."""
    from fixtures_datasets import FREIHAND_K, freihand_xyz

    from handperception.data.common import hand_sample

    joints = freihand_xyz(0)[None].copy()
    joints[0, 20] = 0.0
    labelled = np.ones((1, 21), bool)
    labelled[0, 20] = False
    sample = hand_sample(
        np.zeros((224, 224, 3), np.uint8), joints, np.array(FREIHAND_K), np.array([False]), labelled
    )
    (item,) = labelled_hand_crops(sample, 48)
    assert item["visibility"][0, :20].all() and not item["visibility"][0, 20]
    assert np.isfinite(item["keypoints_2d"]).all()

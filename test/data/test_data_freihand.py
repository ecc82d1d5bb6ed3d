"""FreiHAND loader on a tiny fixture in the released layout; plus the load_dataset registry."""

import json

import numpy as np
import pytest
import torch
from fixtures_datasets import colour, freihand_xyz, write_freihand

from handperception.data import FreiHANDDataset, load_dataset


@pytest.fixture()
def root(tmp_path):
    write_freihand(tmp_path, "training", count=3, versions=4)
    return tmp_path


def test_items_map_versions_to_images_and_annotations(root):
    dataset = FreiHANDDataset(root, "training")
    assert len(dataset) == 12  # 4 background versions x 3 annotations
    item = dataset[5]  # version 1 ("hom"), annotation 2, image 00000005.jpg
    assert item["version"] == "hom"
    assert item["image_path"].endswith("training/rgb/00000005.jpg")
    assert item["rgb"].shape == (224, 224, 3) and item["rgb"].dtype == np.uint8
    assert np.abs(item["rgb"][100, 100].astype(int) - colour(5)).max() <= 2
    np.testing.assert_allclose(item["keypoints_3d"], freihand_xyz(2)[None], atol=1e-7)
    np.testing.assert_allclose(item["K"], [[500, 0, 112], [0, 480, 100], [0, 0, 1]])
    assert item["is_left"].tolist() == [False]
    np.testing.assert_allclose(item["scale"], 0.032, rtol=1e-6)
    np.testing.assert_allclose(item["mano_pose"], np.arange(48.0) + 2)
    np.testing.assert_allclose(item["mano_shape"], np.arange(48.0, 58.0) + 2)
    np.testing.assert_allclose(item["mano_trans"], np.arange(58.0, 61.0) + 2)


def test_keypoints_2d_are_the_projection_with_k(root):
    item = FreiHANDDataset(root, "training")[0]
    # joint 0 of annotation 0: (-0.1, -0.05, 0.5) -> u = 500 * -0.2 + 112 = 12,
    # v = 480 * -0.1 + 100 = 52
    np.testing.assert_allclose(item["keypoints_2d"][0, 0], [12.0, 52.0], atol=1e-4)
    # joint 20: (0.1, 0.05, 0.5) -> (212, 148)
    np.testing.assert_allclose(item["keypoints_2d"][0, 20], [212.0, 148.0], atol=1e-4)
    assert item["visibility"].shape == (1, 21) and item["visibility"].all()


def test_joints_outside_the_image_are_not_visible(tmp_path):
    write_freihand(tmp_path, "evaluation", count=1, versions=1)
    xyz = freihand_xyz(0)
    xyz[4] = [0.3, 0.0, 0.5]  # u = 500 * 0.6 + 112 = 412 > 224
    (tmp_path / "evaluation_xyz.json").write_text(json.dumps([xyz.tolist()]))
    item = FreiHANDDataset(tmp_path, "evaluation")[0]
    np.testing.assert_allclose(item["keypoints_2d"][0, 4], [412.0, 100.0], atol=1e-4)
    assert not item["visibility"][0, 4] and item["visibility"][0, np.arange(21) != 4].all()


def test_version_subset_and_evaluation_split(root):
    auto = FreiHANDDataset(root, "training", versions=("auto",))
    assert len(auto) == 3
    assert auto[1]["image_path"].endswith("00000010.jpg")  # 3 * 3 + 1
    write_freihand(root, "evaluation", count=2, versions=1)
    evaluation = load_dataset("FreiHAND", root, "evaluation")
    assert len(evaluation) == 2 and evaluation[1]["image_path"].endswith(
        "evaluation/rgb/00000001.jpg"
    )


def test_items_collate_into_batches(root):
    batch = next(iter(torch.utils.data.DataLoader(FreiHANDDataset(root), batch_size=4)))
    assert batch["keypoints_3d"].shape == (4, 1, 21, 3) and batch["rgb"].shape == (4, 224, 224, 3)


def test_missing_files_name_the_path(root, tmp_path_factory):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        FreiHANDDataset(root / "nowhere")
    (root / "training_scale.json").unlink()
    with pytest.raises(FileNotFoundError, match="training_scale.json"):
        FreiHANDDataset(root)
    other = tmp_path_factory.mktemp("partial")
    write_freihand(other, "training", count=3, versions=2)  # only gs and hom extracted
    with pytest.raises(FileNotFoundError, match="00000008.jpg"):
        FreiHANDDataset(other)
    assert len(FreiHANDDataset(other, versions=("gs", "hom"))) == 6


def test_corrupt_entries_name_file_and_index(root):
    xyz = [freihand_xyz(i).tolist() for i in range(3)]
    xyz[1] = xyz[1][:20]
    (root / "training_xyz.json").write_text(json.dumps(xyz))
    dataset = FreiHANDDataset(root)
    dataset[0]
    with pytest.raises(ValueError, match=r"training_xyz.json: entry 1 has shape \(20, 3\)"):
        dataset[4]
    (root / "training_K.json").write_text(json.dumps([[[1, 0, 0], [0, 1, 0], [0, 0, 1]]] * 2))
    with pytest.raises(ValueError, match="disagree on the sample count"):
        FreiHANDDataset(root)


def test_bad_arguments(root):
    with pytest.raises(ValueError, match="split"):
        FreiHANDDataset(root, "train")
    with pytest.raises(ValueError, match="versions"):
        FreiHANDDataset(root, versions=("green",))
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("rhd", root, "training")
    with pytest.raises(IndexError):
        FreiHANDDataset(root)[12]

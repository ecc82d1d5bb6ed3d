"""Train the single-hand pose network from a config dict (the YAML of
``handperception train hand``).

Why config-driven: the node, the claims harness and a user's own run must build the same model
on the same data from the same few numbers, and the checkpoint keeps them for the node.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch.utils.data import DataLoader

from handperception.train.config import merge_config as merge_defaults

if TYPE_CHECKING:
    from handperception.train.data import ArrayDataset

DEFAULTS = {
    "model": {"size": "tiny", "output_stride": 4, "palm_features": "joints"},
    # The 2D-only set comes from `split` unless `split_2d_only`/`partition_2d_only` name another
    # domain: Spurr et al. take 3D labels from one dataset and 2D labels from the target one.
    # `real` adds crops of real datasets: a list of {dataset, root, split, count, labels: 3d | 2d}.
    "data": {
        "split": "interpolation",
        "crop_size": 96,
        "labelled_3d": 3000,
        "labelled_2d_only": 3000,
        "split_2d_only": None,
        "partition_2d_only": "train",
        "seed": 0,
        "cache_dir": "data/cache",
        "real": [],
    },
    # `augment`: false, true (train.augment.Augmentation's ranges) or a dict overriding some of
    # them. `init_from`: a hand_pose_net checkpoint whose tensors start the model (those of the
    # same name and shape); `trainable`: null (all) or parameter-name prefixes to train, the
    # rest frozen (e.g. [palm_facing]: a new handedness head on a trained network).
    "train": {
        "steps": 3000,
        "batch_size": 32,
        "lr": 1e-3,
        "biomech": True,
        "loss_weights": {},
        "augment": False,
        "device": "auto",
        "init_from": None,
        "trainable": None,
    },
    "out": "out/checkpoints/hand_tiny.pt",
}


def merge_config(config: dict | None) -> dict:
    """DEFAULTS overridden by ``config``; unknown sections or keys are a ConfigError (typos)."""
    return merge_defaults(DEFAULTS, config)


REAL_KEYS = {"dataset", "root", "split", "count", "labels"}
REAL_LABELS = ("3d", "2d")


def _check_real(entries) -> list[dict]:
    """The `data.real` list, each entry checked before any image is read (a typo costs no crop
    time)."""
    from handperception.data import HAND_DATASETS

    if not isinstance(entries, list):
        raise ValueError(
            f"data.real must be a list of {sorted(REAL_KEYS)} entries, got {entries!r}"
        )
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != REAL_KEYS:
            raise ValueError(
                f"each data.real entry needs exactly the keys {sorted(REAL_KEYS)}, got {entry!r}"
            )
        if str(entry["dataset"]).lower() not in HAND_DATASETS:
            raise ValueError(
                f"data.real dataset must be one of {HAND_DATASETS}, got {entry['dataset']!r}"
            )
        if entry["labels"] not in REAL_LABELS:
            raise ValueError(
                f"data.real labels must be one of {REAL_LABELS}, got {entry['labels']!r}"
            )
    return entries


def _training_sets(data: dict, progress: bool) -> tuple[ArrayDataset, ArrayDataset | None]:
    """(fully labelled set, 2D-only set or None) from the synthetic counts and the real datasets."""
    from handperception.train.data import concatenate, real_crops, synthetic_crops

    real = _check_real(data["real"])
    parts: dict[str, list] = {"3d": [], "2d": []}
    if data["labelled_3d"]:
        parts["3d"].append(
            synthetic_crops(
                data["split"],
                "train",
                data["labelled_3d"],
                data["crop_size"],
                data["seed"],
                data["cache_dir"],
            )
        )
    if data["labelled_2d_only"]:
        # A disjoint set: another seed, so its 3D labels are never seen through the first.
        parts["2d"].append(
            synthetic_crops(
                data["split_2d_only"] or data["split"],
                data["partition_2d_only"],
                data["labelled_2d_only"],
                data["crop_size"],
                data["seed"] + 1000,
                data["cache_dir"],
            )
        )
    for entry in real:
        parts[entry["labels"]].append(
            real_crops(
                entry["dataset"],
                entry["root"],
                entry["split"],
                entry["count"],
                data["crop_size"],
                data["seed"],
                progress,
            )
        )
    if not parts["3d"]:
        raise ValueError(
            "no fully labelled data: set data.labelled_3d or add a data.real entry with labels: 3d"
        )
    return concatenate(parts["3d"]), concatenate(parts["2d"]) if parts["2d"] else None


def _loader(dataset, batch_size: int, seed: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=True, drop_last=True, generator=generator
    )


def train_hand(config: dict | None = None, progress: bool = True) -> dict:
    """Train, save the checkpoint (and a loss plot beside it); returns {"checkpoint", "history",
    "config", "model", "set_sizes"}."""
    from handperception.models.checkpoint import initialise_from, save_checkpoint
    from handperception.models.pose2p5d import HandPoseNet
    from handperception.runtime.device import resolve_device
    from handperception.train.augment import Augmentation
    from handperception.train.plots import plot_history
    from handperception.train.pose import train_pose

    config = merge_config(config)
    data, train = config["data"], config["train"]
    torch.manual_seed(data["seed"])
    device = resolve_device(train["device"])
    augment = Augmentation.from_config(train["augment"])
    labelled, two_d = _training_sets(data, progress)
    loader_2d = _loader(two_d, train["batch_size"], data["seed"] + 1) if two_d is not None else None
    model = HandPoseNet(**config["model"])
    # The tensors a started-from checkpoint did not provide: a new head, recorded with the run.
    as_built = (
        initialise_from(model, train["init_from"], "hand_pose_net") if train["init_from"] else []
    )
    history = train_pose(
        model,
        _loader(labelled, train["batch_size"], data["seed"]),
        loader_2d,
        train["steps"],
        train["lr"],
        device,
        train["biomech"],
        progress,
        train["loss_weights"],
        augment,
        data["seed"],
        tuple(train["trainable"]) if train["trainable"] else None,
    )
    sizes = {
        "labelled_3d": len(labelled),
        "labelled_2d_only": len(two_d) if two_d is not None else 0,
    }
    meta = {
        "crop_size": data["crop_size"],
        "data": data,
        "train": train,
        "set_sizes": sizes,
        "as_built": as_built,
        "final_loss": history[-1]["total"],
    }
    checkpoint = save_checkpoint(config["out"], model, "hand_pose_net", config["model"], meta)
    plot_history(history, Path(config["out"]).with_suffix(".loss.png"))
    return {
        "checkpoint": checkpoint,
        "history": history,
        "config": config,
        "model": model,
        "set_sizes": sizes,
    }

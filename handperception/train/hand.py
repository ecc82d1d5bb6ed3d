"""Train the single-hand pose network from a config dict (the YAML of ``handperception train hand``).

Why config-driven: the node, the claims harness and a user's own run must build the same model
on the same data from the same few numbers, and the checkpoint keeps them for the node.
"""
from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch.utils.data import DataLoader

DEFAULTS = {
    "model": {"size": "tiny", "output_stride": 4},
    # The 2D-only set comes from `split` unless `split_2d_only`/`partition_2d_only` name another
    # domain: Spurr et al. take 3D labels from one dataset and 2D labels from the target one.
    "data": {"split": "interpolation", "crop_size": 96, "labelled_3d": 3000, "labelled_2d_only": 3000,
             "split_2d_only": None, "partition_2d_only": "train", "seed": 0, "cache_dir": "data/cache"},
    "train": {"steps": 3000, "batch_size": 32, "lr": 1e-3, "biomech": True, "loss_weights": {}, "device": "auto"},
    "out": "out/checkpoints/hand_tiny.pt",
}


def merge_config(config: dict | None) -> dict:
    """DEFAULTS overridden by ``config``; unknown sections or keys are an error (typos)."""
    merged = copy.deepcopy(DEFAULTS)
    for section, values in (config or {}).items():
        if section not in merged:
            raise ValueError(f"unknown config section '{section}' (known: {sorted(merged)})")
        if isinstance(merged[section], dict):
            unknown = set(values) - set(merged[section])
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)} in '{section}' (known: {sorted(merged[section])})")
            merged[section].update(values)
        else:
            merged[section] = values
    return merged


def _loader(dataset, batch_size: int, seed: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, generator=generator)


def train_hand(config: dict | None = None, progress: bool = True) -> dict:
    """Train, save the checkpoint (and a loss plot beside it); returns {"checkpoint", "history", "config"}."""
    from handperception.models.checkpoint import save_checkpoint
    from handperception.models.pose2p5d import HandPoseNet
    from handperception.runtime.device import resolve_device
    from handperception.train.data import synthetic_crops
    from handperception.train.plots import plot_history
    from handperception.train.pose import train_pose

    config = merge_config(config)
    data, train = config["data"], config["train"]
    torch.manual_seed(data["seed"])
    device = resolve_device(train["device"])
    labelled = synthetic_crops(data["split"], "train", data["labelled_3d"], data["crop_size"], data["seed"], data["cache_dir"])
    loader_2d = None
    if data["labelled_2d_only"]:
        # A disjoint set: another seed, so its 3D labels are never seen through the first.
        two_d = synthetic_crops(data["split_2d_only"] or data["split"], data["partition_2d_only"],
                                data["labelled_2d_only"], data["crop_size"], data["seed"] + 1000, data["cache_dir"])
        loader_2d = _loader(two_d, train["batch_size"], data["seed"] + 1)
    model = HandPoseNet(**config["model"])
    history = train_pose(model, _loader(labelled, train["batch_size"], data["seed"]), loader_2d, train["steps"],
                         train["lr"], device, train["biomech"], progress, train["loss_weights"])
    meta = {"crop_size": data["crop_size"], "data": data, "train": train, "final_loss": history[-1]["total"]}
    checkpoint = save_checkpoint(config["out"], model, "hand_pose_net", config["model"], meta)
    plot_history(history, Path(config["out"]).with_suffix(".loss.png"))
    return {"checkpoint": checkpoint, "history": history, "config": config, "model": model}

"""Train the two-hand network (DIGIT) from a config dict (the YAML of
``handperception train two_hands``).

Why config-driven: the node, the claims harness (the fusion ablation) and a user's own run build
the same model on the same data from the same few numbers, and the checkpoint keeps them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from handperception.train.config import ConfigError
from handperception.train.config import merge_config as merge_defaults

if TYPE_CHECKING:
    from handperception.losses.two_hands import TwoHandTarget
    from handperception.train.augment import CameraAugmentation

DEFAULTS = {
    "model": {"size": "tiny", "output_stride": 4, "fusion": "probabilities"},
    # `real`: InterHand2.6M crops added to the synthetic ones, a list of {root, split, count}
    # (the dataset's native layout, ``data.interhand``).
    "data": {
        "split": "interpolation",
        "crop_size": 128,
        "count": 6000,
        "seed": 0,
        "cache_dir": "data/cache",
        "real": [],
    },
    # `colour_jitter`: brightness/contrast/saturation factors 1 +- this and sensor noise up to
    # a tenth of it (``train.augment.jitter_colours``); 0 turns it off. `augment`: camera moves
    # of every crop and its labels (``train.augment.CameraAugmentation``: turn +- rotation_deg,
    # focal length times [1 / (1 + zoom), 1 + zoom], principal point +- shift of the side);
    # false, null or all zeros turn it off, a dict overrides some ranges. `init_from`: a
    # two_hand_net checkpoint whose tensors start the model (to train a shipped one further).
    "train": {
        "steps": 3000,
        "batch_size": 32,
        "lr": 1e-3,
        "loss_weights": {},
        "colour_jitter": 0.2,
        "augment": {"rotation_deg": 30.0, "zoom": 0.15, "shift": 0.08},
        "device": "auto",
        "init_from": None,
    },
    "out": "out/checkpoints/two_hands_tiny.pt",
}
REAL_KEYS = {"root", "split", "count"}


def merge_config(config: dict | None) -> dict:
    """DEFAULTS overridden by ``config``; unknown sections or keys are a ConfigError (typos)."""
    return merge_defaults(DEFAULTS, config)


def training_set(data: dict, progress: bool = True):
    """The synthetic mixed crops plus any InterHand2.6M crops of ``data.real``, one ArrayDataset;
    a malformed ``data.real`` is a ConfigError before anything is read or rendered."""
    import numpy as np

    from handperception.train.data import ArrayDataset
    from handperception.train.two_hand_data import (
        interhand_two_hand_items,
        synthetic_two_hand_items,
    )

    real = data["real"]
    if not isinstance(real, list) or any(
        not isinstance(e, dict) or set(e) != REAL_KEYS for e in real
    ):
        raise ConfigError(f"data.real must be a list of {sorted(REAL_KEYS)} entries, got {real!r}")
    parts = [
        interhand_two_hand_items(e["root"], e["split"], e["count"], data["crop_size"], data["seed"])
        for e in real
    ]
    if data["count"]:
        parts.append(
            synthetic_two_hand_items(
                data["split"],
                "train",
                data["count"],
                data["crop_size"],
                data["seed"],
                data["cache_dir"],
                progress,
            )
        )
    if not parts:
        raise ValueError("no training data: set data.count or add a data.real entry")
    if len(parts) == 1:
        return parts[0]
    return ArrayDataset(
        {name: np.concatenate([p.arrays[name] for p in parts]) for name in parts[0].arrays}
    )


def fit_two_hands(
    model,
    dataset,
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    device: str | torch.device = "cpu",
    loss_weights: dict | None = None,
    colour_jitter: float = 0.2,
    seed: int = 0,
    progress: bool = True,
    augment: CameraAugmentation | None = None,
) -> list[dict[str, float]]:
    """Adam with cosine decay on TwoHandLoss for ``steps`` steps; one dict of loss terms per
    step. ``augment`` (default none, as the claims compare variants without it) moves each
    crop's camera (``training_batch``)."""
    from handperception.losses.two_hands import TwoHandLoss
    from handperception.train.data import endless

    if steps <= 0 or not lr > 0 or batch_size <= 0 or not 0 <= colour_jitter < 1:
        raise ValueError(
            "need steps > 0, lr > 0, batch_size > 0 and colour_jitter in [0, 1), got "
            f"{steps}, {lr}, {batch_size}, {colour_jitter}"
        )
    model = model.to(device).train()
    criterion = TwoHandLoss(loss_weights, stride=model.backbone.output_stride)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        dataset,
        batch_size=min(batch_size, len(dataset)),
        shuffle=True,
        drop_last=True,
        generator=torch.Generator().manual_seed(seed),
    )
    batches = endless(loader)
    history = []
    bar = tqdm(range(steps), desc="train two hands", unit="step", disable=not progress)
    for step in bar:
        images, target = training_batch(next(batches), device, augment, colour_jitter, generator)
        terms = criterion(model(images), target)
        optimiser.zero_grad(set_to_none=True)
        terms["total"].backward()
        optimiser.step()
        schedule.step()
        record = {"step": step, **{name: float(value.detach()) for name, value in terms.items()}}
        history.append(record)
        bar.set_postfix(loss=f"{record['total']:.3f}")
    return history


def training_batch(
    batch: dict,
    device: str | torch.device,
    augment: CameraAugmentation | None,
    colour_jitter: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, TwoHandTarget]:
    """Collated items -> (images, TwoHandTarget) as a step trains on them: camera moves first
    (``train.augment.turn_zoom_shift_two_hands``: every label moves with the image, slots
    re-sorted), then colours. With neither, ``batch_to_target``'s tensors untouched and the
    generator not drawn from."""
    from handperception.train.augment import jitter_colours, turn_zoom_shift_two_hands
    from handperception.train.two_hand_data import batch_to_target

    images, target = batch_to_target(batch, device)
    if augment is not None:
        images, target = turn_zoom_shift_two_hands(images, target, *augment.draw(images, generator))
    if colour_jitter > 0:
        factors = [
            1 + colour_jitter * (2 * torch.rand(len(images), generator=generator) - 1)
            for _ in range(3)
        ]
        sigma = 0.1 * colour_jitter * torch.rand(len(images), 1, 1, 1, generator=generator)
        noise = sigma * torch.randn(images.shape, generator=generator)
        images = jitter_colours(images, *(f.to(images) for f in factors), noise.to(images))
    return images, target


def train_two_hands(config: dict | None = None, progress: bool = True) -> dict:
    """Train, save the checkpoint (and a loss plot beside it); returns {"checkpoint", "history",
    "config", "model"}."""
    from handperception.models.checkpoint import initialise_from, save_checkpoint
    from handperception.models.digit import TwoHandNet
    from handperception.runtime.device import resolve_device
    from handperception.train.augment import CameraAugmentation
    from handperception.train.plots import plot_history

    config = merge_config(config)
    data, train = config["data"], config["train"]
    try:  # before any data is rendered, a one-line error of the CLI
        augment = CameraAugmentation.from_config(train["augment"])
    except ValueError as error:
        raise ConfigError(f"train.augment: {error}") from error
    torch.manual_seed(data["seed"])
    device = resolve_device(train["device"])
    dataset = training_set(data, progress)
    model = TwoHandNet(**config["model"])
    # The tensors a started-from checkpoint did not provide, recorded with the run.
    as_built = (
        initialise_from(model, train["init_from"], "two_hand_net") if train["init_from"] else []
    )
    history = fit_two_hands(
        model,
        dataset,
        train["steps"],
        train["batch_size"],
        train["lr"],
        device,
        train["loss_weights"],
        train["colour_jitter"],
        data["seed"],
        progress,
        augment,
    )
    meta = {
        "crop_size": data["crop_size"],
        "data": data,
        "train": train,
        "set_size": len(dataset),
        "as_built": as_built,
        "final_loss": history[-1]["total"],
    }
    checkpoint = save_checkpoint(config["out"], model, "two_hand_net", config["model"], meta)
    plot_history(history, Path(config["out"]).with_suffix(".loss.png"))
    return {"checkpoint": checkpoint, "history": history, "config": config, "model": model}

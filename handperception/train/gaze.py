"""Train Deep Pictorial Gaze on synthetic eye patches from a config dict (the YAML of
``handperception train gaze``).

Why config-driven, like ``train.hand``: the shipped checkpoint, a user's bigger run and the tests
build the same model on the same data from the same few numbers, and the checkpoint keeps them.
Data: the train partition of the synthetic eye shards (``synth.item_shards``: even seeds; the
evaluation's interpolation split is the odd-seed test partition), rendered once into
``data.cache_dir`` and held in memory. Each batch is augmented (``train.eye_augment``) and
preprocessed by ``models.gaze.eye_patch_tensor``, the same function the pipeline runs. The
learning rate follows a cosine decay to zero over ``train.steps``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from handperception.train.config import merge_config as merge_defaults
from handperception.train.schedule import RunProgress, cosine_lr, set_lr

DEFAULTS = {
    "model": {"stacks": 1, "channels": 32, "depth": 2, "regressor_channels": 32},
    "data": {"train_patches": 24000, "seed": 0, "cache_dir": "data/cache"},
    # `augment`: false, true (train.eye_augment.EyeAugmentation's ranges) or a dict overriding
    # some of them. `threads`: torch CPU threads (null: torch's default). `max_minutes`: a wall
    # time budget (null: none); the learning rate then decays by whichever of steps and time runs
    # out first, and training stops there.
    "train": {
        "steps": 6000,
        "batch_size": 64,
        "lr": 0.002,
        "weight_decay": 1e-4,
        "loss_weights": {},
        "augment": True,
        "device": "auto",
        "threads": None,
        "max_minutes": None,
    },
    # Patches of the synthetic interpolation split scored at the end, stored in the checkpoint.
    "evaluate": {"patches": 500},
    "out": "out/checkpoints/gaze_tiny.pt",
}


def merge_config(config: dict | None) -> dict:
    """DEFAULTS overridden by ``config``; unknown sections or keys are a ConfigError (typos)."""
    return merge_defaults(DEFAULTS, config)


def synthetic_eye_patches(
    partition: str, count: int, seed: int, cache_dir: str | Path | None
) -> dict[str, np.ndarray]:
    """``count`` synthetic eye patches of a partition ("train" or "test") as stacked arrays
    (``synth.eyes.EyePatch`` fields), rendered once into ``cache_dir`` (None: not cached)."""
    from handperception.synth.dataset import ShardDataset
    from handperception.synth.item_shards import write_synth_items
    from handperception.synth.splits import load_split

    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    if cache_dir is None:
        from handperception.synth.eye_model import EyeSpec
        from handperception.synth.eyes import render_eye_batch
        from handperception.synth.splits import PARTITIONS

        # The same seed stream as the shards: train even seeds, test odd ones.
        return render_eye_batch(
            EyeSpec(), 2 * seed + PARTITIONS.index(partition), 0, count, progress=False
        )
    directory = Path(cache_dir) / f"eyes_{partition}_seed{seed}_n{count}"
    if not (directory / "manifest.json").is_file():
        write_synth_items("eyes", load_split("interpolation"), partition, count, seed, directory)
    return ShardDataset(directory).arrays()


def fit_gaze(
    model: torch.nn.Module,
    data: dict[str, np.ndarray],
    train: dict,
    seed: int,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``model`` in place on arrays ``image`` (N, 36, 60) uint8, ``gazemaps`` (N, 2, 36,
    60) and ``gaze_pitchyaw`` (N, 2); returns the per-step loss history."""
    from handperception.losses.gaze import gaze_loss
    from handperception.models.gaze import eye_patch_tensor
    from handperception.runtime.device import resolve_device
    from handperception.train.eye_augment import EyeAugmentation

    if train["steps"] < 1:
        raise ValueError(f"train.steps must be >= 1, got {train['steps']}")
    device = resolve_device(train["device"])
    augment = EyeAugmentation.from_config(train["augment"])
    rng = np.random.default_rng(seed)
    count = len(data["image"])
    batch_size = min(int(train["batch_size"]), count)
    model.to(device).train()
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=train["lr"], weight_decay=train["weight_decay"]
    )
    history = []
    order = rng.permutation(count)
    cursor = 0
    run = RunProgress(train["steps"], train["max_minutes"])
    bar = tqdm(range(train["steps"]), desc="train gaze", disable=not progress)
    for step in bar:
        done = run(step)
        if step and done >= 1.0:  # the first step always runs: a history is never empty
            break
        if cursor + batch_size > count:
            order, cursor = rng.permutation(count), 0
        index = np.sort(order[cursor : cursor + batch_size])
        cursor += batch_size
        images, maps = data["image"][index], data["gazemaps"][index]
        if augment is not None:
            images, maps = augment.apply(images, maps, rng)
        set_lr(optimiser, cosine_lr(done, train["lr"]))
        output = model(eye_patch_tensor(images).to(device))
        terms = gaze_loss(
            output,
            torch.from_numpy(np.asarray(maps, np.float32)).to(device),
            torch.from_numpy(np.asarray(data["gaze_pitchyaw"][index], np.float32)).to(device),
            train["loss_weights"],
        )
        optimiser.zero_grad()
        terms["total"].backward()
        optimiser.step()
        record = {"step": step, **{name: float(value.detach()) for name, value in terms.items()}}
        history.append(record)
        if step % 20 == 0:
            bar.set_postfix(
                loss=f"{record['total']:.4f}", angle_deg=f"{math.degrees(record['angle']):.2f}"
            )
    return history


def train_gaze(config: dict | None = None, progress: bool = True) -> dict:
    """Train, save the checkpoint (and a loss plot beside it); returns {"checkpoint", "history",
    "config", "model", "evaluation"}."""
    from handperception.eval.gaze import evaluate_gaze_model, interpolation_patches
    from handperception.models.checkpoint import save_checkpoint
    from handperception.models.gaze import DeepPictorialGaze
    from handperception.train.plots import plot_history

    config = merge_config(config)
    data, train = config["data"], config["train"]
    if train["threads"]:
        torch.set_num_threads(int(train["threads"]))
    torch.manual_seed(data["seed"])
    started = time.perf_counter()
    patches = synthetic_eye_patches("train", data["train_patches"], data["seed"], data["cache_dir"])
    model = DeepPictorialGaze(**config["model"])
    history = fit_gaze(model, patches, train, data["seed"], progress)
    model.eval()
    evaluation = {}
    if config["evaluate"]["patches"]:
        test = interpolation_patches(config["evaluate"]["patches"], data["seed"], progress)
        evaluation = evaluate_gaze_model(model, test)
    meta = {
        "data": data,
        "train": train,
        "final_loss": history[-1]["total"],
        "wall_s": round(time.perf_counter() - started, 1),
        "evaluation_interpolation": evaluation,
    }
    checkpoint = save_checkpoint(config["out"], model, "deep_pictorial_gaze", model.config, meta)
    plot_history(history, Path(config["out"]).with_suffix(".loss.png"))
    return {
        "checkpoint": checkpoint,
        "history": history,
        "config": config,
        "model": model,
        "evaluation": evaluation,
    }

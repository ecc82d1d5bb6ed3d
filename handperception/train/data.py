"""Training sets held in memory: synthetic crops rendered once (and cached on disk as shards), and
crops of real datasets read from their native layouts.

Why in memory: rendering a crop costs ~10 ms on a 2-core CPU, as much as a training step on a
batch of them, so a small run renders its set once and trains for many epochs; the cache makes
the second run (and every claim variant) start at once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from torch.utils.data import Dataset
from tqdm import tqdm


class ArrayDataset(Dataset):
    """Items are slices of equally long stacked arrays (a dict of (N, ...) arrays)."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        lengths = {len(array) for array in arrays.values()}
        if len(lengths) != 1:
            raise ValueError(
                f"arrays must share their first dimension, got lengths {sorted(lengths)}"
            )
        self.arrays = arrays
        self.length = lengths.pop()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {name: array[index] for name, array in self.arrays.items()}


def synthetic_crops(
    split: str,
    partition: str,
    count: int,
    size: int,
    seed: int,
    cache_dir: str | Path | None = "data/cache",
) -> ArrayDataset:
    """``count`` single-hand crops of ``split`` (render or read the cached shards)."""
    from handperception.synth.dataset import ShardDataset, SynthHandDataset, write_shards
    from handperception.synth.splits import load_split

    dataset = SynthHandDataset(load_split(split), partition, "hands", count, seed, size)
    if cache_dir is None:
        items = [dataset[i] for i in range(count)]
        return ArrayDataset({name: np.stack([item[name] for item in items]) for name in items[0]})
    key = hashlib.sha1(json.dumps(dataset.describe(), sort_keys=True).encode()).hexdigest()[:12]
    directory = Path(cache_dir) / f"hands_{key}"
    if not (directory / "manifest.json").is_file():
        write_shards(dataset, directory, shard_size=1000)
    return ArrayDataset(ShardDataset(directory).arrays())


def real_crops(
    dataset: str,
    root: str | Path,
    split: str,
    count: int,
    size: int,
    seed: int,
    progress: bool = True,
) -> ArrayDataset:
    """Up to ``count`` single-hand crops of a real dataset in its native layout
    (``handperception.data``).

    Samples are drawn in a seeded random order, not the file order: FreiHAND, for one, stores its
    four backgrounds of each pose one after the other, so the first N would all be green screens.
    """
    from handperception.data import load_dataset
    from handperception.data.crops import TRAINING_FIELDS, labelled_hand_crops

    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    samples = load_dataset(dataset, Path(root).expanduser(), split)
    items = []
    order = np.random.default_rng(seed).permutation(len(samples))
    with tqdm(
        total=count, desc=f"cropping {dataset} {split}", unit="hand", disable=not progress
    ) as bar:
        for index in order:
            for item in labelled_hand_crops(samples[int(index)], size):
                items.append(item)
                bar.update()
            if len(items) >= count:
                break
    if not items:
        raise ValueError(f"{dataset} {split} at {root}: no labelled hand in {len(samples)} samples")
    return ArrayDataset(
        {name: np.stack([item[name] for item in items[:count]]) for name in TRAINING_FIELDS}
    )


def concatenate(parts: list[ArrayDataset]) -> ArrayDataset:
    """One training set of several (synthetic and real crops of one size), keeping the fields
    training reads."""
    from handperception.data.crops import TRAINING_FIELDS

    if not parts:
        raise ValueError("nothing to concatenate")
    if len(parts) == 1:  # no copy: the shipped config's 36000 crops alone are 1 GB of pixels
        return ArrayDataset({name: parts[0].arrays[name] for name in TRAINING_FIELDS})
    try:
        return ArrayDataset(
            {
                name: np.concatenate([part.arrays[name] for part in parts])
                for name in TRAINING_FIELDS
            }
        )
    except ValueError as error:
        raise ValueError(f"training sets do not stack (different crop sizes?): {error}") from error


def endless(loader: Iterable) -> Iterator:
    """The loader's batches, epoch after epoch, reshuffled each epoch (``itertools.cycle`` would
    replay the first epoch's batches in the same order, and keep all of them in memory)."""
    while True:
        yield from loader

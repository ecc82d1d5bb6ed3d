"""Training sets held in memory: synthetic crops rendered once (and cached on disk as shards).

Why in memory: rendering a crop costs ~10 ms on a 2-core CPU, as much as a training step on a
batch of them, so a small run renders its set once and trains for many epochs; the cache makes
the second run (and every claim variant) start at once.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset


class ArrayDataset(Dataset):
    """Items are slices of equally long stacked arrays (a dict of (N, ...) arrays)."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        lengths = {len(array) for array in arrays.values()}
        if len(lengths) != 1:
            raise ValueError(f"arrays must share their first dimension, got lengths {sorted(lengths)}")
        self.arrays = arrays
        self.length = lengths.pop()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {name: array[index] for name, array in self.arrays.items()}


def synthetic_crops(
    split: str, partition: str, count: int, size: int, seed: int, cache_dir: str | Path | None = "data/cache"
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

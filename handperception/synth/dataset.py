"""Synthetic hand datasets: on-the-fly (map-style, item i deterministic) and ``.npz`` shards.

Why both: generating on the fly gives unlimited fresh data for training on the robot's own
machine; shards freeze a benchmark split so every method is evaluated on the same bytes.
Items are dicts of numpy arrays (the fields of ``render.HandFrame``); torch's default collate
turns them into tensors.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Callable

import numpy as np
from torch.utils.data import Dataset

from handperception.synth.render import RENDERER_VERSION, HandFrame
from handperception.synth.scenes import hand_crop, two_hand_crop
from handperception.synth.splits import PARTITIONS, SplitSpec

# Scene kinds with a fixed number of hands per item, so items stack into shards.
DATASET_KINDS = {"hands": hand_crop, "two_hands": two_hand_crop}
FIELDS: tuple[str, ...] = tuple(f.name for f in fields(HandFrame))
SHARD_PATTERN = "shard_{:05d}.npz"
MANIFEST = "manifest.json"


def frame_to_item(frame: HandFrame) -> dict[str, np.ndarray]:
    return {name: getattr(frame, name) for name in FIELDS}


class SynthHandDataset(Dataset):
    """`length` items of scene `kind` from split `spec`; item i is a pure function of (seed, i)."""

    def __init__(
        self,
        spec: SplitSpec,
        partition: str = "train",
        kind: str = "hands",
        length: int = 10_000,
        seed: int = 0,
        size: int = 128,
    ) -> None:
        if kind not in DATASET_KINDS:
            raise ValueError(
                f"unknown dataset kind {kind!r}; expected one of {sorted(DATASET_KINDS)}"
            )
        if partition not in PARTITIONS:
            raise ValueError(f"unknown partition {partition!r}; expected one of {PARTITIONS}")
        if length < 0 or seed < 0 or size < 8:
            raise ValueError(
                f"need length >= 0, seed >= 0, size >= 8; got {length}, {seed}, {size}"
            )
        self.spec, self.partition, self.kind = spec, partition, kind
        self.length, self.seed, self.size = length, seed, size

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} outside 0..{self.length - 1}")
        scene = DATASET_KINDS[self.kind]
        return frame_to_item(scene(self.spec, self.partition, self.seed, index, self.size))

    def describe(self) -> dict:
        """Everything the items depend on: the manifest of written shards and the key of cached
        ones."""
        return {
            "split": self.spec.name,
            "ranges": {
                axis: {name: [list(r.train), list(r.test)] for name, r in params.items()}
                for axis, params in self.spec.ranges.items()
            },
            "renderer": RENDERER_VERSION,
            "partition": self.partition,
            "kind": self.kind,
            "length": self.length,
            "seed": self.seed,
            "size": self.size,
        }


def write_item_shards(
    make_item: Callable[[int], dict[str, np.ndarray]],
    length: int,
    out_dir: str | Path,
    description: dict,
    shard_size: int = 1000,
    progress: bool = True,
) -> list[Path]:
    """Items ``make_item(0 .. length-1)`` (dicts of arrays, same keys and shapes for every item)
    stacked per field into compressed shards; ``description`` goes into the manifest with the
    shard list, ``length`` and ``shard_size``. Returns the shard paths."""
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    buffer: list[dict[str, np.ndarray]] = []
    for index in tqdm(
        range(length),
        desc=f"synth {description.get('kind', 'items')}",
        unit="item",
        disable=not progress,
    ):
        item = make_item(index)
        if buffer and set(item) != set(buffer[0]):
            raise ValueError(
                f"item {index} has fields {sorted(item)}, expected {sorted(buffer[0])}"
            )
        buffer.append(item)
        if len(buffer) == shard_size or index == length - 1:
            path = out / SHARD_PATTERN.format(len(paths))
            np.savez_compressed(
                path,
                **{name: np.stack([np.asarray(i[name]) for i in buffer]) for name in buffer[0]},
            )
            paths.append(path)
            buffer = []
    manifest = dict(
        description, length=length, shard_size=shard_size, shards=[p.name for p in paths]
    )
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return paths


def write_shards(
    dataset: SynthHandDataset, out_dir: str | Path, shard_size: int = 1000, progress: bool = True
) -> list[Path]:
    """Write the dataset as compressed ``shard_XXXXX.npz`` files (arrays stacked per field) plus
    ``manifest.json`` (dataset description and shard list); returns the shard paths."""
    return write_item_shards(
        dataset.__getitem__, len(dataset), out_dir, dataset.describe(), shard_size, progress
    )


class ShardDataset(Dataset):
    """Map-style reader of a directory written by write_shards; keeps one shard in memory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        manifest_path = self.directory / MANIFEST
        if not manifest_path.is_file():
            raise ValueError(f"{self.directory} has no {MANIFEST}; not a shard directory")
        self.manifest = json.loads(manifest_path.read_text())
        self.shard_size = int(self.manifest["shard_size"])
        self.length = int(self.manifest["length"])
        self._cached: tuple[int, dict[str, np.ndarray]] | None = None

    def __len__(self) -> int:
        return self.length

    def _shard(self, number: int) -> dict[str, np.ndarray]:
        if self._cached is None or self._cached[0] != number:
            with np.load(self.directory / self.manifest["shards"][number]) as data:
                self._cached = (number, {name: data[name] for name in data.files})
        return self._cached[1]

    def arrays(self) -> dict[str, np.ndarray]:
        """Every field of every shard, stacked: (length, ...) arrays, for training in memory."""
        parts: dict[str, list[np.ndarray]] = {}
        for number in range(len(self.manifest["shards"])):
            for name, array in self._shard(number).items():
                parts.setdefault(name, []).append(array)
        return {name: np.concatenate(chunks) for name, chunks in parts.items()}

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} outside 0..{self.length - 1}")
        shard = self._shard(index // self.shard_size)
        return {name: array[index % self.shard_size] for name, array in shard.items()}

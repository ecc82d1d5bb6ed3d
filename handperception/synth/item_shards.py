"""Shards of eye patches, objects and grasps, readable by ``dataset.ShardDataset``, with a sheet.

Why: eyes, objects and grasps are not rendered hand frames, so ``dataset.write_shards`` (bound
to HandFrame's fields) does not fit them; this writer takes the fields from the first item and
produces the same layout (``shard_XXXXX.npz`` + ``manifest.json``), so one reader serves all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from handperception.synth.dataset import write_item_shards
from handperception.synth.splits import PARTITIONS, SplitSpec

ITEM_KINDS = ("eyes", "objects", "grasps")


def _eye_items(
    spec: SplitSpec, partition: str, seed: int
) -> tuple[Callable[[int], dict], Callable[[list, Path], Path]]:
    from handperception.synth.eye_model import EyeSpec
    from handperception.synth.eye_sheet import eye_contact_sheet
    from handperception.synth.eyes import EyePatch, sample_eye_patch

    if spec.mode != "interpolation":
        raise ValueError(
            f"eye patches have no HANDS'19 axes; split {spec.name!r} does not apply "
            "(use 'interpolation')"
        )
    # The partition picks a disjoint seed stream: train even seeds, test odd ones.
    eye_seed = 2 * seed + PARTITIONS.index(partition)

    def make(index: int) -> dict:
        patch = sample_eye_patch(EyeSpec(), eye_seed, index)
        return {name: getattr(patch, name) for name in EyePatch.__dataclass_fields__}

    def sheet(items: list, path: Path) -> Path:
        batch = {name: np.stack([item[name] for item in items]) for name in items[0]}
        return eye_contact_sheet(batch, path, title=f"eyes, seed {seed}, {partition}")

    return make, sheet


def _object_items(spec: SplitSpec, partition: str, seed: int):
    from handperception.synth.grasp_sheet import save_grasp_sheet
    from handperception.synth.grasps import object_item, sample_split_object

    def make(index: int):
        obj = sample_split_object(spec, partition, seed, index)
        return object_item(obj), obj

    def sheet(objects: list, path: Path) -> Path:
        return save_grasp_sheet(
            objects, path, titles=[f"{o.kind} {o.size * 100:.1f} cm" for o in objects]
        )

    return make, sheet


def _grasp_items(spec: SplitSpec, partition: str, seed: int):
    from handperception.synth.grasp_sheet import save_grasps_sheet
    from handperception.synth.grasps import sample_grasp

    def make(index: int):
        grasp = sample_grasp(spec, partition, seed, index)
        return grasp.to_item(), grasp

    return make, save_grasps_sheet


def write_synth_items(
    kind: str,
    spec: SplitSpec,
    partition: str,
    length: int,
    seed: int,
    out_dir: str | Path,
    shard_size: int = 1000,
    sheet_size: int = 16,
    progress: bool = True,
) -> tuple[list[Path], Path]:
    """Shards of ``length`` eye patches, objects or grasps (kind in ITEM_KINDS) for a split
    partition, and ALWAYS ``contact_sheet.png`` of the first ``sheet_size`` items (eye patches
    with gazemaps; objects and grasps as 3D views). Returns (shard paths, sheet path)."""
    if kind not in ITEM_KINDS:
        raise ValueError(f"unknown item kind {kind!r}; expected one of {ITEM_KINDS}")
    if partition not in PARTITIONS:
        raise ValueError(f"unknown partition {partition!r}; expected one of {PARTITIONS}")
    if sheet_size < 1:
        raise ValueError(f"sheet_size must be >= 1, got {sheet_size}")
    if kind == "eyes":
        make_eye, save_sheet = _eye_items(spec, partition, seed)

        def make(index: int):
            item = make_eye(index)
            return item, item
    else:
        make, save_sheet = (_object_items if kind == "objects" else _grasp_items)(
            spec, partition, seed
        )
    shown: list = []

    def make_item(index: int) -> dict[str, np.ndarray]:
        item, sample = make(index)
        if index < sheet_size:
            shown.append(sample)
        return item

    description = {"split": spec.name, "partition": partition, "kind": kind, "seed": seed}
    paths = write_item_shards(make_item, length, out_dir, description, shard_size, progress)
    return paths, save_sheet(shown, Path(out_dir) / "contact_sheet.png")

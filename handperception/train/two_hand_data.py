"""Two-hand training sets: synthetic mixed crops (rendered once, cached as shards) and
InterHand2.6M crops around both hands, in the slot fields of ``synth.two_hand_items``.

Why cached: a mixed crop costs ~35 ms to render on a 2-core CPU, a training step on a batch
~0.3 s, so a run renders its set once and trains for many epochs; every claim variant and the
evaluation then read the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from handperception.data.interhand import HAND_ORDER
from handperception.geometry.camera import PinholeCamera
from handperception.geometry.crops import box_from_keypoints, crop_and_resize, frame_to_crop
from handperception.losses.two_hands import TwoHandTarget
from handperception.skeleton.definition import ROOT
from handperception.synth.two_hand_items import TWO_HAND_FIELDS, empty_slots, slot_order
from handperception.train.data import ArrayDataset


def synthetic_two_hand_items(
    split: str,
    partition: str,
    count: int,
    size: int,
    seed: int,
    cache_dir: str | Path | None = "data/cache",
    progress: bool = True,
) -> ArrayDataset:
    """``count`` mixed crops (``synth.two_hand_items.mixed_item``) of ``split``; read from the
    cache when this exact set was rendered before."""
    from handperception.synth.dataset import ShardDataset, write_item_shards
    from handperception.synth.render import RENDERER_VERSION
    from handperception.synth.splits import load_split
    from handperception.synth.two_hand_items import ITEM_VERSION, MIX, mixed_item

    if count <= 0 or size < 8:
        raise ValueError(f"need count > 0 and size >= 8, got {count}, {size}")
    spec = load_split(split)

    def make(index: int) -> dict[str, np.ndarray]:
        return mixed_item(spec, partition, seed, index, size)

    if cache_dir is None:
        items = [make(i) for i in tqdm(range(count), desc="two-hand crops", disable=not progress)]
        return ArrayDataset({name: np.stack([item[name] for item in items]) for name in items[0]})
    description = {
        "kind": "two_hand_mix",
        "split": split,
        "partition": partition,
        "count": count,
        "size": size,
        "seed": seed,
        "mix": MIX,
        "items": ITEM_VERSION,
        "renderer": RENDERER_VERSION,
    }
    key = hashlib.sha1(json.dumps(description, sort_keys=True).encode()).hexdigest()[:12]
    directory = Path(cache_dir) / f"two_hands_{key}"
    if not (directory / "manifest.json").is_file():
        write_item_shards(make, count, directory, description, 1000, progress)
    return ArrayDataset(ShardDataset(directory).arrays())


def interhand_two_hand_items(
    root: str | Path, split: str, count: int, size: int, seed: int, progress: bool = True
) -> ArrayDataset:
    """Up to ``count`` crops around the labelled hands of InterHand2.6M images (native layout,
    ``data.interhand``), drawn in a seeded random order; no part labels (has_segmentation
    False)."""
    from handperception.data import load_dataset

    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    samples = load_dataset("interhand", Path(root).expanduser(), split)
    items = []
    order = np.random.default_rng(seed).permutation(len(samples))
    with tqdm(total=count, desc=f"cropping interhand {split}", disable=not progress) as bar:
        for index in order:
            item = interhand_item(samples[int(index)], size)
            if item is not None:
                items.append(item)
                bar.update()
            if len(items) >= count:
                break
    if not items:
        raise ValueError(f"interhand {split} at {root}: no labelled hand in {len(samples)} images")
    return ArrayDataset({name: np.stack([item[name] for item in items]) for name in items[0]})


def interhand_item(sample: dict, size: int) -> dict[str, np.ndarray] | None:
    """One InterHand2.6M sample (hands ordered [left, right], ``hand_valid``) -> a crop item
    around its labelled hands (in slot order), or None when no hand is labelled."""
    valid = np.asarray(sample["hand_valid"], bool)
    if not valid.any():
        return None
    # The loader's visibility is "annotated and inside the image"; InterHand does not say which
    # joints are hidden, and joints outside the image have no pixel to learn from.
    labelled = np.asarray(sample["visibility"], bool) & valid[:, None]
    points = np.asarray(sample["keypoints_2d"])[labelled]
    box = box_from_keypoints(points)  # as the node crops around both hands' keypoints
    rgb = sample["rgb"]
    frame_camera = PinholeCamera.from_matrix(sample["K"], rgb.shape[1], rgb.shape[0])
    crop, camera = crop_and_resize(rgb, frame_camera, box, size)
    item = empty_slots(size)
    uv = frame_to_crop(np.asarray(sample["keypoints_2d"]), box, size).astype(np.float32)
    xyz = np.asarray(sample["keypoints_3d"], np.float32)
    hands = np.flatnonzero(valid)
    for slot, hand in enumerate(hands[slot_order(uv[hands, ROOT, 0])]):
        item["keypoints_2d"][slot] = uv[hand]
        item["keypoints_3d"][slot] = xyz[hand]
        item["labelled"][slot] = labelled[hand]
        item["visibility"][slot] = labelled[hand]
        item["present"][slot] = True
        item["is_left"][slot] = HAND_ORDER[hand] == "left"
    item.update(rgb=crop, has_segmentation=np.array(False), K=camera.matrix.astype(np.float32))
    return {name: item[name] for name in TWO_HAND_FIELDS}


def batch_to_target(batch: dict, device: str | torch.device) -> tuple[torch.Tensor, TwoHandTarget]:
    """Collated items -> ((B, 3, H, W) float images in [0, 1], TwoHandTarget); every item's 3D
    labels count (both sources have them)."""
    floats = dict(device=device, dtype=torch.float32)
    rgb = torch.as_tensor(batch["rgb"])
    images = rgb.permute(0, 3, 1, 2).to(**floats) / 255.0
    target = TwoHandTarget(
        segmentation=torch.as_tensor(batch["segmentation"]).to(device, torch.int64),
        has_segmentation=torch.as_tensor(batch["has_segmentation"]).to(device),
        uv=torch.as_tensor(batch["keypoints_2d"]).to(**floats),
        labelled=torch.as_tensor(batch["labelled"]).to(device),
        present=torch.as_tensor(batch["present"]).to(device),
        is_left=torch.as_tensor(batch["is_left"]).to(device),
        K=torch.as_tensor(batch["K"]).to(**floats),
        xyz=torch.as_tensor(batch["keypoints_3d"]).to(**floats),
        has_3d=torch.ones(len(images), dtype=torch.bool, device=device),
    )
    return images, target

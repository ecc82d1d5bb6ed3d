"""FreiHAND (Zimmermann et al., ICCV 2019) in its released layout (FreiHAND_pub_v2 + eval labels).

Layout under ``root``::

    training_K.json      [N] of 3x3 intrinsics
    training_xyz.json    [N] of 21x3 joints, metres, OpenCV camera frame, FreiHAND order
    training_mano.json   [N] of [[61]]: 48 pose (axis-angle), 10 shape, 3 translation
    training_scale.json  [N] metric length (metres) of FreiHAND's reference bone
    training/rgb/%08d.jpg   4 x N images, 224x224: background versions gs, hom, sample, auto;
                            image v * N + i shows annotation i
    evaluation_K.json, evaluation_xyz.json, evaluation_mano.json, evaluation_scale.json
    evaluation/rgb/%08d.jpg N images (one version)

Why no conversion: FreiHAND's joint order and camera convention are the project's. All hands
are right hands; 2D labels are the projection of the 3D joints with K (as FreiHAND defines them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from handperception.data.common import (
    check_split,
    entry_array,
    hand_sample,
    intrinsics,
    load_json,
    read_rgb,
    require_path,
)
from handperception.skeleton import NUM_JOINTS

SPLITS: tuple[str, ...] = ("training", "evaluation")
VERSIONS: tuple[str, ...] = ("gs", "hom", "sample", "auto")  # order of the 4 x N training images
ANNOTATIONS: tuple[str, ...] = ("K", "xyz", "mano", "scale")
MANO_PARAMS = 61  # 48 pose + 10 shape + 3 translation


def _load_json(path: Path) -> list:
    return load_json(
        path, "a FreiHAND root (FreiHAND_pub_v2 with the evaluation annotations)", list
    )


class FreiHANDDataset(Dataset):
    """Map-style FreiHAND; item ``v * N + i`` is annotation ``i`` on background version
    ``versions[v]``.

    Args:
        root: the folder holding ``training_xyz.json`` etc.
        split: "training" or "evaluation".
        versions: training background versions to include (evaluation has one version).
    """

    def __init__(
        self, root: str | Path, split: str = "training", versions: tuple[str, ...] = VERSIONS
    ) -> None:
        check_split("FreiHAND", split, SPLITS)
        unknown = [v for v in versions if v not in VERSIONS]
        if unknown or not versions:
            raise ValueError(
                f"FreiHAND versions must be a non-empty subset of {VERSIONS}, got {versions}"
            )
        self.root = require_path(Path(root), "a FreiHAND root folder", directory=True)
        self.split = split
        self.versions = tuple(versions) if split == "training" else VERSIONS[:1]
        self.files = {name: self.root / f"{split}_{name}.json" for name in ANNOTATIONS}
        self.annotations = {name: _load_json(path) for name, path in self.files.items()}
        lengths = {name: len(entries) for name, entries in self.annotations.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(
                f"FreiHAND {split} annotation files disagree on the sample count: {lengths}"
            )
        self.count = lengths["xyz"]
        self.image_dir = require_path(
            self.root / split / "rgb", f"FreiHAND images {split}/rgb/%08d.jpg", True
        )
        # The last image of each version must be there, else the archive is incomplete.
        for version in self.versions:
            require_path(
                self._image_path(version, self.count - 1),
                f"{split}/rgb/%08d.jpg for version {version!r}",
            )

    def _image_path(self, version: str, annotation: int) -> Path:
        return self.image_dir / f"{VERSIONS.index(version) * self.count + annotation:08d}.jpg"

    def __len__(self) -> int:
        return self.count * len(self.versions)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} outside 0..{len(self) - 1}")
        version, annotation = self.versions[index // self.count], index % self.count
        k = intrinsics(self.annotations["K"][annotation], self.files["K"], annotation)
        xyz = entry_array(
            self.annotations["xyz"][annotation], (NUM_JOINTS, 3), self.files["xyz"], annotation
        )
        mano = entry_array(
            self.annotations["mano"][annotation], (MANO_PARAMS,), self.files["mano"], annotation
        )
        scale = entry_array(
            self.annotations["scale"][annotation], (), self.files["scale"], annotation
        )
        image_path = self._image_path(version, annotation)
        return hand_sample(
            read_rgb(image_path, index),
            xyz[None],
            k,
            np.zeros(1, dtype=bool),
            scale=np.float32(scale),
            mano_pose=mano[:48].astype(np.float32),
            mano_shape=mano[48:58].astype(np.float32),
            mano_trans=mano[58:].astype(np.float32),
            version=version,
            image_path=str(image_path),
        )

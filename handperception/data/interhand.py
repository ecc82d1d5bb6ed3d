"""InterHand2.6M v1.0 (Moon et al., ECCV 2020): single and interacting hands, multi-camera studio.

Layout under ``root`` (``<split>`` is train, val or test)::

    images/<split>/Capture<c>/<sequence>/cam<camera>/image<frame>.jpg   (512x334 or 334x512)
    annotations/<split>/InterHand2.6M_<split>_data.json      COCO style: "images" (id, file_name,
        width, height, capture, camera, frame_idx, ...) and "annotations" (image_id, bbox xywh,
        joint_valid 42 x [0|1], hand_type "right" | "left" | "interacting", hand_type_valid)
    annotations/<split>/InterHand2.6M_<split>_camera.json    {capture: {"campos" | "camrot" |
        "focal" | "princpt": {camera: ...}}}; campos (3,) mm, camrot (3, 3) world -> camera
    annotations/<split>/InterHand2.6M_<split>_joint_3d.json  {capture: {frame: {"world_coord":
        42 x 3 mm, ...}}}

Conversions: camera-frame joints are ``camrot @ (world - campos)`` (InterHand's cameras are
already OpenCV: x right, y down, z forward) divided by 1000 for metres; K is built from focal
and princpt and the 2D labels are the projection. Each hand's 21 joints (right 0-20, left
21-41, fingers tip to base, wrist last) are reordered to the project's order. As in the
dataset's own code, a hand whose wrist is unlabelled gets all its joints unlabelled (its
root-relative pose is undefined).

Every item has two hands ordered [left, right] (as the synthetic two-hand scenes) so items
always stack into batches; ``hand_valid`` (2,) says which hands carry labels (a single-hand
image has one invalid hand, whose visibility is all False).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from handperception.data.common import (
    check_split,
    entry_array,
    hand_sample,
    load_json,
    read_rgb,
    require_path,
)
from handperception.data.joint_orders import (
    INTERHAND_HAND_JOINTS,
    INTERHAND_TO_PROJECT,
    to_project_order,
)

SPLITS: tuple[str, ...] = ("train", "val", "test")
HAND_SLICES = {
    "left": slice(INTERHAND_HAND_JOINTS, 2 * INTERHAND_HAND_JOINTS),
    "right": slice(0, INTERHAND_HAND_JOINTS),
}
HAND_ORDER: tuple[str, ...] = ("left", "right")
ROOT_IN_HAND = INTERHAND_HAND_JOINTS - 1  # the wrist is each hand's last joint
MM_PER_M = 1000.0


def annotation_path(root: Path, split: str, kind: str) -> Path:
    """``annotations/<split>/InterHand2.6M_<split>_<kind>.json`` for kind data, camera, joint_3d."""
    return root / "annotations" / split / f"InterHand2.6M_{split}_{kind}.json"


def _load(path: Path) -> dict:
    return load_json(
        path,
        (
            "the InterHand2.6M v1.0 layout "
            "annotations/<split>/InterHand2.6M_<split>_{data,camera,joint_3d}.json"
        ),
        dict,
    )


def world_to_camera(world_mm: np.ndarray, camrot: np.ndarray, campos_mm: np.ndarray) -> np.ndarray:
    """(N, 3) world millimetres -> (N, 3) metres in the camera's OpenCV frame."""
    return (world_mm - campos_mm) @ camrot.T / MM_PER_M


class InterHandDataset(Dataset):
    """Map-style InterHand2.6M: one item per annotation of ``InterHand2.6M_<split>_data.json``.

    Extras: ``hand_valid`` (2,) bool, ``hand_type`` str, ``bbox`` (4,) float32 x, y, w, h pixels.
    """

    def __init__(self, root: str | Path, split: str = "train") -> None:
        check_split("InterHand2.6M", split, SPLITS)
        self.root = require_path(Path(root), "an InterHand2.6M root folder", directory=True)
        self.split = split
        self.image_dir = require_path(
            self.root / "images" / split, f"InterHand2.6M images/{split}/Capture*/...", True
        )
        self.paths = {
            kind: annotation_path(self.root, split, kind) for kind in ("data", "camera", "joint_3d")
        }
        data = _load(self.paths["data"])
        self.cameras = _load(self.paths["camera"])
        self.joints = _load(self.paths["joint_3d"])
        if not isinstance(data.get("images"), list) or not isinstance(
            data.get("annotations"), list
        ):
            raise ValueError(
                f"{self.paths['data']}: expected COCO-style 'images' and 'annotations' lists"
            )
        self.images = {image["id"]: image for image in data["images"]}
        self.annotations = data["annotations"]

    def __len__(self) -> int:
        return len(self.annotations)

    def _lookup(self, kind: str, index: int, *keys) -> object:
        node = self.cameras if kind == "camera" else self.joints
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                raise ValueError(
                    f"{self.paths[kind]}: no entry {'/'.join(keys)} for sample {index}"
                )
            node = node[key]
        return node

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} outside 0..{len(self) - 1}")
        annotation = self.annotations[index]
        image = self.images.get(annotation.get("image_id"))
        if image is None:
            raise ValueError(
                f"{self.paths['data']}: annotation {index} refers to a missing image id"
            )
        capture, camera, frame = (
            str(image["capture"]),
            str(image["camera"]),
            str(image["frame_idx"]),
        )
        source = self.paths["camera"]
        camrot = entry_array(
            self._lookup("camera", index, capture, "camrot", camera), (3, 3), source, index
        )
        campos = entry_array(
            self._lookup("camera", index, capture, "campos", camera), (3,), source, index
        )
        focal = entry_array(
            self._lookup("camera", index, capture, "focal", camera), (2,), source, index
        )
        princpt = entry_array(
            self._lookup("camera", index, capture, "princpt", camera), (2,), source, index
        )
        world = self._lookup("joint_3d", index, capture, frame, "world_coord")
        world = entry_array(world, (2 * INTERHAND_HAND_JOINTS, 3), self.paths["joint_3d"], index)
        valid = (
            entry_array(
                annotation.get("joint_valid"),
                (2 * INTERHAND_HAND_JOINTS,),
                self.paths["data"],
                index,
            )
            > 0
        )

        camera_joints = world_to_camera(world, camrot, campos)
        keypoints, labelled = [], []
        for hand in HAND_ORDER:
            hand_valid = valid[HAND_SLICES[hand]] & valid[HAND_SLICES[hand]][ROOT_IN_HAND]
            keypoints.append(
                to_project_order(camera_joints[HAND_SLICES[hand]], INTERHAND_TO_PROJECT)
            )
            labelled.append(to_project_order(hand_valid[:, None], INTERHAND_TO_PROJECT)[:, 0])
        labelled = np.stack(labelled)
        k = np.array([[focal[0], 0.0, princpt[0]], [0.0, focal[1], princpt[1]], [0.0, 0.0, 1.0]])
        image_path = self.image_dir / image["file_name"]
        bbox = entry_array(annotation.get("bbox"), (4,), self.paths["data"], index)
        return hand_sample(
            read_rgb(image_path, index),
            np.stack(keypoints),
            k,
            np.array([hand == "left" for hand in HAND_ORDER]),
            labelled,
            hand_valid=labelled.any(axis=1),
            hand_type=str(annotation.get("hand_type", "")),
            bbox=bbox.astype(np.float32),
            image_path=str(image_path),
        )

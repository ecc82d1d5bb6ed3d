"""HO-3D v2 / v3 (Hampali et al., CVPR 2020): a right hand manipulating a YCB object.

Layout under ``root``::

    train.txt                      one "<sequence>/<frame>" per line, e.g. "ABF10/0000"
    train/<sequence>/rgb/<frame>.png  (v2) or .jpg (v3), 640x480
    train/<sequence>/meta/<frame>.pkl a pickled dict per frame (Python 2 pickles: latin1)

Meta keys used: ``handJoints3D`` (21, 3) metres, ``camMat`` (3, 3), ``objName`` (YCB name),
``objRot`` (3, 1) axis-angle and ``objTrans`` (3,) metres (object -> camera),
``objCorners3D`` (8, 3) metres.

Conversions (why: HO-3D stores everything in the OpenGL camera frame, x right, y up, z towards
the viewer): every point and the object pose are multiplied by F = diag(1, -1, -1) to reach the
OpenCV frame, so ``K @ p`` projects directly; the object rotation becomes ``F @ R``. Joints come
in MANO's order with tips appended (see ``joint_orders.HO3D_ORDER``) and are reordered.
The MANO hand parameters (``handPose`` etc.) are left out: their global rotation and
translation are about the shape-dependent MANO root in the OpenGL frame and cannot be flipped
without the MANO model. The evaluation split is refused: HO-3D releases only its root joint.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
from torch.utils.data import Dataset

from handperception.data.common import entry_array, hand_sample, intrinsics, read_rgb, require_path
from handperception.data.joint_orders import HO3D_TO_PROJECT, to_project_order
from handperception.skeleton import NUM_JOINTS

OPENGL_TO_OPENCV = np.diag([1.0, -1.0, -1.0])
REQUIRED_KEYS: tuple[str, ...] = (
    "handJoints3D",
    "camMat",
    "objName",
    "objRot",
    "objTrans",
    "objCorners3D",
)
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg")  # v2, v3


def read_frame_list(path: Path) -> list[tuple[str, str]]:
    """``train.txt`` -> [(sequence, frame)]; ValueError naming the line if malformed."""
    require_path(
        path, "an HO-3D root holding the split list train.txt (lines '<sequence>/<frame>')"
    )
    frames = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split("/")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{path}: line {number} {line!r} is not '<sequence>/<frame>'")
        frames.append((parts[0], parts[1]))
    if not frames:
        raise ValueError(f"{path}: lists no frames")
    return frames


def load_meta(path: Path, index: int) -> dict:
    """One frame's annotation dict, with the keys this loader needs present and not None."""
    require_path(
        path, f"the HO-3D meta pickle of sample {index} (<split>/<sequence>/meta/<frame>.pkl)"
    )
    try:
        with open(path, "rb") as handle:
            meta = pickle.load(handle, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, ValueError) as error:
        raise ValueError(f"{path}: sample {index} is not a readable pickle ({error})") from error
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: sample {index} holds a {type(meta).__name__}, expected a dict")
    missing = [key for key in REQUIRED_KEYS if meta.get(key) is None]
    if missing:
        raise ValueError(f"{path}: sample {index} lacks annotation keys {missing}")
    return meta


class HO3DDataset(Dataset):
    """Map-style HO-3D training frames in the common hand sample format (one right hand).

    Extras: ``object_name`` str, ``object_rotation`` (3, 3) and ``object_translation`` (3,) metres
    (object -> OpenCV camera), ``object_corners_3d`` (8, 3) metres OpenCV camera frame.
    """

    def __init__(self, root: str | Path, split: str = "train") -> None:
        if split == "evaluation":
            raise ValueError(
                "HO-3D withholds the evaluation split's hand joints (only the root is released; "
                "predictions go to the challenge server); use split 'train' and hold out sequences"
            )
        if split != "train":
            raise ValueError(f"unknown HO-3D split {split!r}; expected 'train'")
        self.root = require_path(Path(root), "an HO-3D v2/v3 root folder", directory=True)
        self.split = split
        self.frames = read_frame_list(self.root / f"{split}.txt")
        sequence, frame = self.frames[0]
        rgb_dir = self.root / split / sequence / "rgb"
        found = [ext for ext in IMAGE_EXTENSIONS if (rgb_dir / f"{frame}{ext}").is_file()]
        if not found:
            raise FileNotFoundError(
                f"missing {rgb_dir / frame}.png (v2) or .jpg (v3); expected HO-3D images"
            )
        self.image_extension = found[0]

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} outside 0..{len(self) - 1}")
        sequence, frame = self.frames[index]
        folder = self.root / self.split / sequence
        meta_path = folder / "meta" / f"{frame}.pkl"
        meta = load_meta(meta_path, index)
        joints_gl = entry_array(meta["handJoints3D"], (NUM_JOINTS, 3), meta_path, index)
        rotation_gl = cv2.Rodrigues(entry_array(meta["objRot"], (3,), meta_path, index))[0]
        translation_gl = entry_array(meta["objTrans"], (3,), meta_path, index)
        corners_gl = entry_array(meta["objCorners3D"], (8, 3), meta_path, index)
        image_path = folder / "rgb" / f"{frame}{self.image_extension}"
        return hand_sample(
            read_rgb(image_path, index),
            to_project_order(joints_gl @ OPENGL_TO_OPENCV, HO3D_TO_PROJECT)[None],
            intrinsics(meta["camMat"], meta_path, index),
            np.zeros(1, dtype=bool),
            object_name=str(meta["objName"]),
            object_rotation=OPENGL_TO_OPENCV @ rotation_gl,
            object_translation=OPENGL_TO_OPENCV @ translation_gl,
            object_corners_3d=(corners_gl @ OPENGL_TO_OPENCV).astype(np.float32),
            image_path=str(image_path),
        )

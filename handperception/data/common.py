"""Helpers every real-dataset loader shares: clear errors, image reading, projection, samples.

Why one place: the four loaders must fail the same way (a missing file names the path and the
layout that was expected; a corrupt entry names the file and the index) and must build the
same sample dict, so a model trained on one dataset can be evaluated on another unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from handperception.skeleton import NUM_JOINTS


def require_path(path: Path, layout: str, directory: bool = False) -> Path:
    """Return ``path`` if it exists (as a directory when ``directory``), else FileNotFoundError.

    ``layout`` describes what the loader expected there, e.g. "FreiHAND root holding
    training_xyz.json", so a user with a half-extracted archive knows what is missing.
    """
    exists = path.is_dir() if directory else path.is_file()
    if not exists:
        kind = "directory" if directory else "file"
        raise FileNotFoundError(f"missing {kind} {path}; expected {layout}")
    return path


def load_json(path: Path, layout: str, expected: type) -> list | dict:
    """A required JSON annotation file whose top level must be ``expected`` (list or dict)."""
    require_path(path, layout)
    with open(path) as handle:
        data = json.load(handle)
    if not isinstance(data, expected):
        raise ValueError(
            f"{path}: expected a JSON {expected.__name__} at the top level, "
            f"got {type(data).__name__}"
        )
    return data


def check_split(dataset: str, split: str, splits: tuple[str, ...]) -> None:
    if split not in splits:
        raise ValueError(f"unknown {dataset} split {split!r}; expected one of {splits}")


def entry_array(value, shape: tuple[int, ...], source: Path | str, index) -> np.ndarray:
    """``value`` as a finite float64 array of ``shape``; ValueError naming file and index if not."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source}: entry {index} is not numeric ({error})") from error
    # Singleton axes differ between releases ([[61]] vs [61], [[1]] x 42 vs [1] x 42): drop them.
    if tuple(n for n in array.shape if n != 1) == tuple(n for n in shape if n != 1):
        array = array.reshape(shape)
    if array.shape != shape:
        raise ValueError(f"{source}: entry {index} has shape {array.shape}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{source}: entry {index} contains NaN or infinite values")
    return array


def intrinsics(value, source: Path | str, index) -> np.ndarray:
    """A (3, 3) K with positive focal lengths and last row [0, 0, 1]."""
    k = entry_array(value, (3, 3), source, index)
    if not (k[0, 0] > 0 and k[1, 1] > 0 and np.allclose(k[2], [0.0, 0.0, 1.0])):
        raise ValueError(
            f"{source}: entry {index} is not a pinhole intrinsics matrix: {k.tolist()}"
        )
    return k


def read_rgb(path: Path, index) -> np.ndarray:
    """(h, w, 3) uint8 RGB; FileNotFoundError if absent, ValueError if it does not decode."""
    require_path(path, f"the image of sample {index}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: image of sample {index} cannot be decoded")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def project(
    points: np.ndarray, k: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pinhole projection of (..., 3) metres, camera frame -> (..., 2) pixels and (...) inside.

    Points at or behind the camera (z <= 0, e.g. unlabelled joints stored as zeros) get pixel
    (0, 0) and inside False instead of an exception or NaN, so a batch never carries NaN.
    "Inside" uses the synthetic renderer's rule: the rounded pixel lies in the image.
    """
    z = points[..., 2]
    front = z > 0
    safe_z = np.where(front, z, 1.0)
    u = np.where(
        front, k[0, 0] * points[..., 0] / safe_z + k[0, 1] * points[..., 1] / safe_z + k[0, 2], 0.0
    )
    v = np.where(front, k[1, 1] * points[..., 1] / safe_z + k[1, 2], 0.0)
    ur, vr = np.rint(u), np.rint(v)
    inside = front & (ur >= 0) & (ur < width) & (vr >= 0) & (vr < height)
    return np.stack([u, v], axis=-1), inside


def hand_sample(
    rgb: np.ndarray,
    keypoints_3d: np.ndarray,
    k: np.ndarray,
    is_left: np.ndarray,
    labelled: np.ndarray | None = None,
    **extras,
) -> dict:
    """The common hand sample (see ``handperception.data``) from 3D joints and intrinsics.

    keypoints_3d (H, 21, 3) metres, OpenCV camera frame, project joint order; labelled (H, 21)
    bool, the joints the dataset annotates (all when None). keypoints_2d are the projection
    with K, so 2D and 3D labels can never disagree.
    """
    keypoints_3d = np.asarray(keypoints_3d, dtype=np.float64)
    hands = keypoints_3d.shape[0]
    if keypoints_3d.shape != (hands, NUM_JOINTS, 3):
        raise ValueError(f"keypoints_3d must be (H, {NUM_JOINTS}, 3), got {keypoints_3d.shape}")
    height, width = rgb.shape[:2]
    keypoints_2d, inside = project(keypoints_3d, k, width, height)
    if labelled is None:
        labelled = np.ones((hands, NUM_JOINTS), dtype=bool)
    sample = {
        "rgb": rgb,
        "keypoints_3d": keypoints_3d.astype(np.float32),
        "keypoints_2d": keypoints_2d.astype(np.float32),
        "visibility": inside & labelled,
        "K": np.asarray(k, dtype=np.float64),
        "is_left": np.asarray(is_left, dtype=bool).reshape(hands),
    }
    sample.update(extras)
    return sample

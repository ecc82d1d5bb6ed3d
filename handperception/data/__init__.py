"""Loaders for the real datasets in their native layouts, all returning one common sample format.

Why a common format: models, losses and metrics are written once against the synthetic data
(``handperception.synth``); a real dataset is only useful if its items look the same, with the
same joint order, units and camera convention. Each loader converts at its boundary.

Hand samples (FreiHAND, HO-3D, InterHand2.6M), H hands per item:

- ``rgb`` (h, w, 3) uint8.
- ``keypoints_3d`` (H, 21, 3) float32 metres, camera frame, OpenCV convention (x right, y down,
  z forward), joint order ``handperception.skeleton.JOINT_NAMES`` (wrist, then each finger base
  to tip; conversions in ``data.joint_orders``).
- ``keypoints_2d`` (H, 21, 2) float32 pixels, OpenCV pixel centres: the projection of
  keypoints_3d with K, so 2D and 3D labels always agree.
- ``visibility`` (H, 21) bool: the dataset labels the joint and it projects inside the image
  (real datasets do not label occlusion, unlike the synthetic renderer).
- ``K`` (3, 3) float64 intrinsics; ``is_left`` (H,) bool.
- ``image_path`` str, plus per-dataset extras documented on each loader (FreiHAND: MANO
  parameters and reference-bone scale; HO-3D: object name and pose; InterHand2.6M: which of
  its two hands [left, right] are labelled).

Eye samples (MPIIGaze) use the synthetic eye patches' fields instead (``image`` (36, 60) grey,
``gaze_pitchyaw``, ``gaze_vector``, ``head_pitchyaw``; see ``data.mpiigaze``), in the gaze
convention of ``handperception.geometry.gaze``.

A missing root or file raises FileNotFoundError naming the path and the layout expected; a
corrupt entry raises ValueError naming the file and the sample index.
"""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from handperception.data.freihand import FreiHANDDataset
from handperception.data.ho3d import HO3DDataset
from handperception.data.interhand import InterHandDataset
from handperception.data.mpiigaze import MPIIGazeDataset

DATASETS: dict[str, type[Dataset]] = {
    "freihand": FreiHANDDataset,
    "ho3d": HO3DDataset,
    "interhand": InterHandDataset,
    "mpiigaze": MPIIGazeDataset,
}

# The ones whose samples are hands (the hand sample format above); MPIIGaze is eyes.
HAND_DATASETS = ("freihand", "ho3d", "interhand")


def load_dataset(name: str, root: str | Path, split: str, **options) -> Dataset:
    """The loader registered as ``name`` (case-insensitive) on ``root`` and its native ``split``.

    Splits are each dataset's own names: freihand training | evaluation; ho3d train;
    interhand train | val | test; mpiigaze evaluation | all. ``options`` go to the loader
    (e.g. ``versions`` for FreiHAND, ``persons`` for MPIIGaze).
    """
    key = name.lower()
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    return DATASETS[key](root, split, **options)


__all__ = [
    "DATASETS",
    "FreiHANDDataset",
    "HO3DDataset",
    "InterHandDataset",
    "MPIIGazeDataset",
    "load_dataset",
]

"""Writers of tiny datasets in the native layouts of FreiHAND, HO-3D, InterHand2.6M, MPIIGaze and
MPIIFaceGaze.

Why: the real datasets cannot be downloaded here, so each loader is tested on a few samples
written with the same file names, formats (JSON, pickle, MATLAB v5, JPEG/PNG) and conventions
as the released archives. Images are flat colours so JPEG keeps them within a grey level or two
and a test can tell which file an item read.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import scipy.io


def colour(number: int) -> tuple[int, int, int]:
    """A distinct flat RGB colour per image number (multiples of 20 survive JPEG)."""
    return (20 + 40 * (number % 5), 20 + 40 * ((number // 5) % 5), 200 - 20 * (number % 7))


def write_image(path: Path, number: int, width: int, height: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:] = colour(number)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


# FreiHAND ---------------------------------------------------------------------------------

FREIHAND_K = [[500.0, 0.0, 112.0], [0.0, 480.0, 100.0], [0.0, 0.0, 1.0]]


def freihand_xyz(annotation: int) -> np.ndarray:
    """(21, 3) metres: joint j at (0.01 j - 0.1, 0.005 j - 0.05, 0.5 + 0.01 annotation)."""
    j = np.arange(21.0)
    return np.stack(
        [0.01 * j - 0.1, 0.005 * j - 0.05, np.full(21, 0.5 + 0.01 * annotation)], axis=1
    )


def write_freihand(root: Path, split: str = "training", count: int = 3, versions: int = 4) -> None:
    """``<split>_{K,xyz,mano,scale}.json`` and ``<split>/rgb/%08d.jpg`` (versions x count
    images)."""
    write_json(root / f"{split}_K.json", [FREIHAND_K] * count)
    write_json(root / f"{split}_xyz.json", [freihand_xyz(i).tolist() for i in range(count)])
    write_json(root / f"{split}_mano.json", [[list(np.arange(61.0) + i)] for i in range(count)])
    write_json(root / f"{split}_scale.json", [0.03 + 0.001 * i for i in range(count)])
    for number in range(versions * count):
        write_image(root / split / "rgb" / f"{number:08d}.jpg", number, 224, 224)


# HO-3D ------------------------------------------------------------------------------------

HO3D_K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])


def ho3d_joints_gl(frame: int) -> np.ndarray:
    """(21, 3) metres in the OpenGL camera frame (z < 0 in front), HO-3D (MANO + tips) order."""
    j = np.arange(21.0)
    return np.stack([0.002 * j, 0.001 * j + 0.01 * frame, -0.4 - 0.003 * j], axis=1)


def ho3d_meta(frame: int) -> dict:
    return {
        "handJoints3D": ho3d_joints_gl(frame),
        "camMat": HO3D_K,
        "handPose": np.zeros(48),
        "handTrans": np.zeros(3),
        "handBeta": np.zeros(10),
        "objName": "019_pitcher_base",
        "objLabel": 10,
        "objRot": np.array([[0.0], [0.0], [np.pi / 2]]),
        "objTrans": np.array([0.1, 0.2, -0.5]),
        "objCorners3D": np.arange(24.0).reshape(8, 3) * 0.01 - np.array([0.0, 0.0, 0.6]),
        "objCorners3DRest": np.zeros((8, 3)),
    }


def write_ho3d(root: Path, frames: dict[str, int], extension: str = ".png") -> None:
    """``train.txt`` and ``train/<seq>/{rgb,meta}/<frame>``: {sequence: frame count}."""
    lines = []
    number = 0
    for sequence, count in frames.items():
        for frame in range(count):
            name = f"{frame:04d}"
            lines.append(f"{sequence}/{name}")
            write_image(root / "train" / sequence / "rgb" / f"{name}{extension}", number, 640, 480)
            meta_path = root / "train" / sequence / "meta" / f"{name}.pkl"
            meta_path.parent.mkdir(parents=True, exist_ok=True)
            meta_path.write_bytes(pickle.dumps(ho3d_meta(frame), protocol=2))
            number += 1
    (root / "train.txt").write_text("\n".join(lines) + "\n")


# InterHand2.6M ----------------------------------------------------------------------------

INTERHAND_CAMERA = {
    "campos": [100.0, 200.0, -300.0],
    "camrot": [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
    "focal": [1200.0, 1100.0],
    "princpt": [160.0, 250.0],
}


def interhand_world(frame: int) -> np.ndarray:
    """(42, 3) world millimetres in InterHand order; joint i at
    (90 + i, 180 + 2 i, 1700 + frame)."""
    i = np.arange(42.0)
    return np.stack([90.0 + i, 180.0 + 2.0 * i, np.full(42, 1700.0 + frame)], axis=1)


def write_interhand(root: Path, split: str, annotations: list[dict]) -> None:
    """One capture (0), one camera ("400262"); each annotation dict gives frame, hand_type,
    joint_valid (42,) and optionally world (42, 3) mm."""
    images, anns, joints = [], [], {}
    for number, spec in enumerate(annotations):
        frame = spec["frame"]
        file_name = f"Capture0/0001_test_sequence/cam400262/image{frame}.jpg"
        images.append(
            {
                "id": 1000 + number,
                "file_name": file_name,
                "width": 334,
                "height": 512,
                "capture": 0,
                "subject": 0,
                "seq_name": "0001_test_sequence",
                "camera": "400262",
                "frame_idx": frame,
            }
        )
        anns.append(
            {
                "id": 1000 + number,
                "image_id": 1000 + number,
                "bbox": [10.0, 20.0, 100.0, 120.0],
                "joint_valid": [[int(v)] for v in spec["joint_valid"]],
                "hand_type": spec["hand_type"],
                "hand_type_valid": 1,
            }
        )
        world = spec.get("world", interhand_world(frame))
        joints[str(frame)] = {
            "world_coord": np.asarray(world).tolist(),
            "joint_valid": [[bool(v)] for v in spec["joint_valid"]],
            "hand_type": spec["hand_type"],
            "hand_type_valid": True,
        }
        write_image(root / "images" / split / file_name, number, 334, 512)
    folder = root / "annotations" / split
    write_json(folder / f"InterHand2.6M_{split}_data.json", {"images": images, "annotations": anns})
    write_json(
        folder / f"InterHand2.6M_{split}_camera.json",
        {"0": {key: {"400262": value} for key, value in INTERHAND_CAMERA.items()}},
    )
    write_json(folder / f"InterHand2.6M_{split}_joint_3d.json", {"0": joints})


# MPIIGaze ---------------------------------------------------------------------------------


def mpiigaze_eye(count: int, seed: int) -> dict:
    """One side's struct: image (N, 36, 60) uint8, gaze (N, 3) unit, pose (N, 3) Rodrigues."""
    rng = np.random.default_rng(seed)
    gaze = rng.normal(size=(count, 3)) * [0.3, 0.3, 0.1] - [0.0, 0.0, 1.0]
    return {
        "gaze": gaze / np.linalg.norm(gaze, axis=1, keepdims=True),
        "image": rng.integers(0, 256, size=(count, 36, 60), dtype=np.uint8),
        "pose": rng.normal(scale=0.2, size=(count, 3)),
    }


def write_mpiigaze_day(root: Path, person: str, day: str, left: dict, right: dict) -> None:
    """``Data/Normalized/<person>/<day>.mat`` with ``data.left/right`` and ``filenames``."""
    count = len(left["gaze"])
    filenames = np.empty((count, 1), dtype=object)
    for i in range(count):
        filenames[i, 0] = f"{i + 1:04d}.jpg"
    path = root / "Data" / "Normalized" / person / f"{day}.mat"
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), {"data": {"right": right, "left": left}, "filenames": filenames})


def write_mpiigaze_list(root: Path, person: str, lines: list[str]) -> None:
    path = root / "Evaluation Subset" / "sample list for eye image" / f"{person}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


# MPIIFaceGaze (normalised) ----------------------------------------------------------------

MPIIFACEGAZE_SIZE = 64  # the release's faces are 448x448; the layout does not depend on it
# Six landmarks (x, y): the image-left eye's corners, the image-right eye's, the mouth corners.
MPIIFACEGAZE_LANDMARKS = [
    [14.0, 24.0],
    [26.0, 24.0],
    [38.0, 24.0],
    [50.0, 24.0],
    [22, 50],
    [42, 50],
]


def mpiifacegaze_label(count: int) -> np.ndarray:
    """(count, 16): gaze pitch, yaw = (0.1 i, -0.2 + 0.05 i), head (0.05, -0.1), landmarks."""
    label = np.zeros((count, 16))
    i = np.arange(count)
    label[:, 0], label[:, 1] = 0.1 * i, -0.2 + 0.05 * i
    label[:, 2], label[:, 3] = 0.05, -0.1
    label[:, 4:16] = np.ravel(MPIIFACEGAZE_LANDMARKS)
    return label


def mpiifacegaze_faces(count: int) -> np.ndarray:
    """(count, 3, H, W) uint8 BGR faces as h5py reads the release: channel B = 10 i, G = 100,
    R = 200, and a dark band on the image-left eye's row (rows 22..26, columns 10..30)."""
    faces = np.zeros((count, 3, MPIIFACEGAZE_SIZE, MPIIFACEGAZE_SIZE), np.uint8)
    for i in range(count):
        faces[i, 0], faces[i, 1], faces[i, 2] = 10 * i, 100, 200
        faces[i, :, 22:27, 10:31] = 0
    return faces


def write_mpiifacegaze_person(root: Path, person: str, count: int, v73: bool = False) -> None:
    """``<person>.mat`` holding struct ``Data`` with ``data`` and ``label``: MATLAB v5 in MATLAB's
    axis order (W, H, 3, N) and (16, N), the reverse of the h5py view (N, 3, H, W), (N, 16); or,
    with ``v73``, as the release is stored: HDF5 after MATLAB's 512-byte user block, read by
    h5py in that view."""
    root.mkdir(parents=True, exist_ok=True)
    if v73:
        import h5py

        with h5py.File(root / f"{person}.mat", "w", userblock_size=512) as handle:
            handle.create_dataset("Data/data", data=mpiifacegaze_faces(count))
            handle.create_dataset("Data/label", data=mpiifacegaze_label(count))
        return
    data = mpiifacegaze_faces(count).transpose(3, 2, 1, 0)
    label = mpiifacegaze_label(count).T
    scipy.io.savemat(str(root / f"{person}.mat"), {"Data": {"data": data, "label": label}})

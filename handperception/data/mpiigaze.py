"""MPIIGaze (Zhang et al., CVPR 2015 / TPAMI 2019): normalised eye patches from laptop webcams.

Layout under ``root``::

    Data/Normalized/p00 .. p14/day01.mat ...   MATLAB v5: ``data.left`` and ``data.right``,
        each with ``image`` (N, 36, 60) uint8 grey, ``gaze`` (N, 3) unit vectors and ``pose``
        (N, 3) head rotation vectors (Rodrigues, head -> normalised camera); ``filenames`` (N,)
        cell of "0001.jpg" ...
    Evaluation Subset/sample list for eye image/p00.txt ...   lines "day08/0069.jpg left"

Conventions: the stored gaze is already in the project's convention (normalised camera, x right,
y down, z forward, pointing from the eye to the target), so ``gaze_pitchyaw`` is
``geometry.gaze.vector_to_pitchyaw(gaze)``: pitch = arcsin(-y), yaw = arctan2(-x, -z). The head
frame faces along its -z axis (z points into the head), the same as
``geometry.gaze.pitchyaw_to_rotation``, so the head's pitch/yaw is that of ``-R[:, 2]``.

Samples use the synthetic eye patches' field names (``synth.eyes.EyePatch``) so gaze models
train and evaluate on either unchanged: ``image`` (36, 60) uint8, ``gaze_pitchyaw`` (2,) and
``gaze_vector`` (3,) float32, ``head_pitchyaw`` (2,) float32 radians; plus ``head_rotation``
(3, 3) float32, ``K`` (3, 3) of MPIIGaze's normalised camera, and ``person``, ``day``,
``filename``, ``side`` strings.

Splits: "evaluation" is the standard subset (the lists above; 3000 eyes per person, used for
leave-one-person-out), "all" every eye of every day file. ``persons`` picks participants.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import scipy.io
from torch.utils.data import Dataset
from tqdm import tqdm

from handperception.data.common import check_split, require_path
from handperception.geometry.gaze import NormalizationSpec, vector_to_pitchyaw

SPLITS: tuple[str, ...] = ("evaluation", "all")
SIDES: tuple[str, ...] = ("left", "right")
PATCH_SHAPE = (36, 60)  # height, width
NORMALIZED_DIR = Path("Data") / "Normalized"
EVALUATION_DIR = Path("Evaluation Subset") / "sample list for eye image"


@dataclass(frozen=True)
class DayFile:
    """One ``dayXX.mat``: per side, images (N, 36, 60) uint8, gaze (N, 3), pose (N, 3)."""

    filenames: tuple[str, ...]
    images: dict[str, np.ndarray]
    gaze: dict[str, np.ndarray]
    pose: dict[str, np.ndarray]


def _field(struct, name: str, path: Path):
    if not hasattr(struct, name):
        raise ValueError(f"{path}: missing field {name!r}; not an MPIIGaze normalised day file")
    return getattr(struct, name)


def read_day(path: Path) -> DayFile:
    """Load one normalised day file, checking that every array agrees on the sample count."""
    require_path(path, "an MPIIGaze day file Data/Normalized/pXX/dayYY.mat")
    try:
        mat = scipy.io.loadmat(str(path), struct_as_record=False, squeeze_me=True)
    except (ValueError, TypeError, OSError) as error:
        raise ValueError(f"{path}: not a readable MATLAB file ({error})") from error
    if "data" not in mat or "filenames" not in mat:
        raise ValueError(f"{path}: expected variables 'data' and 'filenames'")
    filenames = tuple(str(name) for name in np.atleast_1d(mat["filenames"]))
    count = len(filenames)
    images, gaze, pose = {}, {}, {}
    for side in SIDES:
        eye = _field(mat["data"], side, path)
        images[side] = np.asarray(_field(eye, "image", path)).reshape(-1, *PATCH_SHAPE)
        gaze[side] = np.asarray(_field(eye, "gaze", path), dtype=np.float64).reshape(-1, 3)
        pose[side] = np.asarray(_field(eye, "pose", path), dtype=np.float64).reshape(-1, 3)
        sizes = {len(images[side]), len(gaze[side]), len(pose[side])}
        if sizes != {count}:
            raise ValueError(
                f"{path}: {side} eye arrays hold {sorted(sizes)} samples "
                f"but there are {count} filenames"
            )
        finite = np.isfinite(gaze[side]).all(1) & np.isfinite(pose[side]).all(1)
        bad = np.flatnonzero(
            ~finite | (np.linalg.norm(np.where(finite[:, None], gaze[side], 0.0), axis=1) < 1e-9)
        )
        if len(bad):
            raise ValueError(
                f"{path}: {side} eye sample {int(bad[0])} has a NaN or zero gaze or a NaN pose"
            )
        images[side] = images[side].astype(np.uint8)
    return DayFile(filenames, images, gaze, pose)


def read_evaluation_list(path: Path) -> list[tuple[str, str, str]]:
    """``pXX.txt`` -> [(day, filename, side)]; ValueError naming the line if malformed."""
    require_path(
        path, "an MPIIGaze evaluation list 'Evaluation Subset/sample list for eye image/pXX.txt'"
    )
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        day_file = parts[0].split("/") if parts else []
        if len(parts) != 2 or len(day_file) != 2 or parts[1] not in SIDES:
            raise ValueError(f"{path}: line {number} {line!r} is not 'dayXX/NNNN.jpg left|right'")
        entries.append((day_file[0], day_file[1], parts[1]))
    return entries


def head_pitchyaw(rotation_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(3,) Rodrigues head rotation -> ((2,) head pitch/yaw radians, (3, 3) rotation)."""
    rotation = cv2.Rodrigues(np.asarray(rotation_vector, dtype=np.float64).reshape(3, 1))[0]
    return vector_to_pitchyaw(-rotation[:, 2]), rotation


class MPIIGazeDataset(Dataset):
    """Map-style MPIIGaze normalised eyes; the selected samples are loaded into memory once.

    Args:
        root: the MPIIGaze folder holding ``Data/`` and ``Evaluation Subset/``.
        split: "evaluation" or "all".
        persons: participant ids such as ("p00", "p03"); None = every ``Data/Normalized/p*``.
        progress: show a tqdm bar while reading day files.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "evaluation",
        persons: tuple[str, ...] | None = None,
        progress: bool = True,
    ) -> None:
        check_split("MPIIGaze", split, SPLITS)
        self.root = require_path(Path(root), "an MPIIGaze root folder", directory=True)
        normalized = require_path(
            self.root / NORMALIZED_DIR, "MPIIGaze Data/Normalized/pXX/dayYY.mat", directory=True
        )
        if persons is None:
            persons = tuple(sorted(p.name for p in normalized.glob("p*") if p.is_dir()))
            if not persons:
                raise FileNotFoundError(f"no participant folders p00..p14 in {normalized}")
        self.split, self.persons = split, tuple(persons)
        self.keys: list[tuple[str, str, str, str]] = []  # person, day, filename, side
        images, gaze, pose = [], [], []
        for person in tqdm(self.persons, desc="MPIIGaze", unit="person", disable=not progress):
            person_dir = require_path(
                normalized / person, f"MPIIGaze participant folder {person}", directory=True
            )
            days = {path.stem: read_day(path) for path in sorted(person_dir.glob("day*.mat"))}
            if not days:
                raise FileNotFoundError(f"no dayYY.mat files in {person_dir}")
            for day, filename, side, position in self._selection(person, days):
                self.keys.append((person, day, filename, side))
                images.append(days[day].images[side][position])
                gaze.append(days[day].gaze[side][position])
                pose.append(days[day].pose[side][position])
        self.images = np.stack(images) if images else np.zeros((0, *PATCH_SHAPE), np.uint8)
        self.gaze = np.asarray(gaze, dtype=np.float64).reshape(-1, 3)
        self.pose = np.asarray(pose, dtype=np.float64).reshape(-1, 3)
        self.camera_matrix = NormalizationSpec().camera_matrix

    def _selection(self, person: str, days: dict[str, DayFile]):
        """Yield (day, filename, side, position in the day file) of the split's samples."""
        if self.split == "all":
            for day, data in days.items():
                for side in SIDES:
                    for position, filename in enumerate(data.filenames):
                        yield day, filename, side, position
            return
        list_path = self.root / EVALUATION_DIR / f"{person}.txt"
        for day, filename, side in read_evaluation_list(list_path):
            if day not in days or filename not in days[day].filenames:
                raise ValueError(
                    f"{list_path}: sample {day}/{filename} is not in "
                    f"{NORMALIZED_DIR / person / day}.mat"
                )
            yield day, filename, side, days[day].filenames.index(filename)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} outside 0..{len(self) - 1}")
        person, day, filename, side = self.keys[index]
        gaze = self.gaze[index] / np.linalg.norm(self.gaze[index])
        head, rotation = head_pitchyaw(self.pose[index])
        return {
            "image": self.images[index],
            "gaze_pitchyaw": vector_to_pitchyaw(gaze).astype(np.float32),
            "gaze_vector": gaze.astype(np.float32),
            "head_pitchyaw": head.astype(np.float32),
            "head_rotation": rotation.astype(np.float32),
            "K": self.camera_matrix,
            "person": person,
            "day": day,
            "filename": filename,
            "side": side,
        }

"""MPIIFaceGaze, normalised release (Zhang et al., CVPR Workshops 2017): full faces with gaze.

Layout under ``root`` (the folder ``MPIIFaceGaze_normalized.zip`` extracts, named
``MPIIFaceGaze_normalizad`` in the archive)::

    p00.mat .. p14.mat   MATLAB v7.3 (HDF5), one struct ``Data`` per participant, 3000 faces:
        Data.data    read by h5py as (N, 3, 448, 448) uint8: channels B, G, R; rows, columns
        Data.label   read by h5py as (N, 16) float: [0:2] gaze pitch, yaw (radians, normalised
                     face camera); [2:4] head pitch, yaw; [4:16] six landmarks (x, y) in the
                     448x448 image: four eye corners (two per eye), then the two mouth corners.

Sources for the layout and conventions: the dataset's page (perceptualui.org, MPIIFaceGaze: the
normalised faces are 448x448, saved from MATLAB for Caffe after ``image(:, :, [3 2 1])``, a
horizontal flip and a 90-degree rotation; the flip and rotation together transpose the image,
which MATLAB's column-major storage read row-major by h5py transposes back, so the h5py view is
the upright, unmirrored face in B, G, R order); hysts/pytorch_mpiigaze
``tools/preprocess_mpiifacegaze.py`` (``Data/data`` transposed (0, 2, 3, 1) to images,
``gazes = label[:, :2]``, ``poses = label[:, 2:4]``, trained and demonstrated with the same
pitch/yaw <-> vector conversion as its MPIIGaze eyes, which is ``geometry.gaze``'s:
pitch = arcsin(-y), yaw = arctan2(-x, -z)); ishtos/mpII-face-gaze ``dataloader.py`` (channels
reordered [2, 1, 0] to RGB). Column 4 onwards as landmarks follows the dataset's description
(six facial landmarks, four eye corners and two mouth corners); which pair belongs to which eye
is decided by position here (the pair on the image's left is the subject's right eye), so the
order within the columns does not matter. A MATLAB v5 file holding the same struct is read too
(scipy): it stores the arrays in MATLAB's axis order, the reverse of h5py's view, and is turned
into that view (this is also how the tests write a fixture).

Samples: ``rgb`` (448, 448, 3) uint8, ``gaze_pitchyaw`` (2,) and ``gaze_vector`` (3,) float32 in
the project's convention (normalised face camera), ``head_pitchyaw`` (2,) float32,
``landmarks`` (6, 2) float32 pixels, ``person`` and ``index``; with ``eye_patches=True`` also
``right_eye`` and ``left_eye`` (36, 60) uint8 grey patches (``cut_eye_patch``).

Eye patches are cut around each eye's corner midpoint and scaled so its corners lie
``EYE_CORNER_PX`` apart, the synthetic eyes' corner distance in a 36x60 patch. The face is already
normalised (rotated to face the camera, roll removed), so this is a close stand-in for
normalising each eye; the label is the face's gaze from the face centre, so an eye model is
scored on the mean of both eyes' predictions (``eval.gaze.evaluate_mpiifacegaze``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import scipy.io
from torch.utils.data import Dataset
from tqdm import tqdm

from handperception.data.common import require_path
from handperception.geometry.gaze import pitchyaw_to_vector

FACE_SIZE = 448
LABEL_COLUMNS = 16
NUM_LANDMARKS = 6
PATCH_SHAPE = (36, 60)  # height, width (geometry.gaze.NormalizationSpec)
# Synthetic eye corners: 2 x 1.15 x 12 mm eyeball radius (synth.eye_shading), seen from 600 mm
# with a 960 px focal length (NormalizationSpec): 44 px.
EYE_CORNER_PX = 2 * 1.15 * 0.012 * 960.0 / 0.6
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _read_hdf5(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        import h5py
    except ImportError as error:
        raise ValueError(
            f"{path} is MATLAB v7.3 (HDF5), as MPIIFaceGaze's release is; reading it needs the "
            "h5py package (pip install h5py)"
        ) from error
    with h5py.File(path, "r") as handle:
        if "Data" not in handle or "data" not in handle["Data"] or "label" not in handle["Data"]:
            raise ValueError(f"{path}: expected Data/data and Data/label; not MPIIFaceGaze")
        return np.asarray(handle["Data"]["data"]), np.asarray(handle["Data"]["label"])


def _read_v5(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        mat = scipy.io.loadmat(str(path), struct_as_record=False, squeeze_me=False)
    except (ValueError, TypeError, OSError, scipy.io.matlab.MatReadError) as error:
        raise ValueError(f"{path}: not a readable MATLAB file ({error})") from error
    struct = mat.get("Data")
    if struct is None:
        raise ValueError(f"{path}: expected a struct 'Data'; not MPIIFaceGaze")
    struct = np.asarray(struct).ravel()[0]
    if not (hasattr(struct, "data") and hasattr(struct, "label")):
        raise ValueError(f"{path}: struct Data lacks 'data' or 'label'; not MPIIFaceGaze")
    # MATLAB's axis order is the reverse of the HDF5 view the v7.3 release is read in.
    data, label = np.asarray(struct.data), np.asarray(struct.label)
    return data.transpose(tuple(reversed(range(data.ndim)))), label.T


def read_person(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One ``pXX.mat`` -> (images (N, 3, 448, 448) uint8 BGR, labels (N, 16) float64).

    ValueError for a file that is not this layout, names a wrong shape, or has a NaN label.
    """
    require_path(path, "an MPIIFaceGaze participant file pXX.mat")
    with open(path, "rb") as handle:
        handle.seek(512)  # MATLAB v7.3 files are HDF5 with a 512-byte user block
        is_hdf5 = handle.read(8) == HDF5_SIGNATURE
    data, label = (_read_hdf5 if is_hdf5 else _read_v5)(path)
    if data.ndim != 4 or data.shape[1] != 3:
        raise ValueError(f"{path}: Data.data has shape {data.shape}, expected (N, 3, H, W)")
    label = np.asarray(label, dtype=np.float64)
    if label.ndim != 2 or label.shape[1] != LABEL_COLUMNS or len(label) != len(data):
        raise ValueError(
            f"{path}: Data.label has shape {label.shape}, expected ({len(data)}, {LABEL_COLUMNS})"
        )
    bad = np.flatnonzero(~np.isfinite(label).all(axis=1))
    if len(bad):
        raise ValueError(f"{path}: sample {int(bad[0])} has a NaN or infinite label")
    return data, label


def eye_corners(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(6, 2) landmarks -> (right eye corners (2, 2), left eye corners (2, 2)), pixels.

    The first four landmarks are two eyes' corner pairs; the pair on the image's left is the
    subject's right eye (an unmirrored camera)."""
    points = np.asarray(landmarks, dtype=np.float64).reshape(NUM_LANDMARKS, 2)
    first, second = points[0:2], points[2:4]
    if first[:, 0].mean() <= second[:, 0].mean():
        return first, second
    return second, first


def cut_eye_patch(grey: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """A (36, 60) patch of a grey face image centred on the eye corners' midpoint, scaled so
    the corners lie EYE_CORNER_PX apart."""
    corners = np.asarray(corners, dtype=np.float64).reshape(2, 2)
    width = float(np.linalg.norm(corners[1] - corners[0]))
    if not np.isfinite(width) or width < 2.0:
        raise ValueError(f"eye corners {corners.tolist()} are too close to cut an eye patch")
    scale = EYE_CORNER_PX / width
    centre = corners.mean(axis=0)
    height_px, width_px = PATCH_SHAPE
    target = np.array([(width_px - 1) / 2, (height_px - 1) / 2])
    warp = np.array(
        [[scale, 0.0, target[0] - scale * centre[0]], [0.0, scale, target[1] - scale * centre[1]]]
    )
    return cv2.warpAffine(
        grey, warp, (width_px, height_px), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )


class MPIIFaceGazeDataset(Dataset):
    """Map-style MPIIFaceGaze normalised faces, each participant's file read whole.

    Memory: a participant's 3000 faces are 1.8 GB; ``persons`` picks a few. The release's v7.3
    files need the h5py package (not a dependency of this project: ``pip install h5py``).

    Args:
        root: the folder holding ``p00.mat`` .. ``p14.mat``.
        persons: participant ids such as ("p00",); None = every ``p*.mat`` in root.
        eye_patches: add ``right_eye`` and ``left_eye`` patches to each sample.
        progress: show a tqdm bar while reading files.
    """

    def __init__(
        self,
        root: str | Path,
        persons: tuple[str, ...] | None = None,
        eye_patches: bool = False,
        progress: bool = True,
    ) -> None:
        self.root = require_path(Path(root), "an MPIIFaceGaze root holding pXX.mat", directory=True)
        if persons is None:
            persons = tuple(sorted(p.stem for p in self.root.glob("p*.mat")))
            if not persons:
                raise FileNotFoundError(f"no participant files p00.mat .. p14.mat in {self.root}")
        self.persons, self.eye_patches_wanted = tuple(persons), eye_patches
        self.images: dict[str, np.ndarray] = {}
        labels, self.keys = [], []
        for person in tqdm(self.persons, desc="MPIIFaceGaze", unit="person", disable=not progress):
            data, label = read_person(self.root / f"{person}.mat")
            self.images[person] = data
            labels.append(label)
            self.keys.extend((person, index) for index in range(len(label)))
        self.labels = np.concatenate(labels) if labels else np.zeros((0, LABEL_COLUMNS))

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def gaze_pitchyaw(self) -> np.ndarray:
        """(N, 2) float64 gaze pitch/yaw radians of every sample."""
        return self.labels[:, 0:2]

    def rgb(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB face image of sample ``index``."""
        person, position = self.keys[index]
        bgr = np.asarray(self.images[person][position]).transpose(1, 2, 0)
        return np.ascontiguousarray(bgr[:, :, ::-1]).astype(np.uint8)

    def landmarks(self, index: int) -> np.ndarray:
        """(6, 2) float32 landmark pixels of sample ``index``."""
        return self.labels[index, 4:16].reshape(NUM_LANDMARKS, 2).astype(np.float32)

    def _eyes(self, index: int, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        right, left = eye_corners(self.landmarks(index))
        return cut_eye_patch(grey, right), cut_eye_patch(grey, left)

    def eye_patches(self) -> tuple[np.ndarray, np.ndarray]:
        """(right eyes (N, 36, 60), left eyes (N, 36, 60)) uint8 patches of every sample."""
        pairs = [self._eyes(i, self.rgb(i)) for i in range(len(self))]
        empty = np.zeros((0, *PATCH_SHAPE), np.uint8)
        if not pairs:
            return empty, empty
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} outside 0..{len(self) - 1}")
        person, position = self.keys[index]
        rgb = self.rgb(index)
        gaze = self.labels[index, 0:2]
        sample = {
            "rgb": rgb,
            "gaze_pitchyaw": gaze.astype(np.float32),
            "gaze_vector": pitchyaw_to_vector(gaze).astype(np.float32),
            "head_pitchyaw": self.labels[index, 2:4].astype(np.float32),
            "landmarks": self.landmarks(index),
            "person": person,
            "index": position,
        }
        if self.eye_patches_wanted:
            sample["right_eye"], sample["left_eye"] = self._eyes(index, rgb)
        return sample

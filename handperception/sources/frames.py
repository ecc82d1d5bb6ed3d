"""Frame sources: each yields RGB uint8 frames with the intrinsics of the camera that saw them.

A source is named by a URI so one parameter (``source``) covers every case:
``synthetic`` / ``synthetic:<scene>``, ``video:<path>`` (or a path with a video extension),
``folder:<dir>`` (or a directory), ``webcam:<index>`` (or ``/dev/videoN``), ``bag:<path>`` (or a
rosbag2 directory or ``.mcap`` file: see ``sources.bag``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol

import cv2
import numpy as np

from handperception.geometry.camera import PinholeCamera

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mkv", ".mov", ".webm"}
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


class FrameSource(Protocol):
    """A replayed recording (``BagSource``) also has ``read_recorded()``: each frame with its
    recorded stamp, frame_id and calibration, and when it is due; a depth camera
    (``synthetic:tabletop``) ``read_rgbd()``: (RGB, depth float32 metres, 0 = no return)."""

    camera: PinholeCamera

    def read(self) -> np.ndarray | None:
        """Next (H, W, 3) uint8 RGB frame, or None when the source is exhausted."""

    def close(self) -> None: ...


def _resize_to(frame: np.ndarray, camera: PinholeCamera) -> np.ndarray:
    if frame.shape[1] == camera.width and frame.shape[0] == camera.height:
        return frame
    return cv2.resize(frame, (camera.width, camera.height), interpolation=cv2.INTER_AREA)


class VideoSource:
    """A video file or a V4L2 webcam through OpenCV."""

    def __init__(
        self, target: str | int, camera: PinholeCamera | None, horizontal_fov_deg: float, loop: bool
    ):
        self._target, self._loop = target, loop
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            raise ValueError(f"OpenCV could not open video source {target!r}")
        width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.camera = camera or PinholeCamera.from_fov(width, height, horizontal_fov_deg)

    def read(self) -> np.ndarray | None:
        ok, frame = self._capture.read()
        if not ok and self._loop and isinstance(self._target, str):
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        if not ok:
            return None
        return _resize_to(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), self.camera)

    def close(self) -> None:
        self._capture.release()


class FolderSource:
    """Images of a folder in name order (unreadable files are skipped with their names kept)."""

    def __init__(
        self, folder: Path, camera: PinholeCamera | None, horizontal_fov_deg: float, loop: bool
    ):
        self._paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not self._paths:
            raise ValueError(
                f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in folder {folder}"
            )
        self._loop, self._index = loop, 0
        self.skipped: list[Path] = []
        first = self._load(self._paths[0])
        if first is None:
            raise ValueError(f"cannot read image {self._paths[0]}")
        self.camera = camera or PinholeCamera.from_fov(
            first.shape[1], first.shape[0], horizontal_fov_deg
        )

    @staticmethod
    def _load(path: Path) -> np.ndarray | None:
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        return None if frame is None else cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def read(self) -> np.ndarray | None:
        while True:
            if self._index >= len(self._paths):
                if not self._loop or len(self.skipped) == len(self._paths):
                    return None
                self._index = 0
            path = self._paths[self._index]
            self._index += 1
            frame = self._load(path)
            if frame is not None:
                return _resize_to(frame, self.camera)
            if path not in self.skipped:
                self.skipped.append(path)

    def close(self) -> None:
        self._paths = []


class TestPatternSource:
    """Moving colour bars and a moving disc: a source with known content for pipeline checks."""

    def __init__(self, camera: PinholeCamera):
        self.camera = camera
        self._index = 0
        columns = np.linspace(0, 1, camera.width, dtype=np.float32)
        bars = (np.floor(columns * 8) / 7.0)[None, :]
        self._base = np.stack(
            [
                np.repeat(bars, camera.height, 0),
                np.repeat(1 - bars, camera.height, 0),
                np.repeat(np.abs(bars - 0.5) * 2, camera.height, 0),
            ],
            axis=-1,
        )

    def read(self) -> np.ndarray:
        frame = (self._base * 200 + 20).astype(np.uint8)
        frame = np.roll(frame, 4 * self._index, axis=1)
        angle = self._index * 0.1
        centre = (
            int(self.camera.width * (0.5 + 0.3 * np.cos(angle))),
            int(self.camera.height * (0.5 + 0.3 * np.sin(angle))),
        )
        cv2.circle(frame, centre, max(4, self.camera.height // 10), (240, 240, 240), -1)
        self._index += 1
        return frame

    def close(self) -> None:
        pass


def _synthetic_hands(hands: int) -> Callable[[PinholeCamera, int], FrameSource]:
    def make(camera: PinholeCamera, seed: int) -> FrameSource:
        from handperception.sources.synthetic_hands import (
            SyntheticHandsSource,
        )  # the renderer loads on demand

        return SyntheticHandsSource(camera, seed, hands)

    return make


def _synthetic_faces(faces: int, hands: bool) -> Callable[[PinholeCamera, int], FrameSource]:
    def make(camera: PinholeCamera, seed: int) -> FrameSource:
        from handperception.sources.synthetic_faces import (
            SyntheticFacesSource,
        )  # the renderer loads on demand

        return SyntheticFacesSource(camera, seed, faces, hands)

    return make


def _synthetic_tabletop(camera: PinholeCamera, seed: int) -> FrameSource:
    from handperception.sources.synthetic_tabletop import (
        SyntheticTabletopSource,
    )  # the renderer loads on demand

    return SyntheticTabletopSource(camera, seed)


# Synthetic scenes by name (``synthetic:<name>``); ``synthetic`` alone means ``hands``. ``face``
# and ``faces``: one or two people looking around the camera; ``people``: one of them holding
# up two hands (``sources.synthetic_faces``); ``tabletop``: a still depth camera over objects on a
# table, RGB and depth (``sources.synthetic_tabletop``).
SYNTHETIC_SCENES: dict[str, Callable[[PinholeCamera, int], FrameSource]] = {
    "hands": _synthetic_hands(1),
    "two_hands": _synthetic_hands(2),
    "face": _synthetic_faces(1, hands=False),
    "faces": _synthetic_faces(2, hands=False),
    "people": _synthetic_faces(1, hands=True),
    "pattern": lambda camera, seed: TestPatternSource(camera),
    "tabletop": _synthetic_tabletop,
}


def open_source(
    uri: str,
    width: int = 640,
    height: int = 480,
    horizontal_fov_deg: float = 60.0,
    camera: PinholeCamera | None = None,
    loop: bool = False,
    seed: int = 0,
    *,
    image_topic: str = "",
    rate: float = 1.0,
) -> FrameSource:
    """Open a source by URI (see module docstring); ``camera`` overrides guessed intrinsics.

    ``image_topic`` and ``rate`` are a bag's (``BagSource``): which image topic, how fast.
    """
    kind, _, rest = uri.partition(":")
    if kind == "synthetic":
        scene = rest or "hands"
        if scene not in SYNTHETIC_SCENES:
            raise ValueError(
                f"unknown synthetic scene '{scene}' (known: {', '.join(SYNTHETIC_SCENES)})"
            )
        return SYNTHETIC_SCENES[scene](
            camera or PinholeCamera.from_fov(width, height, horizontal_fov_deg), seed
        )
    if kind == "webcam" or uri.startswith("/dev/video"):
        device = int(rest) if kind == "webcam" else uri
        return VideoSource(device, camera, horizontal_fov_deg, loop=False)
    path = Path(rest if kind in ("video", "folder", "bag") else uri)
    looks_like_bag = path.suffix == ".mcap" or (path / "metadata.yaml").is_file()
    if kind == "bag" or (kind not in ("video", "folder") and looks_like_bag):
        from handperception.sources.bag import BagSource  # rosbags loads on demand

        return BagSource(path, image_topic, rate, loop, camera, horizontal_fov_deg)
    if kind == "folder" or path.is_dir():
        if not path.is_dir():
            raise ValueError(f"image folder {path} does not exist")
        return FolderSource(path, camera, horizontal_fov_deg, loop)
    if kind == "video" or path.suffix.lower() in VIDEO_EXTENSIONS:
        if not path.is_file():
            raise ValueError(f"video file {path} does not exist")
        return VideoSource(str(path), camera, horizontal_fov_deg, loop)
    raise ValueError(
        f"cannot tell what source '{uri}' is: "
        "use synthetic[:scene], video:<file>, folder:<dir>, webcam:<index> or bag:<path>"
    )

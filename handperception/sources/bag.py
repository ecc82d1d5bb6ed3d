"""Camera images replayed from a rosbag2 bag (``bag:<path>``), without rosbag2.

Why replay keeps what was recorded: nodes downstream must see the recording as the robot saw it,
so each frame comes with its recorded header stamp and frame_id (results then match the
recording's tf and other topics, as with ``ros2 bag play``) and the calibration recorded with it
(K, D, R, P: a distorted camera stays distorted). Why the source decides when each frame is due:
timing is the recording's, by its log (receive) times as ``ros2 bag play`` paces, scaled by
``rate``; the publisher waits until ``due_s``.

rosbags reads the bag (a rosbag2 directory, MCAP or SQLite storage, or a bare ``.mcap`` file)
with the message definitions stored in it; msgconv turns the images into RGB.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rosbags.highlevel import AnyReader
from rosbags.interfaces import Connection

from handperception.geometry.camera import CalibrationError, CameraModel, PinholeCamera
from handperception.msgconv.images import ImageConversionError, compressed_to_rgb8, image_to_rgb8

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"


@dataclass(frozen=True)
class RecordedFrame:
    """One replayed image with what the recording says about it."""

    rgb: np.ndarray  # (H, W, 3) uint8
    stamp_ns: int  # the recorded header stamp, nanoseconds since the epoch
    frame_id: str  # the recorded header frame_id
    camera: CameraModel  # the calibration recorded with it (see BagSource)
    due_s: float  # when to publish it: seconds after the first frame, ``rate`` and loops applied


def camera_info_topic(image_topic: str) -> str:
    """The CameraInfo topic beside an image topic, as image_transport names them
    ('/cam/image_raw' and '/cam/image_raw/compressed' -> '/cam/camera_info')."""
    base = image_topic.removesuffix("/compressed")
    return f"{base.rpartition('/')[0]}/camera_info"


def _stamp_ns(message) -> int:
    return int(message.header.stamp.sec) * 10**9 + int(message.header.stamp.nanosec)


class BagSource:
    """The images of one topic of a bag, in recorded order, with their recorded stamps.

    ``image_topic`` is a sensor_msgs Image or CompressedImage topic; empty: the bag's only one.
    Each frame's calibration is the latest CameraInfo recorded on ``camera_info_topic(image
    topic)`` (the first one for images logged before it); ``camera`` (a calibration file)
    replaces it, and without either (or when the recorded one is unusable, such as an all-zero
    K) the camera is guessed from ``horizontal_fov_deg``, as for videos. ``rate`` scales the
    recorded timing (2.0: twice as fast). With ``loop`` the bag restarts after its last image,
    one mean frame interval later (a second for a one-image bag), with the same recorded
    stamps, as ``ros2 bag play --loop`` does. Images that cannot be decoded are skipped and
    counted in ``skipped``.
    """

    def __init__(
        self,
        path: str | Path,
        image_topic: str = "",
        rate: float = 1.0,
        loop: bool = False,
        camera: PinholeCamera | None = None,
        horizontal_fov_deg: float = 60.0,
    ):
        path = Path(path)
        if not path.exists():
            raise ValueError(f"bag {path} does not exist")
        if path.is_dir() and not (path / "metadata.yaml").is_file():
            raise ValueError(f"{path} is not a rosbag2 bag: it has no metadata.yaml")
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._rate, self._loop, self._fov = rate, loop, horizontal_fov_deg
        self.skipped = 0
        self._reader = AnyReader([path])
        self._reader.open()
        try:
            self._image = self._image_connection(path, image_topic)
            self._decode = (
                compressed_to_rgb8 if self._image.msgtype == COMPRESSED_IMAGE else image_to_rgb8
            )
            info_topic = camera_info_topic(self._image.topic)
            infos = [
                c
                for c in self._reader.connections
                if c.topic == info_topic and c.msgtype == CAMERA_INFO
            ]
            self._info = infos[0] if infos and camera is None else None
            self._first_calibration = (
                self._initial_calibration() if camera is None else CameraModel(camera)
            )
            self._records = self._iterate()
            self._first_log_ns: int | None = None
            self._pass_ns: int | None = None  # one pass through the bag, known after the first
            self._passes, self._count, self._last_log_ns, self._decoded = 0, 0, 0, False
            self._first = self._read()
            if self._first is None:
                raise ValueError(
                    f"no image on {self._image.topic} in bag {path} could be decoded "
                    f"({self.skipped} skipped)"
                )
        except BaseException:
            self._reader.close()
            raise
        self._open = True
        self.camera = self._first.camera.camera

    def _image_connection(self, path: Path, image_topic: str) -> Connection:
        images = {
            c.topic: c for c in self._reader.connections if c.msgtype in (IMAGE, COMPRESSED_IMAGE)
        }
        listed = ", ".join(sorted(images)) or "none"
        if image_topic:
            if image_topic not in images:
                raise ValueError(
                    f"bag {path} has no image topic '{image_topic}' (image topics: {listed})"
                )
            return images[image_topic]
        if len(images) != 1:
            raise ValueError(
                f"bag {path} has {len(images) or 'no'} {IMAGE} or {COMPRESSED_IMAGE} topics "
                f"({listed}): choose one with image_topic (camera_source: bag_image_topic)"
            )
        return next(iter(images.values()))

    @staticmethod
    def _calibration(info) -> CameraModel | None:
        try:
            return CameraModel.from_camera_info(info)
        except CalibrationError:
            return None

    def _initial_calibration(self) -> CameraModel | None:
        """The bag's first usable CameraInfo, for the images logged before it."""
        if self._info is None:
            return None
        for connection, _, raw in self._reader.messages(connections=[self._info]):
            calibration = self._calibration(self._reader.deserialize(raw, connection.msgtype))
            if calibration is not None:
                return calibration
        return None

    def _iterate(self) -> Iterator[tuple[int, object, CameraModel | None]]:
        """(log time, image message, calibration) for each image of one pass, in log order."""
        calibration = self._first_calibration
        connections = [self._image] if self._info is None else [self._image, self._info]
        for connection, log_ns, raw in self._reader.messages(connections=connections):
            message = self._reader.deserialize(raw, connection.msgtype)
            if connection is self._info:
                calibration = self._calibration(message) or calibration
            else:
                yield log_ns, message, calibration

    def _next_record(self) -> tuple[int, object, CameraModel | None] | None:
        """The next image record, into the next pass when looping; None at the end."""
        while (record := next(self._records, None)) is None:
            # A loop never restarts a bag without a single decodable image: it would spin.
            if not (self._loop and self._decoded):
                return None
            if self._pass_ns is None:
                span = self._last_log_ns - self._first_log_ns
                self._pass_ns = span + (span // (self._count - 1) if self._count > 1 else 10**9)
            self._passes += 1
            self._records = self._iterate()
        if self._first_log_ns is None:
            self._first_log_ns = record[0]
        if self._passes == 0:
            self._count, self._last_log_ns = self._count + 1, record[0]
        return record

    def _read(self) -> RecordedFrame | None:
        while (record := self._next_record()) is not None:
            log_ns, message, calibration = record
            try:
                rgb = self._decode(message)
            except ImageConversionError:
                self.skipped += 1
                continue
            self._decoded = True
            if calibration is None:
                calibration = CameraModel(
                    PinholeCamera.from_fov(rgb.shape[1], rgb.shape[0], self._fov)
                )
            elapsed_ns = log_ns - self._first_log_ns + self._passes * (self._pass_ns or 0)
            return RecordedFrame(
                rgb,
                _stamp_ns(message),
                message.header.frame_id,
                calibration,
                elapsed_ns / 1e9 / self._rate,
            )
        return None

    def read_recorded(self) -> RecordedFrame | None:
        """The next frame with its recorded stamp, frame_id and calibration; None at the end."""
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        return self._read()

    def read(self) -> np.ndarray | None:
        """The next frame's pixels (FrameSource); ``read_recorded`` also gives its stamps."""
        frame = self.read_recorded()
        return None if frame is None else frame.rgb

    def close(self) -> None:
        if self._open:
            self._open = False
            self._reader.close()

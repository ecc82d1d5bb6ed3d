"""camera_source: publishes Image + CameraInfo from a video, an image folder, a webcam or the
synthetic engine, for robots without a camera driver at hand and for every demo and test."""

from __future__ import annotations

from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from handperception.msgconv.camera_info import camera_info_msg
from handperception.msgconv.images import numpy_to_image
from handperception.ros.entry import run_single_node
from handperception.ros.node_base import HandperceptionNode
from handperception.ros.qos import image_qos, results_qos
from handperception.sources import open_source
from handperception.sources.calibration import load_calibration

_ENCODINGS = {"rgb8", "bgr8"}


class CameraSourceNode(HandperceptionNode):
    def __init__(self, **kwargs):
        super().__init__("camera_source", **kwargs)
        self.source_uri = self.declare(
            "source",
            "synthetic",
            "synthetic[:scene] | video:<file> | folder:<dir> | webcam:<index>",
        )
        self.fps = self.declare("fps", 30.0, "publishing rate, Hz")
        self.frame_id = self.declare(
            "frame_id", "camera_optical_frame", "frame_id of the images (optical frame)"
        )
        self.image_topic = self.declare(
            "image_topic", "/camera/image_raw", "output sensor_msgs/Image topic"
        )
        self.camera_info_topic = self.declare(
            "camera_info_topic", "/camera/camera_info", "output CameraInfo topic"
        )
        self.encoding = self.declare("encoding", "rgb8", "rgb8 or bgr8")
        self.width = self.declare(
            "width", 640, "frame width for synthetic sources and resizing, pixels"
        )
        self.height = self.declare("height", 480, "frame height, pixels")
        self.horizontal_fov = self.declare(
            "horizontal_fov", 60.0, "degrees; intrinsics when no calibration is given"
        )
        self.camera_info_url = self.declare(
            "camera_info_url", "", "ROS calibration YAML with the real intrinsics"
        )
        self.loop = self.declare("loop", False, "restart videos and folders at their end")
        self.max_frames = self.declare("max_frames", 0, "stop after this many frames (0: never)")
        self.seed = self.declare("seed", 0, "seed of synthetic scenes")
        self.reliability = self.declare(
            "reliability", "reliable", "image QoS reliability: reliable|best_effort"
        )
        self.published = 0
        self._source = None
        self._timer = None

    def configure(self) -> None:
        if self.encoding not in _ENCODINGS:
            raise ValueError(f"encoding must be one of {sorted(_ENCODINGS)}, got '{self.encoding}'")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        camera = load_calibration(self.camera_info_url) if self.camera_info_url else None
        self._source = open_source(
            self.source_uri,
            self.width,
            self.height,
            self.horizontal_fov,
            camera,
            self.loop,
            self.seed,
        )
        if hasattr(self._source, "prepare"):
            self._source.prepare()
        self._image_pub = self.create_lifecycle_publisher(
            Image, self.image_topic, image_qos(self.reliability)
        )
        self._info_pub = self.create_lifecycle_publisher(
            CameraInfo, self.camera_info_topic, results_qos()
        )
        self.get_logger().info(
            f"publishing {self.source_uri} on {self.image_topic} at {self.fps} Hz"
        )

    def activate(self) -> None:
        self._timer = self.create_timer(1.0 / self.fps, lambda: self.guarded(self._publish_next))

    def deactivate(self) -> None:
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None

    def cleanup(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def _finish(self, why: str) -> None:
        self.finished = True
        self.deactivate()
        self.get_logger().info(f"camera source finished after {self.published} frames: {why}")

    def _publish_next(self) -> None:
        if self.max_frames and self.published >= self.max_frames:
            return self._finish("max_frames reached")
        frame = self._source.read()
        if frame is None:
            return self._finish("source exhausted")
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.frame_id)
        if self.encoding == "bgr8":
            frame = frame[:, :, ::-1]
        self._image_pub.publish(numpy_to_image(frame, self.encoding, header))
        self._info_pub.publish(camera_info_msg(self._source.camera, header))
        self.published += 1
        self.stats.record()


def main(argv=None) -> int:
    return run_single_node(CameraSourceNode, argv)

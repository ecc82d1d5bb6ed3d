"""camera_source: publishes Image + CameraInfo from a video, an image folder, a webcam or the
synthetic engine, for robots without a camera driver at hand and for every demo and test."""

from __future__ import annotations

from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from handperception.msgconv.camera_info import camera_info_msg
from handperception.msgconv.images import numpy_to_image
from handperception.ros.entry import run_single_node
from handperception.ros.node_base import Allowed, HandperceptionNode, one_of
from handperception.ros.qos import RELIABILITIES, image_qos, results_qos
from handperception.sources import open_source
from handperception.sources.calibration import load_calibration

_FRAME_SIDE = Allowed(16, 8192)  # pixels


class CameraSourceNode(HandperceptionNode):
    def __init__(self, **kwargs):
        super().__init__("camera_source", **kwargs)
        self.declare(
            "source",
            "synthetic",
            "synthetic[:scene] | video:<file> | folder:<dir> | webcam:<index>",
        )
        self.declare("fps", 30.0, "publishing rate, Hz", Allowed(0.0, 240.0, open_low=True))
        self.declare("frame_id", "camera_optical_frame", "frame_id of the images (optical frame)")
        self.declare("image_topic", "image_raw", "output sensor_msgs/Image topic")
        self.declare("camera_info_topic", "camera_info", "output CameraInfo topic")
        self.declare("encoding", "rgb8", "pixel encoding of the images", one_of("rgb8", "bgr8"))
        self.declare(
            "width", 640, "frame width for synthetic sources and resizing, pixels", _FRAME_SIDE
        )
        self.declare("height", 480, "frame height, pixels", _FRAME_SIDE)
        self.declare(
            "horizontal_fov",
            60.0,
            "degrees; intrinsics when no calibration is given",
            Allowed(0.0, 180.0, open_low=True, open_high=True),
        )
        self.declare("camera_info_url", "", "ROS calibration YAML with the real intrinsics")
        self.declare("loop", False, "restart videos and folders at their end")
        self.declare(
            "max_frames", 0, "stop after this many frames (0: never)", Allowed(0, 1_000_000_000)
        )
        self.declare("seed", 0, "seed of synthetic scenes", Allowed(0, 2**31 - 1))
        self.declare("reliability", "reliable", "image QoS reliability", one_of(*RELIABILITIES))
        self.published = 0
        self._source = None
        self._timer = None

    def configure(self) -> None:
        p = self.params
        camera = load_calibration(p.camera_info_url) if p.camera_info_url else None
        self._source = open_source(
            p.source, p.width, p.height, p.horizontal_fov, camera, p.loop, p.seed
        )
        if hasattr(self._source, "prepare"):
            self._source.prepare()
        self._image_pub = self.create_lifecycle_publisher(
            Image, p.image_topic, image_qos(p.reliability)
        )
        self._info_pub = self.create_lifecycle_publisher(
            CameraInfo, p.camera_info_topic, results_qos()
        )
        self.get_logger().info(
            f"publishing {p.source} on {self._image_pub.topic_name} at {p.fps} Hz"
        )

    def image_subscribers(self) -> int:
        """Subscriptions matched to the images (the runner starts the camera once they settle)."""
        return self._image_pub.get_subscription_count()

    def activate(self) -> None:
        self._timer = self.create_timer(
            1.0 / self.params.fps, lambda: self.guarded(self._publish_next)
        )

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
        if self.params.max_frames and self.published >= self.params.max_frames:
            return self._finish("max_frames reached")
        frame = self._source.read()
        if frame is None:
            return self._finish("source exhausted")
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.params.frame_id)
        if self.params.encoding == "bgr8":
            frame = frame[:, :, ::-1]
        self._image_pub.publish(numpy_to_image(frame, self.params.encoding, header))
        self._info_pub.publish(camera_info_msg(self._source.camera, header))
        self.published += 1
        self.stats.record()


def main(argv=None) -> int:
    return run_single_node(CameraSourceNode, argv)

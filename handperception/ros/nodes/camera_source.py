"""camera_source: publishes Image + CameraInfo from a video, an image folder, a webcam, a bag or
the synthetic engine, for robots without a camera driver at hand and for every demo and test.
A bag replays with its recorded stamps, frame_id, calibration and timing (``rate``), as
``ros2 bag play`` would, so results match the recording's other topics and tf."""

from __future__ import annotations

import time

import numpy as np
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from handperception.geometry.camera import CameraModel, PinholeCamera
from handperception.msgconv.camera_info import camera_info_msg
from handperception.msgconv.images import numpy_to_image
from handperception.ros.entry import run_single_node
from handperception.ros.node_base import Allowed, HandperceptionNode, ParametersRefused, one_of
from handperception.ros.qos import RELIABILITIES, image_qos, results_qos
from handperception.sources import open_source
from handperception.sources.bag import BagSource
from handperception.sources.calibration import load_calibration

_FRAME_SIDE = Allowed(16, 8192)  # pixels


class CameraSourceNode(HandperceptionNode):
    def __init__(self, **kwargs):
        super().__init__("camera_source", **kwargs)
        self.declare(
            "source",
            "synthetic",
            "synthetic[:scene] | video:<file> | folder:<dir> | webcam:<index> | bag:<path>",
        )
        self.declare(
            "fps",
            30.0,
            "publishing rate, Hz (a bag keeps its recorded timing)",
            Allowed(0.0, 240.0, open_low=True),
        )
        self.declare(
            "bag_image_topic",
            "",
            "image topic a bag replays (empty: its only Image or CompressedImage topic)",
        )
        self.declare(
            "rate", 1.0, "bag replay speed (1.0: as recorded)", Allowed(0.0, 100.0, open_low=True)
        )
        self.declare(
            "frame_id",
            "camera_optical_frame",
            "frame_id of the images (optical frame); a bag's recorded one where it has one",
        )
        self.declare("image_topic", "image_raw", "output sensor_msgs/Image topic")
        self.declare("camera_info_topic", "camera_info", "output CameraInfo topic")
        self.declare(
            "depth_topic", "depth", "output depth Image topic (sources with depth: tabletop)"
        )
        self.declare(
            "depth_encoding",
            "32FC1",
            "depth pixels: 32FC1 metres or 16UC1 millimetres (0: no return)",
            one_of("32FC1", "16UC1"),
        )
        self.declare("encoding", "rgb8", "pixel encoding of the images", one_of("rgb8", "bgr8"))
        self.declare(
            "width", 640, "frame width for synthetic sources and resizing, pixels", _FRAME_SIDE
        )
        self.declare("height", 480, "frame height, pixels", _FRAME_SIDE)
        self.declare(
            "horizontal_fov",
            60.0,
            "degrees; intrinsics when no calibration is given (0.6 to 168: what image nodes "
            "accept, a focal length of 0.05 to 100 image widths)",
            Allowed(0.6, 168.0),
        )
        self.declare("camera_info_url", "", "ROS calibration YAML with the real intrinsics")
        self.declare("loop", False, "restart videos, folders and bags at their end")
        self.declare(
            "max_frames", 0, "stop after this many frames (0: never)", Allowed(0, 1_000_000_000)
        )
        self.declare("seed", 0, "seed of synthetic scenes", Allowed(0, 2**31 - 1))
        self.declare("reliability", "reliable", "image QoS reliability", one_of(*RELIABILITIES))
        self.published = 0
        self._source = None
        self._timer = None
        self._pending = None  # a bag's next frame, published when due
        self._started: float | None = None  # monotonic time of a bag's due_s 0

    def configure(self) -> None:
        p = self.params
        try:
            camera = load_calibration(p.camera_info_url) if p.camera_info_url else None
            self._source = open_source(
                p.source,
                p.width,
                p.height,
                p.horizontal_fov,
                camera,
                p.loop,
                p.seed,
                image_topic=p.bag_image_topic,
                rate=p.rate,
            )
        except (ValueError, OSError) as error:  # the source or calibration cannot be read
            raise ParametersRefused(f"source {p.source!r} cannot be opened: {error}") from error
        if hasattr(self._source, "prepare"):
            self._source.prepare()
        self._image_pub = self.create_lifecycle_publisher(
            Image, p.image_topic, image_qos(p.reliability)
        )
        self._info_pub = self.create_lifecycle_publisher(
            CameraInfo, p.camera_info_topic, results_qos()
        )
        self._depth_pub = (
            self.create_lifecycle_publisher(Image, p.depth_topic, image_qos(p.reliability))
            if hasattr(self._source, "read_rgbd")
            else None
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
        self._started = None  # activating again resumes the bag from its pending frame

    def cleanup(self) -> None:
        self._pending = None
        if self._source is not None:
            self._source.close()
            self._source = None

    def _finish(self, why: str) -> None:
        self.finished = True
        self.deactivate()
        self.get_logger().info(f"camera source finished after {self.published} frames: {why}")

    def _publish_next(self) -> None:
        source = self._source
        if source is None:  # a tick that raced deactivate/cleanup: the source is closed
            return None
        if self.params.max_frames and self.published >= self.params.max_frames:
            return self._finish("max_frames reached")
        if isinstance(source, BagSource):
            return self._publish_recorded()
        frame, depth = source.read_rgbd() if self._depth_pub else (source.read(), None)
        if frame is None:
            return self._finish("source exhausted")
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.params.frame_id)
        if depth is not None:  # before the image: a depth node pairs it by the same stamp
            self._publish_depth(depth, header)
        self._publish(frame, header, source.camera)

    def _publish_recorded(self) -> None:
        """Publish a bag's pending frame with its recorded stamp, frame_id and calibration, then
        re-arm the timer for when the next one is due (the recording's timing, not ``fps``)."""
        frame, self._pending = self._pending, self._source.read_recorded()
        if frame is not None:
            header = Header(
                stamp=Time(nanoseconds=frame.stamp_ns).to_msg(),
                frame_id=frame.frame_id or self.params.frame_id,
            )
            self._publish(frame.rgb, header, frame.camera)
        if self._pending is None:
            return self._finish("source exhausted")
        if self._started is None:  # an activation's first frame sets the clock
            self._started = time.monotonic() - (self._pending if frame is None else frame).due_s
        wait = self._pending.due_s - (time.monotonic() - self._started)
        self._timer.timer_period_ns = max(int(wait * 1e9), 1)
        self._timer.reset()

    def _publish_depth(self, depth: np.ndarray, header: Header) -> None:
        """A depth frame (float32 metres) in ``depth_encoding``: 16UC1 is millimetres, rounded
        and clipped to 65.535 m."""
        if self.params.depth_encoding == "16UC1":
            depth = np.clip(np.round(depth * 1000.0), 0, 65535).astype(np.uint16)
        self._depth_pub.publish(numpy_to_image(depth, self.params.depth_encoding, header))

    def _publish(
        self, rgb: np.ndarray, header: Header, camera: PinholeCamera | CameraModel
    ) -> None:
        if self.params.encoding == "bgr8":
            rgb = rgb[:, :, ::-1]
        self._image_pub.publish(numpy_to_image(rgb, self.params.encoding, header))
        self._info_pub.publish(camera_info_msg(camera, header))
        self.published += 1
        self.stats.record()


def main(argv=None) -> int:
    return run_single_node(CameraSourceNode, argv)

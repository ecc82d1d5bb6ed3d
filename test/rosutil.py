"""In-process ROS 2 harness for tests: a private context, an executor thread, bounded waits."""

from __future__ import annotations

import threading
import time

import rclpy
from rclpy.executors import MultiThreadedExecutor


class RosHarness:
    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = MultiThreadedExecutor(num_threads=4, context=self.context)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._nodes = []
        self._started = False

    def add(self, node):
        self._nodes.append(node)
        self.executor.add_node(node)
        if not self._started:
            self._thread.start()
            self._started = True
        return node

    def close(self):
        self.executor.shutdown(timeout_sec=5.0)
        if self._started:
            # As in ros.executors: shutdown() can return while the spin thread is still inside its
            # last callback; destroying nodes under it leaves an unretrieved InvalidHandle.
            self._thread.join(timeout=5.0)
        for node in self._nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def wait_for(predicate, timeout: float = 10.0, period: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(period)
    return bool(predicate())


class CameraProbe:
    """A test camera on /camera/image_raw + /camera/camera_info: what every image-node test
    feeds."""

    def __init__(self, node, camera):
        from sensor_msgs.msg import CameraInfo, Image

        from handperception.ros.qos import image_qos, results_qos

        self.camera = camera
        self.images = node.create_publisher(Image, "/camera/image_raw", image_qos("reliable"))
        self.infos = node.create_publisher(CameraInfo, "/camera/camera_info", results_qos())

    def matched(self, subscribers: int = 1) -> bool:
        return (
            self.images.get_subscription_count() == subscribers
            and self.infos.get_subscription_count() == subscribers
        )

    def publish(
        self,
        rgb,
        sec: int,
        frame_id: str = "camera_optical_frame",
        camera=None,
        encoding: str = "rgb8",
        info: bool = True,
    ) -> None:
        """One frame stamped ``sec`` s; ``encoding`` overrides the label only (to send a bad
        one)."""
        from std_msgs.msg import Header

        from handperception.msgconv.camera_info import camera_info_msg
        from handperception.msgconv.images import numpy_to_image

        header = Header(frame_id=frame_id)
        header.stamp.sec = sec
        if info:
            self.infos.publish(camera_info_msg(camera or self.camera, header))
        message = numpy_to_image(rgb, "rgb8", header)
        message.encoding = encoding
        self.images.publish(message)

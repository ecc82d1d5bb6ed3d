"""camera_source replays a bag: recorded stamps, frame_id and calibration, at the recorded timing
scaled by ``rate``, through a loop."""

import time

import numpy as np
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosbags.typesys import Stores, get_typestore
from rosutil import RosHarness, wait_for
from sensor_msgs.msg import CameraInfo, Image

from handperception.ros.bag import BagWriter
from handperception.ros.nodes.camera_source import CameraSourceNode
from handperception.ros.qos import image_qos, results_qos

TYPES = get_typestore(Stores.ROS2_KILTED)
T = TYPES.types
START_NS = 1_600_000_000 * 10**9
K = np.array([80.0, 0, 16, 0, 80, 12, 0, 0, 1])


def header(stamp_ns: int):
    time_ = T["builtin_interfaces/msg/Time"](stamp_ns // 10**9, stamp_ns % 10**9)
    return T["std_msgs/msg/Header"](time_, "bag_camera")


def record(path, frames: int = 10, period_ns: int = 100_000_000):
    roi = T["sensor_msgs/msg/RegionOfInterest"](0, 0, 0, 0, False)
    p = np.hstack([K.reshape(3, 3), np.zeros((3, 1))]).ravel()
    writer = BagWriter(path)
    writer.add_topic("/cam/image_raw", "sensor_msgs/msg/Image")
    writer.add_topic("/cam/camera_info", "sensor_msgs/msg/CameraInfo")
    for i in range(frames):
        stamp = START_NS + i * period_ns
        rgb = np.full((24, 32, 3), i, np.uint8)
        image = T["sensor_msgs/msg/Image"](header(stamp), 24, 32, "rgb8", 0, 96, rgb.ravel())
        d = np.array([0.1, 0, 0, 0, 0.0])
        info = T["sensor_msgs/msg/CameraInfo"](
            header(stamp), 24, 32, "plumb_bob", d, K, np.eye(3).ravel(), p, 0, 0, roi
        )
        image_cdr = TYPES.serialize_cdr(image, "sensor_msgs/msg/Image")
        info_cdr = TYPES.serialize_cdr(info, "sensor_msgs/msg/CameraInfo")
        writer.write("/cam/image_raw", bytes(image_cdr), stamp)
        writer.write("/cam/camera_info", bytes(info_cdr), stamp + 1000)
    writer.close()


def test_camera_source_replays_a_bag_at_its_recorded_timing(tmp_path):
    record(tmp_path / "bag")
    ros = RosHarness()
    try:
        probe = ros.add(Node("probe", context=ros.context))
        images, infos = [], []
        probe.create_subscription(
            Image,
            "/camera/image_raw",
            lambda m: images.append((time.monotonic(), m)),
            image_qos("reliable"),
        )
        probe.create_subscription(CameraInfo, "/camera/camera_info", infos.append, results_qos())
        node = CameraSourceNode(  # its relative image_raw and camera_info, under /camera
            context=ros.context,
            namespace="camera",
            parameter_overrides=[
                Parameter("source", value=f"bag:{tmp_path / 'bag'}"),
                Parameter("rate", value=2.0),
                Parameter("loop", value=True),
                Parameter("max_frames", value=15),
                Parameter("autostart", value=False),
            ],
        )
        ros.add(node)
        node.trigger_configure()  # and start once the probe is matched: no frame goes unseen
        assert wait_for(lambda: node.image_subscribers() == 1)
        node.trigger_activate()
        assert wait_for(lambda: node.finished, timeout=15)
        assert wait_for(lambda: len(images) == 15 and len(infos) == 15, timeout=5)
        stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for _, m in images]
        assert stamps == [START_NS + (i % 10) * 100_000_000 for i in range(15)]
        assert {m.header.frame_id for _, m in images} == {"bag_camera"}
        assert [m.data[0] for _, m in images] == [i % 10 for i in range(15)]
        # 10 Hz recorded, played twice as fast, across the loop too (timing robust to a busy CI)
        arrivals = np.array([t for t, _ in images])
        assert abs((arrivals[-1] - arrivals[0]) / 14 - 0.05) < 0.01
        assert abs(np.median(np.diff(arrivals)) - 0.05) < 0.01  # paced, not bursts
        assert list(infos[0].k) == list(K) and infos[0].d[0] == 0.1
    finally:
        ros.close()

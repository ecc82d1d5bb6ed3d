"""The behaviour every node inherits: lifecycle, header propagation, guarded callbacks, diagnostics."""
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from handperception_msgs.msg import HandArray
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from handperception.geometry.camera import PinholeCamera
from handperception.msgconv.camera_info import camera_info_msg
from handperception.msgconv.images import image_to_rgb8, numpy_to_image
from handperception.ros.node_base import ImageNode
from handperception.ros.qos import image_qos, results_qos
from rosutil import RosHarness, wait_for

CAMERA = PinholeCamera.from_fov(32, 24, 60.0)


class MeanBrightnessNode(ImageNode):
    """Publishes an empty HandArray per frame; raises on frames named 'boom'."""

    def __init__(self, **kwargs):
        super().__init__("mean_brightness", **kwargs)

    def configure(self):
        self.publisher = self.create_lifecycle_publisher(HandArray, "/out", results_qos())

    def on_frame(self, image, camera_info):
        rgb = image_to_rgb8(image)
        if image.header.frame_id == "boom":
            raise RuntimeError("model exploded")
        assert camera_info.header.stamp == image.header.stamp
        self.last_mean = float(rgb.mean())
        self.publisher.publish(HandArray(header=image.header))


def _header(sec, frame="cam"):
    header = Header(frame_id=frame)
    header.stamp.sec = sec
    return header


@pytest.fixture
def graph():
    ros = RosHarness()
    node = ros.add(MeanBrightnessNode(context=ros.context))
    probe = ros.add(Node("probe", context=ros.context))
    outputs, diagnostics = [], []
    probe.create_subscription(HandArray, "/out", outputs.append, results_qos())
    probe.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, results_qos())
    images = probe.create_publisher(Image, "/camera/image_raw", image_qos("reliable"))
    infos = probe.create_publisher(CameraInfo, "/camera/camera_info", results_qos())
    assert wait_for(lambda: images.get_subscription_count() == 1 and infos.get_subscription_count() == 1)
    yield ros, node, images, infos, outputs, diagnostics
    ros.close()


def _prime(node, infos):
    """Camera info travels on its own topic: make sure the node has one before counting frames."""
    assert wait_for(lambda: infos.publish(camera_info_msg(CAMERA, _header(0))) or node._camera_info_seen)


def _send(images, infos, sec, frame="cam", encoding="rgb8", info=True):
    pixels = np.full((24, 32, 3), sec % 200, np.uint8)
    header = _header(sec, frame)
    if info:
        infos.publish(camera_info_msg(CAMERA, header))
    message = numpy_to_image(pixels, "rgb8", header)
    message.encoding = encoding
    images.publish(message)


def test_node_autostarts_and_copies_the_source_header(graph):
    ros, node, images, infos, outputs, _ = graph
    _prime(node, infos)
    for sec in (1, 2, 3):
        _send(images, infos, sec)
        assert wait_for(lambda: len(outputs) == sec)
    assert [o.header.stamp.sec for o in outputs] == [1, 2, 3]
    assert all(o.header.frame_id == "cam" for o in outputs)
    assert node.last_mean == 3.0
    assert node.stats.snapshot().count == 3


def test_bad_input_is_dropped_counted_and_the_node_goes_on(graph):
    ros, node, images, infos, outputs, diagnostics = graph
    for sec in range(10, 16):  # no CameraInfo ever: the 6th image pushes the 1st out of the pairing queue
        _send(images, infos, sec, info=False)
        assert wait_for(lambda: len(node._sync._queues[0]) == min(sec - 9, 5) or node.stats.snapshot().dropped)
    assert wait_for(lambda: node.stats.snapshot().drops.get("no_camera_info") == 1)
    _prime(node, infos)
    _send(images, infos, 20, encoding="yuv422")
    assert wait_for(lambda: node.stats.snapshot().drops.get("bad_image") == 1)
    _send(images, infos, 30, frame="boom")
    assert wait_for(lambda: node.stats.snapshot().drops.get("exception") == 1)
    _send(images, infos, 40)
    assert wait_for(lambda: len(outputs) == 1)
    assert outputs[0].header.stamp.sec == 40
    assert node.stats.snapshot().count == 1

    def drop_reported():
        for array in diagnostics:
            values = {kv.key: kv.value for kv in array.status[0].values}
            if values.get("dropped.exception") == "1":
                return values
        return None

    assert wait_for(drop_reported, timeout=5)
    values = drop_reported()
    assert values["dropped.bad_image"] == "1" and values["count"] == "1"
    # the five images still queued without CameraInfo were discarded once newer frames paired
    assert values["dropped.unpaired_camera_info"] == "5" and values["dropped"] == "8"


def test_inactive_node_has_no_image_subscription(graph):
    ros, node, images, infos, outputs, _ = graph
    _prime(node, infos)
    node.trigger_deactivate()
    assert wait_for(lambda: images.get_subscription_count() == 0 and infos.get_subscription_count() == 0)
    _send(images, infos, 5)
    node.trigger_activate()
    assert wait_for(lambda: images.get_subscription_count() == 1 and infos.get_subscription_count() == 1)
    _send(images, infos, 6)
    assert wait_for(lambda: outputs)
    assert [o.header.stamp.sec for o in outputs] == [6]

"""The behaviour every node inherits: lifecycle, header propagation, guarded callbacks,
diagnostics."""

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rosutil import CameraProbe, RosHarness, wait_for
from std_msgs.msg import Header

from handperception.geometry.camera import PinholeCamera
from handperception.msgconv.camera_info import camera_info_msg
from handperception.ros.node_base import ImageNode
from handperception.ros.qos import results_qos
from handperception_msgs.msg import HandArray

CAMERA = PinholeCamera.from_fov(32, 24, 60.0)


class MeanBrightnessNode(ImageNode):
    """Publishes an empty HandArray per frame; raises on frames named 'boom'. The base hands it
    decoded pixels and the paired camera_info's calibration."""

    def __init__(self, **kwargs):
        super().__init__("mean_brightness", **kwargs)

    def configure(self):
        self.publisher = self.create_lifecycle_publisher(HandArray, "/out", results_qos())

    def on_frame(self, frame):
        if frame.header.frame_id == "boom":
            raise RuntimeError("model exploded")
        assert frame.camera.camera == CAMERA
        self.last_mean = float(frame.rgb.mean())
        self.publisher.publish(HandArray(header=frame.header))


def _header(sec, frame="cam"):
    header = Header(frame_id=frame)
    header.stamp.sec = sec
    return header


@pytest.fixture
def graph():
    ros = RosHarness()
    node = ros.add(
        MeanBrightnessNode(
            context=ros.context, cli_args=["--ros-args", "-r", "image:=/camera/image_raw"]
        )
    )
    probe = ros.add(Node("probe", context=ros.context))
    outputs, diagnostics = [], []
    probe.create_subscription(HandArray, "/out", outputs.append, results_qos())
    probe.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, results_qos())
    camera = CameraProbe(probe, CAMERA)
    assert wait_for(camera.matched)
    yield ros, node, camera, outputs, diagnostics
    ros.close()


def _prime(node, camera):
    """Camera info travels on its own topic: make sure the node has one before counting frames."""
    assert wait_for(
        lambda: camera.infos.publish(camera_info_msg(CAMERA, _header(0))) or node._camera_info_seen
    )


def _send(camera, sec, frame="cam", encoding="rgb8", info=True):
    camera.publish(
        np.full((24, 32, 3), sec % 200, np.uint8), sec, frame, encoding=encoding, info=info
    )


def test_node_autostarts_and_copies_the_source_header(graph):
    ros, node, camera, outputs, _ = graph
    _prime(node, camera)
    for sec in (1, 2, 3):
        _send(camera, sec)
        assert wait_for(lambda sec=sec: len(outputs) == sec)
    assert [o.header.stamp.sec for o in outputs] == [1, 2, 3]
    assert all(o.header.frame_id == "cam" for o in outputs)
    assert node.last_mean == 3.0
    assert node.stats.snapshot().count == 3


@pytest.mark.slow
def test_bad_input_is_dropped_counted_and_the_node_goes_on(graph):
    ros, node, camera, outputs, diagnostics = graph
    for sec in range(10, 16):  # no CameraInfo ever: each image is dropped when the next comes
        _send(camera, sec, info=False)
        assert wait_for(lambda sec=sec: node.stats.snapshot().received == sec - 9)
        assert node.stats.snapshot().drops.get("no_camera_info", 0) == sec - 10
    _prime(node, camera)
    _send(camera, 20, encoding="rgba8")  # 3-channel rows labelled 4-channel
    assert wait_for(lambda: node.stats.snapshot().drops.get("bad_image") == 1)
    _send(camera, 30, frame="boom")
    assert wait_for(lambda: node.stats.snapshot().drops.get("exception") == 1)
    _send(camera, 40)
    assert wait_for(lambda: len(outputs) == 1)
    assert outputs[0].header.stamp.sec == 40
    assert node.stats.snapshot().count == 1
    # every image, wherever its fate was settled: a batch run never waits for a dropped one
    assert wait_for(lambda: node.frames_handled == 9)

    def drop_reported():
        for array in diagnostics:
            values = {kv.key: kv.value for kv in array.status[0].values}
            if values.get("dropped.exception") == "1":
                return values
        return None

    assert wait_for(drop_reported, timeout=5)
    values = drop_reported()
    assert values["dropped.bad_image"] == "1" and values["count"] == "1"
    # the last image without CameraInfo waited for one until a later CameraInfo came
    assert values["dropped.no_camera_info"] == "5" and values["dropped.unpaired_camera_info"] == "1"
    assert values["dropped"] == "8" and values["received"] == "9"


def test_inactive_node_has_no_image_subscription(graph):
    ros, node, camera, outputs, _ = graph
    _prime(node, camera)
    node.trigger_deactivate()
    assert wait_for(lambda: camera.matched(0))
    _send(camera, 5)
    node.trigger_activate()
    assert wait_for(lambda: camera.matched())
    _send(camera, 6)
    assert wait_for(lambda: outputs)
    assert [o.header.stamp.sec for o in outputs] == [6]

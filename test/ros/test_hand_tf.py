"""hand_pose puts each tracked hand's wrist on /tf: one frame per hand, child of the image's frame,
at the image's stamp; nothing for a frame without hands."""

import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosutil import CameraProbe, RosHarness, wait_for
from tf2_msgs.msg import TFMessage

from handperception.geometry.camera import PinholeCamera
from handperception.ros.nodes.hand_pose import HandPoseNode
from handperception.ros.qos import results_qos
from handperception.ros.tf import TF_QOS, TF_TOPIC
from handperception.sources.synthetic_hands import SyntheticHandsSource
from handperception_msgs.msg import HandArray

CAMERA = PinholeCamera.from_fov(640, 480, 60.0)


@pytest.fixture
def graph():
    """hand_pose (the shipped checkpoints, prefix left_cam/) on CameraProbe's camera, with a /tf
    listener."""
    ros = RosHarness()
    node = ros.add(
        HandPoseNode(
            context=ros.context,
            parameter_overrides=[Parameter("tf_prefix", value="left_cam/")],
            cli_args=["--ros-args", "-r", "image:=/camera/image_raw"],
        )
    )
    probe = ros.add(Node("probe", context=ros.context))
    hands, transforms = [], []
    probe.create_subscription(HandArray, "/hands", hands.append, results_qos())
    tf = probe.create_subscription(
        TFMessage, TF_TOPIC, lambda m: transforms.extend(m.transforms), TF_QOS
    )
    camera = CameraProbe(probe, CAMERA)
    # matched, or the node rightly builds no transform for the first frames
    assert wait_for(lambda: node.is_active and camera.matched() and tf.get_publisher_count())
    yield ros, node, camera, hands, transforms
    ros.close()


def _received(arrays: list, sec: int):
    return next((a for a in arrays if a.header.stamp.sec == sec), None)


def test_each_tracked_hand_is_a_wrist_frame_of_the_image_at_its_stamp(graph):
    _, _, camera, hands, transforms = graph
    source = SyntheticHandsSource(CAMERA, seed=1, hands=2)
    for sec in (1, 2, 3):
        camera.publish(source.frame(sec).rgb, sec, frame_id="head_camera_optical")
        assert wait_for(lambda sec=sec: _received(hands, sec), 20)
    stamps = [sec for sec in (1, 2, 3) if _received(hands, sec).hands]
    assert stamps, "no hand found in the rendered frames"
    assert wait_for(lambda: {t.header.stamp.sec for t in transforms} >= set(stamps), 5)
    for sec in stamps:
        published = {t.child_frame_id: t for t in transforms if t.header.stamp.sec == sec}
        array = _received(hands, sec)
        assert set(published) == {f"left_cam/hand_{hand.id}_wrist" for hand in array.hands}
        for hand in array.hands:
            transform = published[f"left_cam/hand_{hand.id}_wrist"]
            assert transform.header.frame_id == "head_camera_optical"
            assert transform.header.stamp == array.header.stamp
            t, p = transform.transform.translation, hand.wrist_pose.position
            np.testing.assert_allclose([t.x, t.y, t.z], [p.x, p.y, p.z], atol=1e-9)


def test_a_frame_without_hands_sends_no_transform(graph):
    _, _, camera, hands, transforms = graph
    camera.publish(np.zeros((480, 640, 3), np.uint8), 9)
    assert wait_for(lambda: _received(hands, 9), 20)
    assert not _received(hands, 9).hands
    camera.publish(SyntheticHandsSource(CAMERA, seed=1).frame(1).rgb, 10)  # a later frame...
    assert wait_for(lambda: _received(hands, 10), 20)
    wait_for(lambda: transforms, 2)  # ...whose transforms would arrive after frame 9's
    assert not [t for t in transforms if t.header.stamp.sec == 9]


def test_the_tf_publisher_follows_configure_and_cleanup(graph):
    """Created in configure only with publish_tf, destroyed at cleanup: reconfiguring never
    leaves a second /tf publisher behind."""
    _, node, *_ = graph
    assert node.count_publishers(TF_TOPIC) == 1
    node.trigger_deactivate()
    node.trigger_cleanup()
    assert wait_for(lambda: node.count_publishers(TF_TOPIC) == 0, 5)
    node.set_parameters([Parameter("publish_tf", value=False)])
    node.trigger_configure()
    assert node._configured_publishers and node.count_publishers(TF_TOPIC) == 0
    node.trigger_cleanup()
    node.set_parameters([Parameter("publish_tf", value=True)])
    node.trigger_configure()
    assert wait_for(lambda: node.count_publishers(TF_TOPIC) == 1, 5)

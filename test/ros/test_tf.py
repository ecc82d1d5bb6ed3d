"""Hands as tf frames: the pure conversion (msgconv.transforms) and /tf publishing (ros.tf).

The quaternion order is the trap (ROS and scipy: x, y, z, w; transforms3d: w, x, y, z), so a
hand-computed quarter turn and scipy, independent of the code under test, pin it.
"""

import math
from pathlib import Path

import numpy as np
import pytest
from catkin_pkg.package import parse_package
from rclpy.node import Node
from rosutil import RosHarness, wait_for
from scipy.spatial.transform import Rotation
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from handperception.msgconv.results import hands_to_msg
from handperception.msgconv.transforms import hand_frame_id, hand_transforms, pose_transform
from handperception.results import HandEstimate
from handperception.ros.tf import TF_QOS, TF_TOPIC, TransformPublisher
from handperception.skeleton.frames import wrist_frame

ROOT = Path(__file__).resolve().parents[2]
# x -> y, y -> -x: columns are the rotated axes.
QUARTER_TURN_Z = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
# ros2 topic info -v /tf on a Jazzy/Kilted robot, and tf2_msgs' own golden-hash test: the same
# hash means the stand-in built from tools/tf2_msgs is the same type on the wire as real tf2's.
UPSTREAM_TFMESSAGE_HASH = "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087"


def header(frame_id: str = "camera_optical_frame", sec: int = 12, nanosec: int = 345) -> Header:
    result = Header(frame_id=frame_id)
    result.stamp.sec, result.stamp.nanosec = sec, nanosec
    return result


def quaternion(transform) -> tuple[float, float, float, float]:
    q = transform.transform.rotation
    return q.x, q.y, q.z, q.w


def hand(seed: int, track_id: int, joints: np.ndarray | None = None) -> HandEstimate:
    rng = np.random.default_rng(seed)
    return HandEstimate(
        joints_3d=rng.normal(0, 0.04, (21, 3)) + [0.0, 0.0, 0.6] if joints is None else joints,
        joints_2d=rng.uniform(0, 640, (21, 2)),
        joint_confidence=np.ones(21),
        track_id=track_id,
    )


def test_a_quarter_turn_about_z_is_the_hand_computed_quaternion_in_ros_order():
    transform = pose_transform(header(), "hand_0_wrist", [0.1, -0.2, 0.5], QUARTER_TURN_Z)
    # (axis * sin(angle / 2), cos(angle / 2)) with axis z, angle 90 degrees
    assert quaternion(transform) == pytest.approx((0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)))
    t = transform.transform.translation
    assert (t.x, t.y, t.z) == (0.1, -0.2, 0.5)
    assert transform.child_frame_id == "hand_0_wrist"
    assert transform.header.frame_id == "camera_optical_frame"
    assert (transform.header.stamp.sec, transform.header.stamp.nanosec) == (12, 345)


@pytest.mark.parametrize("seed", range(5))
def test_any_rotation_comes_back_through_scipy_in_xyzw_order(seed):
    rotation = Rotation.random(random_state=seed).as_matrix()
    q = quaternion(pose_transform(header(), "child", np.zeros(3), rotation))
    assert q[3] >= 0.0
    np.testing.assert_allclose(Rotation.from_quat(q).as_matrix(), rotation, atol=1e-12)


def test_frame_names():
    assert hand_frame_id("", 3) == "hand_3_wrist"
    assert hand_frame_id("left_cam/", 0) == "left_cam/hand_0_wrist"
    with pytest.raises(ValueError, match="non-negative"):
        hand_frame_id("", -1)


@pytest.mark.parametrize(
    ("position", "rotation", "message"),
    [
        ([np.nan, 0.0, 0.5], np.eye(3), "NaN"),
        ([0.0, 0.0, 0.5], np.where(np.eye(3) > 0, np.nan, 0.0), "NaN"),
        ([0.0, 0.0, np.inf], np.eye(3), "NaN or infinite"),
        ([0.0, 0.0, 0.5], 2.0 * np.eye(3), "orthonormal"),
        ([0.0, 0.0, 0.5], np.array([[1.0, 0.1, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), "ortho"),
        ([0.0, 0.0, 0.5], np.diag([1.0, 1.0, -1.0]), "reflection"),
        ([0.0, 0.5], np.eye(3), "shape"),
    ],
)
def test_what_tf2_would_reject_is_refused(position, rotation, message):
    with pytest.raises(ValueError, match=message):
        pose_transform(header(), "hand_0_wrist", position, rotation)


@pytest.mark.parametrize(
    ("parent", "child"),
    [("", "hand_0_wrist"), ("camera_optical_frame", ""), ("/camera", "hand_0_wrist"),
     ("camera_optical_frame", "/hand_0_wrist"), ("hand_0_wrist", "hand_0_wrist")],
)  # fmt: skip
def test_frames_tf2_would_drop_are_refused(parent, child):
    with pytest.raises(ValueError):
        pose_transform(header(parent), child, np.zeros(3), np.eye(3))


def test_hand_transforms_are_the_wrist_frame_and_match_the_hand_message():
    hands = [hand(0, 3), hand(1, 8)]
    transforms = hand_transforms(hands, header(), prefix="left_cam/")
    assert [t.child_frame_id for t in transforms] == [
        "left_cam/hand_3_wrist",
        "left_cam/hand_8_wrist",
    ]
    poses = [h.wrist_pose for h in hands_to_msg(hands, header()).hands]
    for estimate, transform, pose in zip(hands, transforms, poses):
        rotation, origin = wrist_frame(estimate.joints_3d)
        np.testing.assert_allclose(
            Rotation.from_quat(quaternion(transform)).as_matrix(), rotation, atol=1e-12
        )
        t = transform.transform.translation
        np.testing.assert_allclose([t.x, t.y, t.z], origin)
        o = pose.orientation
        assert quaternion(transform) == pytest.approx((o.x, o.y, o.z, o.w))


def test_a_hand_without_a_palm_orientation_gets_no_frame():
    flat = np.zeros((21, 3)) + [0.0, 0.0, 0.6]  # every joint at one point: no wrist axes
    transforms = hand_transforms([hand(0, 1, joints=flat), hand(1, 2)], header())
    assert [t.child_frame_id for t in transforms] == ["hand_2_wrist"]


def test_transform_publisher_sends_one_tfmessage_on_tf():
    harness = RosHarness()
    try:
        talker = harness.add(Node("tf_talker", context=harness.context))
        listener = harness.add(Node("tf_listener", context=harness.context))
        received = []
        listener.create_subscription(TFMessage, TF_TOPIC, received.append, TF_QOS)
        publisher = TransformPublisher(talker)
        assert wait_for(lambda: publisher.subscription_count() == 1)
        # An empty list publishes nothing: delivery is reliable and in order, so had it been
        # sent, it would arrive first.
        publisher.send([])
        sent = hand_transforms([hand(0, 3), hand(1, 8)], header(sec=1700000000, nanosec=42))
        publisher.send(sent)
        assert wait_for(lambda: received)
        assert received[0] == TFMessage(transforms=sent)
        first = received[0].transforms[0]
        assert first.header.frame_id == "camera_optical_frame"
        assert (first.header.stamp.sec, first.header.stamp.nanosec) == (1700000000, 42)
        [info] = listener.get_publishers_info_by_topic(TF_TOPIC)
        if hasattr(info, "topic_type_hash"):  # Humble has no type hashes
            type_hash = info.topic_type_hash
            assert f"RIHS{type_hash.version:02d}_{type_hash.value.hex()}" == UPSTREAM_TFMESSAGE_HASH
    finally:
        harness.close()


def test_the_tf2_msgs_stand_in_is_an_interface_package_with_upstreams_definition():
    package = parse_package(ROOT / "tools" / "tf2_msgs" / "package.xml")
    package.validate()
    assert (package.name, package.get_build_type()) == ("tf2_msgs", "ament_cmake")
    assert "rosidl_interface_packages" in {group.name for group in package.member_of_groups}
    definition = (ROOT / "tools" / "tf2_msgs" / "msg" / "TFMessage.msg").read_text()
    assert definition == "geometry_msgs/TransformStamped[] transforms\n"

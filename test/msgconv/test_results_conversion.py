import numpy as np
import pytest
import transforms3d
from result_factories import make_hand
from std_msgs.msg import Header

from handperception.msgconv.results import (
    gazes_to_msg,
    grasps_to_msg,
    hands_to_msg,
    msg_to_gaze,
    msg_to_grasp,
    msg_to_hand,
)
from handperception.results import GazeEstimate, GraspEstimate, HandEstimate
from handperception.skeleton.frames import wrist_frame


def test_hand_round_trip_keeps_every_field():
    hand = make_hand()
    msg = hands_to_msg([hand], Header(frame_id="cam"))
    assert msg.header.frame_id == "cam" and len(msg.hands) == 1
    back = msg_to_hand(msg.hands[0])
    np.testing.assert_allclose(back.joints_3d, hand.joints_3d)
    np.testing.assert_allclose(back.joints_2d, hand.joints_2d)
    np.testing.assert_allclose(
        back.joint_confidence, hand.joint_confidence, atol=1e-7
    )  # float32 on the wire
    assert (back.handedness, back.track_id, back.roi, back.plausibility) == (
        "right",
        3,
        (10, 20, 100, 120),
        -1.0,
    )


def test_wrist_pose_is_the_wrist_frame_in_ros_quaternion_order():
    hand = make_hand(1)
    pose = hands_to_msg([hand], Header()).hands[0].wrist_pose
    q = pose.orientation
    rotation = transforms3d.quaternions.quat2mat([q.w, q.x, q.y, q.z])
    expected, origin = wrist_frame(hand.joints_3d)
    np.testing.assert_allclose(rotation, expected, atol=1e-9)
    np.testing.assert_allclose([pose.position.x, pose.position.y, pose.position.z], origin)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(joints_3d=np.full((21, 3), np.nan)), "NaN"),
        (dict(joints_2d=np.zeros((20, 2))), "shape"),
        (dict(handedness="both"), "handedness"),
        (dict(score=1.5), "score"),
        (dict(joint_confidence=np.full(21, 2.0)), "joint_confidence"),
    ],
)
def test_invalid_hands_never_become_messages(change, message):
    fields = make_hand().__dict__ | change
    with pytest.raises(ValueError, match=message):
        HandEstimate(**fields)


def test_gaze_round_trip_and_angles():
    gaze = GazeEstimate(
        origin=np.array([0, 0, 0.6]),
        direction=np.array([-1.0, 0, 0]),
        left_eye_center=np.array([0.03, 0, 0.6]),
        right_eye_center=np.array([-0.03, 0, 0.6]),
    )
    msg = gazes_to_msg([gaze], Header()).gazes[0]
    assert msg.pitch == pytest.approx(0.0) and msg.yaw == pytest.approx(
        np.pi / 2
    )  # looking to the camera's left
    np.testing.assert_allclose(msg_to_gaze(msg).direction, [-1, 0, 0])
    with pytest.raises(ValueError, match="unit vector"):
        GazeEstimate(
            origin=np.zeros(3),
            direction=np.zeros(3),
            left_eye_center=np.zeros(3),
            right_eye_center=np.zeros(3),
        )


def test_grasp_round_trip():
    grasp = GraspEstimate(
        joints=make_hand().joints_3d,
        handedness="left",
        score=0.7,
        penetration_depth=0.002,
        penetration_volume=1e-6,
        contact_ratio=0.6,
    )
    msg = grasps_to_msg([grasp], Header(frame_id="mug"), "mug_1")
    assert msg.object_id == "mug_1"
    back = msg_to_grasp(msg.grasps[0])
    np.testing.assert_allclose(back.joints, grasp.joints)
    assert back.handedness == "left" and back.contact_ratio == pytest.approx(0.6)
    with pytest.raises(ValueError, match="penetration_depth"):
        GraspEstimate(joints=grasp.joints, penetration_depth=-1.0)

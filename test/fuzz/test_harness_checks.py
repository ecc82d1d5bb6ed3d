"""The fuzz harness's own checks find what they look for: a property that cannot fail would
pass every node."""

from geometry_msgs.msg import Point
from node_harness import image_node_kinds, impossible_points, non_finite_fields
from visualization_msgs.msg import Marker, MarkerArray

from handperception_msgs.msg import Gaze, GazeArray, Hand, HandArray


def test_every_float_field_is_walked():
    hand = Hand()
    hand.joints[3] = Point(x=0.0, y=float("nan"), z=0.5)
    hand.joint_confidence[20] = float("inf")
    hand.wrist_pose.orientation.w = float("-inf")
    found = non_finite_fields(HandArray(hands=[Hand(), hand]))
    assert len(found) == 3 and all(path.startswith(".hands[1].") for path in found), found
    markers = MarkerArray(markers=[Marker(points=[Point(z=float("nan"))])])
    assert non_finite_fields(markers) == [".markers[0].points[0].z=nan"]


def test_points_behind_the_camera_or_out_of_reach_are_found():
    hand = Hand()
    hand.joints = [Point(z=0.5)] * 20 + [Point(z=-0.01)]
    gaze = Gaze(origin=Point(x=30.0, z=1.0), left_eye_center=Point(z=1.0))
    gaze.right_eye_center = Point(z=1.0)
    assert impossible_points(HandArray(hands=[hand])) == [".hands[0].joints[20]=(0, 0, -0.01)"]
    assert impossible_points(GazeArray(gazes=[gaze])) == [".gazes[0].origin[0]=(30, 0, 1)"]


def test_the_image_nodes_are_found_from_the_runners_list():
    assert {"hand_pose", "gaze", "two_hand_pose", "annotator"} <= set(image_node_kinds())
    assert "camera_source" not in image_node_kinds()

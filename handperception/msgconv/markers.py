"""rviz markers of hands: bones as a line list and joints as spheres, coloured per finger.

One MarkerArray per frame starts with DELETEALL, so hands that left the view vanish in rviz
instead of freezing at their last pose.
"""

from __future__ import annotations

from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from handperception.results import HandEstimate
from handperception.skeleton import BONES
from handperception.skeleton.palette import finger_rgb, unit_rgb


def _rgba(joint: int, alpha: float = 1.0) -> ColorRGBA:
    r, g, b = unit_rgb(finger_rgb(joint))
    return ColorRGBA(r=r, g=g, b=b, a=alpha)


def _point(xyz) -> Point:
    return Point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))


def hand_markers(
    hands: list[HandEstimate], header, namespace: str = "hands", lifetime_s: float = 0.5
) -> MarkerArray:
    clear = Marker(header=header, action=Marker.DELETEALL, ns=namespace)
    markers = [clear]
    for hand in hands:
        bones = Marker(
            header=header,
            ns=namespace,
            id=2 * hand.track_id,
            type=Marker.LINE_LIST,
            action=Marker.ADD,
        )
        bones.pose.orientation.w = 1.0
        bones.scale.x = 0.004  # line width, metres
        for parent, child in BONES:
            bones.points += [_point(hand.joints_3d[parent]), _point(hand.joints_3d[child])]
            bones.colors += [_rgba(child), _rgba(child)]
        joints = Marker(
            header=header,
            ns=namespace,
            id=2 * hand.track_id + 1,
            type=Marker.SPHERE_LIST,
            action=Marker.ADD,
        )
        joints.pose.orientation.w = 1.0
        joints.scale.x = joints.scale.y = joints.scale.z = 0.008
        joints.points = [_point(p) for p in hand.joints_3d]
        joints.colors = [
            _rgba(j, 0.5 + 0.5 * float(c)) for j, c in enumerate(hand.joint_confidence)
        ]
        for marker in (bones, joints):
            marker.lifetime.sec = int(lifetime_s)
            marker.lifetime.nanosec = int((lifetime_s % 1) * 1e9)
        markers += [bones, joints]
    return MarkerArray(markers=markers)

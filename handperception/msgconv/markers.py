"""rviz markers of hands (bones as a line list and joints as spheres, coloured per finger), of
gazes (an arrow from each eye along the face's gaze) and of hand surfaces (a triangle list per
hand, coloured by handedness).

One MarkerArray per frame starts with DELETEALL, so hands and faces that left the view vanish in
rviz instead of freezing at their last pose.
"""

from __future__ import annotations

from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from handperception.msgconv.results import mesh_points
from handperception.results import GazeEstimate, HandEstimate
from handperception.skeleton import BONES
from handperception.skeleton.palette import HANDEDNESS_RGB, finger_rgb, unit_rgb

GAZE_RGBA = ColorRGBA(r=1.0, g=220 / 255, b=0.0, a=1.0)  # the annotated video's gaze arrows


def _rgba(joint: int, alpha: float = 1.0) -> ColorRGBA:
    r, g, b = unit_rgb(finger_rgb(joint))
    return ColorRGBA(r=r, g=g, b=b, a=alpha)


def _point(xyz) -> Point:
    return Point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))


def _set_lifetime(marker: Marker, lifetime_s: float) -> None:
    marker.lifetime.sec = int(lifetime_s)
    marker.lifetime.nanosec = int((lifetime_s % 1) * 1e9)


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
            _set_lifetime(marker, lifetime_s)
        markers += [bones, joints]
    return MarkerArray(markers=markers)


def gaze_markers(
    gazes: list[GazeEstimate],
    header,
    namespace: str = "gaze",
    lifetime_s: float = 0.5,
    length_m: float = 0.15,
) -> MarkerArray:
    """DELETEALL, then per face two ARROW markers (ids 2 * track_id for the right eye, + 1 for
    the left), each from an eye centre ``length_m`` metres along the face's gaze direction,
    in ``header``'s frame. Arrow scale: shaft 5 mm, head 10 mm wide and 20 mm long."""
    markers = [Marker(header=header, action=Marker.DELETEALL, ns=namespace)]
    for gaze in gazes:
        for offset, eye in enumerate((gaze.right_eye_center, gaze.left_eye_center)):
            arrow = Marker(
                header=header,
                ns=namespace,
                id=2 * gaze.track_id + offset,
                type=Marker.ARROW,
                action=Marker.ADD,
            )
            arrow.pose.orientation.w = 1.0
            arrow.points = [_point(eye), _point(eye + length_m * gaze.direction)]
            arrow.scale.x, arrow.scale.y, arrow.scale.z = 0.005, 0.01, 0.02
            arrow.color = GAZE_RGBA
            _set_lifetime(arrow, lifetime_s)
            markers.append(arrow)
    return MarkerArray(markers=markers)


def hand_mesh_markers(
    meshes: list,
    header,
    namespace: str = "hand_mesh",
    lifetime_s: float = 0.5,
    vertex_points: list[list[Point]] | None = None,
    colours: list[tuple[float, float, float]] | None = None,
) -> MarkerArray:
    """DELETEALL, then per hand one TRIANGLE_LIST marker (id: the track id) of its surface in
    ``header``'s frame, opaque, in its handedness's colour (``palette.HANDEDNESS_RGB``), or in
    ``colours`` (one RGB in [0, 1] per mesh: a grasp's score, say) when given.

    ``meshes``: (HandEstimate, HandSurfaceMesh) pairs, ``pipeline.hand_mesh``'s. A marker lives
    ``lifetime_s``: a hand whose meshes stop coming (lost, or the node stopped) vanishes instead
    of freezing in rviz. ``vertex_points``: each mesh's vertices as Points when already made
    (a HandMesh message's ``mesh.vertices``), so thousands of them are not made twice.
    """
    markers = [Marker(header=header, action=Marker.DELETEALL, ns=namespace)]
    for index, (hand, surface) in enumerate(meshes):
        marker = Marker(
            header=header,
            ns=namespace,
            id=int(hand.track_id) & 0x7FFFFFFF,  # Marker.id is int32, a track id uint32
            type=Marker.TRIANGLE_LIST,
            action=Marker.ADD,
        )
        marker.pose.orientation.w = 1.0
        marker.scale.x = marker.scale.y = marker.scale.z = 1.0  # vertices are metres already
        r, g, b = colours[index] if colours else unit_rgb(HANDEDNESS_RGB[hand.handedness])
        marker.color = ColorRGBA(r=r, g=g, b=b, a=1.0)
        # each Point made once, shared by the triangles around it
        vertices = vertex_points[index] if vertex_points else mesh_points(surface.vertices)
        marker.points = [vertices[i] for i in surface.faces.reshape(-1).tolist()]
        _set_lifetime(marker, lifetime_s)
        markers.append(marker)
    return MarkerArray(markers=markers)

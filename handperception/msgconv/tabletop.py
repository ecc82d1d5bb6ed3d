"""Tabletop results -> TabletopObjectArray and rviz markers.

Results are ``pipeline.tabletop``'s TabletopResult and TabletopObject, read by their fields
(msgconv sits below the pipelines and imports none of them).

The message stands in for vision_msgs/Detection3DArray (no PyPI wheel): see
msg/TabletopObject.msg for the field mapping.
"""

from __future__ import annotations

import numpy as np
import transforms3d
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from shape_msgs.msg import Plane
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from handperception.msgconv.point_clouds import points_to_cloud
from handperception.msgconv.results import mesh_to_msg
from handperception_msgs.msg import TabletopObject as TabletopObjectMsg
from handperception_msgs.msg import TabletopObjectArray

CLASS_ID = "object"  # the node finds objects by geometry; it does not classify them
# Distinct colours, one per object id in turn (rviz markers).
OBJECT_RGB = (
    (0.90, 0.30, 0.25),
    (0.25, 0.70, 0.35),
    (0.25, 0.45, 0.90),
    (0.95, 0.75, 0.20),
    (0.65, 0.35, 0.80),
    (0.20, 0.75, 0.80),
)
TEXT_HEIGHT = 0.03  # metres, the id's letters above each object


def _pose(position: np.ndarray, rotation: np.ndarray) -> Pose:
    w, x, y, z = transforms3d.quaternions.mat2quat(rotation)  # transforms3d is w-first
    return Pose(
        position=Point(x=float(position[0]), y=float(position[1]), z=float(position[2])),
        orientation=Quaternion(x=float(x), y=float(y), z=float(z), w=float(w)),
    )


def tabletop_object_to_msg(found, header) -> TabletopObjectMsg:
    """One TabletopObject, its points stamped with ``header``."""
    size = found.box_size
    return TabletopObjectMsg(
        id=str(found.id),
        class_id=CLASS_ID,
        score=1.0,
        pose=_pose(found.position, found.rotation),
        bbox_center=_pose(found.box_center, found.rotation),
        bbox_size=Vector3(x=float(size[0]), y=float(size[1]), z=float(size[2])),
        points=points_to_cloud(found.points, header),
        mesh=mesh_to_msg(found.vertices, found.faces),
    )


def tabletop_to_msg(result, header) -> TabletopObjectArray:
    """The array of a result that has a plane (ValueError for one without: nothing to say)."""
    plane = result.plane
    if plane is None:
        raise ValueError("a TabletopObjectArray needs the support plane; this result has none")
    coef = [float(value) for value in (*plane.normal, plane.offset)]
    return TabletopObjectArray(
        header=header,
        support_plane=Plane(coef=coef),
        plane_inliers=int(plane.inliers),
        objects=[tabletop_object_to_msg(found, header) for found in result.objects],
    )


def tabletop_markers(
    message: TabletopObjectArray, namespace: str = "tabletop", lifetime_s: float = 1.0
) -> MarkerArray:
    """DELETEALL, then per object a TRIANGLE_LIST of its mesh in its id's colour (marker id
    2 k) and its id as text above it (2 k + 1), in the array's header frame. Built from the
    message, so its Points are not made twice. A marker lives ``lifetime_s``: objects that stop
    coming vanish instead of freezing in rviz."""
    header = message.header
    markers = [Marker(header=header, action=Marker.DELETEALL, ns=namespace)]
    lifetime_ns = int(lifetime_s * 1e9)
    for index, found in enumerate(message.objects):
        r, g, b = OBJECT_RGB[index % len(OBJECT_RGB)]
        colour = ColorRGBA(r=r, g=g, b=b, a=0.8)
        mesh = Marker(header=header, ns=namespace, id=2 * index, type=Marker.TRIANGLE_LIST)
        mesh.pose.orientation.w = 1.0
        mesh.scale.x = mesh.scale.y = mesh.scale.z = 1.0  # vertices are metres already
        mesh.color = colour
        vertices = found.mesh.vertices
        mesh.points = [
            vertices[i] for triangle in found.mesh.triangles for i in triangle.vertex_indices
        ]
        top = found.bbox_center.position
        half = found.bbox_size.z / 2 + TEXT_HEIGHT
        up = message.support_plane.coef[:3]  # the plane's unit normal, up from the table
        text = Marker(header=header, ns=namespace, id=2 * index + 1, type=Marker.TEXT_VIEW_FACING)
        (text.pose.position.x, text.pose.position.y, text.pose.position.z) = (
            top.x + half * up[0],
            top.y + half * up[1],
            top.z + half * up[2],
        )
        text.pose.orientation.w = 1.0
        text.scale.z = TEXT_HEIGHT
        text.color = ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
        text.text = found.id
        for marker in (mesh, text):
            marker.lifetime.sec, marker.lifetime.nanosec = divmod(lifetime_ns, 1_000_000_000)
            markers.append(marker)
    return MarkerArray(markers=markers)

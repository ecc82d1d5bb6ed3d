"""Result dataclasses (handperception.results) <-> handperception_msgs messages.

The dataclasses validate on construction, so a message built here never carries NaNs or the
wrong joint count; a message read here is validated the same way.
"""

from __future__ import annotations

import numpy as np
import transforms3d
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from sensor_msgs.msg import RegionOfInterest
from shape_msgs.msg import Mesh, MeshTriangle

from handperception.results import GazeEstimate, GraspEstimate, HandEstimate
from handperception.skeleton.frames import wrist_frame
from handperception_msgs.msg import (
    Gaze,
    GazeArray,
    GraspProposal,
    GraspProposalArray,
    Hand,
    HandArray,
    HandMesh,
    HandMeshArray,
)

_HANDEDNESS_TO_MSG = {"left": Hand.LEFT, "right": Hand.RIGHT, "unknown": Hand.UNKNOWN}
_HANDEDNESS_FROM_MSG = {value: key for key, value in _HANDEDNESS_TO_MSG.items()}


def _points(array: np.ndarray) -> list[Point]:
    array = np.asarray(array, dtype=np.float64)
    if array.shape[1] == 2:
        array = np.concatenate([array, np.zeros((len(array), 1))], axis=1)
    return [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in array]


def _array(points, dims: int = 3) -> np.ndarray:
    return np.array([[p.x, p.y, p.z][:dims] for p in points], dtype=np.float64)


def _f32(value: float) -> float:
    """The value a float32 field will hold after a trip over the wire, so sent == received."""
    return float(np.float32(value))


def _point(vector: np.ndarray) -> Point:
    return Point(x=float(vector[0]), y=float(vector[1]), z=float(vector[2]))


def _roi(box: tuple[int, int, int, int]) -> RegionOfInterest:
    x, y, width, height = (int(v) for v in box)
    return RegionOfInterest(
        x_offset=max(x, 0), y_offset=max(y, 0), width=max(width, 0), height=max(height, 0)
    )


def _wrist_pose(joints: np.ndarray) -> Pose:
    """Identity orientation when the palm is degenerate: the pose is then only a position."""
    try:
        rotation, origin = wrist_frame(joints)
    except ValueError:
        return Pose(position=_point(joints[0]), orientation=Quaternion(w=1.0))
    w, x, y, z = transforms3d.quaternions.mat2quat(rotation)
    return Pose(
        position=_point(origin),
        orientation=Quaternion(x=float(x), y=float(y), z=float(z), w=float(w)),
    )


def hand_to_msg(hand: HandEstimate) -> Hand:
    msg = Hand()
    msg.id = int(hand.track_id)
    msg.handedness = _HANDEDNESS_TO_MSG[hand.handedness]
    msg.handedness_score = _f32(hand.handedness_score)
    msg.score = _f32(hand.score)
    msg.joints = _points(hand.joints_3d)
    msg.joints_2d = _points(hand.joints_2d)
    msg.joint_confidence = hand.joint_confidence.astype(np.float32)
    msg.wrist_pose = _wrist_pose(hand.joints_3d)
    msg.plausibility = _f32(hand.plausibility)
    msg.roi = _roi(hand.roi)
    return msg


def hands_to_msg(hands: list[HandEstimate], header) -> HandArray:
    return HandArray(header=header, hands=[hand_to_msg(hand) for hand in hands])


def msg_to_hand(msg: Hand) -> HandEstimate:
    if msg.handedness not in _HANDEDNESS_FROM_MSG:
        raise ValueError(f"unknown handedness value {msg.handedness}")
    roi = msg.roi
    return HandEstimate(
        joints_3d=_array(msg.joints),
        joints_2d=_array(msg.joints_2d, dims=2),
        joint_confidence=np.asarray(msg.joint_confidence, dtype=np.float64),
        handedness=_HANDEDNESS_FROM_MSG[msg.handedness],
        handedness_score=msg.handedness_score,
        score=msg.score,
        track_id=msg.id,
        plausibility=msg.plausibility,
        roi=(roi.x_offset, roi.y_offset, roi.width, roi.height),
    )


def gaze_to_msg(gaze: GazeEstimate) -> Gaze:
    pitch, yaw = gaze.pitch_yaw
    direction = gaze.direction
    return Gaze(
        id=int(gaze.track_id),
        origin=_point(gaze.origin),
        direction=Vector3(x=float(direction[0]), y=float(direction[1]), z=float(direction[2])),
        pitch=_f32(pitch),
        yaw=_f32(yaw),
        left_eye_center=_point(gaze.left_eye_center),
        right_eye_center=_point(gaze.right_eye_center),
        confidence=_f32(gaze.confidence),
        face_roi=_roi(gaze.face_roi),
    )


def gazes_to_msg(gazes: list[GazeEstimate], header) -> GazeArray:
    return GazeArray(header=header, gazes=[gaze_to_msg(gaze) for gaze in gazes])


def msg_to_gaze(msg: Gaze) -> GazeEstimate:
    roi = msg.face_roi
    return GazeEstimate(
        origin=_array([msg.origin])[0],
        direction=np.array([msg.direction.x, msg.direction.y, msg.direction.z]),
        left_eye_center=_array([msg.left_eye_center])[0],
        right_eye_center=_array([msg.right_eye_center])[0],
        confidence=msg.confidence,
        track_id=msg.id,
        face_roi=(roi.x_offset, roi.y_offset, roi.width, roi.height),
    )


def grasp_to_msg(grasp: GraspEstimate) -> GraspProposal:
    return GraspProposal(
        handedness=_HANDEDNESS_TO_MSG[grasp.handedness],
        joints=_points(grasp.joints),
        wrist_pose=_wrist_pose(grasp.joints),
        score=_f32(grasp.score),
        penetration_depth=_f32(grasp.penetration_depth),
        penetration_volume=_f32(grasp.penetration_volume),
        contact_ratio=_f32(grasp.contact_ratio),
    )


def grasps_to_msg(grasps: list[GraspEstimate], header, object_id: str) -> GraspProposalArray:
    return GraspProposalArray(
        header=header, object_id=object_id, grasps=[grasp_to_msg(g) for g in grasps]
    )


def msg_to_grasp(msg: GraspProposal) -> GraspEstimate:
    return GraspEstimate(
        joints=_array(msg.joints),
        handedness=_HANDEDNESS_FROM_MSG[msg.handedness],
        score=msg.score,
        penetration_depth=msg.penetration_depth,
        penetration_volume=msg.penetration_volume,
        contact_ratio=msg.contact_ratio,
    )


# A hand's surface has thousands of vertices and triangles, each a Python message: these are
# made without the generated setters' per-field checks when the generated classes keep their
# fields in the slots below (rosidl_generator_py's layout), 2.5 times faster; otherwise through
# the constructor. The values are checked here instead: finite floats, in-range indices.
_FAST_POINTS = {"_x", "_y", "_z", "_check_fields"} <= set(getattr(Point, "__slots__", ()))
_FAST_TRIANGLES = {"_vertex_indices", "_check_fields"} <= set(
    getattr(MeshTriangle, "__slots__", ())
)


def _new_point(x: float, y: float, z: float) -> Point:
    point = Point.__new__(Point)
    point._x, point._y, point._z, point._check_fields = x, y, z, False
    return point


def _new_triangle(indices: np.ndarray) -> MeshTriangle:
    triangle = MeshTriangle.__new__(MeshTriangle)
    triangle._vertex_indices, triangle._check_fields = indices, False
    return triangle


def mesh_points(vertices: np.ndarray) -> list[Point]:
    """(V, 3) finite metres -> V Points (ValueError for a NaN, an infinity or another shape)."""
    vertices = np.asarray(vertices, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be (V, 3), got {vertices.shape}")
    if not np.isfinite(vertices).all():
        raise ValueError("vertices must be finite")
    make = _new_point if _FAST_POINTS else lambda x, y, z: Point(x=x, y=y, z=z)
    return [make(x, y, z) for x, y, z in vertices.tolist()]


def mesh_to_msg(vertices: np.ndarray, faces: np.ndarray) -> Mesh:
    """A triangle mesh as ``shape_msgs/Mesh``: (V, 3) finite vertices, (F, 3) vertex indices in
    0..V-1 (ValueError otherwise, so no message points at a vertex that is not there)."""
    points = mesh_points(vertices)
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must be (F, 3), got {faces.shape}")
    if faces.size and (faces.min() < 0 or faces.max() >= len(points)):
        raise ValueError(f"face indices must lie in 0..{len(points) - 1}")
    rows = faces.astype(np.uint32)
    if _FAST_TRIANGLES:
        triangles = [_new_triangle(row) for row in rows]
    else:
        triangles = [MeshTriangle(vertex_indices=row) for row in rows]
    return Mesh(vertices=points, triangles=triangles)


def msg_to_mesh(msg: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """``shape_msgs/Mesh`` -> ((V, 3) float64 vertices, (F, 3) int64 faces)."""
    vertices = _array(msg.vertices).reshape(-1, 3)
    faces = np.array([t.vertex_indices for t in msg.triangles], dtype=np.int64).reshape(-1, 3)
    return vertices, faces


def hand_mesh_to_msg(hand: HandEstimate, surface) -> HandMesh:
    """One hand's surface (``models.halo.HandSurfaceMesh``: ``vertices`` (V, 3) metres in the
    hand's frame, ``faces`` (F, 3), ``watertight``) with the hand's id and handedness."""
    return HandMesh(
        id=int(hand.track_id),
        handedness=_HANDEDNESS_TO_MSG[hand.handedness],
        mesh=mesh_to_msg(surface.vertices, surface.faces),
        watertight=bool(surface.watertight),
    )


def meshes_to_msg(meshes: list, header) -> HandMeshArray:
    """(HandEstimate, HandSurfaceMesh) pairs (``pipeline.hand_mesh``'s) -> a HandMeshArray with
    ``header``, the source HandArray's."""
    return HandMeshArray(
        header=header, meshes=[hand_mesh_to_msg(hand, surface) for hand, surface in meshes]
    )

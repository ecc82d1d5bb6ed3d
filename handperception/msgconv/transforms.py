"""Hands and gazes as tf frames: wrist poses and gaze origins -> geometry_msgs/TransformStamped
(no rclpy).

Why tf as well as Hand.wrist_pose: tf is how the rest of a robot (rviz, a grasp planner, a
manipulator's controller) asks "where is the hand in my frame?" at a stamp, without knowing
handperception's messages. Each tracked hand is one child frame of the image's frame, named from
its track id, with the orientation of Hand.wrist_pose (skeleton.frames.wrist_frame). Each face's
gaze is one child frame at its origin (between the eyes) with REP-103 body axes: x along the gaze,
y towards the person's left (their right-to-left eye axis, made perpendicular to x), z up out of
the top of their head, so a robot aims along the frame's x like any other "forward".

tf2 drops a bad transform only in the listener, with a log line far from its cause, so a
transform that tf2 would reject (non-finite, not a rotation, an empty, absolute or self-parented
frame) is refused here with a ValueError instead.
"""

from __future__ import annotations

import numpy as np
import transforms3d
from geometry_msgs.msg import Quaternion, Transform, TransformStamped, Vector3

from handperception.results import GazeEstimate, HandEstimate
from handperception.skeleton.frames import wrist_frame
from handperception.validation import float_array

# R^T R = I and det R = 1 within this: a float32 rotation round-trip passes, a scaled or sheared
# matrix (which would become a silently renormalised quaternion) does not.
ROTATION_TOLERANCE = 1e-5


def hand_frame_id(prefix: str, track_id: int) -> str:
    """The tf frame of a tracked hand's wrist, e.g. ``hand_3_wrist``; ``prefix`` (e.g.
    ``left_cam/``) keeps the hands of several cameras apart in one tf tree."""
    if track_id < 0:
        raise ValueError(f"track_id must be non-negative, got {track_id}")
    return f"{prefix}hand_{int(track_id)}_wrist"


def pose_transform(header, child_frame_id: str, position, rotation) -> TransformStamped:
    """The transform from ``header.frame_id`` to ``child_frame_id`` at ``header.stamp``:
    ``position`` (3,) metres and ``rotation`` (3, 3) whose columns are the child's axes, both in
    the parent frame. The quaternion is in ROS order (x, y, z, w), w >= 0."""
    position = float_array(position, "position", (3,))
    rotation = float_array(rotation, "rotation", (3, 3))
    if not np.allclose(rotation.T @ rotation, np.eye(3), atol=ROTATION_TOLERANCE):
        raise ValueError("rotation is not orthonormal (R^T R != I)")
    if not np.isclose(np.linalg.det(rotation), 1.0, atol=ROTATION_TOLERANCE):
        raise ValueError("rotation is a reflection (det R = -1), not a rotation")
    _check_frames(header.frame_id, child_frame_id)
    w, x, y, z = transforms3d.quaternions.mat2quat(rotation)  # transforms3d is w-first
    return TransformStamped(
        header=header,
        child_frame_id=child_frame_id,
        transform=Transform(
            translation=Vector3(x=float(position[0]), y=float(position[1]), z=float(position[2])),
            rotation=Quaternion(x=float(x), y=float(y), z=float(z), w=float(w)),
        ),
    )


def pose_to_rigid(pose) -> tuple[np.ndarray, np.ndarray]:
    """A geometry_msgs/Pose as (rotation (3, 3), translation (3,)): x' = R x + t maps the pose's
    frame into its parent's. ValueError for a non-finite pose or a zero quaternion; any other
    quaternion is normalised (a float32 round-trip leaves it a little off unit length)."""
    p, q = pose.position, pose.orientation
    translation = float_array([p.x, p.y, p.z], "pose position", (3,))
    quaternion = float_array([q.w, q.x, q.y, q.z], "pose orientation", (4,))
    norm = np.linalg.norm(quaternion)
    if norm < 1e-6:
        raise ValueError("pose orientation is a zero quaternion, not a rotation")
    return transforms3d.quaternions.quat2mat(quaternion / norm), translation


def hand_transforms(hands: list[HandEstimate], header, prefix: str = "") -> list[TransformStamped]:
    """One wrist transform per hand, child of the image's frame (``header``), named by
    hand_frame_id. A hand whose palm is degenerate has no wrist orientation and gets no
    transform: a frame with a made-up orientation would mislead every tf user."""
    transforms = []
    for hand in hands:
        try:
            rotation, origin = wrist_frame(hand.joints_3d)
        except ValueError:
            continue
        transforms.append(
            pose_transform(header, hand_frame_id(prefix, hand.track_id), origin, rotation)
        )
    return transforms


def gaze_frame_id(prefix: str, track_id: int) -> str:
    """The tf frame of a tracked face's gaze, e.g. ``gaze_3``; ``prefix`` as in hand_frame_id."""
    if track_id < 0:
        raise ValueError(f"track_id must be non-negative, got {track_id}")
    return f"{prefix}gaze_{int(track_id)}"


def gaze_rotation(gaze: GazeEstimate) -> np.ndarray | None:
    """(3, 3) whose columns are the gaze frame's axes in the camera frame (see module docstring);
    None when the eye axis is (nearly) parallel to the gaze or the eyes coincide, where the
    frame's roll is undefined."""
    forward = gaze.direction
    across = gaze.left_eye_center - gaze.right_eye_center
    left = across - (across @ forward) * forward
    norm = np.linalg.norm(left)
    if norm < 1e-3 * max(np.linalg.norm(across), 1e-9) or norm < 1e-6:
        return None
    left = left / norm
    return np.stack([forward, left, np.cross(forward, left)], axis=1)


def gaze_transforms(gazes: list[GazeEstimate], header, prefix: str = "") -> list[TransformStamped]:
    """One transform per face, child of the image's frame (``header``), named by gaze_frame_id,
    at the gaze origin with gaze_rotation's axes; a face whose frame is undefined gets none."""
    transforms = []
    for gaze in gazes:
        rotation = gaze_rotation(gaze)
        if rotation is not None:
            transforms.append(
                pose_transform(header, gaze_frame_id(prefix, gaze.track_id), gaze.origin, rotation)
            )
    return transforms


def _check_frames(parent: str, child: str) -> None:
    """tf2's rules: its buffer ignores an empty or self-parented frame (setTransform), and
    lookups refuse a frame id with a leading '/' (validateFrameId)."""
    for role, frame in (("parent (header.frame_id)", parent), ("child", child)):
        if not frame:
            raise ValueError(f"the {role} frame id is empty")
        if frame.startswith("/"):
            raise ValueError(f"tf2 frame ids have no leading '/': {role} '{frame}'")
    if parent == child:
        raise ValueError(f"a frame cannot be its own parent: '{child}'")

"""Gaze as rviz arrows and as tf frames: positions and orientations computed by hand."""

import numpy as np
import pytest
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

from handperception.msgconv.markers import gaze_markers
from handperception.msgconv.transforms import gaze_frame_id, gaze_transforms
from handperception.results import GazeEstimate


def header(frame_id: str = "camera_optical_frame") -> Header:
    message = Header(frame_id=frame_id)
    message.stamp.sec = 12
    return message


def frontal(track_id: int = 3, direction=(0.0, 0.0, -1.0)) -> GazeEstimate:
    """A face 0.5 m ahead, eyes 60 mm apart (its right eye on the image's left)."""
    return GazeEstimate(
        origin=np.array([0.0, 0.0, 0.5]),
        direction=np.array(direction),
        left_eye_center=np.array([0.03, 0.0, 0.5]),
        right_eye_center=np.array([-0.03, 0.0, 0.5]),
        track_id=track_id,
    )


def xyz(point) -> list[float]:
    return [point.x, point.y, point.z]


def test_one_arrow_per_eye_along_the_gaze_after_a_deleteall():
    markers = gaze_markers([frontal()], header(), length_m=0.15).markers
    assert [m.action for m in markers] == [Marker.DELETEALL, Marker.ADD, Marker.ADD]
    right, left = markers[1:]
    assert (right.id, left.id) == (6, 7) and right.type == left.type == Marker.ARROW
    np.testing.assert_allclose([xyz(p) for p in right.points], [[-0.03, 0, 0.5], [-0.03, 0, 0.35]])
    np.testing.assert_allclose([xyz(p) for p in left.points], [[0.03, 0, 0.5], [0.03, 0, 0.35]])
    assert right.header.frame_id == "camera_optical_frame" and right.header.stamp.sec == 12
    assert right.lifetime.sec == 0 and right.lifetime.nanosec == 500_000_000
    assert right.scale.x > 0 and right.scale.y > 0 and right.scale.z > 0
    assert gaze_markers([], header()).markers[0].action == Marker.DELETEALL


def test_the_gaze_frame_looks_along_x_with_y_to_the_persons_left():
    """Looking into the camera (-z): x = (0, 0, -1), y = +x of the camera (the person's left
    eye is on the image's right), z = x cross y = (0, -1, 0), up. Its matrix
    [[0, 1, 0], [0, 0, -1], [-1, 0, 0]] has trace 0, so w = 1/2 and
    (x, y, z) = (R21 - R12, R02 - R20, R10 - R01) / 2 = (1/2, 1/2, -1/2)."""
    (transform,) = gaze_transforms([frontal()], header(), "left_cam/")
    assert transform.child_frame_id == "left_cam/gaze_3" == gaze_frame_id("left_cam/", 3)
    assert transform.header.frame_id == "camera_optical_frame"
    assert transform.header.stamp.sec == 12
    assert xyz(transform.transform.translation) == pytest.approx([0.0, 0.0, 0.5])
    q = transform.transform.rotation
    assert [q.x, q.y, q.z, q.w] == pytest.approx([0.5, 0.5, -0.5, 0.5])


def test_a_gaze_off_the_face_plane_keeps_y_perpendicular_to_it():
    """Looking right along (1, 0, -1)/sqrt2: y, the eye axis (1, 0, 0) made perpendicular to
    x, is (1, 0, 1)/sqrt2; z = x cross y = (0, -1, 0)."""
    gaze = frontal(direction=(1.0, 0.0, -1.0))
    (transform,) = gaze_transforms([gaze], header())
    q = transform.transform.rotation
    w, x, y, z = q.w, q.x, q.y, q.z
    rotation = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    s = np.sqrt(0.5)
    np.testing.assert_allclose(rotation[:, 0], [s, 0, -s], atol=1e-12)
    np.testing.assert_allclose(rotation[:, 1], [s, 0, s], atol=1e-12)
    np.testing.assert_allclose(rotation[:, 2], [0, -1, 0], atol=1e-12)


def test_an_undefined_frame_is_skipped_and_a_bad_parent_refused():
    along_the_eyes = frontal(direction=(1.0, 0.0, 0.0))
    assert gaze_transforms([along_the_eyes, frontal(4)], header())[0].child_frame_id == "gaze_4"
    for bad in ("", "/camera"):
        with pytest.raises(ValueError, match="frame id"):
            gaze_transforms([frontal()], header(bad))
    with pytest.raises(ValueError, match="non-negative"):
        gaze_frame_id("", -1)

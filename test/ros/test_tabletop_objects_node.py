"""The tabletop_objects node: a synthetic depth image (16UC1 and 32FC1) + camera_info, or its
point cloud, in; the scene's objects out with the source header, a closed mesh each, and
markers; bad frames (all-zero depth, a colour encoding, NaN intrinsics, an all-NaN or empty
cloud) counted by reason, the node alive and publishing nothing for them."""

import itertools

import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosutil import RosHarness, wait_for
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from handperception.geometry.camera import PinholeCamera
from handperception.msgconv.camera_info import camera_info_msg
from handperception.msgconv.images import numpy_to_image
from handperception.msgconv.point_clouds import cloud_to_points, points_to_cloud
from handperception.msgconv.results import msg_to_mesh
from handperception.pipeline.tabletop import TabletopConfig, depth_to_points
from handperception.ros.nodes.tabletop_objects import TabletopObjectsNode
from handperception.ros.qos import image_qos, results_qos
from handperception.synth.tabletop import TabletopSpec, render_tabletop
from handperception_msgs.msg import TabletopObjectArray

CAMERA = PinholeCamera.from_fov(640, 480, 60.0)
_RUNS = itertools.count()


@pytest.fixture(scope="module")
def scene():
    return render_tabletop(CAMERA, 0, TabletopSpec(objects=3))


def _header(sec: int) -> Header:
    header = Header(frame_id="head_camera_depth_optical_frame")
    header.stamp.sec, header.stamp.nanosec = sec, 500
    return header


class Graph:
    def __init__(self, **parameters):
        self.ros = RosHarness()
        self.ns = f"/tabletop_{next(_RUNS)}"
        overrides = [Parameter(k, value=v) for k, v in parameters.items()]
        self.node = self.ros.add(
            TabletopObjectsNode(
                context=self.ros.context, namespace=self.ns, parameter_overrides=overrides
            )
        )
        probe = self.ros.add(Node("probe", context=self.ros.context))
        self.objects, self.markers = [], []
        probe.create_subscription(
            TabletopObjectArray, f"{self.ns}/objects", self.objects.append, results_qos()
        )
        probe.create_subscription(
            MarkerArray, f"{self.ns}/tabletop_objects/markers", self.markers.append, results_qos()
        )
        reliable = image_qos("reliable")
        self.depth = probe.create_publisher(Image, f"{self.ns}/depth", reliable)
        self.info = probe.create_publisher(CameraInfo, f"{self.ns}/camera_info", results_qos())
        self.points = probe.create_publisher(PointCloud2, f"{self.ns}/points", reliable)
        publisher = self.points if parameters.get("input") == "points" else self.depth
        assert wait_for(lambda: self.node.is_active and publisher.get_subscription_count())

    def send_depth(self, depth, encoding: str, sec: int, info: CameraInfo | None = None) -> None:
        header = _header(sec)
        self.info.publish(info or camera_info_msg(CAMERA, header))
        self.depth.publish(numpy_to_image(depth, encoding, header))

    def at(self, sec: int):
        return next((m for m in list(self.objects) if m.header.stamp.sec == sec), None)

    def drops(self) -> dict:
        return self.node.stats.snapshot().drops

    def close(self):
        self.ros.close()


def _check(message: TabletopObjectArray, scene, sec: int) -> None:
    assert message.header == _header(sec)
    assert len(message.objects) == len(scene.meshes)
    np.testing.assert_allclose(message.support_plane.coef[:3], scene.plane_normal, atol=1e-3)
    assert message.support_plane.coef[3] == pytest.approx(scene.plane_offset, abs=1e-3)
    for index, found in enumerate(message.objects):
        assert (found.id, found.class_id) == (str(index), "object")
        # the centroid lies within the object's true bounds (its visible surface's mean)
        low, high = scene.meshes[index].bounds
        position = np.array([found.pose.position.x, found.pose.position.y, found.pose.position.z])
        assert (position >= low).all() and (position <= high).all()
        assert found.bbox_size.z == pytest.approx(scene.heights[index], abs=0.005)
        vertices, faces = msg_to_mesh(found.mesh)
        assert np.isfinite(vertices).all() and len(faces) >= 4
        points = cloud_to_points(found.points)
        assert found.points.header == message.header and np.isfinite(points).all()


def test_depth_images_in_millimetres_and_metres_give_the_objects(scene):
    graph = Graph()
    try:
        graph.send_depth(scene.depth_mm(), "16UC1", 10)
        assert wait_for(lambda: graph.at(10), 30)
        _check(graph.at(10), scene, 10)
        graph.send_depth(scene.depth, "32FC1", 11)
        assert wait_for(lambda: graph.at(11), 30)
        _check(graph.at(11), scene, 11)
        assert wait_for(lambda: graph.markers)
        markers = graph.markers[-1].markers
        assert markers[0].action == Marker.DELETEALL
        kinds = [(m.type, m.id) for m in markers[1:]]
        assert kinds == [(Marker.TRIANGLE_LIST, 0), (Marker.TEXT_VIEW_FACING, 1)] + [
            (Marker.TRIANGLE_LIST, 2),
            (Marker.TEXT_VIEW_FACING, 3),
            (Marker.TRIANGLE_LIST, 4),
            (Marker.TEXT_VIEW_FACING, 5),
        ]
        assert [m.text for m in markers[2::2]] == ["0", "1", "2"]
        assert graph.drops() == {}
    finally:
        graph.close()


def test_bad_depth_frames_are_counted_drops(scene):
    graph = Graph()
    try:
        # One at a time: the inputs are depth 1, so a frame sent before the last was taken
        # would replace it.
        nan_info = camera_info_msg(CAMERA, _header(22))
        nan_info.k[2] = nan_info.p[2] = float("nan")
        frames = [
            (np.zeros((480, 640), np.uint16), "16UC1", None, "no_depth"),
            (np.zeros((480, 640, 3), np.uint8), "rgb8", None, "bad_encoding"),
            (scene.depth, "32FC1", nan_info, "camera_info_non_finite"),
        ]
        for sec, (depth, encoding, info, reason) in enumerate(frames, start=20):
            graph.send_depth(depth, encoding, sec, info)
            assert wait_for(lambda r=reason: graph.drops().get(r) == 1, 20), graph.drops()
        assert sum(graph.drops().values()) == 3
        graph.send_depth(scene.depth, "32FC1", 23)  # and the node still works
        assert wait_for(lambda: graph.at(23), 30)
        assert [m.header.stamp.sec for m in graph.objects] == [23]
    finally:
        graph.close()


def test_point_clouds_in_and_empty_or_nan_clouds_counted(scene):
    graph = Graph(input="points")
    try:
        points = depth_to_points(scene.depth, CAMERA, TabletopConfig())
        graph.points.publish(points_to_cloud(np.full((100, 3), np.nan), _header(30)))
        assert wait_for(lambda: graph.drops() == {"non_finite": 1})
        graph.points.publish(points_to_cloud(np.zeros((0, 3)), _header(31)))
        assert wait_for(lambda: graph.drops() == {"non_finite": 1, "empty_cloud": 1})
        graph.points.publish(points_to_cloud(points, _header(32)))
        assert wait_for(lambda: graph.at(32), 30)
        _check(graph.at(32), scene, 32)
        assert [m.header.stamp.sec for m in graph.objects] == [32]
    finally:
        graph.close()

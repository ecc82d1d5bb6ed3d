"""hand_pose on what real drivers send: no calibration, compressed and YUV images, lens
distortion, best-effort camera_info. The shipped checkpoints on rendered hands, so every node
finds the same hand and their results can be compared."""

import cv2
import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosutil import RosHarness, wait_for
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from handperception.geometry.camera import CameraModel, PinholeCamera
from handperception.msgconv.camera_info import camera_info_msg
from handperception.msgconv.images import numpy_to_image, rgb8_to_compressed
from handperception.msgconv.results import msg_to_hand
from handperception.ros.nodes.hand_pose import HandPoseNode
from handperception.ros.qos import camera_info_qos, image_qos, results_qos
from handperception.sources.synthetic_hands import SyntheticHandsSource
from handperception_msgs.msg import HandArray

CAMERA = PinholeCamera.from_fov(640, 480, 60.0)
FALLBACK_WARNING = "assuming a 60 deg horizontal field of view"


class Graph:
    """hand_pose nodes, each on its own camera topic, and a probe feeding them and collecting
    their HandArrays."""

    def __init__(self):
        self.ros = RosHarness()
        self.probe = self.ros.add(Node("probe", context=self.ros.context))
        self.nodes, self.hands, self._publishers = {}, {}, {}

    def add(self, name: str, image_topic: str, **parameters) -> HandPoseNode:
        """Node ``name`` taking ``image_topic`` (camera_info beside it), hands on /<name>/hands."""
        overrides = [
            Parameter("smoothing", value=False),
            Parameter("hands_topic", value=f"/{name}/hands"),
            *(Parameter(key, value=value) for key, value in parameters.items()),
        ]
        remaps = ["--ros-args", "-r", f"__node:={name}", "-r", f"image:={image_topic}"]
        node = HandPoseNode(
            context=self.ros.context, parameter_overrides=overrides, cli_args=remaps
        )
        self.nodes[name] = self.ros.add(node)
        self.hands[name] = []
        self.probe.create_subscription(
            HandArray, f"/{name}/hands", self.hands[name].append, results_qos()
        )
        return node

    def publisher(self, message_type, topic: str, qos=None):
        if topic not in self._publishers:
            qos = qos or (results_qos() if message_type is CameraInfo else image_qos("reliable"))
            self._publishers[topic] = self.probe.create_publisher(message_type, topic, qos)
        return self._publishers[topic]

    def matched(self) -> bool:
        return all(p.get_subscription_count() for p in self._publishers.values()) and all(
            node.is_active for node in self.nodes.values()
        )

    def result(self, name: str, sec: int) -> HandArray | None:
        return next((h for h in self.hands[name] if h.header.stamp.sec == sec), None)

    def close(self):
        self.ros.close()


@pytest.fixture
def graph():
    graph = Graph()
    yield graph
    graph.close()


def _header(sec: int, frame_id: str = "camera_optical_frame") -> Header:
    header = Header(frame_id=frame_id)
    header.stamp.sec = sec
    return header


def _hands(array: HandArray):
    return [msg_to_hand(hand) for hand in array.hands]


def _uncalibrated(header: Header) -> CameraInfo:
    """What a driver without a calibration file publishes: the size, and zeros."""
    info = camera_info_msg(CAMERA, header)
    info.k, info.p, info.d = [0.0] * 9, [0.0] * 12, []
    return info


@pytest.mark.parametrize("case", ["all-zero K", "use_camera_info false"])
def test_without_a_calibration_the_field_of_view_fallback_gives_hands_and_one_warning(
    graph, capfd, case
):
    uses_info = case == "all-zero K"
    node = graph.add("uncalibrated", "/cam/image_raw", use_camera_info=uses_info)
    images = graph.publisher(Image, "/cam/image_raw")
    infos = graph.publisher(CameraInfo, "/cam/camera_info") if uses_info else None
    assert wait_for(graph.matched, 30)
    source = SyntheticHandsSource(CAMERA, seed=1)
    for sec in (1, 2, 3):
        header = _header(sec)
        if infos is not None:
            infos.publish(_uncalibrated(header))
        images.publish(numpy_to_image(source.frame(sec).rgb, "rgb8", header))
        assert wait_for(lambda sec=sec: graph.result("uncalibrated", sec), 20)
    found = [(sec, _hands(graph.result("uncalibrated", sec))) for sec in (1, 2, 3)]
    found = [(sec, hands[0]) for sec, hands in found if hands]
    assert found, "the fallback camera found no hand"
    # The fallback is the rendering camera here (60 deg): metric 3D near the truth (the bound of
    # test_hand_pose_node's calibrated run).
    errors = [
        np.linalg.norm(hand.joints_3d[0] - source.frame(sec).keypoints_3d[0, 0])
        for sec, hand in found
    ]
    assert np.median(errors) < 0.15, errors
    assert not [r for r in node.stats.snapshot().drops if "camera_info" in r]
    assert capfd.readouterr().err.count(FALLBACK_WARNING) == 1


def test_a_broken_calibration_is_a_drop_with_its_reason(graph):
    node = graph.add("broken", "/cam/image_raw")
    images = graph.publisher(Image, "/cam/image_raw")
    infos = graph.publisher(CameraInfo, "/cam/camera_info")
    assert wait_for(graph.matched, 30)
    info = camera_info_msg(CAMERA, _header(1))
    info.k[0] = 1e9  # a focal length no lens has
    frame = np.zeros((480, 640, 3), np.uint8)
    assert wait_for(
        lambda: (
            infos.publish(info)
            or images.publish(numpy_to_image(frame, "rgb8", info.header))
            or node.stats.snapshot().drops.get("camera_info_bad_focal")
        ),
        20,
        period=0.2,  # a pair at a time: frames still in flight at teardown race rclpy
    )
    assert not graph.hands["broken"]


def test_compressed_and_yuv422_images_give_the_hands_of_the_rgb8_image(graph):
    """Four nodes see one rendered frame: as rgb8, as yuv422 (UYVY: chroma shared by pixel
    pairs), and as JPEG and PNG on image_transport's compressed topic."""
    rgb = SyntheticHandsSource(CAMERA, seed=1).frame(1).rgb
    header = _header(5)
    uyvy = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_UYVY)
    sent = {  # name: (message, its topic)
        "rgb8": (numpy_to_image(rgb, "rgb8", header), "/rgb8/image_raw"),
        "yuv422": (numpy_to_image(uyvy, "yuv422", header), "/yuv422/image_raw"),
        "jpeg": (rgb8_to_compressed(rgb, header, "jpeg"), "/jpeg/image_raw/compressed"),
        "png": (rgb8_to_compressed(rgb, header, "png"), "/png/image_raw/compressed"),
    }
    for name, (message, topic) in sent.items():
        transport = "compressed" if isinstance(message, CompressedImage) else "raw"
        graph.add(name, f"/{name}/image_raw", image_transport=transport)
        graph.publisher(type(message), topic)
        graph.publisher(CameraInfo, f"/{name}/camera_info")
    assert wait_for(graph.matched, 30)
    for name, (message, topic) in sent.items():
        graph.publisher(CameraInfo, f"/{name}/camera_info").publish(camera_info_msg(CAMERA, header))
        graph.publisher(type(message), topic).publish(message)
    assert wait_for(lambda: all(graph.result(name, 5) for name in sent), 30)
    (reference,) = _hands(graph.result("rgb8", 5))
    for name in ("yuv422", "jpeg", "png"):
        (hand,) = _hands(graph.result(name, 5))
        error = np.linalg.norm(hand.joints_2d - reference.joints_2d, axis=1)
        assert np.median(error) < 3.0, (name, error)
    np.testing.assert_array_equal(_hands(graph.result("png", 5))[0].joints_2d, reference.joints_2d)


def _distort(rgb: np.ndarray, model: CameraModel) -> np.ndarray:
    """The image ``model``'s lens takes of the scene ``rgb`` shows through its ideal camera: each
    raw pixel samples the ideal image where ``undistort`` puts it."""
    height, width = rgb.shape[:2]
    grid = np.stack(np.meshgrid(np.arange(width), np.arange(height)), axis=-1)
    ideal = model.undistort(grid.reshape(-1, 2)).reshape(height, width, 2).astype(np.float32)
    return cv2.remap(rgb, ideal[..., 0], ideal[..., 1], cv2.INTER_LINEAR)


def test_distorted_images_are_lifted_from_undistorted_joints_and_published_as_seen(graph):
    """A barrel lens whose principal point is far left of the rendered hand (a hand near the
    border of a wide lens): the distortion moves its joints by tens of pixels. One node takes
    the image on image_raw (undistorts the joints), one on image_rect, which image_proc
    publishes with the same camera_info, distortion included (``image_pixels`` auto: D is
    ignored). Both run the network on the same pixels, so their 2D and relative depths agree
    exactly and only the lifting differs: the raw node's 3D must project onto the undistorted
    joints, the rectified node's onto the joints as found. (Comparing with the undistorted
    render instead measures the small network's own error on a warped hand, larger than the
    effect.)"""
    ideal = PinholeCamera(CAMERA.fx, CAMERA.fy, 70.0, CAMERA.cy, 640, 480)
    lens = CameraModel(ideal, ideal, (-0.25, 0.05, 0.0, 0.0, 0.0))
    graph.add("raw", "/lens/image_raw")
    graph.add("rectified", "/lens/image_rect")
    infos = graph.publisher(CameraInfo, "/lens/camera_info")
    images = [graph.publisher(Image, f"/lens/{name}") for name in ("image_raw", "image_rect")]
    assert wait_for(lambda: graph.matched() and infos.get_subscription_count() == 2, 30)
    source = SyntheticHandsSource(ideal, seed=0)
    for sec in (1, 2, 3):
        header = _header(sec)
        infos.publish(camera_info_msg(lens, header))
        image = numpy_to_image(_distort(source.frame(sec).rgb, lens), "rgb8", header)
        for publisher in images:
            publisher.publish(image)
        assert wait_for(lambda sec=sec: graph.result("raw", sec) and graph.result("rectified", sec))
    pairs = [
        (_hands(graph.result("raw", sec)), _hands(graph.result("rectified", sec)))
        for sec in (1, 2, 3)
    ]
    pairs = [(raw[0], rectified[0]) for raw, rectified in pairs if raw and rectified]
    assert pairs, "no hand found in the distorted frames"
    for raw, rectified in pairs:
        np.testing.assert_allclose(raw.joints_2d, rectified.joints_2d, atol=1e-9)
        undistorted = lens.undistort(raw.joints_2d)
        assert np.linalg.norm(undistorted - raw.joints_2d, axis=1).min() > 10  # a real lens
        np.testing.assert_allclose(ideal.project(raw.joints_3d), undistorted, atol=1e-6)
        np.testing.assert_allclose(ideal.project(rectified.joints_3d), raw.joints_2d, atol=1e-6)
        relative = raw.joints_3d[:, 2] - raw.joints_3d[0, 2]
        np.testing.assert_allclose(
            relative, rectified.joints_3d[:, 2] - rectified.joints_3d[0, 2], atol=1e-9
        )


def test_a_best_effort_camera_info_publisher_pairs(graph):
    graph.add("best_effort", "/be/image_raw")
    images = graph.publisher(Image, "/be/image_raw")
    infos = graph.publisher(CameraInfo, "/be/camera_info", camera_info_qos())
    assert wait_for(graph.matched, 30)
    rgb = SyntheticHandsSource(CAMERA, seed=1).frame(1).rgb
    assert wait_for(
        lambda: (
            infos.publish(camera_info_msg(CAMERA, _header(7)))
            or images.publish(numpy_to_image(rgb, "rgb8", _header(7)))
            or graph.result("best_effort", 7)
        ),
        20,
        period=0.2,
    )
    assert _hands(graph.result("best_effort", 7))

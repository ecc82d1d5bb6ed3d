"""The tabletop-objects node fed hostile depth frames and point clouds (it takes depth images
and clouds, not colour images, so the image fuzzing of test_fuzz_image_nodes.py does not reach
it). Depth images: colour, bogus or empty encodings, big-endian pixels, sizes from a pixel to
a header declaring billions of them, wrong steps, truncated or padded data; pixels all zero,
NaN, infinite, negative, beyond any camera's range, or a real table sprinkled with them; a
camera_info missing, late, of another size, with NaN or absurd intrinsics, lens distortion,
or stamped for another frame; stamps unset, negative or from the future. Clouds: x, y, z
missing, of an integer type, several wide or beyond the point; steps and data that disagree;
points NaN, infinite, at 1e300, all in one spot or in a line. It never raises or stops, never
publishes a NaN (in a pose, box, plane, mesh or cloud) or a face past its vertices, publishes
each frame with its source header, and accounts for every frame taken: published, or dropped
under a named reason.

Frames go one at a time: the inputs are depth 1, so a frame sent before the last was taken
would replace it. A well-formed third are scenes of the synthetic engine, so the clustering and
the meshes run on what the hostile pixels leave of a real table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosutil import RosHarness, wait_for
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from handperception.geometry.camera import PinholeCamera
from handperception.msgconv.camera_info import camera_info_msg
from handperception.msgconv.point_clouds import cloud_to_points, points_to_cloud
from handperception.msgconv.results import msg_to_mesh
from handperception.pipeline.tabletop import TabletopConfig, depth_to_points
from handperception.ros.nodes.tabletop_objects import TabletopObjectsNode
from handperception.ros.qos import image_qos, results_qos
from handperception.synth.tabletop import TabletopSpec, render_tabletop
from handperception_msgs.msg import TabletopObjectArray

pytestmark = pytest.mark.ros

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# A small camera keeps a hundred real scenes to seconds (the 640x480 one is sent once), with
# the parameters that find every object of its scenes at a quarter of the pixels.
CAMERA = PinholeCamera.from_fov(160, 120, 60.0)
SMALL_CAMERA_PARAMETERS = {"pixel_stride": 1, "min_cluster_points": 10}
SMALL_CAMERA_CONFIG = TabletopConfig(**SMALL_CAMERA_PARAMETERS)
VGA = PinholeCamera.from_fov(640, 480, 60.0)
HOSTILE = (math.nan, math.inf, -math.inf, 0.0, -1.0, 1e-300, 1e7, 1e30, 1e300, -1e300)
UINT32_MAX = 2**32 - 1
FRAME_ID = "camera_depth_optical_frame"
CALIBRATION = "camera_info_"  # a calibration's reasons: camera_info_non_finite, ...
DROP_REASONS = {
    "bad_stamp",
    "bad_encoding",
    "bad_image",
    "unsupported_encoding",
    "too_large",
    "unpaired_camera_info",
    "distorted_depth",
    "no_depth",
    "no_plane",
    "empty_cloud",
    "non_finite",
    "bad_cloud",
    "bad_input",
}


@pytest.fixture(scope="module")
def scenes():
    return [render_tabletop(CAMERA, seed, TabletopSpec(objects=1 + seed % 4)) for seed in range(4)]


@dataclass
class Frame:
    """One input: a depth image with how its CameraInfo goes with it, or a cloud."""

    msg: Image | PointCloud2
    info: CameraInfo | None = None  # None: none is sent, the image waits and is unpaired
    info_late: bool = False
    info_other_stamp: bool = False
    bad_stamp: tuple[int, int] | None = None
    label: str = ""

    @property
    def settles_at_once(self) -> bool:
        """Whether the node accounts for it on arrival (else it waits for a CameraInfo)."""
        if isinstance(self.msg, PointCloud2) or self.bad_stamp is not None:
            return True
        return self.info is not None and not self.info_other_stamp


def _pixels(draw, depth: np.ndarray) -> tuple[np.ndarray, str]:
    """A scene's float32 metres, or all zero, all one hostile value, noise, or the scene with
    hostile values sprinkled over it."""
    kind = draw(st.sampled_from(("scene", "scene", "scene", "sprinkled", "uniform", "noise")))
    if kind == "scene":
        return depth, kind
    if kind == "uniform":
        with np.errstate(over="ignore"):  # 1e300 is inf in float32, as on the wire
            return np.full_like(depth, draw(st.sampled_from(HOSTILE))), kind
    rng = np.random.default_rng(draw(st.integers(0, UINT32_MAX)))
    if kind == "noise":
        return rng.uniform(-5, 50, depth.shape).astype(np.float32), kind
    sprinkled = depth.copy()
    mask = rng.random(depth.shape) < draw(st.sampled_from((0.01, 0.3, 0.9)))
    with np.errstate(over="ignore"):
        sprinkled[mask] = np.float32(draw(st.sampled_from(HOSTILE)))
    return sprinkled, kind


def _break_image(draw, image: Image, array: np.ndarray, fault: str) -> str:
    """Make ``image`` (of ``array``) wrong in its ``fault``; what was done, in words."""
    if fault == "encoding":
        image.encoding = draw(
            st.sampled_from(("rgb8", "mono8", "mono16", "32FC3", "64FC1", "", "16uc1", "ü"))
        )
        image.is_bigendian = draw(st.sampled_from((0, 1)))
        return f"as {image.encoding!r} bigendian={image.is_bigendian}"
    if fault == "size":
        width, height = draw(st.sampled_from(((1, 1), (0, 0), (7, 1), (1, 9), (100_000, 100_000))))
        image.width, image.height = width, height
        image.step = width * array.itemsize
        if width * height <= 64:  # a real tiny image; else a header over too little data
            image.data = np.resize(array, (height, width)).tobytes()
        return f"{width}x{height}"
    if fault == "step":
        image.step = draw(st.sampled_from((0, image.step - 1, image.step + 3, UINT32_MAX)))
        return f"step {image.step}"
    if fault == "data":
        cut = draw(st.sampled_from(("empty", "truncated", "oversized")))
        data = bytes(image.data)
        image.data = {"empty": b"", "truncated": data[:-1], "oversized": data + b"\0" * 7}[cut]
        return f"data {cut}"
    return ""


def _break_camera_info(draw, frame: Frame) -> str:
    """Make ``frame``'s CameraInfo missing, late, another frame's, or wrong; what, in words."""
    kind = draw(
        st.sampled_from(
            ("missing", "late", "other_stamp", "other_size", "zeros", "bad_k", "focal", "distorted")
        )
    )
    info = frame.info
    if kind == "missing":
        frame.info = None
    elif kind == "late":
        frame.info_late = True
    elif kind == "other_stamp":
        frame.info_other_stamp = True
    elif kind == "other_size":
        info.width += 1
    elif kind == "zeros":
        info.k, info.p = [0.0] * 9, [0.0] * 12
    elif kind in ("bad_k", "focal"):
        k = list(info.k)
        if kind == "focal":  # a focal length of no camera, in both K and P
            k[0] = k[4] = draw(st.sampled_from((1e-9, 1e-3, 0.5, 2e6, 1e300)))
            info.p = [k[0], 0.0, k[2], 0.0, 0.0, k[4], k[5], 0.0, 0.0, 0.0, 1.0, 0.0]
        else:
            k[draw(st.sampled_from((0, 2, 4, 5)))] = draw(st.sampled_from(HOSTILE))
        info.k = k
    else:
        info.distortion_model, info.d = "plumb_bob", [0.1, -0.05, 0.0, 0.0, 0.0]
    return f"camera_info {kind}"


@st.composite
def depth_frames(draw, scenes) -> Frame:
    """A depth image + CameraInfo: well-formed (a scene, 16UC1 or 32FC1) in a third, else wrong
    in its encoding, size, step, data, pixels, CameraInfo or stamp."""
    fault = draw(
        st.sampled_from(
            ("none",) * 3
            + ("encoding", "size", "step", "data", "camera_info", "camera_info", "stamp")
        )
    )
    metres, pixels = _pixels(draw, draw(st.sampled_from(scenes)).depth)
    encoding = draw(st.sampled_from(("32FC1", "16UC1")))
    if encoding == "16UC1":
        with np.errstate(invalid="ignore", over="ignore"):
            millimetres = np.nan_to_num(metres * 1000, posinf=65535, neginf=0).clip(0, 65535)
        array = millimetres.astype(np.uint16)
    else:
        array = metres
    height, width = array.shape
    image = Image(height=height, width=width, encoding=encoding, step=width * array.itemsize)
    image.data = array.tobytes()
    labels = [f"{encoding} {pixels}", _break_image(draw, image, array, fault)]
    camera = PinholeCamera.from_fov(max(image.width, 1), max(image.height, 1), 60.0)
    frame = Frame(image, camera_info_msg(camera))
    if fault == "camera_info":
        labels.append(_break_camera_info(draw, frame))
    elif fault == "stamp":
        frame.bad_stamp = draw(
            st.sampled_from(((0, 0), (-1, 0), (2_000_000_000, 0), (1_700_000_000, 10**9)))
        )
        labels.append(f"stamp {frame.bad_stamp}")
    frame.label = "; ".join(label for label in labels if label)
    return frame


def _cloud(points: np.ndarray, fault: str, draw) -> tuple[PointCloud2, str]:
    cloud = points_to_cloud(points)
    if fault == "fields":
        kind = draw(st.sampled_from(("no_z", "int32", "count2", "beyond", "float64")))
        x, y, z = (PointField(name=f.name, offset=f.offset, datatype=f.datatype, count=1)
                   for f in cloud.fields)  # fmt: skip
        if kind == "no_z":
            cloud.fields = [x, y]
        elif kind == "int32":
            z.datatype = PointField.INT32
            cloud.fields = [x, y, z]
        elif kind == "count2":
            z.count = 2
            cloud.fields = [x, y, z]
        elif kind == "beyond":
            z.offset = cloud.point_step
            cloud.fields = [x, y, z]
        else:  # well-formed float64 points, with bytes to spare after each
            wide = np.zeros((len(points), 4))
            wide[:, :3] = points
            cloud.fields = [PointField(name=n, offset=8 * i, datatype=PointField.FLOAT64, count=1)
                            for i, n in enumerate("xyz")]  # fmt: skip
            cloud.point_step, cloud.row_step = 32, 32 * len(points)
            cloud.data = wide.tobytes()
        return cloud, f"fields {kind}"
    if fault == "sizes":
        kind = draw(st.sampled_from(("row_step", "truncated", "huge_width", "zero_step")))
        if kind == "row_step":
            cloud.row_step = max(cloud.row_step - 1, 0)
        elif kind == "truncated":
            cloud.data = bytes(cloud.data)[:-1]
        elif kind == "huge_width":
            cloud.width = cloud.height = UINT32_MAX
            cloud.row_step = UINT32_MAX
        else:
            cloud.point_step = cloud.row_step = 0
        return cloud, f"sizes {kind}"
    return cloud, "well-formed"


@st.composite
def cloud_frames(draw, scenes) -> Frame:
    """A PointCloud2: a scene's points (some made hostile), points all hostile, in one spot or
    a line, or none; its fields and sizes wrong in a third."""
    fault = draw(st.sampled_from(("none", "none", "fields", "sizes")))
    kind = draw(
        st.sampled_from(("scene", "scene", "sprinkled", "hostile", "spot", "line", "empty"))
    )
    points = depth_to_points(draw(st.sampled_from(scenes)).depth, CAMERA, SMALL_CAMERA_CONFIG)
    if kind == "sprinkled":
        rng = np.random.default_rng(draw(st.integers(0, UINT32_MAX)))
        points = points.copy()
        points[rng.random(points.shape) < 0.05] = draw(st.sampled_from(HOSTILE))
    elif kind == "hostile":
        points = np.full((draw(st.integers(1, 500)), 3), draw(st.sampled_from(HOSTILE)))
    elif kind == "spot":
        points = np.tile([0.1, 0.2, 0.8], (draw(st.integers(1, 5000)), 1))
    elif kind == "line":
        points = np.linspace([0.0, 0.0, 0.5], [0.2, 0.3, 1.5], draw(st.integers(1, 5000)))
    elif kind == "empty":
        points = np.zeros((0, 3))
    # float32 as drivers send it; 1e300 becomes inf, as it would on the wire
    with np.errstate(over="ignore"):
        cloud, label = _cloud(points.astype(np.float32), fault, draw)
    return Frame(cloud, label=f"{kind} {len(points)} points, {label}")


class Campaign:
    def __init__(self, input_kind: str):
        self.ros = RosHarness()
        self.ns = f"/fuzz_tabletop_{input_kind}"
        self.node = self.ros.add(
            TabletopObjectsNode(
                context=self.ros.context,
                namespace=self.ns,
                parameter_overrides=[
                    Parameter(name, value=value)
                    for name, value in {**SMALL_CAMERA_PARAMETERS, "input": input_kind}.items()
                ],
            )
        )
        probe = self.ros.add(Node("fuzz_probe", context=self.ros.context))
        self.published: dict[int, TabletopObjectArray] = {}
        probe.create_subscription(
            TabletopObjectArray,
            f"{self.ns}/objects",
            lambda m: self.published.__setitem__(m.header.stamp.sec, m),
            results_qos(),
        )
        self.markers: list[MarkerArray] = []  # a listener, so the node builds its markers too
        probe.create_subscription(
            MarkerArray, f"{self.ns}/tabletop_objects/markers", self.markers.append, results_qos()
        )
        reliable = image_qos("reliable")
        self.depth = probe.create_publisher(Image, f"{self.ns}/depth", reliable)
        self.info = probe.create_publisher(CameraInfo, f"{self.ns}/camera_info", results_qos())
        self.points = probe.create_publisher(PointCloud2, f"{self.ns}/points", reliable)
        self.input = self.points if input_kind == "points" else self.depth
        self.first_sec = self.node.get_clock().now().to_msg().sec - 3600
        self.sent = 0
        self.objects = 0
        self.sent_for: dict[int, str] = {}  # the stamp's sec of each well-stamped frame: label
        self.problems: list[str] = []
        assert wait_for(lambda: self.node.is_active and self.input.get_subscription_count(), 30)

    def feed(self, frame: Frame) -> None:
        """Send one frame and wait until the node took it, and settled it where it can."""
        self.sent += 1
        # An hour ago, one second apart: each frame's stamp is its key, never mispaired
        # (sync_slop is 10 ms), and none is in the future.
        header = Header(frame_id=FRAME_ID)
        header.stamp.sec = self.first_sec + self.sent
        if frame.bad_stamp is not None:
            header.stamp.sec, header.stamp.nanosec = frame.bad_stamp
        else:
            self.sent_for[header.stamp.sec] = frame.label
        frame.msg.header = header
        before = self.node.stats.snapshot()
        if frame.info is not None:
            info_header = Header(frame_id=FRAME_ID, stamp=header.stamp)
            if frame.info_other_stamp:
                info_header.stamp.sec += 3600 * 24
            frame.info.header = info_header
        if frame.info is not None and not frame.info_late:
            self.info.publish(frame.info)
        self.input.publish(frame.msg)
        if not wait_for(lambda: self.node.stats.snapshot().received > before.received, 30):
            self.problems.append(f"frame {self.sent} ({frame.label}) never taken")
            return
        if frame.info is not None and frame.info_late:
            self.info.publish(frame.info)
        if frame.settles_at_once and not wait_for(
            lambda: self._settled() > before.count + before.dropped, 60
        ):
            self.problems.append(f"frame {self.sent} ({frame.label}) never settled")

    def _settled(self) -> int:
        snapshot = self.node.stats.snapshot()
        return snapshot.count + snapshot.dropped

    def settle(self) -> bool:
        """Wait until every frame sent is published or dropped, and every array published has
        arrived (the probe's subscription fills ``published`` from the executor's thread)."""

        def settled():
            snapshot = self.node.stats.snapshot()
            return (
                snapshot.count + snapshot.dropped == self.sent == snapshot.received
                and len(self.published) == snapshot.count
            )

        return wait_for(settled, 30)

    def check_outputs(self) -> None:
        for sec, message in list(self.published.items()):
            label = self.sent_for.get(sec, "a frame never sent")
            if message.header.frame_id != FRAME_ID:
                self.problems.append(f"{label}: header {message.header}")
            coef = np.asarray(message.support_plane.coef)
            if not np.isfinite(coef).all() or abs(np.linalg.norm(coef[:3]) - 1) > 1e-6:
                self.problems.append(f"{label}: plane {coef}")
            for found in message.objects:
                self.objects += 1
                numbers = [
                    found.score,
                    *(getattr(found.pose.position, a) for a in "xyz"),
                    *(getattr(found.pose.orientation, a) for a in "xyzw"),
                    *(getattr(found.bbox_center.position, a) for a in "xyz"),
                    *(getattr(found.bbox_size, a) for a in "xyz"),
                ]
                vertices, faces = msg_to_mesh(found.mesh)
                points = cloud_to_points(found.points)
                if not (
                    np.isfinite(numbers).all()
                    and np.isfinite(vertices).all()
                    and np.isfinite(points).all()
                    and len(points)
                    and len(faces) >= 4
                    and faces.max() < len(vertices)
                    and faces.min() >= 0
                ):
                    self.problems.append(f"{label}: object {found.id} has a NaN or a bad mesh")

    def close(self):
        self.ros.close()


def _feed(fuzzed: Campaign, frames, extra: list[Frame]) -> None:
    """The drawn frames, then the ``extra`` ones."""

    @FUZZ
    @given(frames)
    def feed(frame):
        fuzzed.feed(frame)

    feed()
    for frame in extra:
        fuzzed.feed(frame)


def _final_scene(scene) -> Frame:
    """A good frame last: it takes every frame still waiting for a CameraInfo out of the
    pairing (as unpaired), and shows the node still finds objects."""
    image = Image(height=120, width=160, encoding="32FC1", step=640, data=scene.depth.tobytes())
    return Frame(image, camera_info_msg(CAMERA), label="final scene")


@pytest.fixture(scope="module")
def depth_campaign(scenes):
    big = render_tabletop(VGA, 7)
    big_image = Image(
        height=480, width=640, encoding="16UC1", step=1280, data=big.depth_mm().tobytes()
    )
    big_frame = Frame(big_image, camera_info_msg(VGA), label="640x480 scene")
    fuzzed = Campaign("depth")
    try:
        _feed(fuzzed, depth_frames(scenes), [big_frame, _final_scene(scenes[0])])
        yield fuzzed
    finally:
        fuzzed.close()


@pytest.fixture(scope="module")
def cloud_campaign(scenes):
    last = depth_to_points(scenes[1].depth, CAMERA, SMALL_CAMERA_CONFIG)
    fuzzed = Campaign("points")
    try:
        _feed(fuzzed, cloud_frames(scenes), [Frame(points_to_cloud(last), label="scene")])
        yield fuzzed
    finally:
        fuzzed.close()


@pytest.mark.parametrize("campaign", ["depth_campaign", "cloud_campaign"])
def test_never_raises_stops_or_publishes_a_nan(campaign, request):
    fuzzed = request.getfixturevalue(campaign)
    assert fuzzed.settle(), fuzzed.node.stats.snapshot()
    fuzzed.check_outputs()
    assert not fuzzed.problems, fuzzed.problems[:5]
    assert fuzzed.node.is_active and fuzzed.markers
    assert fuzzed.published[max(fuzzed.published)].objects, "the last, good frame found nothing"
    snapshot = fuzzed.node.stats.snapshot()
    assert "exception" not in snapshot.drops, snapshot.drops


@pytest.mark.parametrize("campaign", ["depth_campaign", "cloud_campaign"])
def test_every_frame_is_accounted_for(campaign, request):
    fuzzed = request.getfixturevalue(campaign)
    assert fuzzed.settle(), (fuzzed.sent, len(fuzzed.published), fuzzed.node.stats.snapshot())
    snapshot = fuzzed.node.stats.snapshot()
    unnamed = {r for r in snapshot.drops if r not in DROP_REASONS and not r.startswith(CALIBRATION)}
    assert not unnamed, snapshot.drops
    assert set(snapshot.result_drops) <= {"too_many_objects", "flat_object"}, snapshot.result_drops
    print(
        f"\n{campaign}: {fuzzed.sent} frames, {snapshot.count} published with "
        f"{fuzzed.objects} objects, drops {snapshot.drops}, objects dropped "
        f"{snapshot.result_drops}"
    )

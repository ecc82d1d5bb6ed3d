"""tabletop_objects: the objects standing on a table, from a depth camera (``depth`` 16UC1 mm or
32FC1 m + ``camera_info``, paired by stamp) or a ``points`` PointCloud2 (``input``), as a
TabletopObjectArray on ``objects`` (the source header; each object's id, pose, box, points and
closed mesh, and the table's plane) and rviz markers on ``~/markers``. A thin shell over
TabletopPipeline.

Why not an ImageNode: ImageNode decodes every image to rgb8 and names its input ``image``; a
depth image is metres, and the node also takes point clouds. It follows the image nodes'
rules all the same: depth-1 inputs (the newest frame, never a backlog), images paired with
their CameraInfo by ``ros.sync`` as ImageNode pairs them, the source header on every output,
and every frame it cannot use dropped and counted by its reason (``bad_encoding``,
``no_depth``, ``no_plane``, ``empty_cloud``, ``non_finite``, a calibration's, ...) with one
warning per reason at most every WARN_PERIOD_S: never a crash and never a NaN published.
Frames are processed in the subscription callback (about 40 ms each on one core): with
depth-1 subscriptions a frame that arrives while one is processed replaces the one waiting.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from visualization_msgs.msg import MarkerArray

from handperception.geometry.camera import CalibrationError
from handperception.msgconv.camera_info import camera_from_info
from handperception.msgconv.images import ImageConversionError, image_to_numpy
from handperception.msgconv.point_clouds import PointCloudError, cloud_to_points
from handperception.msgconv.tabletop import tabletop_markers, tabletop_to_msg
from handperception.pipeline import tabletop
from handperception.pipeline.tabletop import TabletopConfig, TabletopPipeline
from handperception.ros.entry import run_single_node
from handperception.ros.node_base import (
    FAILED,
    INACTIVE,
    Allowed,
    HandperceptionNode,
    InputRejected,
    ParametersRefused,
    one_of,
)
from handperception.ros.qos import camera_info_qos, image_qos, results_qos
from handperception.ros.stamps import BAD_STAMP, stamp_problem, stamp_to_ns
from handperception.ros.sync import ApproximateTimeSynchronizer
from handperception_msgs.msg import TabletopObjectArray

BAD_ENCODING = "bad_encoding"  # a depth image neither 16UC1 nor 32FC1
NON_FINITE = "non_finite"  # a cloud with points, none of them finite
BAD_INPUT = "bad_input"  # the pipeline refused the frame (its ValueError says why)
DEPTH_ENCODINGS = ("16UC1", "32FC1")  # millimetres, metres: what depth drivers publish
MARKER_LIFETIME_S = 1.0
# Pipeline parameters: (name, description, allowed), defaults from TabletopConfig.
_PIPELINE_PARAMETERS = (
    ("voxel_size", "metres per voxel side (one point per voxel)", tabletop.VOXEL_SIZE_LIMITS),
    (
        "pixel_stride",
        "every n-th pixel of every n-th row of a depth image is lifted",
        tabletop.PIXEL_STRIDE_LIMITS,
    ),
    (
        "distance_threshold",
        "metres from the plane within which a point is the table's",
        tabletop.DISTANCE_THRESHOLD_LIMITS,
    ),
    (
        "cluster_tolerance",
        "metres between points of one object (DBSCAN eps); closer objects merge",
        tabletop.CLUSTER_TOLERANCE_LIMITS,
    ),
    ("min_cluster_points", "voxels an object needs", tabletop.MIN_CLUSTER_POINTS_LIMITS),
    ("min_plane_points", "voxels the table needs", tabletop.MIN_PLANE_POINTS_LIMITS),
    ("max_objects", "most objects per frame, the largest kept", tabletop.MAX_OBJECTS_LIMITS),
    ("min_depth", "metres; nearer is no return", tabletop.DEPTH_LIMITS),
    ("max_depth", "metres; farther is no return", tabletop.DEPTH_LIMITS),
    (
        "max_height",
        "metres above the table beyond which points are not objects (a wall, a person)",
        tabletop.MAX_HEIGHT_LIMITS,
    ),
    ("ransac_iterations", "candidate planes drawn", tabletop.RANSAC_ITERATIONS_LIMITS),
)


class TabletopObjectsNode(HandperceptionNode):
    def __init__(self, **kwargs):
        super().__init__("tabletop_objects", **kwargs)
        self.declare(
            "input",
            "depth",
            "depth: a depth image + camera_info; points: a PointCloud2",
            one_of("depth", "points"),
        )
        self.declare("depth_topic", "depth", "input depth Image topic (16UC1 mm or 32FC1 m)")
        self.declare("camera_info_topic", "camera_info", "CameraInfo of the depth image")
        self.declare("points_topic", "points", "input PointCloud2 topic (input: points)")
        self.declare("objects_topic", "objects", "output TabletopObjectArray topic")
        self.declare(
            "sync_slop",
            0.01,
            "seconds a depth image and its camera_info stamps may differ",
            Allowed(0.0, 1.0, open_low=True),
        )
        self.declare(
            "publish_markers",
            True,
            "publish each object's mesh (TRIANGLE_LIST) and id (text) on ~/markers",
        )
        defaults = TabletopConfig()
        for name, description, (low, high) in _PIPELINE_PARAMETERS:
            default = getattr(defaults, name)
            self.declare(name, default, description, Allowed(type(default)(low), high))
        self.pipeline: TabletopPipeline | None = None
        self._sync: ApproximateTimeSynchronizer | None = None
        self._inputs: list = []

    # -- lifecycle ------------------------------------------------------------------------------
    def configure(self) -> None:
        p = self.params
        try:
            config = TabletopConfig(
                **{name: getattr(p, name) for name, _, _ in _PIPELINE_PARAMETERS}
            )
        except ValueError as error:
            raise ParametersRefused(f"{error}. Set valid values and configure again.") from None
        self.pipeline = TabletopPipeline(config)
        self._objects_pub = self.create_lifecycle_publisher(
            TabletopObjectArray, p.objects_topic, results_qos()
        )
        self._markers_pub = self.create_lifecycle_publisher(MarkerArray, "~/markers", results_qos())
        self.get_logger().info(
            f"tabletop_objects ready ({p.input} input); publishing {self._objects_pub.topic_name}"
        )

    def activate(self) -> None:
        p = self.params
        if p.input == "points":
            self._inputs = [
                self.create_subscription(
                    PointCloud2, p.points_topic, self._on_points, image_qos("reliable")
                )
            ]
        else:
            self._sync = ApproximateTimeSynchronizer(
                2, 5, int(p.sync_slop * 1e9), self._on_depth_pair, self._on_unpaired
            )
            self._inputs = [
                self.create_subscription(Image, p.depth_topic, self._on_depth, image_qos()),
                self.create_subscription(
                    CameraInfo, p.camera_info_topic, self._on_camera_info, camera_info_qos()
                ),
            ]
        names = ", ".join(subscription.topic_name for subscription in self._inputs)
        self.get_logger().info(f"taking {p.input} from {names}")

    def deactivate(self) -> None:
        for subscription in self._inputs:
            self.destroy_subscription(subscription)
        self._inputs = []
        sync, self._sync = self._sync, None
        for topic, _ in sync.drain() if sync else []:
            if topic == 0:
                self.stats.drop(INACTIVE)

    def cleanup(self) -> None:
        self.pipeline = None

    # -- input ----------------------------------------------------------------------------------
    def _accepted(self, msg, kind: str) -> bool:
        """Count ``msg`` received; False (and a drop) for a stamp no frame may have."""
        self.stats.receive()
        stamp = msg.header.stamp
        problem = stamp_problem(stamp, self.get_clock().now().nanoseconds)
        if problem:
            self.drop_input(
                BAD_STAMP, f"{kind} stamped {stamp.sec} s {stamp.nanosec} ns: {problem}"
            )
        return problem is None

    def _on_depth(self, msg: Image) -> None:
        sync = self._sync
        if self._accepted(msg, "depth image") and sync is not None:
            sync.add(0, stamp_to_ns(msg.header.stamp), msg)

    def _on_camera_info(self, info: CameraInfo) -> None:
        sync = self._sync
        now_ns = self.get_clock().now().nanoseconds
        if sync is not None and stamp_problem(info.header.stamp, now_ns) is None:
            sync.add(1, stamp_to_ns(info.header.stamp), info)

    def _on_unpaired(self, topic: int, msg) -> None:
        if topic == 0:  # a CameraInfo without its depth image costs nothing
            stamp = msg.header.stamp
            self.drop_input(
                "unpaired_camera_info",
                f"depth image at {stamp.sec}.{stamp.nanosec:09d} s has no CameraInfo on "
                f"{self.params.camera_info_topic} within {self.params.sync_slop} s",
            )

    def _on_depth_pair(self, image: Image, info: CameraInfo) -> None:
        self._process(image.header, lambda: self._from_depth(image, info))

    def _on_points(self, msg: PointCloud2) -> None:
        if self._accepted(msg, "point cloud"):
            self._process(msg.header, lambda: self._from_points(msg))

    # -- work -----------------------------------------------------------------------------------
    def _from_depth(self, image: Image, info: CameraInfo):
        if image.encoding not in DEPTH_ENCODINGS:
            raise InputRejected(
                BAD_ENCODING,
                f"depth image encoded {image.encoding!r}, expected one of "
                f"{', '.join(DEPTH_ENCODINGS)}",
            )
        try:
            depth = image_to_numpy(image)
            model, _ = camera_from_info(info, (depth.shape[1], depth.shape[0]), None)
        except (ImageConversionError, CalibrationError) as error:
            raise InputRejected(error.reason, str(error)) from error
        if not model.is_ideal:
            raise InputRejected(
                "distorted_depth",
                "the depth image's CameraInfo has lens distortion; give a registered, "
                "rectified depth image (depth_image_proc) or its point cloud (input: points)",
            )
        return self.pipeline.from_depth(depth, model.camera)

    def _from_points(self, msg: PointCloud2):
        try:
            points = cloud_to_points(msg)
        except PointCloudError as error:
            raise InputRejected(error.reason, str(error)) from error
        if len(points) and not np.isfinite(points).all(axis=1).any():
            raise InputRejected(NON_FINITE, f"all {len(points)} points of the cloud are NaN")
        return self.pipeline.from_points(points)

    def _process(self, header, detect) -> None:
        """Run ``detect`` guarded; publish its objects with ``header``, or count why not."""
        result = self.guarded(self._detect, detect)
        if result is None or result is FAILED:
            return
        for reason in result.object_drops:
            self.stats.drop_result(reason)
        message = tabletop_to_msg(result, header)
        self._objects_pub.publish(message)
        # Markers repeat every vertex of every triangle: built only for a listener.
        if self.params.publish_markers and self._markers_pub.get_subscription_count():
            self._markers_pub.publish(tabletop_markers(message, lifetime_s=MARKER_LIFETIME_S))
        self.stats.record(self.latency_since(header))

    def _detect(self, detect):
        """The result to publish, or None with the frame's drop counted (``guarded`` counts
        the InputRejected ones)."""
        if self.pipeline is None:
            self.stats.drop(INACTIVE)
            return None
        try:
            result = detect()
        except ValueError as error:  # the pipeline's one-line reason
            raise InputRejected(BAD_INPUT, str(error)) from error
        if result.drop is not None:
            self.drop_input(result.drop, f"no objects: {result.drop.replace('_', ' ')}")
            return None
        return result


def main(argv=None) -> int:
    return run_single_node(TabletopObjectsNode, argv)

"""The hand-mesh node: a HandArray in, one mesh per hand out with the array's header, its hand's
id and handedness, near its joints, and triangle-list markers; hands it cannot mesh (NaN joints,
collinear bones, a 2 m hand) dropped by reason with a warning; an empty array gives an empty
HandMeshArray; arrays that arrive while it is busy replaced, never queued; bad parameters and a
missing checkpoint refused at configure with the node alive."""

import itertools
import threading
import time

import numpy as np
import pytest
from halo_fixtures import halo_checkpoint, relaxed_hands
from lifecycle_msgs.msg import State
from rcl_interfaces.msg import Log
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosutil import RosHarness, wait_for
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from handperception.msgconv.results import hand_to_msg, msg_to_mesh
from handperception.results import HandEstimate
from handperception.ros.nodes.hand_mesh import HandMeshNode, marker_lifetime
from handperception.ros.qos import results_qos
from handperception_msgs.msg import HandArray, HandMesh, HandMeshArray

ROSOUT = QoSProfile(
    depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
# Small grids: these tests are about the node, the pipeline's own tests about the surfaces.
FAST = {"resolution": 32, "coarse_resolution": 8}
_RUNS = itertools.count()


def _hand(joints, handedness="right", track_id=0):
    return hand_to_msg(
        HandEstimate(
            joints_3d=joints,
            joints_2d=np.zeros((21, 2)),
            joint_confidence=np.ones(21),
            handedness=handedness,
            handedness_score=0.9,
            track_id=track_id,
        )
    )


def _array(sec: int, hands: list, frame_id: str = "head_camera_optical") -> HandArray:
    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = sec, 250
    return HandArray(header=header, hands=hands)


@pytest.fixture(scope="module")
def checkpoint() -> str:
    return str(halo_checkpoint())


class Graph:
    """A hand_mesh node in a namespace of its own, and a probe that publishes hands and
    collects meshes, markers and the node's log lines."""

    def __init__(self, checkpoint: str, autostart: bool = True, **parameters):
        self.ros = RosHarness()
        self.ns = f"/mesh_{next(_RUNS)}"
        parameters = {"checkpoint": checkpoint, **FAST, **parameters}
        overrides = [Parameter(k, value=v) for k, v in parameters.items()]
        overrides.append(Parameter("autostart", value=autostart))
        self.node = self.ros.add(
            HandMeshNode(context=self.ros.context, namespace=self.ns, parameter_overrides=overrides)
        )
        probe = self.ros.add(Node("probe", context=self.ros.context))
        self.meshes, self.markers, self.logs = [], [], []
        probe.create_subscription(
            HandMeshArray, f"{self.ns}/hand_meshes", self.meshes.append, results_qos()
        )
        probe.create_subscription(
            MarkerArray, f"{self.ns}/hand_mesh/markers", self.markers.append, results_qos()
        )
        probe.create_subscription(Log, "/rosout", self.logs.append, ROSOUT)
        self.hands = probe.create_publisher(HandArray, f"{self.ns}/hands", results_qos())
        if autostart:
            assert wait_for(lambda: self.node.is_active and self.hands.get_subscription_count())

    def send(self, array: HandArray) -> HandMeshArray:
        """Publish ``array`` and return the meshes published with its stamp."""
        self.hands.publish(array)
        assert wait_for(lambda: self.at(array.header.stamp.sec), 30)
        return self.at(array.header.stamp.sec)

    def at(self, sec: int):
        return next((m for m in list(self.meshes) if m.header.stamp.sec == sec), None)

    def log_lines(self, level: int) -> list[str]:
        logger = f"{self.ns[1:]}.hand_mesh"
        return [log.msg for log in list(self.logs) if log.name == logger and log.level == level]

    def close(self):
        self.ros.close()


def _xyz(points) -> np.ndarray:
    return np.array([[p.x, p.y, p.z] for p in points])


def test_a_hand_array_round_trips_into_meshes_with_its_header(checkpoint):
    graph = Graph(checkpoint)
    try:
        left, right = relaxed_hands()
        sent = _array(5, [_hand(left, "left", 3), _hand(right, "right", 7)])
        received = graph.send(sent)
        assert received.header == sent.header
        assert [(m.id, m.handedness) for m in received.meshes] == [
            (3, HandMesh.LEFT),
            (7, HandMesh.RIGHT),
        ]
        for mesh, joints in zip(received.meshes, (left, right), strict=True):
            vertices, faces = msg_to_mesh(mesh.mesh)
            assert len(faces) and np.isfinite(vertices).all() and faces.max() < len(vertices)
            # each vertex within a few cm of one of its own hand's joints (the mean hand's skin
            # lies up to 5 cm from its nearest joint)
            nearest = np.linalg.norm(vertices[:, None] - joints[None], axis=-1).min(axis=1)
            assert nearest.max() < 0.06
        assert wait_for(lambda: graph.markers)
        markers = graph.markers[-1].markers
        assert markers[0].action == Marker.DELETEALL
        assert [(m.type, m.id, m.header) for m in markers[1:]] == [
            (Marker.TRIANGLE_LIST, 3, sent.header),
            (Marker.TRIANGLE_LIST, 7, sent.header),
        ]
        assert len(markers[1].points) == 3 * len(received.meshes[0].mesh.triangles)
        assert wait_for(lambda: graph.node.stats.snapshot().count == 1)  # recorded after
        snapshot = graph.node.stats.snapshot()
        assert (snapshot.received, snapshot.drops) == (1, {})
    finally:
        graph.close()


def test_hands_that_cannot_be_meshed_are_counted_drops_and_an_empty_array_is_empty(checkpoint):
    graph = Graph(checkpoint)
    try:
        left, right = relaxed_hands()
        nan = _hand(right, track_id=1)
        nan.joints[8].x = float("nan")
        collinear = np.c_[np.linspace(0, 0.18, 21), np.zeros(21), np.full(21, 0.5)]
        giant = (right - right[0]) * 10.0 + right[0]  # a hand ~2 m long
        hands = [
            nan,
            _hand(collinear, track_id=2),
            _hand(giant, track_id=3),
            _hand(left, "left", 4),
        ]
        received = graph.send(_array(1, hands))
        assert [m.id for m in received.meshes] == [4]
        for mesh in received.meshes:
            assert np.isfinite(msg_to_mesh(mesh.mesh)[0]).all()
        assert graph.node.stats.snapshot().result_drops == {
            "non_finite_keypoints": 1,
            "degenerate_bones": 1,
            "implausible_scale": 1,
        }
        assert wait_for(lambda: len(graph.log_lines(Log.WARN)) == 3)
        warnings = graph.log_lines(Log.WARN)
        for reason, hand in (
            ("non_finite_keypoints", 1),
            ("degenerate_bones", 2),
            ("implausible_scale", 3),
        ):
            assert any(reason in line and f"hand {hand}" in line for line in warnings), warnings

        # the same faults again within WARN_PERIOD_S: counted, not logged again
        graph.send(_array(2, hands))
        assert graph.node.stats.snapshot().result_drops["non_finite_keypoints"] == 2
        assert len(graph.log_lines(Log.WARN)) == 3

        empty = graph.send(_array(3, []))
        assert empty.meshes == [] and empty.header == _array(3, []).header
        assert wait_for(lambda: graph.node.stats.snapshot().count == 3)
        snapshot = graph.node.stats.snapshot()
        assert (snapshot.received, snapshot.drops) == (3, {})
        assert graph.node.is_active and not graph.log_lines(Log.ERROR)
    finally:
        graph.close()


def test_an_array_replaced_while_the_node_is_busy_is_superseded_not_queued(checkpoint):
    graph = Graph(checkpoint)
    release, busy = threading.Event(), threading.Event()
    try:
        pipeline = graph.node.pipeline
        process = pipeline.process

        def slow(hands):
            busy.set()
            release.wait(10)
            return process(hands)

        pipeline.process = slow
        right = relaxed_hands()[1]
        graph.hands.publish(_array(1, [_hand(right)]))
        assert busy.wait(10)
        for sec in (2, 3):  # both arrive while the first is meshed: 2 is replaced by 3
            graph.hands.publish(_array(sec, [_hand(right)]))
            assert wait_for(lambda sec=sec: graph.node.stats.snapshot().received == sec)
        release.set()
        assert wait_for(lambda: graph.at(3), 30)
        assert graph.at(1) is not None and graph.at(2) is None
        assert wait_for(lambda: graph.node.stats.snapshot().count == 2)
        assert graph.node.stats.snapshot().drops == {"superseded": 1}
    finally:
        release.set()
        graph.close()


def test_max_rate_meshes_the_newest_array_no_sooner_than_its_period(checkpoint):
    graph = Graph(checkpoint, max_rate=0.5)  # one array every 2 s at most
    try:
        right = relaxed_hands()[1]
        graph.send(_array(1, [_hand(right)]))
        first = time.monotonic()
        for sec in (2, 3, 4, 5):  # within the 2 s: each replaces the one before
            graph.hands.publish(_array(sec, [_hand(right)]))
            assert wait_for(lambda sec=sec: graph.node.stats.snapshot().received == sec)
        assert time.monotonic() - first < 1.5, "too slow to test the period on this machine"
        assert graph.at(2) is None and graph.at(3) is None and graph.at(4) is None
        assert wait_for(lambda: graph.at(5))  # the newest once the period was over
        assert time.monotonic() - first >= 1.5  # 2 s after the first started, less its meshing
        assert graph.node.stats.snapshot().drops == {"superseded": 3}
    finally:
        graph.close()


def test_mesh_markers_outlive_the_time_between_arrays():
    assert marker_lifetime(None) == 0.5  # the first array
    assert marker_lifetime(0.05) == 0.5  # 20 Hz: the next array's DELETEALL replaces them
    assert marker_lifetime(1.5) == 3.0  # a slow node's meshes do not blink out between arrays
    assert marker_lifetime(600.0) == 10.0  # and vanish within seconds once arrays stop


def test_an_unset_stamp_is_a_counted_drop(checkpoint):
    graph = Graph(checkpoint)
    try:
        unset = _array(0, [_hand(relaxed_hands()[1])])
        unset.header.stamp.nanosec = 0
        graph.hands.publish(unset)
        assert wait_for(lambda: graph.node.stats.snapshot().drops.get("bad_stamp") == 1)
        graph.send(_array(1, []))  # and the node goes on
    finally:
        graph.close()


def _unconfigured(node) -> bool:
    return node._state_machine.current_state[0] == State.PRIMARY_STATE_UNCONFIGURED


def test_bad_parameters_are_refused_at_configure_and_the_node_lives(checkpoint):
    graph = Graph(checkpoint, autostart=False, resolution=32, coarse_resolution=64)
    try:
        node = graph.node
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert _unconfigured(node)
        assert wait_for(lambda: graph.log_lines(Log.ERROR))
        assert "coarse_resolution" in graph.log_lines(Log.ERROR)[-1]
        (result,) = node.set_parameters([Parameter("resolution", value=1000)])
        assert not result.successful  # outside 16..256: refused by the parameter server
        node.set_parameters([Parameter("coarse_resolution", value=16)])
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    finally:
        graph.close()


def test_a_missing_checkpoint_fails_configure_with_the_training_command(tmp_path):
    graph = Graph(str(tmp_path / "missing.pt"), autostart=False)
    try:
        assert graph.node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert _unconfigured(graph.node)
        assert wait_for(lambda: graph.log_lines(Log.ERROR))
        assert "handperception train halo --config" in graph.log_lines(Log.ERROR)[-1]
    finally:
        graph.close()

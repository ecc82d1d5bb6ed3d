"""The hand-mesh node fed hostile HandArrays (it takes hands, not images, so the image fuzzing
of test_fuzz_image_nodes.py does not reach it): hands with NaN or infinite joints, bones of zero
length or all in a line, hands from a micrometre to a kilometre across, far away or behind the
camera, handedness values no enum has, NaN scores, up to eight hands in one array, stamps
unset or from the future. It never raises or stops, never publishes a NaN vertex or a face
pointing past its vertices, publishes every array it processed with its header, and accounts for
every hand: a mesh or one drop by a named reason; every array: processed or dropped by reason.

The model is one whose surface is a hand (``halo_fixtures``), so the hands HALO accepts,
in any pose, size and place, are meshed and their meshes checked. Small grids keep a hundred
inputs to seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from halo_fixtures import halo_checkpoint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosutil import RosHarness, wait_for
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from handperception.msgconv.results import hand_to_msg, msg_to_mesh
from handperception.results import HandEstimate
from handperception.ros.nodes.hand_mesh import HandMeshNode
from handperception.ros.qos import results_qos
from handperception.skeleton.kinematics import HandParameters
from handperception_msgs.msg import HandArray, HandMeshArray

pytestmark = pytest.mark.ros

EXAMPLES = 100
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
HOSTILE = (math.nan, math.inf, -math.inf, 0.0, -1.0, 1e-300, 1e300)
SCALES = (1.0, 1.0, 0.6, 2.0, 1e-6, 1e-2, 10.0, 1e3)
HAND = HandParameters(
    pose=np.zeros((1, 15, 3)),
    shape=np.ones((1, 21)),
    global_rotation=np.eye(3)[None],
    translation=np.zeros((1, 3)),
    is_left=np.array([False]),
).keypoints()[0]


@st.composite
def joint_sets(draw) -> np.ndarray:
    """(21, 3) joints: a real hand moved, turned and scaled, or one broken in a single way."""
    kind = draw(st.sampled_from(("hand", "hand", "nan", "same_point", "collinear", "random")))
    position = np.array(
        [draw(st.floats(-2, 2)), draw(st.floats(-2, 2)), draw(st.floats(-1, 30))], dtype=float
    )
    if kind == "same_point":
        return np.tile(position, (21, 1))
    if kind == "collinear":
        direction = np.array([draw(st.floats(-1, 1)) for _ in range(3)]) + [1e-3, 0, 0]
        return position + np.linspace(0, 0.2, 21)[:, None] * direction
    if kind == "random":
        return np.array(draw(st.lists(st.floats(-1e6, 1e6), min_size=63, max_size=63))).reshape(
            21, 3
        )
    angle = draw(st.floats(-math.pi, math.pi))
    turn = np.array(
        [[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0], [0, 0, 1]]
    )
    joints = HAND @ turn.T * draw(st.sampled_from(SCALES)) + position
    if kind == "nan":
        joints[draw(st.integers(0, 20)), draw(st.integers(0, 2))] = draw(st.sampled_from(HOSTILE))
    return joints


@st.composite
def hand_arrays(draw) -> HandArray:
    hands = []
    for joints in draw(st.lists(joint_sets(), max_size=8)):
        hand = hand_to_msg(
            HandEstimate(
                joints_3d=np.nan_to_num(joints),  # what a HandEstimate holds; NaNs set below
                joints_2d=np.zeros((21, 2)),
                joint_confidence=np.ones(21),
                track_id=draw(st.integers(0, 2**32 - 1)),
            )
        )
        for point, xyz in zip(hand.joints, joints.tolist(), strict=True):
            point.x, point.y, point.z = xyz
        hand.handedness = draw(st.sampled_from((0, 1, 2, 2, 7, 255)))
        hand.score = draw(st.sampled_from((0.9, 0.9, math.nan, -3.0)))
        hands.append(hand)
    header = Header(frame_id=draw(st.sampled_from(("camera_optical_frame", "", "/x"))))
    return HandArray(header=header, hands=hands)


class Campaign:
    def __init__(self):
        self.ros = RosHarness()
        parameters = {
            "checkpoint": str(halo_checkpoint()),
            "resolution": 16,
            "coarse_resolution": 8,
            "max_hands": 10,
        }
        self.node = self.ros.add(
            HandMeshNode(
                context=self.ros.context,
                namespace="/fuzz",
                parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()],
            )
        )
        probe = self.ros.add(Node("fuzz_probe", context=self.ros.context))
        self.published: dict[int, HandMeshArray] = {}
        probe.create_subscription(
            HandMeshArray,
            "/fuzz/hand_meshes",
            lambda m: self.published.__setitem__(m.header.stamp.nanosec, m),
            results_qos(),
        )
        self.markers: list[MarkerArray] = []  # a listener, so the node builds its markers too
        probe.create_subscription(
            MarkerArray, "/fuzz/hand_mesh/markers", self.markers.append, results_qos()
        )
        self.hands = probe.create_publisher(HandArray, "/fuzz/hands", results_qos())
        self.sent = self.hands_sent = 0
        self.problems: list[str] = []
        assert wait_for(lambda: self.node.is_active and self.hands.get_subscription_count(), 30)

    def feed(self, array: HandArray, bad_stamp: bool) -> None:
        """Send one array and wait until the node has settled it (published or dropped)."""
        self.sent += 1
        now = self.node.get_clock().now().to_msg()
        array.header.stamp.nanosec = self.sent  # the key its meshes come back under
        array.header.stamp.sec = now.sec
        if bad_stamp:  # an hour ahead of the node's clock, or unset
            array.header.stamp.sec = now.sec + 3600 if self.sent % 2 else 0
            array.header.stamp.nanosec = 0 if self.sent % 2 == 0 else self.sent
        before = self.node.stats.snapshot()
        self.hands.publish(array)
        settled = wait_for(
            lambda: (
                self.sent in self.published or self.node.stats.snapshot().dropped > before.dropped
            ),
            30,
        )
        if not settled:
            self.problems.append(f"array {self.sent} ({len(array.hands)} hands) never settled")
            return
        if bad_stamp:
            return
        self.hands_sent += len(array.hands)
        meshes = self.published[self.sent]
        if meshes.header.frame_id != array.header.frame_id:
            self.problems.append(f"array {self.sent}: header {meshes.header}")
        for mesh in meshes.meshes:
            vertices, faces = msg_to_mesh(mesh.mesh)
            if not np.isfinite(vertices).all() or not len(faces) or faces.max() >= len(vertices):
                self.problems.append(f"array {self.sent}: hand {mesh.id} has a bad mesh")

    def close(self):
        self.ros.close()


@pytest.fixture(scope="module")
def campaign():
    fuzzed = Campaign()
    try:

        @FUZZ
        @given(hand_arrays(), st.sampled_from((False, False, False, False, True)))
        def feed(array, bad_stamp):
            fuzzed.feed(array, bad_stamp)

        feed()
        yield fuzzed
    finally:
        fuzzed.close()


def test_never_raises_stops_or_publishes_a_bad_mesh(campaign):
    assert not campaign.problems, campaign.problems[:5]
    assert campaign.node.is_active and campaign.markers
    snapshot = campaign.node.stats.snapshot()
    assert "exception" not in snapshot.drops, snapshot.drops


def test_every_array_and_every_hand_is_accounted_for(campaign):
    def settled():
        snapshot = campaign.node.stats.snapshot()
        return snapshot.count + snapshot.dropped == campaign.sent

    assert wait_for(settled)
    snapshot = campaign.node.stats.snapshot()
    assert snapshot.received == campaign.sent
    assert set(snapshot.drops) <= {"bad_stamp"}, snapshot.drops  # nothing superseded: one at a time
    meshed = sum(len(m.meshes) for m in campaign.published.values())
    assert meshed + sum(snapshot.result_drops.values()) == campaign.hands_sent
    named = {
        "non_finite_keypoints",
        "degenerate_bones",
        "implausible_scale",
        "invalid_hand",
        "too_many_hands",
        "empty_mesh",
        "bad_mesh",
    }
    assert set(snapshot.result_drops) <= named, snapshot.result_drops
    print(
        f"\nhand_mesh: {campaign.sent} arrays, {campaign.hands_sent} hands, {meshed} meshed, "
        f"drops {snapshot.drops}, hands dropped {snapshot.result_drops}"
    )

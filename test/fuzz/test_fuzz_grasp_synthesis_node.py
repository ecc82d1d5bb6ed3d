"""The grasp-synthesis node fed hostile SynthesizeGrasps requests and TabletopObjectArrays (it
takes meshes, not images, so the image fuzzing of test_fuzz_image_nodes.py does not reach it).
Meshes: empty, fewer than 4 vertices, a NaN, infinite or 1e300 vertex, a kilometre across, flat,
all in one spot, with a hole, turned inside out, faces pointing past the vertices (up to
2^32 - 1); requests for 0, 65, 10^6 or 2^32 - 1 grasps, handedness values no enum has, poses
with a zero, NaN or unnormalised quaternion or a position infinite, NaN or 1e300 m away;
arrays of up to three such objects, stamped unset or from the future. It never raises or
stops; a request is answered with success = false and a message, or with at most the requested
number of proposals, every number finite and every score in [0, 1], in the request's frame;
every array taken is processed or dropped by reason, and every object in a processed array
gets a GraspProposalArray or is a ``bad_mesh`` drop.

The behaviour under test does not depend on refinement, so the node runs without it (0 steps)
and with coarse marker hands, which keeps a campaign to seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, PoseStamped
from grasp_fixtures import grasp_checkpoint
from halo_fixtures import halo_checkpoint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosutil import RosHarness, wait_for
from shape_msgs.msg import Mesh, MeshTriangle
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from handperception.msgconv.results import msg_to_grasp
from handperception.ros.nodes.grasp_synthesis import GraspSynthesisNode
from handperception.ros.qos import results_qos
from handperception_msgs.msg import GraspProposalArray, TabletopObject, TabletopObjectArray
from handperception_msgs.srv import SynthesizeGrasps

pytestmark = pytest.mark.ros

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
NS = "/fuzz_grasps"
FRAME_ID = "table"
HOSTILE = (math.nan, math.inf, -math.inf, 1e300, -1e300)
UINT32_MAX = 2**32 - 1
PARAMETERS = {
    "refinement_steps": 0,
    "num_grasps": 2,
    "propose_for_detected": True,
    "mesh_resolution": 16,
    "marker_grasps": 1,
}
BOX = trimesh.creation.box((0.05, 0.06, 0.1))
SPHERE = trimesh.creation.icosphere(1, 0.04)


def _mesh(vertices, faces) -> Mesh:
    """A Mesh message of any vertices and faces, hostile ones included (mesh_to_msg refuses
    what the node must be shown)."""
    return Mesh(
        vertices=[Point(x=x, y=y, z=z) for x, y, z in np.asarray(vertices, dtype=float).tolist()],
        triangles=[MeshTriangle(vertex_indices=[int(i) for i in face]) for face in faces],
    )


BROKEN_MESHES = (
    "empty", "three", "hostile", "huge", "flat", "spot", "hole", "inside_out", "past_vertices"
)  # fmt: skip


@st.composite
def meshes(draw, broken: bool) -> tuple[Mesh, str]:
    """A box or a sphere somewhere near the origin, or one broken in a single way; what, in
    words."""
    kind = draw(st.sampled_from(BROKEN_MESHES)) if broken else "solid"
    solid = draw(st.sampled_from((BOX, SPHERE)))
    vertices = np.array(solid.vertices) + [draw(st.floats(-0.5, 0.5)) for _ in range(3)]
    faces = np.array(solid.faces)
    if kind == "empty":
        vertices, faces = np.zeros((0, 3)), np.zeros((0, 3), dtype=int)
    elif kind == "three":
        vertices, faces = vertices[:3], np.array([[0, 1, 2]])
    elif kind == "hostile":
        vertices[draw(st.integers(0, len(vertices) - 1)), draw(st.integers(0, 2))] = draw(
            st.sampled_from(HOSTILE)
        )
    elif kind == "huge":
        vertices = vertices * draw(st.sampled_from((1e3, 1e7)))
    elif kind == "flat":
        vertices[:, 2] = 0.0
    elif kind == "spot":
        vertices[:] = vertices[0]
    elif kind == "hole":
        faces = faces[:-1]
    elif kind == "inside_out":
        faces = faces[:, ::-1]
    elif kind == "past_vertices":
        faces = faces.copy()
        faces[draw(st.integers(0, len(faces) - 1)), 0] = draw(
            st.sampled_from((len(vertices), len(vertices) + 5, UINT32_MAX))
        )
    return _mesh(vertices, faces), kind


@st.composite
def poses(draw, broken: bool) -> tuple[PoseStamped, str]:
    """A pose turning nothing or a quarter turn about z (unnormalised), or a hostile one: a zero
    or NaN quaternion, a position infinite, NaN or 1e300 m away; what, in words."""
    kind = draw(st.sampled_from(("zero", "nan", "far") if broken else ("unit", "unnormalised")))
    pose = PoseStamped(header=Header(frame_id=FRAME_ID))
    pose.header.stamp.sec = 42
    position = pose.pose.position
    position.x, position.y, position.z = 0.5, -0.2, 0.1
    q = pose.pose.orientation
    q.w, q.x, q.y, q.z = {
        "unnormalised": (2.0, 0.0, 0.0, 2.0),
        "zero": (0.0, 0.0, 0.0, 0.0),
        "nan": (math.nan, 0.0, 0.0, 1.0),
    }.get(kind, (1.0, 0.0, 0.0, 0.0))
    if kind == "far":
        position.x = draw(st.sampled_from((math.inf, math.nan, 1e300)))
    return pose, kind


@st.composite
def requests(draw) -> tuple[SynthesizeGrasps.Request, str]:
    """A request well-formed in a third, else wrong in its mesh (most often), pose, count or
    handedness; what, in words."""
    fault = draw(st.sampled_from(("none",) * 3 + ("mesh",) * 3 + ("pose", "count", "handedness")))
    (mesh, mesh_kind), (pose, pose_kind) = (
        draw(meshes(fault == "mesh")),
        draw(poses(fault == "pose")),
    )
    count = draw(st.sampled_from((0, 65, 10**6, UINT32_MAX) if fault == "count" else (1, 2, 3)))
    handedness = draw(st.sampled_from((3, 255) if fault == "handedness" else (0, 1, 2)))
    request = SynthesizeGrasps.Request(
        object_id=draw(st.sampled_from(("mug", "", "ü" * 300))),
        object_mesh=mesh,
        object_pose=pose,
        num_grasps=count,
        handedness=handedness,
    )
    return request, f"{mesh_kind} mesh, {pose_kind} pose, {count} grasps, handedness {handedness}"


@st.composite
def object_arrays(draw) -> tuple[TabletopObjectArray, bool, list[str]]:
    """An array of 0-3 objects, half of them with a broken mesh or pose (the node takes the
    meshes in the array's frame and leaves the poses be); whether its stamp is bad."""
    objects = []
    for index in range(draw(st.integers(0, 3))):
        mesh, _ = draw(meshes(draw(st.booleans())))
        pose, _ = draw(poses(draw(st.booleans())))
        objects.append(TabletopObject(id=str(index), mesh=mesh, pose=pose.pose))
    bad_stamp = draw(st.sampled_from((False, False, False, True)))
    return TabletopObjectArray(objects=objects), bad_stamp, [o.id for o in objects]


def proposal_problem(grasps: GraspProposalArray, most: int) -> str | None:
    """What is wrong with an array of proposals, asked for at most ``most``; None: nothing."""
    if len(grasps.grasps) > most:
        return f"{len(grasps.grasps)} proposals for {most} asked"
    scores = [g.score for g in grasps.grasps]
    if scores != sorted(scores, reverse=True):
        return f"not best first: {scores}"
    for proposal in grasps.grasps:
        grasp = msg_to_grasp(proposal)
        wrist = proposal.wrist_pose
        numbers = [
            grasp.score,
            grasp.penetration_depth,
            grasp.penetration_volume,
            grasp.contact_ratio,
            *(getattr(wrist.position, a) for a in "xyz"),
            *(getattr(wrist.orientation, a) for a in "xyzw"),
        ]
        if not (np.isfinite(grasp.joints).all() and np.isfinite(numbers).all()):
            return f"a NaN or infinite number: {proposal}"
        if not 0.0 <= grasp.score <= 1.0 or not 0.0 <= grasp.contact_ratio <= 1.0:
            return f"score {grasp.score}, contact ratio {grasp.contact_ratio} outside [0, 1]"
    return None


class Campaign:
    def __init__(self):
        self.ros = RosHarness()
        parameters = {
            "vae_checkpoint": str(grasp_checkpoint()),
            "halo_checkpoint": str(halo_checkpoint()),
            **PARAMETERS,
        }
        self.node = self.ros.add(
            GraspSynthesisNode(
                context=self.ros.context,
                namespace=NS,
                parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()],
            )
        )
        probe = self.ros.add(Node("fuzz_probe", context=self.ros.context))
        self.client = probe.create_client(SynthesizeGrasps, f"{NS}/synthesize_grasps")
        self.published: list[GraspProposalArray] = []
        probe.create_subscription(
            GraspProposalArray, f"{NS}/grasps", self.published.append, results_qos()
        )
        self.markers: list[MarkerArray] = []  # a listener, so the node builds its markers too
        probe.create_subscription(
            MarkerArray, f"{NS}/grasp_synthesis/markers", self.markers.append, results_qos()
        )
        self.objects = probe.create_publisher(TabletopObjectArray, f"{NS}/objects", results_qos())
        assert wait_for(lambda: self.node.is_active and self.objects.get_subscription_count(), 60)
        assert self.client.wait_for_service(timeout_sec=30)
        self.requests = self.served = 0
        self.arrays = 0  # arrays sent
        self.objects_sent = 0  # objects in the arrays sent with a good stamp
        self.ids_sent: list[str] = []
        self.problems: list[str] = []

    def ask(self, request: SynthesizeGrasps.Request, label: str) -> None:
        """One request, answered within a minute, checked."""
        self.requests += 1
        future = self.client.call_async(request)
        if not wait_for(future.done, 60):
            self.problems.append(f"{label}: never answered")
            return
        response = future.result()
        if not response.success:
            if not response.message.strip() or response.grasps.grasps:
                self.problems.append(f"{label}: refused without a reason, or with grasps")
            return
        self.served += 1
        problem = proposal_problem(response.grasps, request.num_grasps)
        if problem or not response.grasps.grasps:
            self.problems.append(f"{label}: {problem or 'success without a proposal'}")
        if response.grasps.header.frame_id != FRAME_ID:
            self.problems.append(f"{label}: proposals in {response.grasps.header.frame_id!r}")

    def feed(self, array: TabletopObjectArray, bad_stamp: bool, ids: list[str]) -> None:
        """Send one array and wait until the node has settled it (processed or dropped)."""
        self.arrays += 1
        array.header = Header(frame_id="camera_optical_frame")
        array.header.stamp = self.node.get_clock().now().to_msg()
        if bad_stamp:  # an hour ahead of the node's clock, or unset
            if self.arrays % 2:
                array.header.stamp.sec += 3600
            else:
                array.header.stamp = Time()
        else:
            self.objects_sent += len(ids)
            self.ids_sent += ids
        before = self.node.stats.snapshot()
        self.objects.publish(array)
        if not wait_for(
            lambda: (
                self._settled() > before.count + before.dropped
                and len(self.published) + self._bad_meshes() == self.objects_sent
            ),
            60,
        ):
            self.problems.append(f"array {self.arrays} ({len(ids)} objects) never settled")

    def _settled(self) -> int:
        snapshot = self.node.stats.snapshot()
        return snapshot.count + snapshot.dropped

    def _bad_meshes(self) -> int:
        return self.node.stats.snapshot().result_drops.get("bad_mesh", 0)

    def close(self):
        self.ros.close()


@pytest.fixture(scope="module")
def campaign():
    fuzzed = Campaign()
    try:

        @FUZZ
        @given(requests())
        def ask(drawn):
            fuzzed.ask(*drawn)

        @FUZZ
        @given(object_arrays())
        def feed(drawn):
            fuzzed.feed(*drawn)

        ask()
        feed()
        yield fuzzed
    finally:
        fuzzed.close()


def test_never_raises_stops_or_answers_a_bad_proposal(campaign):
    assert not campaign.problems, campaign.problems[:5]
    assert campaign.node.is_active
    assert campaign.served and campaign.markers, "no request was served: nothing was checked"
    snapshot = campaign.node.stats.snapshot()
    assert "exception" not in snapshot.drops, snapshot.drops
    for grasps in campaign.published:
        problem = proposal_problem(grasps, PARAMETERS["num_grasps"])
        assert problem is None, f"object {grasps.object_id}: {problem}"
        assert grasps.header.frame_id == "camera_optical_frame"


def test_every_request_array_and_object_is_accounted_for(campaign):
    snapshot = campaign.node.stats.snapshot()
    assert snapshot.received == campaign.requests + campaign.arrays
    # one at a time, so nothing superseded; a refused request is a bad_request (one the
    # generator had no grasp for is answered success = false too, but processed)
    assert set(snapshot.drops) <= {"bad_request", "bad_stamp"}, snapshot.drops
    assert snapshot.drops.get("bad_request", 0) <= campaign.requests - campaign.served
    assert snapshot.count + snapshot.dropped == snapshot.received
    assert set(snapshot.result_drops) <= {"bad_mesh"}, snapshot.result_drops
    assert len(campaign.published) + snapshot.result_drops.get("bad_mesh", 0) == (
        campaign.objects_sent
    )
    assert {g.object_id for g in campaign.published} <= set(campaign.ids_sent)
    print(
        f"\ngrasp_synthesis: {campaign.requests} requests, {campaign.served} served; "
        f"{campaign.arrays} arrays, {campaign.objects_sent} objects, {len(campaign.published)} "
        f"with proposals; drops {snapshot.drops}, objects dropped {snapshot.result_drops}"
    )

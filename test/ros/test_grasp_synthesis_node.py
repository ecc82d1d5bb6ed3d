"""The grasp-synthesis node: a SynthesizeGrasps request from another node is answered with the
requested number of proposals, best first, in the object pose's frame, and hand markers; a bad
request (0 or 10^6 grasps, a NaN vertex, an empty mesh, a zero quaternion) gets success = false
with the reason and the node serves on; with propose_for_detected, a TabletopObjectArray gives
one GraspProposalArray per graspable object with the array's header, and a broken object mesh
is a counted drop."""

import math
import re

import numpy as np
import pytest
import trimesh
from geometry_msgs.msg import PoseStamped
from grasp_fixtures import grasp_checkpoint
from halo_fixtures import halo_checkpoint
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosutil import RosHarness, wait_for
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from handperception.msgconv.results import mesh_to_msg, msg_to_grasp
from handperception.ros.nodes.grasp_synthesis import GraspSynthesisNode
from handperception.ros.qos import results_qos
from handperception_msgs.msg import (
    GraspProposalArray,
    Hand,
    TabletopObject,
    TabletopObjectArray,
)
from handperception_msgs.srv import SynthesizeGrasps

NS = "/grasping"
# Few refinement steps and coarse marker hands: these tests are about the node.
PARAMETERS = {
    "refinement_steps": 2,
    "num_grasps": 2,
    "propose_for_detected": True,
    "mesh_resolution": 16,
    "marker_grasps": 1,
}


class Graph:
    """The node, and a probe with a service client, an objects publisher and collectors."""

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
        probe = self.ros.add(Node("grasp_probe", context=self.ros.context))
        self.client = probe.create_client(SynthesizeGrasps, f"{NS}/synthesize_grasps")
        self.grasps, self.markers = [], []
        probe.create_subscription(
            GraspProposalArray, f"{NS}/grasps", self.grasps.append, results_qos()
        )
        probe.create_subscription(
            MarkerArray, f"{NS}/grasp_synthesis/markers", self.markers.append, results_qos()
        )
        self.objects = probe.create_publisher(TabletopObjectArray, f"{NS}/objects", results_qos())
        assert wait_for(lambda: self.node.is_active, 60)
        assert self.client.wait_for_service(timeout_sec=30)

    def call(self, request) -> SynthesizeGrasps.Response:
        future = self.client.call_async(request)
        assert wait_for(future.done, 60)
        return future.result()


@pytest.fixture(scope="module")
def graph():
    made = Graph()
    yield made
    made.ros.close()


def _sphere_msg():
    sphere = trimesh.creation.icosphere(2, 0.04)
    return mesh_to_msg(sphere.vertices, sphere.faces)


def _request(num_grasps=3, mesh=None, handedness=Hand.RIGHT, quaternion=None):
    pose = PoseStamped(header=Header(frame_id="table"))
    pose.header.stamp.sec = 42
    pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = 0.5, -0.2, 0.1
    # a quarter turn about z: the proposals must come back turned and moved with the object
    w, z = quaternion or (math.cos(math.pi / 4), math.sin(math.pi / 4))
    pose.pose.orientation.w, pose.pose.orientation.z = w, z
    return SynthesizeGrasps.Request(
        object_id="ball",
        object_mesh=mesh or _sphere_msg(),
        object_pose=pose,
        num_grasps=num_grasps,
        handedness=handedness,
    )


def test_a_request_returns_the_proposals_best_first_in_the_pose_frame(graph):
    assert wait_for(lambda: graph.node._markers_pub.get_subscription_count() == 1)
    response = graph.call(_request(3))
    assert response.success, response.message
    assert response.grasps.header.frame_id == "table" and response.grasps.header.stamp.sec == 42
    assert response.grasps.object_id == "ball" and len(response.grasps.grasps) == 3
    scores = [g.score for g in response.grasps.grasps]
    assert scores == sorted(scores, reverse=True)
    for proposal in response.grasps.grasps:
        assert proposal.handedness == Hand.RIGHT
        joints = msg_to_grasp(proposal).joints
        assert np.isfinite(joints).all()
        assert np.linalg.norm(joints - [0.5, -0.2, 0.1], axis=1).max() < 0.15
        wrist = proposal.wrist_pose.position
        assert np.allclose([wrist.x, wrist.y, wrist.z], joints[0], atol=1e-6)
    assert wait_for(lambda: graph.markers)
    hands = [m for m in graph.markers[-1].markers if m.action == Marker.ADD]
    assert len(hands) == 1 and hands[0].type == Marker.TRIANGLE_LIST
    assert hands[0].header.frame_id == "table" and hands[0].points


@pytest.mark.parametrize(
    "request_args, reason",
    [
        ({"num_grasps": 0}, r"1\.\.64"),
        ({"num_grasps": 10**6}, r"1\.\.64"),
        ({"mesh": mesh_to_msg(np.zeros((0, 3)), np.zeros((0, 3), dtype=int))}, "V >= 4"),
        ({"handedness": 9}, "handedness"),
        ({"quaternion": (0.0, 0.0)}, "zero quaternion"),
    ],
    ids=["zero", "a_million", "empty_mesh", "bad_handedness", "zero_quaternion"],
)
def test_a_bad_request_is_refused_with_its_reason_and_the_node_serves_on(
    graph, request_args, reason
):
    before = graph.node.stats.snapshot().drops.get("bad_request", 0)
    response = graph.call(_request(**request_args))
    assert not response.success and response.message
    assert re.search(reason, response.message), response.message
    assert not response.grasps.grasps and response.grasps.header.frame_id == "table"
    assert graph.node.stats.snapshot().drops.get("bad_request", 0) == before + 1
    assert graph.node.is_active


def test_a_nan_vertex_is_refused(graph):
    mesh = _sphere_msg()
    mesh.vertices[5].y = math.nan
    response = graph.call(_request(mesh=mesh))
    assert not response.success and "NaN" in response.message
    assert graph.call(_request(1)).success  # and it still serves


def test_detected_objects_get_proposals_with_the_source_header(graph):
    box = trimesh.creation.box((0.05, 0.06, 0.1)).apply_translation((0.1, 0.05, 0.6))
    good = TabletopObject(id="0", mesh=mesh_to_msg(box.vertices, box.faces))
    broken = TabletopObject(id="1", mesh=mesh_to_msg(box.vertices, box.faces[:-1]))  # a hole
    header = Header(frame_id="camera_optical_frame")
    header.stamp = graph.node.get_clock().now().to_msg()
    assert wait_for(lambda: graph.objects.get_subscription_count() == 1)
    graph.objects.publish(TabletopObjectArray(header=header, objects=[good, broken]))
    assert wait_for(lambda: graph.grasps, 60)
    published = graph.grasps[-1]
    assert published.header == header and published.object_id == "0"
    assert len(published.grasps) == PARAMETERS["num_grasps"]
    assert wait_for(lambda: graph.node.stats.snapshot().result_drops.get("bad_mesh") == 1)
    assert [a.object_id for a in graph.grasps] == ["0"]

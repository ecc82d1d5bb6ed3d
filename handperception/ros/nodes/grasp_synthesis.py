"""grasp_synthesis: grasp proposals for objects, from the grasp generator refined through HALO
(GraspSynthesisPipeline). A thin shell over the pipeline with two ways in:

- the ``synthesize_grasps`` service (handperception_msgs/SynthesizeGrasps): one object's closed
  mesh in its own frame and its pose; the proposals, best first, in the pose's header frame.
  A request it cannot serve (a mesh with a hole or a NaN vertex, 0 or 10^6 grasps, a zero
  quaternion) is answered with success = false and the reason, and counted, never a crash.
- with ``propose_for_detected``, every TabletopObjectArray on ``objects`` (tabletop_objects):
  ``num_grasps`` proposals for each object's closed mesh, published as one GraspProposalArray
  per object on ``grasps`` with the array's header and the object's id. A worker takes the
  newest array only (one replaced while it was busy is counted ``superseded``): proposing for
  a table of objects takes seconds, and grasps of a table as it was a minute ago are worthless.
  An object it cannot grasp is a result drop by its reason (``bad_mesh``).

The best proposals' hands are drawn as rviz TRIANGLE_LIST markers on ``~/markers`` (HALO's
surface, ``hand_mesh``'s conversion, red to green by score), built only while someone listens.

A service request runs on the executor thread that takes it (rclpy answers a request when its
callback returns): ~1.5 s for 10 proposals on a 2-core CPU, in a callback group of its own so
the node's subscription and diagnostics go on beside it when the executor has threads to
spare. The model calls are serialised (refinement toggles HALO's gradients).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import torch
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from visualization_msgs.msg import MarkerArray

from handperception.msgconv.markers import hand_mesh_markers
from handperception.msgconv.results import grasps_to_msg, msg_to_mesh
from handperception.msgconv.transforms import pose_to_rigid
from handperception.pipeline.grasp_synthesis import (
    COUNT_LIMITS,
    REFINEMENT_STEPS_LIMITS,
    GraspSynthesisConfig,
)
from handperception.pipeline.hand_mesh import (
    RESOLUTION_LIMITS,
    HandMeshConfig,
    HandMeshPipeline,
)
from handperception.pipeline.loading import load_grasp_synthesis_pipeline
from handperception.results import GraspEstimate, HandEstimate
from handperception.ros.entry import run_single_node
from handperception.ros.latest import NewestOnlyWorker
from handperception.ros.node_base import (
    WARN_PERIOD_S,
    Allowed,
    HandperceptionNode,
    ParametersRefused,
    one_of,
)
from handperception.ros.qos import results_qos
from handperception.ros.stamps import BAD_STAMP, stamp_problem
from handperception.runtime.device import resolve_device
from handperception_msgs.msg import GraspProposalArray, Hand, TabletopObjectArray
from handperception_msgs.srv import SynthesizeGrasps

BAD_REQUEST = "bad_request"  # a service request the pipeline refused (its ValueError says why)
BAD_MESH = "bad_mesh"  # a detected object whose mesh cannot be grasped (a hole, no volume, ...)
_HANDEDNESS = {Hand.LEFT: "left", Hand.RIGHT: "right", Hand.UNKNOWN: "unknown"}
# Marker meshes: coarse pass of this many cells per side (mesh_resolution is it times 2^k).
MARKER_COARSE_RESOLUTION = 8
MARKER_LIFETIME_S = 30.0  # proposals are asked for rarely: they stay until replaced or stale
_MARKERS_PER_OBJECT = 64  # marker ids: object k's proposals are k * this + rank


def score_rgb(score: float) -> tuple[float, float, float]:
    """Red (score 0) through yellow to green (score 1)."""
    score = float(np.clip(score, 0.0, 1.0))
    return min(1.0, 2.0 * (1.0 - score)), min(1.0, 2.0 * score), 0.1


def transformed(grasps: list[GraspEstimate], pose) -> list[GraspEstimate]:
    """The grasps (object frame) in the frame ``pose`` (geometry_msgs/Pose of the object frame)
    is given in: joints x' = R x + t, the rest unchanged."""
    rotation, translation = pose_to_rigid(pose)
    return [
        GraspEstimate(
            joints=grasp.joints @ rotation.T + translation,
            handedness=grasp.handedness,
            score=grasp.score,
            penetration_depth=grasp.penetration_depth,
            penetration_volume=grasp.penetration_volume,
            contact_ratio=grasp.contact_ratio,
        )
        for grasp in grasps
    ]


class GraspSynthesisNode(HandperceptionNode):
    def __init__(self, **kwargs):
        super().__init__("grasp_synthesis", **kwargs)
        defaults = GraspSynthesisConfig()
        self.declare(
            "vae_checkpoint",
            "checkpoints/grasp_tiny.pt",
            "grasp generator (GraspVAE) checkpoint (relative: from . or the package)",
        )
        self.declare(
            "halo_checkpoint",
            "checkpoints/halo_tiny.pt",
            "HALO checkpoint refinement and the markers use (relative: from . or the package)",
        )
        self.declare(
            "num_grasps",
            10,
            "proposals per detected object (propose_for_detected); a service request asks "
            "for its own number",
            Allowed(*COUNT_LIMITS),
        )
        self.declare(
            "handedness",
            "unknown",
            "hand of the proposals for detected objects (unknown: half right, half left)",
            one_of("left", "right", "unknown"),
        )
        self.declare(
            "refinement_steps",
            defaults.refinement_steps,
            "HALO refinement steps per request (0: the generator's raw samples, ranked; 20: "
            "the evaluated setting, ~1.5 s for 10 proposals on a 2-core CPU)",
            Allowed(*REFINEMENT_STEPS_LIMITS),
        )
        self.declare(
            "device",
            "cpu",
            "torch device of the generator (refinement and markers run on the CPU)",
            Allowed(pattern=r"auto|cpu|cuda(:[0-9]+)?"),
        )
        self.declare(
            "torch_threads",
            1,
            "CPU threads for torch, process-wide (0: torch's default; 1: measured 25x faster "
            "than 2 on a loaded 2-core CPU)",
            Allowed(0, 256),
        )
        self.declare(
            "propose_for_detected",
            False,
            "propose num_grasps for every object of each TabletopObjectArray on objects_topic",
        )
        self.declare("objects_topic", "objects", "input TabletopObjectArray topic (relative)")
        self.declare("grasps_topic", "grasps", "output GraspProposalArray topic, one per object")
        self.declare(
            "publish_markers",
            True,
            "publish the best proposals' hands as rviz TRIANGLE_LIST markers on ~/markers",
        )
        self.declare(
            "marker_grasps",
            3,
            "best proposals per object drawn as markers",
            Allowed(1, 10),
        )
        self.declare(
            "mesh_resolution",
            32,
            f"marching-cubes cells per side of a marker hand's cube ({MARKER_COARSE_RESOLUTION} "
            "times a power of two; 32: 7.5 mm cells, ~50 ms a hand)",
            Allowed(*RESOLUTION_LIMITS),
        )
        self.pipeline = None
        self._meshes: HandMeshPipeline | None = None
        self._model_lock = threading.Lock()
        self._worker = NewestOnlyWorker(self, self._handle_objects, "grasp_synthesis-objects")
        self._subscription = None
        self._service = None
        self._object_warned: dict[str, float] = {}

    # -- lifecycle ------------------------------------------------------------------------------
    def configure(self) -> None:
        p = self.params
        try:
            config = GraspSynthesisConfig(refinement_steps=p.refinement_steps)
            mesh_config = HandMeshConfig(
                resolution=p.mesh_resolution,
                coarse_resolution=MARKER_COARSE_RESOLUTION,
                max_hands=p.marker_grasps,
            )
        except ValueError as error:
            raise ParametersRefused(f"{error}. Set valid values and configure again.") from None
        device = resolve_device(p.device)
        if p.torch_threads > 0:
            torch.set_num_threads(p.torch_threads)
        self.pipeline = load_grasp_synthesis_pipeline(
            p.vae_checkpoint, p.halo_checkpoint, config, device
        )
        self._meshes = HandMeshPipeline(self.pipeline.halo, mesh_config)
        self._grasps_pub = self.create_lifecycle_publisher(
            GraspProposalArray, p.grasps_topic, results_qos()
        )
        self._markers_pub = self.create_lifecycle_publisher(MarkerArray, "~/markers", results_qos())
        self.get_logger().info(
            f"grasp_synthesis ready: generator {p.vae_checkpoint} on {device}, HALO "
            f"{p.halo_checkpoint}, {p.refinement_steps} refinement steps"
        )

    def activate(self) -> None:
        # Its own group: a request of seconds leaves the subscription and the diagnostics free.
        self._service = self.create_service(
            SynthesizeGrasps,
            "synthesize_grasps",
            self._on_request,
            callback_group=MutuallyExclusiveCallbackGroup(),
        )
        inputs = f"serving {self._service.srv_name}"
        if self.params.propose_for_detected:
            self._worker.start()
            # Depth 1: the middleware keeps the newest array for a busy node.
            self._subscription = self.create_subscription(
                TabletopObjectArray, self.params.objects_topic, self._on_objects, results_qos(1)
            )
            inputs += f"; proposing for the objects on {self._subscription.topic_name}"
        self.get_logger().info(inputs)

    def deactivate(self) -> None:
        if self._subscription is not None:
            self.destroy_subscription(self._subscription)
            self._subscription = None
        if self._service is not None:
            self.destroy_service(self._service)
            self._service = None
        self._worker.stop()

    def cleanup(self) -> None:
        self.pipeline = self._meshes = None

    def destroy_node(self):
        self._worker.stop()
        return super().destroy_node()

    # -- the service ----------------------------------------------------------------------------
    def _on_request(self, request, response):
        """Proposals for one object, or success = false and why; never raises (an exception
        out of a service callback would stop the executor)."""
        self.stats.receive()
        grasps = self.guarded(self._serve, request, response)
        if grasps is None:  # refused: counted and answered by _serve
            return response
        if isinstance(grasps, list):
            self.stats.record()
            return response
        response.success = False  # FAILED: the exception is logged and counted by guarded
        response.message = "internal error while proposing grasps; see the node's log"
        return response

    def _serve(self, request, response) -> list[GraspEstimate] | None:
        header = request.object_pose.header
        response.grasps = GraspProposalArray(header=header, object_id=request.object_id)
        try:
            if request.handedness not in _HANDEDNESS:
                raise ValueError(f"unknown handedness value {request.handedness}")
            pose = request.object_pose.pose
            pose_to_rigid(pose)  # refused before seconds of work
            vertices, faces = msg_to_mesh(request.object_mesh)
            grasps = self._propose(
                vertices, faces, int(request.num_grasps), _HANDEDNESS[request.handedness]
            )
        except ValueError as error:
            self.drop_input(BAD_REQUEST, f"object {request.object_id!r}: {error}")
            response.success, response.message = False, str(error)
            return None
        grasps = transformed(grasps, pose)
        response.grasps = grasps_to_msg(grasps, header, request.object_id)
        response.success = bool(grasps)
        response.message = (
            f"{len(grasps)} of {request.num_grasps} proposals, best score {grasps[0].score:.2f}"
            if grasps
            else "the generator gave no grasp HALO can take for this object"
        )
        self._publish_markers([grasps], header)
        return grasps

    def _propose(self, vertices, faces, count: int, handedness: str) -> list[GraspEstimate]:
        with self._model_lock:
            return self.pipeline.propose_for_mesh(vertices, faces, count, handedness)

    # -- detected objects -----------------------------------------------------------------------
    def _on_objects(self, msg: TabletopObjectArray) -> None:
        self.stats.receive()
        stamp = msg.header.stamp
        problem = stamp_problem(stamp, self.get_clock().now().nanoseconds)
        if problem:
            self.drop_input(
                BAD_STAMP,
                f"TabletopObjectArray stamped {stamp.sec} s {stamp.nanosec} ns: {problem}",
            )
            return
        self._worker.offer(msg)

    def _handle_objects(self, msg: TabletopObjectArray) -> None:
        """One GraspProposalArray per object that can be grasped, with the array's header (the
        meshes are in its frame); each other object a result drop by its reason."""
        p = self.params
        proposed = []
        for found in msg.objects:
            vertices, faces = msg_to_mesh(found.mesh)
            try:
                grasps = self._propose(vertices, faces, p.num_grasps, p.handedness)
            except ValueError as error:
                self._drop_object(BAD_MESH, f"object {found.id!r}: {error}")
                continue
            self._grasps_pub.publish(grasps_to_msg(grasps, msg.header, found.id))
            proposed.append(grasps)
        self._publish_markers(proposed, msg.header)

    def _drop_object(self, reason: str, detail: str) -> None:
        """One object of a processed array without proposals (``result_dropped.<reason>``),
        warned about at most once per reason every WARN_PERIOD_S."""
        self.stats.drop_result(reason)
        now = time.monotonic()
        if now - self._object_warned.get(reason, -WARN_PERIOD_S) < WARN_PERIOD_S:
            return
        self._object_warned[reason] = now
        self.get_logger().warning(f"no grasps ({reason}): {detail}")

    # -- markers --------------------------------------------------------------------------------
    def _publish_markers(self, proposals: list[list[GraspEstimate]], header) -> None:
        """The best ``marker_grasps`` hands of each object's proposals (best first), coloured
        by score; built only for a listener (a hand's surface costs ~50 ms)."""
        if not (self.params.publish_markers and self._markers_pub.get_subscription_count()):
            return
        pairs, colours = [], []
        for index, grasps in enumerate(proposals):
            hands = [
                HandEstimate(
                    joints_3d=grasp.joints,
                    joints_2d=np.zeros((21, 2)),
                    joint_confidence=np.ones(21),
                    handedness=grasp.handedness,
                    score=grasp.score,
                    track_id=index * _MARKERS_PER_OBJECT + rank,
                )
                for rank, grasp in enumerate(grasps[: self.params.marker_grasps])
            ]
            with self._model_lock:
                meshes, _ = self._meshes.process(hands)
            pairs += meshes
            colours += [score_rgb(hand.score) for hand, _ in meshes]
        self._markers_pub.publish(
            hand_mesh_markers(
                pairs, header, namespace="grasps", lifetime_s=MARKER_LIFETIME_S, colours=colours
            )
        )


def main(argv=None) -> int:
    return run_single_node(GraspSynthesisNode, argv)

"""hand_mesh: the surface of every tracked hand, from the hands a hand node publishes (HALO: an
occupancy field conditioned on the hand's 21 joints, meshed by marching cubes), as a
HandMeshArray with the source header and as rviz triangle-list markers. A thin shell over
HandMeshPipeline.

Not an image node: its input is a HandArray (``hand_pose``'s ``hands`` or ``two_hand_pose``'s
``two_hands``). It follows the image nodes' rules all the same: depth-1 input and a worker that
always takes the newest array (one replaced while the worker was busy is counted as
``superseded``, never queued, so a slow mesh never makes the meshes lag), the source header on
every output, and a hand it cannot mesh dropped and counted by its reason with one warning per
reason at most every WARN_PERIOD_S, never a crash and never a NaN vertex.
"""

from __future__ import annotations

import contextlib
import gc
import time

import numpy as np
import torch
from visualization_msgs.msg import MarkerArray

from handperception.models.halo import hand_keypoint_problem
from handperception.msgconv.markers import hand_mesh_markers
from handperception.msgconv.results import meshes_to_msg, msg_to_hand
from handperception.pipeline.hand_mesh import (
    COARSE_RESOLUTION_LIMITS,
    MAX_HANDS_LIMITS,
    RESOLUTION_LIMITS,
    HandMeshConfig,
)
from handperception.pipeline.loading import load_hand_mesh_pipeline
from handperception.ros.entry import run_single_node
from handperception.ros.latest import NewestOnlyWorker
from handperception.ros.node_base import (
    WARN_PERIOD_S,
    Allowed,
    HandperceptionNode,
    ParametersRefused,
)
from handperception.ros.qos import results_qos
from handperception.ros.stamps import BAD_STAMP, stamp_problem
from handperception.runtime.device import resolve_device
from handperception_msgs.msg import HandArray, HandMeshArray

INVALID_HAND = "invalid_hand"  # a Hand message no HandEstimate can hold (a NaN score, ...)
# A mesh marker lives twice the time between the node's last two arrays, within these bounds:
# the next array's DELETEALL replaces it while meshes keep coming, however slowly they are
# made, and it vanishes soon after they stop (the node stopped, or no hands arrive).
MARKER_LIFETIME_S = (0.5, 10.0)


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector off while an array's meshes are built and published.

    A mesh is tens of thousands of Python messages (a Point per vertex, a MeshTriangle per
    face, the markers' point lists): enough allocations to start a full collection of the
    whole process every few arrays, measured at 150-400 ms of CPU each at resolution 64-128,
    against 40-150 ms for the meshing itself. None of these objects forms a cycle, so reference
    counting frees them all when the array is done; the collector resumes after (as it was:
    left off if it was off).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def marker_lifetime(period_s: float | None) -> float:
    """Seconds a mesh marker lives, given the seconds between the last two arrays published
    (None: the first one)."""
    low, high = MARKER_LIFETIME_S
    return low if period_s is None else min(max(2.0 * period_s, low), high)


class HandMeshNode(HandperceptionNode):
    def __init__(self, **kwargs):
        super().__init__("hand_mesh", **kwargs)
        defaults = HandMeshConfig()
        self.declare(
            "hands_topic",
            "hands",
            "input HandArray topic (relative; two_hands for the two-hand node)",
        )
        self.declare("meshes_topic", "hand_meshes", "output HandMeshArray topic")
        self.declare(
            "checkpoint",
            "checkpoints/halo_tiny.pt",
            "HALO checkpoint (relative: from . or the package)",
        )
        self.declare("device", "auto", "torch device", Allowed(pattern=r"auto|cpu|cuda(:[0-9]+)?"))
        self.declare(
            "torch_threads", 0, "CPU threads for torch (0: torch's default)", Allowed(0, 256)
        )
        self.declare(
            "resolution",
            defaults.resolution,
            "marching-cubes cells per side of each hand's cube (48: 5 mm cells for the mean "
            "hand, one hand at >= 10 Hz with markers on a 2-core CPU, where messages cost as "
            "much as meshing and both grow as resolution^2; 64: 3.8 mm at ~7 Hz with markers; "
            "128: 1.9 mm, for a GPU); coarse_resolution times a power of two",
            Allowed(*RESOLUTION_LIMITS),
        )
        self.declare(
            "coarse_resolution",
            defaults.coarse_resolution,
            "cells per side of the coarse pass that finds the surface, refined by halving "
            "near it only (resolution = coarse_resolution times a power of two)",
            Allowed(*COARSE_RESOLUTION_LIMITS),
        )
        self.declare(
            "max_hands",
            defaults.max_hands,
            "most hands meshed per array",
            Allowed(*MAX_HANDS_LIMITS),
        )
        self.declare(
            "max_rate",
            0.0,
            "most arrays meshed per second, Hz (0: as many as it can); arrays in between are "
            "superseded by newer ones, which bounds the CPU the node takes",
            Allowed(0.0, 1000.0),
        )
        self.declare(
            "publish_markers",
            True,
            "publish each hand's surface as an rviz TRIANGLE_LIST marker on ~/markers",
        )
        self.pipeline = None
        self._subscription = None
        self._worker = NewestOnlyWorker(self, self._handle, "hand_mesh-hands")
        self._hand_warned: dict[str, float] = {}
        self._last_published: float | None = None  # time.monotonic() of the last meshes

    # -- lifecycle ------------------------------------------------------------------------------
    def configure(self) -> None:
        p = self.params
        try:
            config = HandMeshConfig(
                resolution=p.resolution,
                coarse_resolution=p.coarse_resolution,
                max_hands=p.max_hands,
            )
        except ValueError as error:
            raise ParametersRefused(f"{error}. Set valid values and configure again.") from None
        device = resolve_device(p.device)
        if p.torch_threads > 0:
            torch.set_num_threads(p.torch_threads)
        self.pipeline = load_hand_mesh_pipeline(p.checkpoint, config, device)
        self._meshes_pub = self.create_lifecycle_publisher(
            HandMeshArray, p.meshes_topic, results_qos()
        )
        self._markers_pub = self.create_lifecycle_publisher(MarkerArray, "~/markers", results_qos())
        self.get_logger().info(
            f"hand_mesh ready on {device}: {p.checkpoint}, resolution {p.resolution} "
            f"(coarse {p.coarse_resolution}); publishing {self._meshes_pub.topic_name}"
        )

    def activate(self) -> None:
        # With max_rate, arrays arriving within 1 / max_rate of the last start supersede each
        # other, so the one meshed next is the newest.
        max_rate = self.params.max_rate
        self._worker.start(1.0 / max_rate if max_rate > 0 else 0.0)
        # Depth 1 and reliable, as every results topic of this project is published: the
        # middleware keeps only the newest array for a busy node, and the worker takes the newest.
        self._subscription = self.create_subscription(
            HandArray, self.params.hands_topic, self._on_hands, results_qos(1)
        )
        self.get_logger().info(f"taking hands from {self._subscription.topic_name}")

    def deactivate(self) -> None:
        if self._subscription is not None:
            self.destroy_subscription(self._subscription)
            self._subscription = None
        self._worker.stop()

    def cleanup(self) -> None:
        self.pipeline = None

    def destroy_node(self):
        self._worker.stop()
        return super().destroy_node()

    # -- input ----------------------------------------------------------------------------------
    def _on_hands(self, msg: HandArray) -> None:
        """Every array taken ends as processed, superseded or dropped by its reason (``stats``)."""
        self.stats.receive()
        stamp = msg.header.stamp
        problem = stamp_problem(stamp, self.get_clock().now().nanoseconds)
        if problem:
            self.drop_input(
                BAD_STAMP, f"HandArray stamped {stamp.sec} s {stamp.nanosec} ns: {problem}"
            )
            return
        self._worker.offer(msg)

    # -- work -----------------------------------------------------------------------------------
    @collector_paused()
    def _handle(self, msg: HandArray) -> None:
        """Mesh every hand that can be, publish them all with the array's header (an empty
        array for no hands), and count each hand left out by its reason."""
        hands, drops = [], []
        for hand in msg.hands:
            joints = np.array([[p.x, p.y, p.z] for p in hand.joints], dtype=np.float64)
            problem = hand_keypoint_problem(joints)
            if problem is None:
                try:
                    hands.append(msg_to_hand(hand))
                except ValueError as error:
                    drops.append((INVALID_HAND, f"hand {hand.id}: {error}"))
            else:
                drops.append((problem, f"hand {hand.id}: {problem.replace('_', ' ')}"))
        meshes, reasons = self.pipeline.process(hands)
        meshed = {id(hand) for hand, _ in meshes}
        left_out = [hand for hand in hands if id(hand) not in meshed]
        drops += [
            (reason, f"hand {hand.track_id}: {reason.replace('_', ' ')}")
            for hand, reason in zip(left_out, reasons, strict=True)
        ]
        header = msg.header
        stamp = f"{header.stamp.sec}.{header.stamp.nanosec:09d}"
        for reason, detail in drops:  # counted before the meshes are out, as seen with them
            self._drop_hand(reason, f"{detail}, in the HandArray stamped {stamp} s")
        message = meshes_to_msg(meshes, header)
        self._meshes_pub.publish(message)
        now = time.monotonic()
        previous, self._last_published = self._last_published, now
        # Markers repeat every vertex of every triangle: built only for a listener.
        if self.params.publish_markers and self._markers_pub.get_subscription_count():
            points = [mesh.mesh.vertices for mesh in message.meshes]
            lifetime = marker_lifetime(None if previous is None else now - previous)
            self._markers_pub.publish(
                hand_mesh_markers(meshes, header, lifetime_s=lifetime, vertex_points=points)
            )

    def _drop_hand(self, reason: str, detail: str) -> None:
        """One hand of a processed array not meshed (``result_dropped.<reason>`` on
        /diagnostics), with one warning per reason at most every WARN_PERIOD_S."""
        self.stats.drop_result(reason)
        now = time.monotonic()
        if now - self._hand_warned.get(reason, -WARN_PERIOD_S) < WARN_PERIOD_S:
            return
        self._hand_warned[reason] = now
        self.get_logger().warning(f"hand not meshed ({reason}): {detail}")


def main(argv=None) -> int:
    return run_single_node(HandMeshNode, argv)

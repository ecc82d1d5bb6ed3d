"""camera_source, the graph's one producer, fed hostile parameter requests: each is refused with
a reason, or the node configures and publishes images that decode to the configured size with
a finite CameraInfo of that size, or configure fails with the node alive and reconfigurable.

Why parameters: a source takes no input messages; what an operator (or a script with a typo)
can send it is ``ros2 param set``: absurd rates and sizes, sources that do not exist.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifecycle_msgs.msg import State
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosutil import RosHarness, wait_for
from sensor_msgs.msg import CameraInfo, Image

from handperception.msgconv.images import image_to_rgb8
from handperception.ros.nodes.camera_source import CameraSourceNode
from handperception.ros.qos import image_qos, results_qos

pytestmark = pytest.mark.ros

SOURCES = (
    "synthetic:pattern",  # the one that opens: cheap to render (hands take seconds per configure)
    "synthetic:pattern",
    "synthetic:nope",
    "",
    "video:/nonexistent.mp4",
    "folder:/nonexistent",
    "bag:/nonexistent",
    "nonsense:",
    "synthetic:" + "x" * 500,
)
NUMBERS = (math.nan, math.inf, -math.inf, -1.0, 0.0, 1e-9, 1.0, 15.0, 240.0, 1e9)


@pytest.fixture(scope="module")
def camera():
    ros = RosHarness()
    cheap = [Parameter("source", value="synthetic:pattern")]
    node = ros.add(CameraSourceNode(context=ros.context, parameter_overrides=cheap))
    probe = ros.add(Node("probe", context=ros.context))
    received = {"images": [], "infos": []}
    probe.create_subscription(Image, "/image_raw", received["images"].append, image_qos())
    probe.create_subscription(CameraInfo, "/camera_info", received["infos"].append, results_qos())
    assert wait_for(lambda: node.is_active, 20)
    yield node, received
    ros.close()


def _state(node) -> int:
    return node._state_machine.current_state[0]


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    source=st.sampled_from(SOURCES),
    fps=st.sampled_from(NUMBERS),
    side=st.sampled_from([-1, 0, 1, 15, 16, 64, 100_000]),
    fov=st.sampled_from(NUMBERS + (0.6, 168.0, 179.0)),
)
def test_parameters_are_refused_or_give_decodable_images(camera, source, fps, side, fov):
    node, received = camera
    if _state(node) == State.PRIMARY_STATE_ACTIVE:
        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    if _state(node) == State.PRIMARY_STATE_INACTIVE:
        assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
    requests = [
        Parameter("source", value=source),
        Parameter("fps", value=fps),
        Parameter("width", value=side),
        Parameter("height", value=max(side // 2, 1)),
        Parameter("horizontal_fov", value=fov),
    ]
    for request, result in zip(requests, node.set_parameters(requests)):
        assert result.successful or result.reason, request.name  # a refusal says why
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        assert _state(node) == State.PRIMARY_STATE_UNCONFIGURED  # alive, configurable again
        return
    received["images"].clear()
    received["infos"].clear()
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    if node.params.fps >= 1.0:  # allowed below, but the first frame is seconds away
        assert wait_for(lambda: received["images"] and received["infos"], 5)
        _check_frame(node, received)
    assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS  # quiet until the next


def _check_frame(node, received) -> None:
    """The first image decodes to the configured size; its CameraInfo is finite, same size."""
    width, height = node.params.width, node.params.height
    rgb = image_to_rgb8(received["images"][0])
    assert rgb.shape == (height, width, 3)
    info = received["infos"][0]
    assert (info.width, info.height) == (width, height)
    assert all(math.isfinite(v) for v in (*info.k, *info.p, *info.d))


def test_no_callback_failed_while_being_reconfigured(camera):
    """Found by this fuzzing: a timer tick racing deactivate/cleanup read the closed source
    (AttributeError, counted as exception)."""
    node, _ = camera
    assert not node.stats.snapshot().drops.get("exception"), node.stats.snapshot().drops

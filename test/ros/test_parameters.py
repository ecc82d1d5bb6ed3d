"""Parameters: declared with allowed values, read from the parameter server at configure, and a
value outside them refused with its reason, the node staying alive and unconfigured."""

import itertools

import pytest
from lifecycle_msgs.msg import State
from rcl_interfaces.msg import Log
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosutil import RosHarness, wait_for

from handperception.cli.main import main
from handperception.ros.executors import ros_context
from handperception.ros.graph_config import NODE_KINDS, node_class, parse_overrides
from handperception.ros.nodes.camera_source import CameraSourceNode
from handperception.ros.nodes.hand_pose import HandPoseNode
from handperception.ros.runner import run_graph

# the values issue #13 found accepted: the node said ready, then every frame failed
OUT_OF_RANGE = {
    "max_hands": (0, "1 <= max_hands <= 10"),
    "detection_threshold": (7.5, "0 <= detection_threshold <= 1"),
    "crop_size": (-3, "crop_size = 0 or 16 <= crop_size <= 512"),
    "min_cutoff": (0.0, "0 < min_cutoff <= 100"),
    "beta": (-1.0, "0 <= beta <= 1000"),
}
VALID = {
    "max_hands": 2,
    "detection_threshold": 0.25,
    "crop_size": 0,
    "min_cutoff": 1.5,
    "beta": 20.0,
}
ROSOUT = QoSProfile(
    depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
_RUNS = itertools.count()


@pytest.fixture
def ros():
    """A harness, a namespace of its own and a probe collecting /rosout (what a user reads the
    refusals from). The namespace gives each test's node its own logger name: rcl keeps a
    destroyed lifecycle node's /rosout publisher registered under its name until the node is
    garbage collected, and a later node of that name would log through the dead one."""
    harness = RosHarness()
    logs = []
    probe = harness.add(Node("log_probe", context=harness.context))
    probe.create_subscription(Log, "/rosout", logs.append, ROSOUT)
    yield harness, logs, f"/parameters_{next(_RUNS)}"
    harness.close()


def _errors(logs, namespace: str) -> list[str]:
    logger = f"{namespace[1:]}.hand_pose"
    return [log.msg for log in list(logs) if log.name == logger and log.level == Log.ERROR]


def _state(node) -> int:
    return node._state_machine.current_state[0]


def _parameters(values: dict) -> list[Parameter]:
    return [Parameter(name, value=value) for name, value in values.items()]


def test_out_of_range_start_up_values_fail_configure_naming_each_and_the_node_lives(ros):
    harness, logs, ns = ros
    given = {name: value for name, (value, _) in OUT_OF_RANGE.items()}
    node = harness.add(
        HandPoseNode(context=harness.context, namespace=ns, parameter_overrides=_parameters(given))
    )  # autostart: it tries to configure by itself
    assert wait_for(lambda: _errors(logs, ns), 15)
    (line,) = _errors(logs, ns)
    assert "\n" not in line and line.startswith("configure refused")
    for name, (value, allowed) in OUT_OF_RANGE.items():
        assert f"{name} = {value!r}" in line and allowed in line, (name, line)
    assert _state(node) == State.PRIMARY_STATE_UNCONFIGURED and not node.is_active

    assert all(result.successful for result in node.set_parameters(_parameters(VALID)))
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS and node.is_active


def test_a_start_up_value_of_the_wrong_type_is_refused_not_a_crash(ros):
    harness, logs, ns = ros
    node = harness.add(
        HandPoseNode(
            context=harness.context,
            namespace=ns,
            parameter_overrides=_parameters(
                {"autostart": False, "max_hands": "two", "image_reliability": "sometimes"}
            ),
        )
    )
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert wait_for(lambda: _errors(logs, ns))
    (line,) = _errors(logs, ns)
    assert "max_hands = 'two'" in line and "not of type integer" in line
    assert "image_reliability = 'sometimes'" in line and "one of best_effort, reliable" in line
    assert _state(node) == State.PRIMARY_STATE_UNCONFIGURED


@pytest.mark.parametrize(
    "name, value",
    [
        ("max_hands", 0),  # outside the declared range: rclpy refuses it itself
        ("detection_threshold", 7.5),
        ("crop_size", 8),  # inside the range's hull, but neither 0 nor 16..512
        ("min_cutoff", 0.0),  # the open end
        ("backend", "tensorrt"),
        ("image_reliability", "sometimes"),
        ("device", "gpu"),
    ],
)
def test_set_parameters_refuses_a_value_outside_its_range_with_the_reason(ros, name, value):
    harness, _, ns = ros
    node = harness.add(
        HandPoseNode(
            context=harness.context,
            namespace=ns,
            parameter_overrides=_parameters({"autostart": False}),
        )
    )
    before = node.get_parameter(name).value
    (result,) = node.set_parameters([Parameter(name, value=value)])
    assert not result.successful and name in result.reason, result.reason
    assert node.get_parameter(name).value == before


def test_every_numeric_parameter_of_every_node_shows_its_range(ros):
    """``ros2 param describe`` shows the range; rclpy enforces it on numbers by itself."""
    harness, _, ns = ros
    for kind in NODE_KINDS:
        node = node_class(kind)(
            context=harness.context,
            namespace=ns,
            parameter_overrides=_parameters({"autostart": False}),
        )
        try:
            names = node.list_parameters([], 0).names
            for name, descriptor in zip(names, node.describe_parameters(names), strict=True):
                value = node.get_parameter(name).value
                if isinstance(value, int | float) and not isinstance(value, bool):
                    ranges = descriptor.integer_range or descriptor.floating_point_range
                    assert ranges, f"{kind}.{name} has no range"
                    assert descriptor.additional_constraints, f"{kind}.{name}"
        finally:
            node.destroy_node()


def test_configure_rereads_parameters_so_a_new_checkpoint_is_loaded(ros, tmp_path):
    harness, logs, ns = ros
    node = harness.add(HandPoseNode(context=harness.context, namespace=ns))  # shipped checkpoints
    assert wait_for(lambda: node.is_active, 20)
    missing = tmp_path / "other_checkpoint.pt"
    (result,) = node.set_parameters([Parameter("pose_checkpoint", value=str(missing))])
    assert result.successful
    node.trigger_deactivate()
    node.trigger_cleanup()
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert wait_for(lambda: any("other_checkpoint.pt" in e for e in _errors(logs, ns)))
    assert _state(node) == State.PRIMARY_STATE_UNCONFIGURED

    node.set_parameters([Parameter("pose_checkpoint", value="checkpoints/hand_tiny.pt")])
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    assert node.count_publishers(f"{ns}/hands") == 1  # configuring again made no second publisher


def test_an_integer_for_a_double_parameter_is_taken_as_the_double(tmp_path):
    """``fps: 15`` in a params file and ``--set camera_source.fps=15`` (the runner's override
    path) both give the double 15.0; rclpy alone refuses the integer's type."""
    config = tmp_path / "camera.yaml"
    config.write_text(
        "/**/camera_source:\n  ros__parameters:\n"
        "    source: synthetic:pattern\n    width: 64\n    height: 48\n    fps: 20\n"
    )
    with ros_context(["test", "--ros-args", "--params-file", str(config)]) as context:
        node = CameraSourceNode(context=context)
        assert node.get_parameter("fps").type_ == Parameter.Type.DOUBLE
        assert node.get_parameter("fps").value == 20.0
        node.destroy_node()

    overrides = parse_overrides(["camera_source.fps=15", "camera_source.max_frames=3"])
    assert type(overrides["camera_source"]["fps"]) is int
    seen = {}

    def on_ready(nodes):
        seen["fps"] = nodes["camera_source"].get_parameter("fps").value

    result = run_graph(config, overrides, max_wall_s=30, on_ready=on_ready)
    assert seen["fps"] == 15.0 and isinstance(seen["fps"], float)
    assert result.frames_published == 3


def test_run_stops_with_one_line_when_the_camera_refuses_its_parameters(tmp_path, capsys):
    config = tmp_path / "camera.yaml"
    config.write_text("/**/camera_source:\n  ros__parameters:\n    source: synthetic:pattern\n")
    assert main(["run", "--config", str(config), "--set", "camera_source.fps=0"]) == 2
    assert "camera_source did not configure" in capsys.readouterr().err

"""Relative topic names, namespaces and remaps: two graphs side by side without crossing over,
``-r image:=...`` for a ``ros2 run`` user, ``/**/<node>`` parameter keys, ``run --namespace``,
and the launch files' arguments."""

import ast
from pathlib import Path

import pytest
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rosutil import wait_for
from sensor_msgs.msg import Image

from handperception.ros.executors import BackgroundExecutor, ros_context
from handperception.ros.graph_config import graph_nodes, node_class
from handperception.ros.nodes.annotator import AnnotatorNode
from handperception.ros.runner import run_graph
from handperception_msgs.msg import HandArray

ROOT = Path(__file__).resolve().parents[2]
SIDES = ("left", "right")
# One params file for both graphs: /** and /**/<node> keys match in any namespace, /<ns>/<node>
# keys in that namespace only.
TWO_CAMERAS = """
/**:
  ros__parameters:
    diagnostics_period: 0.0
/**/camera_source:
  ros__parameters:
    source: synthetic:hands
    width: 320
    height: 240
    fps: 10
/**/hand_pose:
  ros__parameters:
    image_topic: image_raw
    torch_threads: 1
/left/camera_source:
  ros__parameters:
    frame_id: left_optical_frame
    seed: 1
/right/camera_source:
  ros__parameters:
    frame_id: right_optical_frame
    seed: 2
"""


def _stamp(header) -> int:
    return header.stamp.sec * 10**9 + header.stamp.nanosec


def test_two_namespaced_graphs_run_side_by_side_without_crossing_over(tmp_path):
    config = tmp_path / "two_cameras.yaml"
    config.write_text(TWO_CAMERAS)
    args = ["test", "--ros-args", "--params-file", str(config)]
    with ros_context(args) as context, BackgroundExecutor(context, 2) as graph:
        nodes = {
            (side, name): graph.add(node_class(name)(context=context, namespace=f"/{side}"))
            for side in SIDES
            for name in graph_nodes(config)
        }
        probe = graph.add(Node("probe", context=context))
        hands = {side: [] for side in SIDES}
        images = {side: [] for side in SIDES}
        for side in SIDES:
            probe.create_subscription(HandArray, f"/{side}/hands", hands[side].append, 50)
            probe.create_subscription(Image, f"/{side}/image_raw", images[side].append, 50)
        graph.start()
        assert wait_for(lambda: all(node.is_active for node in nodes.values()), 30)
        assert wait_for(lambda: all(len(hands[side]) >= 3 for side in SIDES), 30)
        assert probe.count_publishers("/hands") == 0  # nothing left the namespaces
        for side in SIDES:
            assert probe.count_publishers(f"/{side}/hands") == 1
            assert nodes[side, "hand_pose"].camera_info_topic == f"/{side}/camera_info"
        received = {side: list(hands[side]) for side in SIDES}
        stamps = {side: {_stamp(image.header) for image in images[side]} for side in SIDES}
    for side, other in (SIDES, SIDES[::-1]):
        assert {h.header.frame_id for h in received[side]} == {f"{side}_optical_frame"}
        own = {_stamp(h.header) for h in received[side]}
        assert own <= stamps[side] and not own & stamps[other]


def test_a_remap_connects_a_node_to_any_camera_with_camera_info_beside_it():
    """What ``ros2 run handperception annotator --ros-args -r __ns:=/left -r image:=...`` does:
    rclpy takes the process's arguments; relative names follow the namespace and the remaps."""
    cases = {
        ("-r", "image:=/my_cam/image_rect"): ("/my_cam/image_rect", "/my_cam/camera_info"),
        ("-r", "image:=/my_cam/image_rect", "-r", "camera_info:=/calib/info"): (
            "/my_cam/image_rect",
            "/calib/info",
        ),
        (): ("/left/image", "/left/camera_info"),
    }
    for remaps, (image, camera_info) in cases.items():
        with ros_context(["annotator", "--ros-args", "-r", "__ns:=/left", *remaps]) as context:
            node = AnnotatorNode(context=context)
            try:
                assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
                assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
                subscribed = {s.topic_name for s in node.subscriptions}
                assert subscribed == {image, camera_info, "/left/hands", "/left/gaze"}, remaps
                assert "/left/annotator/image" in {p.topic_name for p in node.publishers}
                assert "/diagnostics" in {p.topic_name for p in node.publishers}
            finally:
                node.destroy_node()


def test_run_namespace_moves_the_whole_graph(tmp_path):
    config = tmp_path / "camera_annotator.yaml"
    config.write_text(
        "/**/camera_source:\n  ros__parameters:\n    source: synthetic:pattern\n"
        "    width: 64\n    height: 48\n    image_topic: camera/image_raw\n"
        "    camera_info_topic: camera/camera_info\n"
        "/**/annotator:\n  ros__parameters:\n    image_topic: camera/image_raw\n"
        "    result_wait: 0.0\n"
    )
    result = run_graph(
        config, {"camera_source": {"max_frames": 5}}, max_wall_s=30, namespace="/robot"
    )
    assert result.frames_published == 5
    assert result.topics["/robot/camera/image_raw"]["count"] >= 3
    assert result.topics["/robot/annotator/image"]["count"] >= 1
    assert not [topic for topic in result.topics if not topic.startswith("/robot/")]


def test_graph_nodes_reads_wildcard_and_namespaced_keys(tmp_path):
    config = tmp_path / "graph.yaml"
    config.write_text(
        "/**:\n  ros__parameters: {autostart: true}\n"
        "/**/hand_pose:\n  ros__parameters: {max_hands: 1}\n"
        "/left/hand_pose:\n  ros__parameters: {max_hands: 2}\n"
        "camera_source:\n  ros__parameters: {fps: 15.0}\n"
    )
    assert graph_nodes(config) == ["hand_pose", "camera_source"]
    config.write_text("/**/teleporter:\n  ros__parameters: {}\n")
    with pytest.raises(ValueError, match="unknown node"):
        graph_nodes(config)


# -- launch files: they cannot run here (no launch_ros wheel), so their names are checked ------


def _launch_tree(name: str) -> ast.Module:
    return ast.parse((ROOT / "launch" / name).read_text())


def _dict_assigned(tree: ast.Module, target: str) -> ast.Dict:
    return next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == target
    )


def _strings(nodes) -> set[str]:
    return {node.value for node in nodes if isinstance(node, ast.Constant)}


def test_launch_arguments_are_declared_and_every_use_names_one():
    tree = _launch_tree("handperception.launch.py")
    declared = _strings(_dict_assigned(tree, "ARGUMENTS").keys)
    assert declared == {
        "namespace",
        "image_topic",
        "camera_info_topic",
        "depth_topic",
        "params_file",
        "device",
        "use_sim_time",
        "autostart",
        "rviz",
        "log_level",
        "respawn",
    }
    used = _strings(
        node.args[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "LaunchConfiguration"
    )
    used |= _strings(  # value["..."]: the performed arguments
        node.slice
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "value"
    )
    used |= _strings(_dict_assigned(tree, "REMAPPED").values)
    assert used <= declared, used - declared
    assert _strings(_dict_assigned(tree, "REMAPPED").keys) == {"image", "camera_info", "depth"}

    demo = _launch_tree("demo.launch.py")
    passed = {
        key.value
        for node in ast.walk(demo)
        if isinstance(node, ast.Dict)
        for key in node.keys
        if isinstance(key, ast.Constant)
    }
    assert passed and passed <= declared


def test_launch_files_open_files_of_the_source_tree():
    """Every ``share / "<folder>" / "<file>"`` a launch file opens exists here (setup.py
    installs the tree's folders into share/)."""
    for path in (ROOT / "launch").glob("*.launch.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                parts = []
                while isinstance(node, ast.BinOp):
                    parts.insert(0, node.right)
                    node = node.left
                names = [part.value for part in parts if isinstance(part, ast.Constant)]
                if len(names) == len(parts) == 2:
                    assert (ROOT / names[0] / names[1]).is_file(), (path.name, names)

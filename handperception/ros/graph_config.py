"""Graph configuration: which nodes a config YAML starts, and parameter overrides over it.

The config is a standard ROS 2 parameters file: every top-level key names a node, whose name
(after the key's last ``/``) names its kind (see NODE_KINDS), so the embedded runner and the
launch files in ``launch/`` start the same graph from the same file. Keys are written
``/**/camera_source`` so that rcl matches them in any namespace (``handperception run
--namespace``, a launch file's ``namespace``); ``/**`` holds values every node shares. Nothing
here imports rclpy: the launch file reads configs on robots, and ``handperception run`` checks
its arguments before ROS starts.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from handperception.runtime.paths import package_root

# Import paths, not classes: reading a config imports no node module (and so neither rclpy nor
# torch); ``node_class`` imports the one asked for.
NODE_KINDS: dict[str, str] = {
    "camera_source": "handperception.ros.nodes.camera_source:CameraSourceNode",
    "annotator": "handperception.ros.nodes.annotator:AnnotatorNode",
    "bag_recorder": "handperception.ros.nodes.bag_recorder:BagRecorderNode",
    "hand_pose": "handperception.ros.nodes.hand_pose:HandPoseNode",
    "gaze": "handperception.ros.nodes.gaze:GazeNode",
    "two_hand_pose": "handperception.ros.nodes.two_hand_pose:TwoHandPoseNode",
    "hand_mesh": "handperception.ros.nodes.hand_mesh:HandMeshNode",
    "tabletop_objects": "handperception.ros.nodes.tabletop_objects:TabletopObjectsNode",
    "grasp_synthesis": "handperception.ros.nodes.grasp_synthesis:GraspSynthesisNode",
}
SHARED_KEY = "/**"


def package_config_dir() -> Path:
    """config/ of the source tree, or share/handperception/config of an install."""
    return package_root() / "config"


def graph_nodes(config_path: str | Path) -> list[str]:
    """Node names of a config file, in file order, each once (``/**/hand_pose`` and
    ``/left/hand_pose`` are one node in two namespaces); unknown names are an error."""
    path = Path(config_path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a ROS 2 parameters file maps node names to ros__parameters")
    names = list(dict.fromkeys(key.rsplit("/", 1)[-1] for key in data if key != SHARED_KEY))
    unknown = [name for name in names if name not in NODE_KINDS]
    if unknown:
        raise ValueError(f"{path}: unknown node(s) {unknown}; known: {sorted(NODE_KINDS)}")
    if not names:
        raise ValueError(f"{path} configures no node")
    return names


def node_class(kind: str) -> type:
    module, _, name = NODE_KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def parse_overrides(items: list[str]) -> dict[str, dict]:
    """``NODE.PARAM=VALUE`` strings (values parsed as YAML) -> {node: {parameter: value}}."""
    overrides: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        node, dot, param = key.partition(".")
        if not sep or not dot or not node or not param:
            raise ValueError(f"--set expects NODE.PARAM=VALUE, got '{item}'")
        overrides.setdefault(node, {})[param] = yaml.safe_load(value)
    return overrides

"""Start handperception nodes on a robot with a full ROS 2 install.

    ros2 launch handperception handperception.launch.py image_topic:=/cam/image_rect rviz:=true

Every node named in ``params_file`` (default: the package's config/hand_pose.yaml, the hand pose
node alone) starts as a lifecycle node from its console script of the same name, under
``namespace``, with the file as its parameters: its ``/**/<node>`` keys match in any namespace.
The nodes' relative inputs ``image``, ``camera_info`` and ``depth`` are remapped to
``image_topic``, ``camera_info_topic`` and ``depth_topic`` when those are given; an image
node's camera_info otherwise sits beside its image (tabletop_objects' depth needs
``camera_info_topic`` too). The nodes configure and activate themselves (their ``autostart``
parameter); ``autostart:=false`` leaves that to a lifecycle manager. A node whose process ends
(killed, or an exception out of a callback) is started again RESPAWN_DELAY_S later
(``respawn``, default true). Launch respawns whatever the exit status: a camera_source that
ends by itself (a file played once, max_frames) starts again too, so give ``respawn:=false``
for such a run. The same YAML runs without ROS's launch through ``handperception run
--config``, whose own restart policy does the same.
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node

from handperception.ros.graph_config import graph_nodes
from launch import LaunchDescription

SHARE = Path(get_package_share_directory("handperception"))

# name -> (default, description)
ARGUMENTS = {
    "params_file": (str(SHARE / "config" / "hand_pose.yaml"), "graph + parameters YAML"),
    "namespace": ("", "namespace of every node (their topics are relative)"),
    "image_topic": ("", "remap the nodes' `image` input to this topic ('' keeps `image`)"),
    "camera_info_topic": ("", "remap `camera_info` ('': camera_info beside the image)"),
    "depth_topic": ("", "remap the nodes' `depth` input (tabletop_objects) ('' keeps `depth`)"),
    "device": ("auto", "auto | cpu | cuda | cuda:N"),
    "use_sim_time": ("false", "use /clock (replayed bags, simulators)"),
    "autostart": ("true", "nodes configure and activate themselves"),
    "respawn": ("true", "start a node again when its process ends (crashed or killed)"),
    "rviz": ("false", "start rviz2 with config/handperception.rviz (root namespace)"),
    "log_level": ("info", "debug | info | warn | error"),
}
# input -> argument
REMAPPED = {"image": "image_topic", "camera_info": "camera_info_topic", "depth": "depth_topic"}
# Seconds before a node that ended is started again: a node failing at start-up (a missing
# device) retries every 2 s instead of spinning a core.
RESPAWN_DELAY_S = 2.0


def _is_true(text: str) -> bool:
    """Launch's own reading of a boolean argument (as IfCondition reads it)."""
    return text.strip().lower() in ("true", "1")


def _nodes(context):
    value = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    remappings = [(name, value[argument]) for name, argument in REMAPPED.items() if value[argument]]
    overrides = {
        "device": value["device"],
        "use_sim_time": _is_true(value["use_sim_time"]),
        "autostart": _is_true(value["autostart"]),
    }
    return [
        LifecycleNode(
            package="handperception",
            executable=name,
            name=name,
            namespace=value["namespace"],
            parameters=[value["params_file"], overrides],
            remappings=remappings,
            arguments=["--ros-args", "--log-level", value["log_level"]],
            output="screen",
            respawn=_is_true(value["respawn"]),
            respawn_delay=RESPAWN_DELAY_S,
        )
        for name in graph_nodes(value["params_file"])
    ]


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument(name, default_value=default, description=description)
            for name, (default, description) in ARGUMENTS.items()
        ]
        + [
            OpaqueFunction(function=_nodes),
            Node(
                package="rviz2",
                executable="rviz2",
                arguments=["-d", str(SHARE / "config" / "handperception.rviz")],
                condition=IfCondition(LaunchConfiguration("rviz")),
                output="screen",
            ),
        ]
    )

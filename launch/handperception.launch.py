"""Start the nodes of a handperception config YAML on a robot with a full ROS 2 install.

    ros2 launch handperception handperception.launch.py config:=/path/to/graph.yaml device:=cuda

The YAML is the same file the embedded runner (``handperception run --config``) takes: every
top-level key is a node, started from the console script of the same name with the file as its
parameters; launch arguments override it.
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from handperception.ros.graph_config import graph_nodes
from launch import LaunchDescription


def _nodes(context):
    config = LaunchConfiguration("config").perform(context)
    namespace = LaunchConfiguration("namespace").perform(context)
    overrides = {"device": LaunchConfiguration("device").perform(context)}
    log_level = LaunchConfiguration("log_level").perform(context)
    return [
        Node(
            package="handperception",
            executable=name,
            name=name,
            namespace=namespace,
            parameters=[config, overrides],
            arguments=["--ros-args", "--log-level", log_level],
            output="screen",
        )
        for name in graph_nodes(config)
    ]


def generate_launch_description():
    default_config = str(
        Path(get_package_share_directory("handperception")) / "config" / "demo.yaml"
    )
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "config", default_value=default_config, description="graph + parameters YAML"
            ),
            DeclareLaunchArgument(
                "device", default_value="auto", description="auto | cpu | cuda | cuda:N"
            ),
            DeclareLaunchArgument(
                "namespace", default_value="", description="namespace of every node"
            ),
            DeclareLaunchArgument(
                "log_level", default_value="info", description="debug | info | warn | error"
            ),
            OpaqueFunction(function=_nodes),
        ]
    )

"""The hand-mesh node beside a hand node: every tracked hand's HALO surface, as a HandMeshArray
and rviz triangle lists.

    ros2 launch handperception hand_mesh.launch.py [namespace:=left] [rviz:=true]

handperception.launch.py with the package's config/hand_mesh.yaml as its parameters file; its
other arguments (namespace, device, respawn, ...) pass through. The node takes the hands of the
hand node in its namespace (relative ``hands``; ``hands_topic: two_hands`` for the two-hand
node), so start it in that node's namespace. The checkpoint, the mesh resolution and every other
node parameter are in that file: copy it and give yours as ``params_file:=`` to
handperception.launch.py to change them.
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

from launch import LaunchDescription


def generate_launch_description():
    share = Path(get_package_share_directory("handperception"))
    return LaunchDescription(
        [
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(str(share / "launch" / "handperception.launch.py")),
                launch_arguments={"params_file": str(share / "config" / "hand_mesh.yaml")}.items(),
            )
        ]
    )

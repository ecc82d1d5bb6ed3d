"""The grasp-synthesis node on a robot: grasp proposals for an object's closed mesh through the
``synthesize_grasps`` service, and the best proposals' hands as rviz markers.

    ros2 launch handperception grasp_synthesis.launch.py [namespace:=arm] [rviz:=true]

handperception.launch.py with the package's config/grasp_synthesis.yaml as its parameters file;
its other arguments (namespace, device, respawn, ...) pass through. The node needs no camera.
To propose grasps for the objects tabletop_objects finds, start it in that node's namespace
with ``propose_for_detected: true`` in a copy of that file (or one graph file with both nodes,
as config/tabletop.yaml); the checkpoints, the refinement steps and every other node parameter
are in that file: copy it and give yours as ``params_file:=`` to handperception.launch.py to
change them.
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
                launch_arguments={
                    "params_file": str(share / "config" / "grasp_synthesis.yaml")
                }.items(),
            )
        ]
    )

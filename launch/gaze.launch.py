"""The gaze node on a robot's camera: where each person looks, with rviz arrows and tf frames.

    ros2 launch handperception gaze.launch.py image_topic:=/cam/image_rect [rviz:=true]

handperception.launch.py with the package's config/gaze.yaml as its parameters file; its other
arguments (namespace, image_topic, camera_info_topic, device, ...) pass through. The backend
(network or geometric) and every other node parameter are in that file: copy it and give yours
as ``params_file:=`` to handperception.launch.py to change them.
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
                launch_arguments={"params_file": str(share / "config" / "gaze.yaml")}.items(),
            )
        ]
    )

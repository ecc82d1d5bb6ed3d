"""The two-hand node on a robot's camera: both hands of a person, even touching or crossing, with
their part segmentation, rviz skeletons and each wrist as a tf frame.

    ros2 launch handperception two_hand_pose.launch.py image_topic:=/cam/image_rect [rviz:=true]

handperception.launch.py with the package's config/two_hand_pose.yaml as its parameters file; its
other arguments (namespace, image_topic, camera_info_topic, device, respawn, ...) pass through.
The checkpoints and every other node parameter are in that file: copy it and give yours as
``params_file:=`` to handperception.launch.py to change them.
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
                    "params_file": str(share / "config" / "two_hand_pose.yaml")
                }.items(),
            )
        ]
    )

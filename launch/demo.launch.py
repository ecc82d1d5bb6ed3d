"""The demo graph (config/demo.yaml) on a robot: synthetic camera -> nodes -> annotated image.

    ros2 launch handperception demo.launch.py [namespace:=demo] [device:=cuda] [rviz:=true]

handperception.launch.py with the demo's parameters file; its other arguments pass through
(the demo's camera feeds the nodes itself, so image_topic and camera_info_topic stay unset).
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
                launch_arguments={"params_file": str(share / "config" / "demo.yaml")}.items(),
            )
        ]
    )

"""The tabletop-objects node on a robot's depth camera: the objects standing on a table, each
with an id, a pose, a box, its points and a closed mesh, as a TabletopObjectArray and rviz
markers.

    ros2 launch handperception tabletop_objects.launch.py depth_topic:=/cam/depth/image_rect \
        camera_info_topic:=/cam/depth/camera_info [rviz:=true]

handperception.launch.py with the package's config/tabletop_objects.yaml as its parameters file;
its other arguments (namespace, depth_topic, camera_info_topic, respawn, ...) pass through. The
depth image must be rectified (depth_image_proc's ``image_rect``); a PointCloud2 instead needs
``input: points`` in a copy of that file. The clustering and every other node parameter are in
that file: copy it and give yours as ``params_file:=`` to handperception.launch.py to change
them.
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
                    "params_file": str(share / "config" / "tabletop_objects.yaml")
                }.items(),
            )
        ]
    )

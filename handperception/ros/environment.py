"""The process environment nodes need when no ROS setup file was sourced (a pip install).

Set before the first node is created: Fast DDS reads its profile, and rosidl finds type support
through the ament index, when a node starts, not when rclpy is imported.
"""

from __future__ import annotations

import os
import sys

from handperception.ros.graph_config import package_config_dir
from handperception.runtime import configure_gil_switching


def configure_environment() -> None:
    """What sourcing a ROS setup file would do, the shared-memory profile large images need, and
    fast GIL hand-over between executor and inference threads (see handperception.runtime)."""
    configure_gil_switching()
    os.environ.setdefault("AMENT_PREFIX_PATH", sys.prefix)
    profile = package_config_dir() / "fastdds.xml"
    if profile.is_file():
        os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(profile))

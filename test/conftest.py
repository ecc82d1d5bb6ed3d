"""Test-wide setup: every test run talks DDS only to itself.

A random ROS_DOMAIN_ID and localhost-only discovery keep parallel runs (and other ROS
processes on the machine) from seeing each other's topics. Set before rclpy is imported.
"""

import os
import random
import sys

os.environ["ROS_DOMAIN_ID"] = str(random.Random(os.getpid()).randint(1, 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("AMENT_PREFIX_PATH", sys.prefix)
os.environ.setdefault("MPLBACKEND", "Agg")


import pytest  # noqa: E402  (after the environment is set)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tests use tiny tensors: single-threaded is fastest, and two intra-op threads spin-waiting
    on a loaded 2-core machine were measured ~50x slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# Markers by folder, so a new test file gets them by where it lives (see setup.cfg's list).
FOLDER_MARKERS = {"ros": ("ros",), "train": ("training",), "claims": ("training",)}


def pytest_collection_modifyitems(config, items):
    root = config.rootpath / "test"
    for item in items:
        folder = item.path.relative_to(root).parts[0] if item.path.is_relative_to(root) else ""
        for marker in FOLDER_MARKERS.get(folder, ()):
            item.add_marker(marker)

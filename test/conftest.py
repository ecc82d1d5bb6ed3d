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

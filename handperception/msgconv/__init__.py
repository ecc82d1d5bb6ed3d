"""Conversions between ROS messages and numpy (no rclpy import: usable and testable anywhere)."""

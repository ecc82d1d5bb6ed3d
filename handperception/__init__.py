"""handperception: hands, gaze and grasps from RGB cameras, as ROS 2 nodes over PyTorch models.

Subpackages by concern; only ``handperception.ros`` imports rclpy.
"""

__version__ = "0.1.0"

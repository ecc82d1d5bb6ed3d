"""The ROS 2 layer: thin nodes over the pure core. The only subpackage that imports rclpy."""

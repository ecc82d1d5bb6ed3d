"""Run-time helpers shared by nodes and benchmarks (pure Python, no rclpy)."""

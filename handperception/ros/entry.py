"""Console-script main for a single node (what ``ros2 run handperception <node>`` starts)."""
from __future__ import annotations

import sys

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor


def run_single_node(node_class, argv: list[str] | None = None) -> int:
    from handperception.runtime import configure_gil_switching

    configure_gil_switching()
    rclpy.init(args=sys.argv if argv is None else argv)
    node = node_class()
    executor = MultiThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0

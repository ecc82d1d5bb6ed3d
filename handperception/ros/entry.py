"""Console-script main for a single node (what ``ros2 run handperception <node>`` starts)."""

from __future__ import annotations

import sys

import rclpy
from rclpy.executors import ExternalShutdownException

from handperception.ros.executors import dispatcher_executor
from handperception.runtime import configure_gil_switching


def run_single_node(node_class, argv: list[str] | None = None) -> int:
    configure_gil_switching()
    rclpy.init(args=sys.argv if argv is None else argv)
    node = node_class()
    # One dispatcher thread, as in the runner (its run_graph says why); image nodes infer on
    # their own worker threads.
    executor = dispatcher_executor(1)
    executor.add_node(node)
    try:
        while rclpy.ok() and not node.finished:
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0

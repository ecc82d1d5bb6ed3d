"""In-process ROS 2 harness for tests: a private context, an executor thread, bounded waits."""
from __future__ import annotations

import threading
import time

import rclpy
from rclpy.executors import MultiThreadedExecutor


class RosHarness:
    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = MultiThreadedExecutor(num_threads=4, context=self.context)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._nodes = []
        self._started = False

    def add(self, node):
        self._nodes.append(node)
        self.executor.add_node(node)
        if not self._started:
            self._thread.start()
            self._started = True
        return node

    def close(self):
        self.executor.shutdown(timeout_sec=5.0)
        for node in self._nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def wait_for(predicate, timeout: float = 10.0, period: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(period)
    return bool(predicate())

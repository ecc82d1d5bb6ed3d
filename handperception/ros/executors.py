"""Executors of the project's processes: the callback dispatcher, and a graph spinning in the
background of a process that has other work (the runner waits for its camera to finish)."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import rclpy
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

SHUTDOWN_TIMEOUT_S = 5.0


def dispatcher_executor(num_threads: int = 1, context: Context | None = None):
    """A MultiThreadedExecutor with ``num_threads`` callback threads.

    Even with one thread: MultiThreadedExecutor shuts down cleanly while spinning in another
    thread, where SingleThreadedExecutor aborted the process here ("terminate called without an
    active exception"); rclpy's advice to switch is therefore silenced.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="MultiThreadedExecutor is used with a single thread"
        )
        return MultiThreadedExecutor(num_threads=num_threads, context=context)


@contextmanager
def ros_context(args: list[str] | None = None) -> Iterator[Context]:
    """A private rclpy context, initialised with ``args`` (command line, ``--ros-args`` ...) and
    shut down on exit: several graphs can run one after another in one process."""
    context = Context()
    rclpy.init(args=args, context=context)
    try:
        yield context
    finally:
        rclpy.try_shutdown(context=context)


class BackgroundExecutor:
    """A dispatcher executor spinning on its own thread, owning the nodes added to it.

    ``close`` stops it in the one order that does not fail: executor shut down, its thread
    joined (``shutdown()`` can return while the thread is still inside its last wait, and nodes
    destroyed under it raise InvalidHandle there), then the nodes destroyed.
    """

    def __init__(self, context: Context, num_threads: int = 1):
        self.executor = dispatcher_executor(num_threads, context)
        self.nodes: list[Node] = []
        self._thread: threading.Thread | None = None

    def __enter__(self) -> BackgroundExecutor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def add(self, node: Node) -> Node:
        self.executor.add_node(node)
        self.nodes.append(node)
        return node

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.executor.spin, name="handperception-executor", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=SHUTDOWN_TIMEOUT_S)
        if self._thread is not None:
            self._thread.join(timeout=SHUTDOWN_TIMEOUT_S)
        for node in self.nodes:
            node.destroy_node()

"""Executors of the project's processes: the callback dispatcher of a one-node process, the
supervised one of a graph in one process (a failing node does not stop the others), and a graph
spinning in the background of a process that has other work (the runner waits for its camera
to finish)."""

from __future__ import annotations

import threading
import traceback
import warnings
import weakref
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import rclpy
from rclpy.context import Context
from rclpy.exceptions import InvalidHandle
from rclpy.executors import (
    Executor,
    ExternalShutdownException,
    MultiThreadedExecutor,
    ShutdownException,
    TimeoutException,
)
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


class SupervisedExecutor(Executor):
    """MultiThreadedExecutor's dispatch (callbacks on a pool of ``num_threads`` threads), except
    that a callback's exception is kept with the node it came from, in ``failures``.

    Why: MultiThreadedExecutor re-raises it out of ``spin``, which then stops serving every node
    it has, the healthy ones too. A process of one node wants that (``dispatcher_executor``:
    the process ends, and launch's ``respawn`` starts it again); a graph in one process wants
    the failed node alone replaced (the runner's restart policy) while the others run on.
    """

    def __init__(self, num_threads: int, context: Context):
        super().__init__(context=context)
        self._pool = ThreadPoolExecutor(num_threads, thread_name_prefix="handperception-callback")
        # (weak reference to the node or None, the exception's repr, its traceback), appended by
        # the pool's threads, popped by the supervisor. Weak, and the traceback a string: a
        # failed node must be collectable once it is replaced (see runner._Supervisor).
        self.failures: list[tuple[weakref.ref | None, str, str]] = []

    def spin_once(self, timeout_sec: float | None = None) -> None:
        try:
            handler, _, node = self.wait_for_ready_callbacks(timeout_sec)
        except (ShutdownException, ExternalShutdownException, TimeoutException):
            return
        except InvalidHandle:
            # A node destroyed while the wait set was built (rclpy does not guard its event
            # handlers against that; it would end ``spin``): the next wait leaves it out.
            return
        try:
            self._pool.submit(self._run, handler, node)
        except RuntimeError:  # the pool is shut down, this executor with it: the callback is moot
            return

    def _run(self, handler, node: Node | None) -> None:
        handler()
        error = handler.exception() if handler.done() else None
        if error is not None:
            details = "".join(traceback.format_exception(error))
            error.__traceback__ = None  # its frames hold the node
            owner = weakref.ref(node) if node is not None else None
            self.failures.append((owner, repr(error), details))

    def shutdown(self, timeout_sec: float | None = None) -> bool:
        done = super().shutdown(timeout_sec)
        self._pool.shutdown(wait=True)
        return done


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
    """A SupervisedExecutor spinning on its own thread, owning the nodes added to it: a node
    whose callback raised is listed in ``executor.failures`` and the others are served on.

    ``close`` stops it in the one order that does not fail: executor shut down, its thread
    joined (``shutdown()`` can return while the thread is still inside its last wait, and nodes
    destroyed under it raise InvalidHandle there), then the nodes destroyed.
    """

    def __init__(self, context: Context, num_threads: int = 1):
        self.executor = SupervisedExecutor(num_threads, context)
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

    def remove(self, node: Node) -> None:
        """Stop serving ``node`` and destroy it (a failed node, before its replacement)."""
        self.executor.remove_node(node)
        self.nodes.remove(node)
        node.destroy_node()

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

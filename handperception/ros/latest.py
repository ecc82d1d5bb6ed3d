"""A worker thread that always handles the newest message, never a backlog.

Why: a node whose work takes longer than its input's period (meshing hands, proposing grasps
for every detected object) must not fall further behind with every message. Its subscription
hands each message to ``offer``; a message still waiting when a newer one comes is replaced and
counted as ``superseded`` in the node's stats, so the node's latency never grows with a queue
and every message taken is accounted for (processed, superseded, or ``inactive`` when the node
stops with it waiting). With a minimum period the worker starts no sooner than that after its
last start, which bounds the CPU a node takes (``hand_mesh``'s ``max_rate``): messages arriving
meanwhile supersede each other, so the one handled next is still the newest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from handperception.ros.node_base import FAILED, INACTIVE, HandperceptionNode

SUPERSEDED = "superseded"


class NewestOnlyWorker:
    """Runs ``handle(msg)`` guarded on a thread of its own, for the newest message offered; the
    node's stats record each one handled (latency from its header's stamp)."""

    def __init__(self, node: HandperceptionNode, handle: Callable, name: str):
        self._node = node
        self._handle = handle
        self._name = name
        self._pending = None
        self._changed = threading.Condition()
        self._stop = True
        self._thread: threading.Thread | None = None
        self._min_period_s = 0.0

    def start(self, min_period_s: float = 0.0) -> None:
        """Start handling; each handling starts at least ``min_period_s`` after the last."""
        with self._changed:
            self._stop = False
            self._min_period_s = min_period_s
        self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
        self._thread.start()

    def offer(self, msg) -> None:
        """Take ``msg`` as the next to handle, superseding one still waiting."""
        with self._changed:
            if self._stop:
                self._node.stats.drop(INACTIVE)
                return
            if self._pending is not None:
                self._node.stats.drop(SUPERSEDED)
            self._pending = msg
            self._changed.notify()

    def stop(self) -> None:
        """Stop after the message being handled, if any; one still waiting is ``inactive``."""
        with self._changed:
            self._stop = True
            if self._pending is not None:
                self._node.stats.drop(INACTIVE)
            self._pending = None
            self._changed.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30.0)
        self._thread = None

    def _work(self) -> None:
        next_start = 0.0
        while True:
            with self._changed:
                while not self._stop:
                    wait = next_start - time.monotonic()
                    if self._pending is not None and wait <= 0:
                        break
                    self._changed.wait(wait if self._pending is not None else None)
                if self._stop:
                    return
                msg, self._pending = self._pending, None
            next_start = time.monotonic() + self._min_period_s
            if self._node.guarded(self._handle, msg) is not FAILED:
                self._node.stats.record(self._node.latency_since(msg.header))

"""Approximate-time pairing of messages from several topics by header stamp.

Stand-in for ROS 2 ``message_filters.ApproximateTimeSynchronizer``, which is not available as a
wheel. Pure Python (stamps are integer nanoseconds) so it is tested without ROS. Policy: when a
message arrives, look in every other topic's queue for the message whose stamp is closest; if
all are within ``slop`` the set is emitted and everything at or before the emitted stamps is
discarded, so a set is emitted at most once and never out of order. Every message that leaves
without being part of a set is handed to ``on_unmatched(topic, msg)``, so callers can count it.

Why messages leave as soon as they cannot match, not when the queue overflows: a node counts
every image it took, and one that waited for a partner that will never come was counted
``queue_size`` messages late, or never when the stream stopped. Each topic's stamps increase
(a camera's do), so a queued message is hopeless once some other topic's newest message is
more than ``slop`` after it and none of that topic's queued messages is within ``slop`` of it
(had one been, the later of the two would have matched it on arrival).
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable


class ApproximateTimeSynchronizer:
    def __init__(
        self,
        num_topics: int,
        queue_size: int,
        slop_ns: int,
        callback: Callable[..., None],
        on_unmatched: Callable[[int, Any], None] | None = None,
    ):
        if num_topics < 2:
            raise ValueError("synchronising needs at least two topics")
        if queue_size < 1 or slop_ns < 0:
            raise ValueError("queue_size must be >= 1 and slop_ns >= 0")
        self._queues = [collections.deque(maxlen=queue_size) for _ in range(num_topics)]
        self._latest: list[int | None] = [None] * num_topics  # each topic's newest stamp
        self._slop_ns = slop_ns
        self._callback = callback
        self._on_unmatched = on_unmatched
        self._lock = threading.Lock()

    def add(self, topic: int, stamp_ns: int, msg: Any) -> None:
        unmatched: list[tuple[int, Any]] = []
        with self._lock:
            matched = self._match(topic, stamp_ns, msg, unmatched)
            self._discard_hopeless(unmatched)
        if self._on_unmatched is not None:
            for index, lost in unmatched:
                self._on_unmatched(index, lost)
        if matched is not None:
            self._callback(*matched)

    def drain(self) -> list[tuple[int, Any]]:
        """Empty every queue; returns what was waiting, as (topic, msg), for the caller to count
        (a node being deactivated)."""
        with self._lock:
            waiting = [(index, msg) for index, queue in enumerate(self._queues) for _, msg in queue]
            for queue in self._queues:
                queue.clear()
        return waiting

    def _match(self, topic: int, stamp_ns: int, msg: Any, unmatched: list):
        queue = self._queues[topic]
        if len(queue) == queue.maxlen:
            unmatched.append((topic, queue[0][1]))
        queue.append((stamp_ns, msg))
        self._latest[topic] = stamp_ns
        chosen = []
        for index, queue in enumerate(self._queues):
            if index == topic:
                chosen.append((stamp_ns, msg))
                continue
            if not queue:
                return None
            best = min(queue, key=lambda item: abs(item[0] - stamp_ns))
            if abs(best[0] - stamp_ns) > self._slop_ns:
                return None
            chosen.append(best)
        for index, (queue, (stamp, chosen_msg)) in enumerate(
            zip(self._queues, chosen, strict=True)
        ):
            while queue and queue[0][0] <= stamp:
                _, left = queue.popleft()
                if left is not chosen_msg:
                    unmatched.append((index, left))
        return tuple(item[1] for item in chosen)

    def _hopeless(self, topic: int, stamp: int) -> bool:
        """Whether a message of ``topic`` at ``stamp`` can no longer be part of a set."""
        slop = self._slop_ns
        return any(
            latest is not None
            and latest > stamp + slop
            and not any(abs(other - stamp) <= slop for other, _ in self._queues[index])
            for index, latest in enumerate(self._latest)
            if index != topic
        )

    def _discard_hopeless(self, unmatched: list) -> None:
        """Move every queued message that ``_hopeless`` gives up on to ``unmatched``, judged
        all at once (one leaving does not change another's chance)."""
        flags = [
            [self._hopeless(index, stamp) for stamp, _ in queue]
            for index, queue in enumerate(self._queues)
        ]
        for index, (queue, hopeless) in enumerate(zip(self._queues, flags, strict=True)):
            if any(hopeless):
                items = list(queue)
                queue.clear()
                for item, lost in zip(items, hopeless):
                    if lost:
                        unmatched.append((index, item[1]))
                    else:
                        queue.append(item)

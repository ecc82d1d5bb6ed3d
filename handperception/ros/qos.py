"""QoS profiles of the project: images keep only the latest frame, results are delivered
reliably."""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

_RELIABILITY = {
    "best_effort": ReliabilityPolicy.BEST_EFFORT,
    "reliable": ReliabilityPolicy.RELIABLE,
}
RELIABILITIES = tuple(_RELIABILITY)  # what the reliability parameters accept


def image_qos(reliability: str = "best_effort") -> QoSProfile:
    """Depth 1: a slow node processes the newest frame, never a backlog. Best effort by default
    so it matches both best-effort and reliable camera drivers."""
    if reliability not in _RELIABILITY:
        raise ValueError(f"reliability must be one of {sorted(_RELIABILITY)}, got '{reliability}'")
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=1,
        reliability=_RELIABILITY[reliability],
        durability=DurabilityPolicy.VOLATILE,
    )


def camera_info_qos(depth: int = 5) -> QoSProfile:
    """Best effort, so it pairs with every driver: a reliable subscription never matches a
    best-effort publisher (many drivers publish camera_info so), while a best-effort one takes
    either. A few messages deep: each waits only until its image arrives to pair with it."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.VOLATILE,
    )


def results_qos(depth: int = 10) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )

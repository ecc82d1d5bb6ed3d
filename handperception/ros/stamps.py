"""builtin_interfaces/Time -> integer nanoseconds (exact, where float seconds lose precision)."""

from __future__ import annotations


def stamp_to_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)

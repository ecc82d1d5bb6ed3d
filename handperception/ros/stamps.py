"""builtin_interfaces/Time <-> integer nanoseconds."""
from __future__ import annotations

from builtin_interfaces.msg import Time


def stamp_to_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))

"""builtin_interfaces/Time -> integer nanoseconds (exact, where float seconds lose precision), and
which stamps a node can use at all.

Why a stamp is checked: latency is ``now - stamp``, pairing and smoothing order frames by it, so
one unset or far-future stamp made ``latency_max_ms`` 1.8e12 for the next 1000 frames. A frame
whose stamp is unusable is dropped as ``bad_stamp`` on arrival and its latency never recorded:

- ``nanosec`` of 1e9 or more, or a negative time: not a time (a malformed message).
- Zero: ROS's "unset" (a driver that never fills the header). A simulator's clock starts at
  zero too, but its first frame is stamped after its first step, so only an unset header is 0.
- More than ``MAX_FUTURE_S`` ahead of the node's own clock. The node's clock is the sim clock
  under ``use_sim_time``, so simulated stamps compare with simulated time; until the first
  /clock message that clock reads 0 and nothing can be said to be in the future (such frames
  are processed, their latency unrecorded). A stamp in the past is a real latency and is kept.
"""

from __future__ import annotations

BAD_STAMP = "bad_stamp"  # the drop reason
# Clock skew between the camera's machine and the node's (NTP keeps it to milliseconds) is
# tolerated up to this; more is a wrong clock or an unconverted time base.
MAX_FUTURE_S = 1.0


def stamp_to_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def stamp_problem(stamp, now_ns: int) -> str | None:
    """Why a frame stamped ``stamp`` cannot be used, seen at ``now_ns`` on the node's clock (0:
    a sim clock without a /clock message yet); None when it can."""
    if not 0 <= int(stamp.nanosec) < 1_000_000_000:
        return f"nanosec {stamp.nanosec} is not below 1e9"
    ns = stamp_to_ns(stamp)
    if ns <= 0:
        return (
            "the stamp is zero (unset)" if ns == 0 else f"the stamp {ns * 1e-9:.9f} s is negative"
        )
    ahead_s = (ns - now_ns) * 1e-9
    if now_ns > 0 and ahead_s > MAX_FUTURE_S:
        return f"the stamp is {ahead_s:.3g} s ahead of this node's clock (max {MAX_FUTURE_S:g} s)"
    return None

"""Run-time helpers shared by nodes and benchmarks (pure Python, no rclpy)."""

import sys

# rclpy executor threads and a node's inference thread share the GIL. torch releases it around
# each operator, and with Python's default 5 ms switch interval the inference thread waits up
# to 5 ms to get it back after every one of a small network's ~100 operators: measured here,
# the hand pose node fell from 30 Hz to 7 Hz with p95 latency of 800 ms. Measured again with the
# node alone (3 runs each, p95): 2 ms 189-434 ms, 1 ms 49-171, 0.5 ms 37-60, 0.25 ms 30-37,
# 0.1 ms 29-31 ms (27-50 over 12 later runs, median 32), p50 from ~22 to ~20 ms, 30 Hz kept.
GIL_SWITCH_INTERVAL_S = 0.0001


def configure_gil_switching() -> None:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)

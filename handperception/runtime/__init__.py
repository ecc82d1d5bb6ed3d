"""Run-time helpers shared by nodes and benchmarks (pure Python, no rclpy)."""

import gc
import sys

# rclpy executor threads and a node's inference thread share the GIL. torch releases it around
# each operator, and with Python's default 5 ms switch interval the inference thread waits up
# to 5 ms to get it back after every one of a small network's ~100 operators: measured here,
# the hand pose node fell from 30 Hz to 7 Hz with p95 latency of 800 ms. Measured again with the
# node alone (3 runs each, p95): 2 ms 189-434 ms, 1 ms 49-171, 0.5 ms 37-60, 0.25 ms 30-37,
# 0.1 ms 29-31 ms, with p50 falling from ~22 to ~19.5 ms and 30 Hz kept throughout.
GIL_SWITCH_INTERVAL_S = 0.0001


def configure_gil_switching() -> None:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def freeze_startup_heap() -> None:
    """Move everything alive after start-up (modules, models, ROS entities) out of the garbage
    collector's reach: a full collection then scans only what frames create, instead of
    pausing the inference thread over hundreds of thousands of long-lived objects."""
    gc.collect()
    gc.freeze()

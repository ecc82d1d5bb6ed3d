"""CPU use and resident memory of this process over a measured span (no psutil needed)."""

from __future__ import annotations

import os
import resource
import time


class ProcessUsage:
    """Wall time, CPU percent (100 = one core busy) and peak RSS between start() and stop()."""

    def start(self) -> "ProcessUsage":
        self._wall = time.monotonic()
        self._cpu = time.process_time()
        return self

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self._wall
        cpu = time.process_time() - self._cpu
        return {
            "wall_s": round(wall, 3),
            "cpu_percent": round(100.0 * cpu / wall, 1) if wall > 0 else 0.0,
            "rss_mb": round(current_rss_mb(), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        }


def current_rss_mb() -> float:
    """Resident memory of this process now, MiB (what a soak run samples)."""
    with open(f"/proc/{os.getpid()}/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20

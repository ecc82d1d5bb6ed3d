"""How far a training run has come, and its learning rate: the one schedule of every trainer.

Why a time budget beside the step count: the trainers run on shared CPUs under a wall-clock
budget (``max_minutes``), and the cosine must reach its end when either runs out; a run cut by
the clock at full learning rate would stop on its noisiest weights.
"""

from __future__ import annotations

import math
import time

import torch


class RunProgress:
    """``progress(step)``: the fraction done, the larger of the steps' and the budget's (the
    clock starts at construction); 1 or more means the run is over."""

    def __init__(self, steps: int, max_minutes: float | None = None):
        if steps <= 0:
            raise ValueError(f"steps must be positive, got {steps}")
        if max_minutes is not None and not max_minutes > 0:
            raise ValueError(f"max_minutes must be positive or null, got {max_minutes}")
        self.steps = steps
        self.budget_s = 60.0 * max_minutes if max_minutes else math.inf
        self.start = time.monotonic()

    def __call__(self, step: int) -> float:
        return max(step / self.steps, (time.monotonic() - self.start) / self.budget_s)


def cosine_lr(done: float, lr: float) -> float:
    """Cosine decay from ``lr`` at progress 0 to zero at progress 1 (and after)."""
    return 0.5 * lr * (1.0 + math.cos(math.pi * min(done, 1.0)))


def set_lr(optimiser: torch.optim.Optimizer, lr: float) -> None:
    for group in optimiser.param_groups:
        group["lr"] = lr

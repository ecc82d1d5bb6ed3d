"""The trainers' one schedule: progress by steps or by the clock, and the cosine learning rate."""

import math

import pytest
import torch

from handperception.train.schedule import RunProgress, cosine_lr, set_lr


def test_cosine_lr_runs_from_lr_to_zero_and_stays_there():
    assert cosine_lr(0.0, 0.01) == pytest.approx(0.01)
    assert cosine_lr(0.5, 0.01) == pytest.approx(0.005)
    assert cosine_lr(1.0, 0.01) == pytest.approx(0.0, abs=1e-15)
    assert cosine_lr(3.0, 0.01) == pytest.approx(0.0, abs=1e-15)


def test_progress_is_the_larger_of_steps_and_clock():
    run = RunProgress(10)
    assert run(0) == 0.0 and run(5) == 0.5 and run(10) == 1.0
    run = RunProgress(10, max_minutes=1.0)
    run.start -= 45.0  # 45 s of a 60 s budget spent
    assert run(2) == pytest.approx(0.75, abs=0.01)
    assert run(9) == 0.9
    assert math.isinf(RunProgress(10).budget_s)


def test_bad_budgets_are_refused_and_set_lr_sets_every_group():
    with pytest.raises(ValueError, match="steps"):
        RunProgress(0)
    with pytest.raises(ValueError, match="max_minutes"):
        RunProgress(10, max_minutes=0.0)
    weights = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
    optimiser = torch.optim.SGD([{"params": weights[:1]}, {"params": weights[1:]}], lr=1.0)
    set_lr(optimiser, 0.25)
    assert [group["lr"] for group in optimiser.param_groups] == [0.25, 0.25]

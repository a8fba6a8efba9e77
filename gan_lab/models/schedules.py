"""Learning-rate schedules, stepped once per generator iteration (the one training counter).

A schedule's settings come from the run's config and its position from the checkpoint: a
resume that extends the budget (``iterations=``) rebuilds a budget-dependent schedule for the
new budget, as an uninterrupted run of that budget has it (:func:`keep_schedule_positions`,
:func:`apply_schedule_settings`). Where the shorter run had already begun decaying, the iterations
before the resume keep the rates they were trained with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR


def keep_schedule_positions(scheduler_states: Iterable[dict[str, Any]]) -> None:
    """Drop the lambda settings LambdaLR stored in a checkpoint's scheduler states (in place), so
    loading them restores the position (``last_epoch``) and not the settings of the budget the
    checkpoint was written under."""
    for state in scheduler_states:
        if "lr_lambdas" in state:
            state["lr_lambdas"] = [None] * len(state["lr_lambdas"])


def apply_schedule_settings(schedulers: Iterable[Any]) -> None:
    """Set each LambdaLR's groups to the rate its (config-built) lambdas give at its restored
    position: the optimizer state loaded from a checkpoint holds the rate of the old settings
    (a no-op for a fresh run, whose rate is already this)."""
    for scheduler in schedulers:
        if not isinstance(scheduler, LambdaLR):
            continue
        rates = [base * fn(scheduler.last_epoch)
                 for base, fn in zip(scheduler.base_lrs, scheduler.lr_lambdas, strict=True)]
        for group, rate in zip(scheduler.optimizer.param_groups, rates, strict=True):
            group["lr"] = rate
        scheduler._last_lr = rates  # what get_last_lr() reports (and the lr logger reads)


class ConstantThenLinear:
    """lr factor 1 for the first ``constant`` iterations, then linearly down to 0 at ``total``.

    The pix2pix/CycleGAN schedule (Zhu et al. 2017, sec. 4: 100 epochs at 2e-4, then linear
    decay to zero over the next 100), counted in generator iterations. A callable object rather
    than a lambda, so that its settings can be read (the module's settings always come from the
    config: :func:`keep_schedule_positions`).
    """

    def __init__(self, total: int, constant: int) -> None:
        self.total, self.constant = int(total), int(constant)

    def __call__(self, iteration: int) -> float:
        if iteration < self.constant:
            return 1.0
        return max(0.0, (self.total - iteration) / max(1, self.total - self.constant))


def constant_then_linear(optimizer: torch.optim.Optimizer, iterations: int,
                         decay_fraction: float = 0.5) -> LambdaLR:
    """LambdaLR that keeps the lr for ``(1 - decay_fraction) * iterations`` iterations, then
    decays it linearly to 0 at ``iterations``."""
    if not 0.0 <= float(decay_fraction) <= 1.0:
        raise ValueError(f"optim.scheduler_*.decay_fraction={decay_fraction}: must be in [0, 1]")
    constant = round(int(iterations) * (1.0 - float(decay_fraction)))
    return LambdaLR(optimizer, ConstantThenLinear(int(iterations), constant))

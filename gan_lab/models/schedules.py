"""Learning-rate schedules, stepped once per generator iteration (the one training counter)."""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import LambdaLR


class ConstantThenLinear:
    """lr factor 1 for the first ``constant`` iterations, then linearly down to 0 at ``total``.

    The pix2pix/CycleGAN schedule (Zhu et al. 2017, sec. 4: 100 epochs at 2e-4, then linear
    decay to zero over the next 100), counted in generator iterations. A callable object rather
    than a lambda, so that LambdaLR stores its settings in checkpoints and they load with
    ``weights_only=True``.
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

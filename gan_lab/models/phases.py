"""Phases: the optimizer steps one training iteration is made of.

Modelled on stylegan2-ada's Gmain / Greg / Dmain / Dreg (Karras et al. 2020, training_loop.py):
a scheme lists its phases in the order they run; each names the optimizer group it steps, the
function that computes its named loss terms, how often it runs (``every`` k iterations: lazy R1
every 16, path length every 4) and the gain its total is multiplied by before the backward pass.

One *iteration* reads ``n_critic`` batches. Phases marked ``critic`` (the discriminator's main
and regularization phases) run on every one of them; the others (the generator's) run on the
last batch only, after or before the critic phases as the scheme lists them. With the module's
``fresh_generator_batch`` the iteration reads one batch more, and the generator's phases run on
that one alone (R3GAN's official loop).

A *joint* phase names several groups and one total per group: every total's gradient is taken at
the same parameters (one forward), and only then are all the groups stepped (the simultaneous
gradient step of ALI / PacGAN's training algorithm, `ali_algorithm` in Dumoulin et al.'s code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

Terms = dict[str, Tensor]


@dataclass(frozen=True)
class Phase:
    """One optimizer step of an iteration.

    Args:
        name: e.g. "Dmain", "Dreg", "Gmain", "Greg".
        optimizer: the optimizer group it steps (a key of the scheme's ``optimizer_groups``), or
            a tuple of groups for a joint phase.
        step: batch -> named terms (detached extras such as scores are fine); ``total`` names
            the one that is backpropagated.
        total: the key of the loss to minimise, e.g. "loss/d"; a joint phase names one per
            group, in the same order (each total trains only its own group).
        every: runs on iterations i with i % every == 0 (i counted from 0, as stylegan2-ada).
        lazy: lazy regularization (Karras et al. 2020, "Analyzing and Improving", sec. 3.1): the
            total is multiplied by ``every`` so the regularizer keeps its strength, and the
            group's optimizer is rescaled by c = every / (every + 1) (lr * c, betas ** c), as
            the official code does for any group with a lazy phase.
        critic: runs on each of the iteration's ``n_critic`` batches, not only on the last.
        after: called after the optimizer step (e.g. WGAN weight clipping).
        enabled: False for a phase that is declared but never runs (a regularizer of weight
            0). A disabled lazy phase still rescales its group's optimizer: stylegan2-ada's
            training_loop.py keeps Greg / Dreg and their lr / betas rescaling (G_reg_interval 4,
            D_reg_interval 16) whatever the weights, and a zero-weight phase there steps nothing
            (no gradient reaches its parameters), e.g. the cifar config's pl_weight 0.
        condition: asked each time the phase is due; when it answers False the phase is
            skipped and its optimizer not stepped (3D-GAN updates D only while its accuracy on
            the last batch is at most 80 %: Wu et al. 2016, sec. 3.2). The base logs the share
            of due occasions a conditional phase ran, as ``phase/<name>_ran``.
        repeat: how many times the phase runs when due, each time a forward, a backward and an
            optimizer step on the same batch (SinGAN's Gsteps = 3 generator updates).
        stages: the names of the stages it runs in (gan_lab.models.stages; SRGAN's MSE phase
            only in its pre-training stage); None: every stage whose groups include its own.
    """

    name: str
    optimizer: str | tuple[str, ...]
    step: Callable[[Any], Terms]
    total: str | tuple[str, ...]
    every: int = 1
    lazy: bool = False
    critic: bool = False
    after: Callable[[], None] | None = None
    enabled: bool = True
    condition: Callable[[], bool] | None = None
    repeat: int = 1
    stages: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if int(self.every) < 1:
            raise ValueError(f"phase {self.name}: every={self.every} must be an integer >= 1")
        if isinstance(self.repeat, bool) or int(self.repeat) < 1:
            raise ValueError(f"phase {self.name}: repeat={self.repeat} must be an integer >= 1")
        if len(self.groups) != len(self.totals):
            raise ValueError(f"phase {self.name}: {len(self.groups)} optimizer groups but "
                             f"{len(self.totals)} totals; a joint phase names one total per group")

    @property
    def groups(self) -> tuple[str, ...]:
        """The optimizer groups this phase steps (one, or several for a joint phase)."""
        return (self.optimizer,) if isinstance(self.optimizer, str) else tuple(self.optimizer)

    @property
    def totals(self) -> tuple[str, ...]:
        """The loss each of ``groups`` minimises."""
        return (self.total,) if isinstance(self.total, str) else tuple(self.total)

    @property
    def gain(self) -> float:
        return float(self.every) if self.lazy else 1.0

    def due(self, iteration: int, critic_batch: bool, last_batch: bool) -> bool:
        """Whether this phase runs on a batch of iteration ``iteration`` (0-based): critic
        phases on the critic's batches, the others on the iteration's last batch (the critic's
        last, or the generator's own with ``fresh_generator_batch``); never when disabled."""
        if not self.enabled:
            return False
        return (critic_batch if self.critic else last_batch) and iteration % self.every == 0


def lazy_ratio(phases: list[Phase], group: str) -> float:
    """c = k / (k + 1) for the group's lazy phase of interval k, 1 if it has none; disabled lazy
    phases count (the official loop rescales for the declared interval, weight or no weight)."""
    intervals = [p.every for p in phases if group in p.groups and p.lazy and p.every > 1]
    return 1.0 if not intervals else min(intervals) / (min(intervals) + 1)


def rescale_for_lazy_phases(optimizer: torch.optim.Optimizer, ratio: float) -> None:
    """lr * ratio and betas ** ratio (Adam-style optimizers), as stylegan2-ada's training loop."""
    if ratio == 1.0:
        return
    for group in optimizer.param_groups:
        group["lr"] = group["lr"] * ratio
        if "betas" in group:
            group["betas"] = tuple(beta ** ratio for beta in group["betas"])
    # Schedulers built later read initial_lr from the rescaled lr.

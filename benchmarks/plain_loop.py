"""The baseline of throughput.py: the module's own phases run by a plain PyTorch loop.

The loop knows no scheme. It takes the module's optimizer groups, its phases
(gan_lab.models.phases: the steps of one iteration, as the module's ``training_step`` runs them)
and its loader, and per iteration reads ``n_critic`` batches, calls ``prepare_batch`` and each
due phase's ``step``, then ``zero_grad(set_to_none=True)``, ``backward`` on the phase's total
times its gain (for a joint phase, each total into its own group's parameters before any
step), gradient clipping when set, ``step`` and the phase's ``after`` hook; then the EMA
and the schedulers, and the loss terms accumulated as detached tensors, turned into floats every
``log_every`` iterations. A new scheme is benchmarked with no edit here.

What only the Lightning side does, and therefore what the ratio measures: the Trainer's loops,
hooks and ``LightningOptimizer`` wrappers, ``manual_backward``, the ``requires_grad`` toggling
of ``toggled_optimizer`` (``freeze=True`` adds it here), the module's counters and logging.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gan_lab.models.phases import lazy_ratio, rescale_for_lazy_phases


def plain_loop(module: Any, batches: Any, iterations: int, warmup: int, window: Any,
               freeze: bool = False) -> None:
    """Run ``warmup + iterations + 1`` iterations; ``window`` opens at the start of iteration
    ``warmup + 1`` and closes at the start of the last one (as the Lightning side's timer)."""
    module.train()
    phases = module.phase_list
    groups = {name: list(params) for name, params in module.optimizer_groups().items()}
    optimizers = {}
    for name, params in groups.items():
        optimizers[name] = module.optimizer_factories[name](params)
        rescale_for_lazy_phases(optimizers[name], lazy_ratio(phases, name))
    module.loop_optimizers = optimizers  # what a scheme's hooks reach (ProGAN's stage resets)
    schedulers = [module.scheduler_factories[name](opt) for name, opt in optimizers.items()
                  if name in module.scheduler_factories]
    sums: dict[str, Tensor] = {}
    counts: dict[str, int] = {}

    def freeze_all_but(group: str) -> None:
        for name, params in groups.items():
            for param in params:
                param.requires_grad_(name == group)

    for iteration in range(warmup + iterations + 1):
        for index in range(module.batches_per_iteration):
            batch = next(batches)
            if index == 0 and iteration == warmup:
                window.open()  # the same point as Lightning's on_train_batch_start
            if index == 0 and iteration == warmup + iterations:
                window.close()  # and this last iteration runs untimed, as on Lightning's side
            last = index == module.batches_per_iteration - 1
            critic = index < module.n_critic
            module.begin_batch(batch)  # stages advance between iterations, then prepare_batch
            for phase in phases:
                if not phase.due(iteration, critic, last) or \
                        not module.runs_now(phase):
                    continue
                if freeze and len(phase.groups) == 1:
                    freeze_all_but(phase.groups[0])
                terms = phase.step(batch)
                for name in phase.groups:
                    optimizers[name].zero_grad(set_to_none=True)
                if len(phase.groups) == 1:
                    (terms[phase.total] * module.backward_gain(phase)).backward()
                else:  # a joint phase: each total's gradient for its own group, before any step
                    for index, (name, total) in enumerate(zip(phase.groups, phase.totals,
                                                              strict=True)):
                        (terms[total] * module.backward_gain(phase)).backward(
                            inputs=groups[name], retain_graph=index < len(phase.groups) - 1)
                for name in phase.groups:
                    if module.clip_grad_norm is not None:
                        torch.nn.utils.clip_grad_norm_(groups[name], module.clip_grad_norm)
                    optimizers[name].step()
                if phase.after is not None:
                    phase.after()
                for name, value in terms.items():
                    value = value.detach().float()
                    sums[name] = sums[name] + value if name in sums else value
                    counts[name] = counts.get(name, 0) + 1
            module.end_batch(batch, critic, last)  # images shown, batch and stage counters
        if freeze:  # as Lightning's untoggle: every parameter trainable again
            for params in groups.values():
                for param in params:
                    param.requires_grad_(True)
        if module.generator_ema is not None and iteration + 1 > module.ema_start:
            module.update_ema()
        for scheduler in schedulers:
            scheduler.step()
        if (iteration + 1) % module.log_every == 0:
            _ = {name: float(total) / counts[name] for name, total in sums.items()}
            sums, counts = {}, {}

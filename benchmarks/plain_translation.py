"""Hand-written PyTorch training loops for pix2pix and CycleGAN: the baselines of throughput.py.

Each does per iteration what the reference code (junyanz/pytorch-CycleGAN-and-pix2pix,
``optimize_parameters``) does, with the module's own nets, loss, optimizers, pools and loader:
G forward, G's objective, backward, step; then D on the real images and on the detached fakes
of that G forward (through the history pools for CycleGAN), backward, step; the lr schedulers
stepped; the loss terms accumulated as detached tensors and turned into floats every
``log_every`` iterations. ``freeze=True`` adds the ``requires_grad`` toggling that Lightning's
``toggled_optimizer`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from gan_lab.models import CycleGAN, Pix2Pix, Translator


def pix2pix_step(module: Pix2Pix, a: Tensor, b: Tensor, update: Callable, freeze: bool) -> dict:
    g, d, loss = module.generator["AtoB"], module.discriminator["B"], module.loss
    if freeze:
        d.requires_grad_(False)
        g.requires_grad_(True)
    fake = g(a)
    l1 = (fake - b).abs().mean()
    adversarial = loss.generator_loss(d(torch.cat([a, fake], 1)))
    terms = {"loss/g_l1": l1, "loss/g_adv": adversarial,
             "loss/g": module.l1_weight * l1 + module.adversarial_weight * adversarial}
    update("g", terms["loss/g"])
    if freeze:
        d.requires_grad_(True)
        g.requires_grad_(False)
    real_pair, fake_pair = torch.cat([a, b], 1), torch.cat([a, fake.detach()], 1)
    real_scores, fake_scores = d(real_pair), d(fake_pair)
    terms["loss/d"] = loss.discriminator_loss(real_scores, fake_scores)
    terms["score/real_B"], terms["score/fake_B"] = real_scores.mean(), fake_scores.mean()
    update("d", terms["loss/d"])
    return terms


def cyclegan_step(module: CycleGAN, a: Tensor, b: Tensor, update: Callable, freeze: bool) -> dict:
    g, f = module.generator["AtoB"], module.generator["BtoA"]
    d_a, d_b, loss = module.discriminator["A"], module.discriminator["B"], module.loss
    if freeze:
        module.discriminator.requires_grad_(False)
        module.generator.requires_grad_(True)
    fake_b, fake_a = g(a), f(b)
    rec_a, rec_b = f(fake_b), g(fake_a)
    terms = {"loss/g_adv_AtoB": loss.generator_loss(d_b(fake_b)),
             "loss/g_adv_BtoA": loss.generator_loss(d_a(fake_a)),
             "loss/cycle_A": (rec_a - a).abs().mean(), "loss/cycle_B": (rec_b - b).abs().mean(),
             "loss/identity_A": (f(a) - a).abs().mean(), "loss/identity_B": (g(b) - b).abs().mean()}
    terms["loss/g"] = (
        module.adversarial_weight * (terms["loss/g_adv_AtoB"] + terms["loss/g_adv_BtoA"])
        + module.cycle_weight * (terms["loss/cycle_A"] + terms["loss/cycle_B"])
        + module.identity_weight * module.cycle_weight
        * (terms["loss/identity_A"] + terms["loss/identity_B"]))
    update("g", terms["loss/g"])
    if freeze:
        module.discriminator.requires_grad_(True)
        module.generator.requires_grad_(False)
    total = 0.0
    for domain, real, fake in (("B", b, fake_b), ("A", a, fake_a)):
        critic = module.discriminator[domain]
        real_scores, fake_scores = critic(real), critic(module.pools[domain](fake))
        terms[f"loss/d_{domain}"] = loss.discriminator_loss(real_scores, fake_scores)
        terms[f"score/real_{domain}"] = real_scores.mean()
        terms[f"score/fake_{domain}"] = fake_scores.mean()
        total = total + terms[f"loss/d_{domain}"]
    terms["loss/d"] = total
    update("d", terms["loss/d"])
    return terms


STEPS: dict[type, Callable[..., dict]] = {Pix2Pix: pix2pix_step, CycleGAN: cyclegan_step}


def plain_translator_loop(module: Translator, batches: Any, iterations: int, warmup: int,
                          window: Any, freeze: bool = False) -> None:
    """Run ``warmup + iterations + 1`` iterations; ``window`` opens at the start of iteration
    ``warmup + 1`` and closes at the start of the last one (as the Lightning side's timer)."""
    step = STEPS[type(module)]
    module.generator.train()
    module.discriminator.train()
    optimizers = {"g": module.optimizer_g_factory(module.generator.parameters()),
                  "d": module.optimizer_d_factory(module.discriminator.parameters())}
    factories = {"g": module.scheduler_g_factory, "d": module.scheduler_d_factory}
    schedulers = [factories[k](opt) for k, opt in optimizers.items() if factories[k] is not None]
    sums: dict[str, Tensor] = {}
    counts: dict[str, int] = {}

    def update(name: str, value: Tensor) -> None:
        optimizers[name].zero_grad(set_to_none=True)
        value.backward()
        optimizers[name].step()

    for iteration in range(1, warmup + iterations + 2):
        a, b = next(batches)[:2]
        if iteration == warmup + 1:
            window.open()
        if iteration == warmup + iterations + 1:
            window.close()
        terms = step(module, a, b, update, freeze)
        for scheduler in schedulers:
            scheduler.step()
        for name, value in terms.items():
            value = value.detach().float()
            sums[name] = sums[name] + value if name in sums else value
            counts[name] = counts.get(name, 0) + 1
        if iteration % module.log_every == 0:
            _ = {name: float(total) / counts[name] for name, total in sums.items()}
            sums, counts = {}, {}

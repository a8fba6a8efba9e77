"""CycleGAN: unpaired image-to-image translation with cycle consistency."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from gan_lab.losses import AdversarialLoss
from gan_lab.models.image_pool import ImagePool
from gan_lab.models.phases import Phase
from gan_lab.models.translator import Translator


class CycleGAN(Translator):
    """Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
    Adversarial Networks".

    Two generators, G: A -> B (``generator["AtoB"]``) and F: B -> A (``generator["BtoA"]``),
    and two discriminators, D_B judging domain B and D_A judging domain A. Full objective,
    eq. (3): L_GAN(G, D_B) + L_GAN(F, D_A) + lambda L_cyc(G, F), with the cycle loss of
    eq. (2), L_cyc = E ||F(G(a)) - a||_1 + E ||G(F(b)) - b||_1, lambda = ``cycle_weight`` (10).
    The identity loss of sec. 5.2, E ||G(b) - b||_1 + E ||F(a) - a||_1, is weighted
    ``identity_weight * cycle_weight`` (0.5 * 10 in the reference code); it needs domains with
    equal channel counts.

    Sec. 4 training details: least-squares objective (``loss=lsgan``; any ``loss`` option
    works), discriminators updated from a history of 50 generated images (``pool_size``, see
    ImagePool), Adam 2e-4 with beta1 0.5 and linear decay (the optim config). Our LSGAN
    generator term is Mao et al.'s 0.5 E[(D(G(x)) - 1)^2] while sec. 4 minimises
    E[(D(G(x)) - 1)^2]; ``adversarial_weight`` scales G's adversarial terms (the cyclegan
    config sets 2 so the balance against lambda is the paper's). The paper halves D's objective;
    a constant factor on D's whole loss does not change Adam's updates, so it is left out.

    Update order, as the reference code's ``optimize_parameters``: the generators' step (the
    discriminators frozen), then the discriminators' step on the fakes that step made (drawn
    through the pools).

    Batches are ``(a, b)``: unpaired images of the two domains (paired data works too).
    """

    directions = ("AtoB", "BtoA")
    visual_names = ("real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B")

    def __init__(self, generator_ab: nn.Module, generator_ba: nn.Module,
                 discriminator_a: nn.Module, discriminator_b: nn.Module, loss: AdversarialLoss,
                 cycle_weight: float = 10.0, identity_weight: float = 0.5,
                 adversarial_weight: float = 1.0, pool_size: int = 50,
                 inference: str = "eval", **training: Any) -> None:
        for key, value in (("cycle_weight", cycle_weight), ("identity_weight", identity_weight),
                           ("adversarial_weight", adversarial_weight)):
            if float(value) < 0:
                raise ValueError(f"model.{key}={value}: must be >= 0")
        super().__init__({"AtoB": generator_ab, "BtoA": generator_ba},
                         {"A": discriminator_a, "B": discriminator_b}, loss, inference, **training)
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.adversarial_weight = float(adversarial_weight)
        # One history per discriminator; buffers, so they are saved and restored with the nets.
        self.pools = nn.ModuleDict({"A": ImagePool(pool_size), "B": ImagePool(pool_size)})
        self._fakes: dict[str, Tensor] = {}

    def phases(self) -> list[Phase]:
        return [Phase("Gmain", "generator", self.generator_step, "loss/g"),
                self.discriminator_phase()]

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        real_a, real_b = batch[0], batch[1]
        g, f = self.generator["AtoB"], self.generator["BtoA"]
        fake_b, fake_a = g(real_a), f(real_b)
        rec_a, rec_b = f(fake_b), g(fake_a)
        self._fakes = {"A": fake_a.detach(), "B": fake_b.detach()}
        terms = {
            "loss/g_adv_AtoB": self.loss.generator_loss(self.judge("B", fake_b)),
            "loss/g_adv_BtoA": self.loss.generator_loss(self.judge("A", fake_a)),
            "loss/cycle_A": (rec_a - real_a).abs().mean(),
            "loss/cycle_B": (rec_b - real_b).abs().mean(),
        }
        total = (self.adversarial_weight * (terms["loss/g_adv_AtoB"] + terms["loss/g_adv_BtoA"])
                 + self.cycle_weight * (terms["loss/cycle_A"] + terms["loss/cycle_B"]))
        if self.identity_weight:
            if real_a.shape[1] != real_b.shape[1]:
                raise ValueError(
                    f"model.identity_weight={self.identity_weight}: the identity loss needs "
                    f"domains with equal channels (A has {real_a.shape[1]}, B "
                    f"{real_b.shape[1]}); set model.identity_weight=0")
            terms["loss/identity_A"] = (f(real_a) - real_a).abs().mean()
            terms["loss/identity_B"] = (g(real_b) - real_b).abs().mean()
            total = total + self.identity_weight * self.cycle_weight * (
                terms["loss/identity_A"] + terms["loss/identity_B"])
        terms["loss/g"] = total
        return terms

    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        real_a, real_b = batch[0], batch[1]
        fakes = self._fakes or {"B": self.fresh_fake(real_a, "AtoB"),
                                "A": self.fresh_fake(real_b, "BtoA")}
        terms = self.adversarial_terms("B", real_b, self.pools["B"](fakes["B"]))
        terms.update(self.adversarial_terms("A", real_a, self.pools["A"](fakes["A"])))
        terms["loss/d"] = sum(v for k, v in terms.items() if k.startswith("loss/"))
        self._fakes = {}
        return terms

    @torch.no_grad()
    def rows(self, real_a: Tensor, real_b: Tensor) -> dict[str, Tensor]:
        fake_b, fake_a = self.translate(real_a, "AtoB"), self.translate(real_b, "BtoA")
        return {"real_A": real_a, "fake_B": fake_b, "rec_A": self.translate(fake_b, "BtoA"),
                "real_B": real_b, "fake_A": fake_a, "rec_B": self.translate(fake_a, "AtoB")}

"""pix2pix: paired image-to-image translation with a conditional GAN and an L1 term."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from gan_lab.losses import AdversarialLoss
from gan_lab.models.phases import Phase
from gan_lab.models.translator import Translator


class Pix2Pix(Translator):
    """Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks".

    G maps an input image x of domain A to G(x) in domain B; its noise is dropout (sec. 3.1).
    D sees input and output together, concatenated along channels, and judges the pair per
    patch (sec. 3.2.2). Objective, eq. (4): G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G),
    with lambda = ``l1_weight`` (100 in the paper) and L_L1 = E ||y - G(x)||_1 (eq. 3).
    L_cGAN is the ``loss`` objective (the paper's: non-saturating log loss, ``loss=nsgan``).

    The ablation of Table 1 is a matter of weights: ``adversarial_weight=0`` is "L1 only"
    (D still trains, but G ignores it), ``l1_weight=0`` is "cGAN only". The paper halves D's
    objective (sec. 3.3); a constant factor on D's whole loss does not change Adam's updates,
    so it is left out.

    Update order, as the reference code's ``optimize_parameters``: one forward pass
    fake_B = G(A) (:meth:`prepare_batch`), then D's update judging fake_B detached, then G's
    update through the same fake_B, judged by the D just updated.

    Batches are ``(a, b)``: input images and their targets.
    """

    directions = ("AtoB",)
    visual_names = ("real_A", "fake_B", "real_B")
    needs_pairs = True  # the L1 term and D's (input, output) pairs need aligned targets

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: AdversarialLoss,
                 l1_weight: float = 100.0, adversarial_weight: float = 1.0,
                 inference: str = "train", **training: Any) -> None:
        for key, value in (("l1_weight", l1_weight), ("adversarial_weight", adversarial_weight)):
            if float(value) < 0:
                raise ValueError(f"model.{key}={value}: must be >= 0")
        if float(l1_weight) == 0 and float(adversarial_weight) == 0:
            raise ValueError("model.l1_weight and model.adversarial_weight are both 0: "
                             "G would have nothing to learn from")
        super().__init__({"AtoB": generator}, {"B": discriminator}, loss, inference, **training)
        self.l1_weight = float(l1_weight)
        self.adversarial_weight = float(adversarial_weight)
        self._fake: Tensor | None = None

    def phases(self) -> list[Phase]:
        return [self.discriminator_phase(), Phase("Gmain", "generator", self.generator_step,
                                                  "loss/g")]

    def prepare_batch(self, batch: Any) -> None:
        # The one forward pass of the batch: D judges it detached, G learns through it.
        self._fake = self.generator["AtoB"](batch[0])

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        real_a, real_b = batch[0], batch[1]
        fake_b = self._fake if self._fake is not None else self.generator["AtoB"](real_a)
        self._fake = None
        l1 = (fake_b - real_b).abs().mean()
        terms = {"loss/g_l1": l1}
        total = self.l1_weight * l1
        if self.adversarial_weight:
            scores = self.judge("B", torch.cat([real_a, fake_b], dim=1))
            adversarial = self.loss.generator_loss(scores)
            terms["loss/g_adv"] = adversarial
            total = total + self.adversarial_weight * adversarial
        terms["loss/g"] = total
        return terms

    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        real_a, real_b = batch[0], batch[1]
        fake_b = self._fake.detach() if self._fake is not None else self.fresh_fake(real_a, "AtoB")
        terms = self.adversarial_terms(
            "B", torch.cat([real_a, real_b], dim=1), torch.cat([real_a, fake_b], dim=1))
        terms["loss/d"] = sum(v for k, v in terms.items() if k.startswith("loss/"))
        return terms

    @torch.no_grad()
    def rows(self, real_a: Tensor, real_b: Tensor) -> dict[str, Tensor]:
        return {"real_A": real_a, "fake_B": self.translate(real_a, "AtoB"), "real_B": real_b}

"""``AdversarialLoss``: one object bundling an objective with its discriminator regularisers.

Hydra builds it from the ``loss`` config node, e.g.::

    loss:
      _target_: gan_lab.losses.AdversarialLoss
      objective: wasserstein
      gp_weight: 10.0

The training module calls :meth:`discriminator_terms` (or :meth:`discriminator_loss` + the values
of :meth:`penalties`) for the discriminator step, :meth:`generator_loss` for the generator step (with D's scores on the real
batch too when :attr:`needs_real_scores`: relativistic pairing), and
:meth:`after_discriminator_step` after each discriminator optimizer step.
"""

from __future__ import annotations

import math
from numbers import Real

import torch
from torch import Tensor, nn

from gan_lab.losses.objectives import OBJECTIVES, PAIRED_OBJECTIVES
from gan_lab.losses.regularizers import (
    Critic,
    clip_weights_,
    gradient_penalty,
    penalty_input,
    r1_penalty,
    r2_penalty,
    zero_centered_penalty_of,
)
from gan_lab.speed import eager_nets

__all__ = ["AdversarialLoss"]


def _number(key: str, value: object, *, allow_zero: bool, allow_none: bool = False) -> float | None:
    """Validate one numeric config value and return it as a float (or None)."""
    bound = ">= 0" if allow_zero else "> 0"
    suffix = " or null" if allow_none else ""
    if value is None:
        if allow_none:
            return None
        raise ValueError(f"loss.{key}=None must be a number {bound}")
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"loss.{key}={value!r} must be a number {bound}{suffix}")
    as_float = float(value)
    ok = as_float >= 0 if allow_zero else as_float > 0
    if not ok or not math.isfinite(as_float):
        raise ValueError(f"loss.{key}={value!r} must be {'a finite number ' if ok else ''}"
                         f"{bound}{suffix}")
    return as_float


class AdversarialLoss:
    """GAN objective plus optional gradient penalty, R1 / R2 penalties and weight clipping.

    Args:
        objective: one of ``OBJECTIVES`` (hinge, lsgan, minimax, nsgan, wasserstein) or
            ``PAIRED_OBJECTIVES`` (rpgan: relativistic pairing, whose generator loss also takes
            D's scores on the real batch, paired element-wise with the fakes).
        gp_weight: lambda of the WGAN-GP penalty (Gulrajani et al. 2017); 0 disables it.
        gp_center: target gradient norm of that penalty (1 two-sided, 0 zero-centred).
        r1_gamma: gamma of the R1 penalty (Mescheder et al. 2018), applied as
            ``gamma / 2 * E||grad D(x)||^2``; 0 disables it.
        r2_gamma: gamma of the R2 penalty at generated samples (Mescheder et al. 2018, eq. 10;
            R3GAN, Huang et al. 2024, sec. 3), ``gamma / 2 * E||grad D(G(z))||^2`` as the
            official R3GAN code (``(Gamma / 2) * (R1Penalty + R2Penalty)``); 0 disables it.
        weight_clip: clip every discriminator parameter to ``[-c, c]`` after each
            discriminator step (Arjovsky et al. 2017); ``None`` disables it.
        drift: epsilon of ProGAN's drift term epsilon * E[D(x)^2] on real scores, which keeps
            a Wasserstein critic's output near 0 (Karras et al. 2018, appendix A.1: 0.001).
        share_forward: R1 and R2 differentiate the scores of the forward that made the
            adversarial loss (one D forward per input set, :meth:`discriminator_terms`), as the
            official R3GAN (training/loss.py via R3GAN/Trainer.py) and Mescheder et al.'s code;
            False: each penalty runs a forward of its own (:meth:`penalties`).
    """

    def __init__(
        self,
        objective: str = "nsgan",
        gp_weight: float = 0.0,
        gp_center: float = 1.0,
        r1_gamma: float = 0.0,
        weight_clip: float | None = None,
        drift: float = 0.0,
        r2_gamma: float = 0.0,
        share_forward: bool = True,
    ) -> None:
        known = {**OBJECTIVES, **PAIRED_OBJECTIVES}
        if not isinstance(objective, str) or objective not in known:
            allowed = ", ".join(sorted(known))
            raise ValueError(f"loss.objective={objective!r} is not one of: {allowed}")
        self.objective: str = objective
        self.gp_weight: float = _number("gp_weight", gp_weight, allow_zero=True)
        if isinstance(gp_center, bool) or not isinstance(gp_center, Real) or not math.isfinite(
            gp_center
        ):
            raise ValueError(f"loss.gp_center={gp_center!r} must be a finite number")
        self.gp_center: float = float(gp_center)
        self.r1_gamma: float = _number("r1_gamma", r1_gamma, allow_zero=True)
        self.weight_clip: float | None = _number(
            "weight_clip", weight_clip, allow_zero=False, allow_none=True
        )
        self.drift: float = _number("drift", drift, allow_zero=True)
        self.r2_gamma: float = _number("r2_gamma", r2_gamma, allow_zero=True)
        self.share_forward = bool(share_forward)
        self._d_loss, self._g_loss = known[objective]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(objective={self.objective!r}, gp_weight={self.gp_weight}, "
            f"gp_center={self.gp_center}, r1_gamma={self.r1_gamma}, r2_gamma={self.r2_gamma}, "
            f"weight_clip={self.weight_clip}, drift={self.drift}, "
            f"share_forward={self.share_forward})"
        )

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        """Objective's discriminator loss from raw scores on real and generated samples."""
        return self._d_loss(real_scores, fake_scores)

    @property
    def needs_real_scores(self) -> bool:
        """Whether :meth:`generator_loss` needs D's scores on real samples (relativistic
        pairing: ``rpgan``); the generator step then scores a real batch too."""
        return self.objective in PAIRED_OBJECTIVES

    def generator_loss(self, fake_scores: Tensor, real_scores: Tensor | None = None) -> Tensor:
        """Objective's generator loss from raw scores on generated samples (and, for a paired
        objective, on as many real samples, paired element-wise; ignored otherwise)."""
        if not self.needs_real_scores:
            return self._g_loss(fake_scores)
        if real_scores is None:
            raise ValueError(f"loss.objective={self.objective} is relativistic: its generator "
                             "loss needs D's scores on real samples (real_scores=)")
        return self._g_loss(fake_scores, real_scores)

    def penalties(self, critic: Critic, real: Tensor, fake: Tensor,
                  real_scores: Tensor | None = None,
                  zero_centered: bool = True) -> dict[str, Tensor]:
        """Already-weighted regulariser terms to add to the discriminator loss.

        Keys: ``"gp"`` (``gp_weight * gradient_penalty``) when ``gp_weight > 0``, ``"r1"``
        (``r1_gamma / 2 * r1_penalty`` at ``real``) when ``r1_gamma > 0``, ``"r2"``
        (``r2_gamma / 2 * r2_penalty`` at ``fake``) when ``r2_gamma > 0`` and ``"drift"``
        (``drift * E[D(x)^2]`` on ``real_scores``) when ``drift > 0``; empty when none is on.
        R1 and R2 run a forward of their own here; ``zero_centered=False`` leaves them out
        (:meth:`discriminator_terms` takes them from the loss's forward).
        """
        terms: dict[str, Tensor] = {}
        if self.drift > 0:
            if real_scores is None:
                raise ValueError("loss.drift needs the real scores: pass real_scores=")
            terms["drift"] = self.drift * real_scores.float().square().mean()
        if self.gp_weight > 0:
            terms["gp"] = self.gp_weight * gradient_penalty(
                critic, real, fake, center=self.gp_center
            )
        if zero_centered and self.r1_gamma > 0:
            terms["r1"] = 0.5 * self.r1_gamma * r1_penalty(critic, real)
        if zero_centered and self.r2_gamma > 0:
            terms["r2"] = 0.5 * self.r2_gamma * r2_penalty(critic, fake)
        return terms

    @property
    def shares_forward(self) -> bool:
        """Whether :meth:`discriminator_terms` takes R1 / R2 from the loss's own forward."""
        return self.share_forward and (self.r1_gamma > 0 or self.r2_gamma > 0)

    def discriminator_terms(self, critic: Critic, real: Tensor, fake: Tensor,
                            fake_critic: Critic | None = None
                            ) -> tuple[Tensor, dict[str, Tensor], Tensor, Tensor]:
        """D's adversarial loss, its weighted penalties and its scores on ``real`` and ``fake``:
        ``(adversarial, penalties, real_scores, fake_scores)``.

        ``fake_critic`` scores the fakes (default ``critic``: the fakes with the reals' labels).
        With R1 or R2 on and :attr:`shares_forward`, D runs once per input set, as the official
        R3GAN's D phase: the inputs require grad, the forward runs in float32 with autocast off
        and compiled nets eager (the penalty's double backprop needs both, see
        gan_lab.losses.regularizers), and R1 / R2 are the input gradients of these same scores.
        The gradients are taken w.r.t. the critic's input before any augmentation inside the
        critic (the official code differentiates ``D(augment(x))`` w.r.t. ``x`` too), with the
        same augmentation draw as the loss. WGAN-GP's interpolates and the drift term are as in
        :meth:`penalties`. Otherwise: one forward each for the loss, then :meth:`penalties`.
        """
        fake_critic = critic if fake_critic is None else fake_critic
        if not self.shares_forward:
            real_scores, fake_scores = critic(real), fake_critic(fake)
            adversarial = self.discriminator_loss(real_scores, fake_scores)
            terms = self.penalties(critic, real, fake.detach(), real_scores=real_scores)
            return adversarial, terms, real_scores, fake_scores
        with torch.autocast(device_type=real.device.type, enabled=False), eager_nets():
            real_in = penalty_input(real, self.r1_gamma > 0)
            fake_in = penalty_input(fake, self.r2_gamma > 0)
            real_scores, fake_scores = critic(real_in), fake_critic(fake_in)
            terms = self.penalties(critic, real, fake.detach(), real_scores=real_scores,
                                   zero_centered=False)
            if self.r1_gamma > 0:
                terms["r1"] = 0.5 * self.r1_gamma * zero_centered_penalty_of(real_in, real_scores)
            if self.r2_gamma > 0:
                terms["r2"] = 0.5 * self.r2_gamma * zero_centered_penalty_of(fake_in, fake_scores)
        adversarial = self.discriminator_loss(real_scores, fake_scores)
        return adversarial, terms, real_scores, fake_scores

    @property
    def penalizes_input_gradients(self) -> bool:
        """Whether a penalty differentiates D's scores w.r.t. its inputs (WGAN-GP, R1, R2)."""
        return self.gp_weight > 0 or self.r1_gamma > 0 or self.r2_gamma > 0

    def check_critic(self, critic: nn.Module, name: str = "the discriminator") -> None:
        """ValueError when a penalty meets batch norm in the critic.

        The penalties differentiate the sum of the batch's scores, which gives each sample's
        own gradient only if no layer mixes the samples of a batch; batch norm in training mode
        does (at 32 px, width 32, batch 64 the DCGAN critic's GP was 13 % off, R1 7 %).
        """
        if not self.penalizes_input_gradients:
            return
        mixing = [type(m).__name__ for m in critic.modules()
                  if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if mixing:
            raise ValueError(
                f"{name} has {mixing[0]}, which mixes the samples of a batch, so the penalty of "
                f"loss={self.objective} (gp_weight={self.gp_weight}, r1_gamma={self.r1_gamma}, "
                f"r2_gamma={self.r2_gamma}) "
                "would not be each sample's; use a critic without batch norm (norm=layer, the "
                "default with penalties, or norm=none)")

    def after_discriminator_step(self, discriminator: nn.Module) -> None:
        """Clip the discriminator's weights when ``weight_clip`` is set; otherwise do nothing."""
        if self.weight_clip is not None:
            clip_weights_(discriminator, self.weight_clip)

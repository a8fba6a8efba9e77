"""The unconditional GAN training scheme: any generator, discriminator and adversarial loss."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from gan_lab.losses import AdversarialLoss
from gan_lab.models.base import AdversarialModule
from gan_lab.nets.packing import pack


class GAN(AdversarialModule):
    """Goodfellow et al. 2014, Alg. 1, with the options later papers added.

    The objective and its regularizers come from `loss` (minimax, non-saturating, WGAN,
    WGAN-GP, LSGAN, hinge, R1); `n_critic` discriminator updates per generator update
    (Arjovsky et al. 2017); PacGAN packing (Lin et al. 2018, sec. 3): with ``packing=m`` the
    discriminator judges m independently drawn samples concatenated along dim 1, for real
    and fake alike, so its input width is m times the sample width.

    Sampling protocol (used by callbacks and commands): ``sample(n)`` or
    ``sample(noise=z)`` returns generator outputs, from the EMA generator when it exists.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss,
        latent_dim: int,
        packing: int = 1,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        if int(packing) < 1:
            raise ValueError(f"model.packing={packing} must be an integer >= 1")
        self.generator = generator
        self.discriminator = discriminator
        self.loss = loss
        self.latent_dim = int(latent_dim)
        self.packing = int(packing)
        self.init_generator_ema(generator)

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Latent codes z ~ N(0, I); a given `generator` (CPU) makes them reproducible."""
        if generator is not None:
            return torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        return torch.randn(n, self.latent_dim, device=self.device)

    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        real = batch[0]
        fake = self.generator(self.noise(real.shape[0])).detach()
        real, fake = pack(real, self.packing), pack(fake, self.packing)
        real_scores, fake_scores = self.discriminator(real), self.discriminator(fake)
        adversarial = self.loss.discriminator_loss(real_scores, fake_scores)
        penalties = self.loss.penalties(self.discriminator, real, fake)
        terms = {f"loss/d_{name}": value for name, value in penalties.items()}
        terms["loss/d"] = adversarial + sum(penalties.values())
        terms["score/real"] = real_scores.mean()
        terms["score/fake"] = fake_scores.mean()
        return terms

    def after_discriminator_update(self) -> None:
        self.loss.after_discriminator_step(self.discriminator)

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        fake = self.generator(self.noise(batch[0].shape[0]))
        return {"loss/g": self.loss.generator_loss(self.discriminator(pack(fake, self.packing)))}

    @torch.no_grad()
    def sample(self, n: int | None = None, noise: Tensor | None = None) -> Tensor:
        """Generator outputs for `n` fresh codes or for the given `noise`, in eval mode."""
        if noise is None:
            if n is None:
                raise ValueError("sample() needs n or noise")
            noise = self.noise(n)
        generator = self.generator_ema.module if self.ema_ready() else self.generator
        was_training = generator.training
        generator.eval()
        try:
            return generator(noise.to(self.device))
        finally:
            generator.train(was_training)

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

    Conditional GAN (Mirza & Osindero 2014) with ``num_classes`` > 0: batches are
    ``(x, y)``; G gets the real batch's labels with its noise and D judges (x, y) pairs
    (the nets implement the conditioning: concatenation or projection). Under packing the m
    labels of a pack travel with it.

    Sampling protocol (used by callbacks and commands): ``sample(n, labels=None)`` or
    ``sample(noise=z, labels=y)`` returns generator outputs, from the EMA generator when it
    exists; a conditional model draws uniform labels when none are given.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss,
        latent_dim: int,
        packing: int = 1,
        num_classes: int = 0,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        if int(packing) < 1:
            raise ValueError(f"model.packing={packing} must be an integer >= 1")
        self.num_classes = int(num_classes)
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

    def _labels(self, batch: Any) -> Tensor | None:
        return batch[1] if self.num_classes else None

    def _pack_labels(self, labels: Tensor | None) -> Tensor | None:
        return None if labels is None else pack(labels[:, None], self.packing)

    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        real, labels = batch[0], self._labels(batch)
        fake = self.generator(self.noise(real.shape[0]), labels).detach()
        real, fake = pack(real, self.packing), pack(fake, self.packing)
        packed_labels = self._pack_labels(labels)

        def critic(x: Tensor) -> Tensor:
            return self.discriminator(x, packed_labels)

        real_scores, fake_scores = critic(real), critic(fake)
        adversarial = self.loss.discriminator_loss(real_scores, fake_scores)
        penalties = self.loss.penalties(critic, real, fake)
        terms = {f"loss/d_{name}": value for name, value in penalties.items()}
        terms["loss/d"] = adversarial + sum(penalties.values())
        terms["score/real"] = real_scores.mean()
        terms["score/fake"] = fake_scores.mean()
        return terms

    def after_discriminator_update(self) -> None:
        self.loss.after_discriminator_step(self.discriminator)

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        labels = self._labels(batch)
        fake = pack(self.generator(self.noise(batch[0].shape[0]), labels), self.packing)
        scores = self.discriminator(fake, self._pack_labels(labels))
        return {"loss/g": self.loss.generator_loss(scores)}

    @torch.no_grad()
    def sample(self, n: int | None = None, labels: Tensor | None = None,
               noise: Tensor | None = None) -> Tensor:
        """Generator outputs for `n` fresh codes or for the given `noise`, in eval mode."""
        if noise is None:
            if n is None:
                raise ValueError("sample() needs n or noise")
            noise = self.noise(n)
        if labels is not None and not self.num_classes:
            raise ValueError("this model is unconditional: sample() takes no labels")
        if self.num_classes and labels is None:
            labels = torch.randint(self.num_classes, (noise.shape[0],), device=self.device)
        generator = self.generator_ema.module if self.ema_ready() else self.generator
        was_training = generator.training
        generator.eval()
        try:
            labels = None if labels is None else labels.to(self.device)
            return generator(noise.to(self.device), labels)
        finally:
            generator.train(was_training)

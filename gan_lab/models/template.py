"""A template scheme: copy this file to start a new training scheme (junyanz's template_model).

It is a complete, working scheme (Goodfellow et al. 2014's non-saturating GAN, Alg. 1 with the
generator loss of sec. 3), written to show every place a new scheme fills in and nothing more:

1. ``__init__``: take the nets, the loss options and ``**training`` (the base's options: the
   optimizers, schedulers, augmentation, ``n_critic``, EMA, ...) and pass the latter on.
2. ``optimizer_groups()``: one named group per optimizer (``optim.<name>`` in the config).
3. ``phases()``: the optimizer steps of one iteration (gan_lab.models.phases.Phase): each names
   its group, the step that returns named loss terms (the names are what gets logged), the term
   to minimise, and how often / how many times / under which condition it runs.
4. ``stages()`` (optional): consecutive parts of the run that train different things
   (gan_lab.models.stages.Stage); the base keeps them in checkpoints and resumes them exactly.
5. ``check_data``: refuse data the scheme cannot read, in one line, before training.
6. ``visual_inputs`` / ``visuals``: what the sample callback renders (gan_lab.visuals.Visual of the
   data's sample kind; gan_lab.outputs renders and writes each kind).
7. ``noise`` / ``sample``: the sampling protocol the commands and evaluators use.

To make it a model: a yaml in conf/model/ with ``_target_: gan_lab.models.<your file>.<Class>``,
its nets, its loss and optimizer defaults and a ``quick:`` list; the conformance suite
(tests/test_conformance.py) then trains, resumes, renders and samples it with no edit.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.kinds import BatchKind, SampleKind, batch_kind
from gan_lab.models.base import AdversarialModule
from gan_lab.models.phases import Phase
from gan_lab.visuals import Visual

__all__ = ["TemplateScheme"]


class TemplateScheme(AdversarialModule):
    """The non-saturating GAN (Goodfellow et al. 2014, Alg. 1 and sec. 3) as a template.

    Args:
        generator: z (N, latent_dim) -> samples.
        discriminator: samples -> logits (N,) or (N, 1).
        latent_dim: the size of z ~ N(0, I).
        **training: AdversarialModule's options (optimizers, schedulers, augment, n_critic, ...).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent_dim: int,
                 **training: Any) -> None:
        super().__init__(**training)
        if isinstance(latent_dim, bool) or int(latent_dim) < 1:
            raise ValueError(f"model.latent_dim={latent_dim!r}: must be an integer >= 1")
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = int(latent_dim)
        self.init_generator_ema(generator)  # a no-op unless model.ema_decay is set

    # ------------------------------------------------------------------ what trains, and how
    def optimizer_groups(self) -> dict[str, Any]:
        return {"generator": self.generator.parameters(),
                "discriminator": self.discriminator.parameters()}

    def phases(self) -> list[Phase]:
        return [Phase("Dmain", "discriminator", self.discriminator_step, "loss/d", critic=True),
                Phase("Gmain", "generator", self.generator_step, "loss/g")]

    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        """-log D(x) - log(1 - D(G(z))) (Alg. 1), with logits: softplus(-real) + softplus(fake)."""
        real = batch[0]
        with torch.no_grad():
            fake = self.generator(self.noise(len(real)))
        real_scores, fake_scores = self.discriminate(real), self.discriminate(fake)
        self.observe_real_scores(real_scores)  # ADA's signal, and health/r_t
        loss = F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()
        return {"loss/d": loss, "score/real": real_scores.mean(), "score/fake": fake_scores.mean()}

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        """-log D(G(z)) (sec. 3, the non-saturating generator loss)."""
        scores = self.discriminate(self.generator(self.noise(len(batch[0]))))
        return {"loss/g": F.softplus(-scores).mean()}

    # ------------------------------------------------------------------ data and visuals
    def check_data(self, datamodule: Any) -> None:
        kind = batch_kind(datamodule)
        if kind != BatchKind.SAMPLES:
            raise ValueError(f"model: {type(self).__name__} learns from plain samples, but the "
                             f"data gives {kind}")

    def visual_inputs(self, datamodule: Any, count: int, nrow: int,
                      generator: torch.Generator) -> Tensor:
        return self.noise(count, generator=generator)

    def visuals(self, inputs: Tensor) -> dict[str, Visual]:
        kind = self.sample_spec.kind if self.sample_spec is not None else SampleKind.IMAGES
        return {"samples": Visual(kind, self.sample(noise=inputs).float().cpu(), nrow=8)}

    # ------------------------------------------------------------------ the sampling protocol
    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        if generator is not None:  # a CPU generator: the same codes on any device
            return torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        return torch.randn(n, self.latent_dim, device=self.device)

    @torch.no_grad()
    def sample(self, n: int | None = None, labels: Tensor | None = None,
               noise: Tensor | None = None) -> Tensor:
        """Samples from ``noise`` or ``n`` fresh codes: the EMA generator once it exists, in
        eval mode (batch norm on its running statistics)."""
        if labels is not None:
            raise ValueError(f"{type(self).__name__} is unconditional: it takes no labels")
        if noise is None:
            if n is None:
                raise ValueError("sample() needs n or noise")
            noise = self.noise(n)
        net = self.generator_ema.module if self.ema_ready() else self.generator
        was_training = net.training
        net.eval()
        try:
            return net(noise.to(self.device))
        finally:
            net.train(was_training)

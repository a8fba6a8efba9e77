"""StyleGAN2's training: lazy R1, path-length regularization, style mixing, ramped EMA."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from gan_lab.losses import AdversarialLoss
from gan_lab.models.gan import GAN
from gan_lab.models.phases import Phase
from gan_lab.models.styles import mix_styles, style_generate, to_w_plus
from gan_lab.speed import eager_nets


def path_length_penalty(images: Tensor, ws: Tensor, pl_mean: Tensor, decay: float
                        ) -> tuple[Tensor, Tensor]:
    """Path-length regularization (Karras et al. 2020, "Analyzing and Improving the Image Quality
    of StyleGAN", sec. 3.2, eq. 4), as the official code.

    With y ~ N(0, I) / sqrt(H W), the length of J_w^T y per sample is
    sqrt(mean over layers of ||d(g(w) . y)/dw_i||^2); its running mean a moves by
    a <- a + decay (mean length - a); the penalty is E[(length - a)^2]. Returns the penalty per
    sample (float32) and the updated mean (detached); ``ws`` must require grad.
    """
    noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
    (grads,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    lengths = grads.float().square().sum(dim=2).mean(dim=1).sqrt()
    mean = pl_mean.lerp(lengths.mean(), decay)
    return (lengths - mean).square(), mean.detach()


def r1_penalty_and_scores(critic: Any, real: Tensor) -> tuple[Tensor, Tensor]:
    """R1 (Mescheder et al. 2018, eq. 9, without gamma / 2): E||grad_x D(x)||^2 at the reals, and
    the scores of that same forward (float32, autocast off, compiled nets eager: as
    gan_lab.losses.regularizers, whose penalty runs its own forward)."""
    with torch.autocast(device_type=real.device.type, enabled=False), eager_nets():
        x = real.detach().float().requires_grad_(True)
        scores = critic(x)
        (grad,) = torch.autograd.grad(scores.float().sum(), x, create_graph=True)
    return grad.flatten(1).square().sum(dim=1).mean(), scores


class StyleGAN2(GAN):
    """Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN", with the
    phases of the official training loop (NVlabs/stylegan2-ada-pytorch, training/loss.py):

    - Gmain: the non-saturating logistic loss (``loss=nsgan``) on style-mixed fakes (mixing
      probability ``style_mixing``, 0.9).
    - Greg, every ``pl_every`` (4) iterations, lazily (gain = interval): path-length
      regularization with weight ``pl_weight`` (2) on a ``pl_batch_shrink`` (2) times smaller
      batch, its running mean ``pl_mean`` (decay 0.01) a buffer saved in checkpoints.
    - Dmain: D's logistic loss on reals and detached fakes.
    - Dreg, every ``r1_every`` (16) iterations, lazily: R1 (gamma / 2) E||grad D(x)||^2 at the
      (augmented) reals, gamma = ``r1_gamma``.

    Each phase draws its own z, and with ``fake_labels="uniform"`` its own fake labels (the
    official loop's all_gen_z / all_gen_c, one slice per phase); Dreg's real scores feed ADA's
    r_t as Dmain's do. Lazy phases scale their optimizer's lr by c = k / (k + 1) and betas by
    ** c (sec. 3.1 and the official code), also when their weight is 0. G's EMA follows the official ramp: half-life ``ema_kimg`` thousand images,
    at most ``ema_rampup`` times the images shown; buffers (w_avg, noise) are copied.

    Sampling and :meth:`synthesize` (the differentiable trained-generator protocol, gan_lab.
    protocols.TrainedGenerator) take ``truncation_psi``, ``truncation_cutoff``, ``space`` (z, w,
    w+) and ``noise_mode``; a conditional model (``num_classes``) embeds labels in the mapping
    and uses a projection discriminator. Penalties and the path length run in float32 (autocast off).
    """


    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: AdversarialLoss,
                 latent_dim: int, r1_gamma: float = 10.0, r1_every: int = 16,
                 pl_weight: float = 2.0, pl_every: int = 4, pl_batch_shrink: int = 2,
                 pl_decay: float = 0.01, style_mixing: float = 0.9, ema_kimg: float = 10.0,
                 ema_rampup: float | None = 0.05, **training: Any) -> None:
        if loss.penalizes_input_gradients or loss.weight_clip is not None:
            raise ValueError(f"loss: StyleGAN2 regularizes D itself (lazy R1, model.r1_gamma); "
                             f"use a loss without penalties or clipping (got {loss!r})")
        for key, value in (("r1_gamma", r1_gamma), ("pl_weight", pl_weight),
                           ("ema_kimg", ema_kimg)):
            if float(value) < 0:
                raise ValueError(f"model.{key}={value}: must be >= 0")
        for key, value in (("r1_every", r1_every), ("pl_every", pl_every),
                           ("pl_batch_shrink", pl_batch_shrink)):
            if int(value) < 1:
                raise ValueError(f"model.{key}={value}: must be an integer >= 1")
        if not 0.0 <= float(style_mixing) <= 1.0:
            raise ValueError(f"model.style_mixing={style_mixing}: must be in [0, 1]")
        training.setdefault("ema_decay", 0.999)  # the EMA exists; its decay follows the ramp
        super().__init__(generator, discriminator, loss, latent_dim, **training)
        self.r1_gamma, self.r1_every = float(r1_gamma), int(r1_every)
        self.pl_weight, self.pl_every = float(pl_weight), int(pl_every)
        self.pl_batch_shrink, self.pl_decay = int(pl_batch_shrink), float(pl_decay)
        self.style_mixing = float(style_mixing)
        self.ema_kimg = float(ema_kimg)
        self.ema_rampup = None if ema_rampup is None else float(ema_rampup)
        self.register_buffer("pl_mean", torch.zeros(()))
        self._batch_images = 0

    # ----------------------------------------------------------------- phases
    def phases(self) -> list[Phase]:
        """Gmain, Greg, Dmain, Dreg as the official loop. Greg and Dreg always exist, so G's and
        D's Adam are rescaled for intervals 4 and 16 (lr * k / (k + 1), betas ** (k / (k + 1)))
        even when a weight is 0 (the cifar config's pl_weight 0: G at lr 0.0025 * 4 / 5, beta2
        0.99 ** (4 / 5)); a phase of weight 0 is disabled and never runs (training_loop.py builds
        both phases per net whenever its reg_interval is set, and loss.py computes nothing for
        a zero weight)."""
        return [
            Phase("Gmain", "generator", self.generator_step, "loss/g"),
            Phase("Greg", "generator", self.path_length_step, "loss/g_pl", every=self.pl_every,
                  lazy=True, enabled=self.pl_weight > 0),
            Phase("Dmain", "discriminator", self.discriminator_step, "loss/d", critic=True),
            Phase("Dreg", "discriminator", self.r1_step, "loss/d_r1", every=self.r1_every,
                  lazy=True, critic=True, enabled=self.r1_gamma > 0),
        ]

    def prepare_batch(self, batch: Any) -> None:
        self._batch_images = len(batch[0])  # the base counts images_seen after the phases

    def generate(self, noise: Tensor, labels: Tensor | None, net: nn.Module | None = None,
                 **options: Any) -> Tensor:
        net = self.generator if net is None else net
        training = net.training and net is self.generator
        return style_generate(net, noise, labels, mixing=self.style_mixing if training else 0.0,
                              update_w_avg=training, **options)

    def critic(self, labels: Tensor | None):
        return lambda x: self.discriminate(x, labels)

    def path_length_step(self, batch: Any) -> dict[str, Tensor]:
        _, labels = self.real_samples(batch)
        size = max(1, len(batch[0]) // self.pl_batch_shrink)
        labels = self.fake_labels(labels, size)   # fresh draws with fake_labels="uniform"
        # eager_nets: a compiled synthesis (speed.compile) cannot be differentiated twice.
        with torch.autocast(device_type=self.device.type, enabled=False), eager_nets():
            ws = to_w_plus(self.generator, self.noise(size), labels, update_w_avg=True)
            ws = mix_styles(self.generator, ws, labels, self.style_mixing)
            images = self.generator.synthesis(ws)
            penalty, mean = path_length_penalty(images, ws, self.pl_mean, self.pl_decay)
        self.pl_mean.copy_(mean)
        # images[:, 0, 0, 0] * 0 keeps every synthesis parameter in the graph (as the official
        # code), so DDP sees the same parameters used on every rank.
        total = (images[:, 0, 0, 0] * 0 + penalty * self.pl_weight).mean()
        return {"loss/g_pl": total, "reg/pl_mean": mean}

    def r1_step(self, batch: Any) -> dict[str, Tensor]:
        """R1 at the (augmented) reals from one forward whose scores also feed ADA's r_t, as
        the official loss.py (its Dreg phase reports Loss/signs/real like Dmain)."""
        real, labels = self.real_samples(batch)
        penalty, scores = r1_penalty_and_scores(self.critic(labels), real)
        self.observe_real_scores(scores, counts_step=False)
        # scores * 0 keeps D's output layer in the graph (the official real_logits * 0), so DDP
        # sees every parameter used.
        total = (scores.float() * 0).mean() + 0.5 * self.r1_gamma * penalty
        return {"loss/d_r1": total}

    # ----------------------------------------------------------------- EMA
    def current_ema_decay(self) -> float:
        """beta = 0.5 ** (batch / ema_images), ema_images = min(ema_kimg * 1000, rampup * images
        shown before this iteration) (the official training loop)."""
        ema_images = self.ema_kimg * 1000
        if self.ema_rampup is not None:
            ema_images = min(ema_images, (self.images_seen - self._batch_images) * self.ema_rampup)
        return 0.5 ** (self._batch_images / max(ema_images, 1e-8))


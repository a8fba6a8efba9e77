"""R3GAN's training: RpGAN + R1 + R2 with the official cosine schedules and ramped G EMA."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from gan_lab.augment import NoAugment
from gan_lab.losses import AdversarialLoss
from gan_lab.models.gan import GAN


def cosine_decay(images: float, start: float, end: float, total_images: float) -> float:
    """``start`` -> ``end`` along half a cosine over ``total_images`` images, ``end`` after.

    value = start + (1 - d) (end - start), d = (1 + cos(pi * images / total)) / 2: the official
    R3GAN training loop's ``cosine_decay_with_warmup`` without warm-up or hold (as every preset
    of its train.py uses it). ``total_images <= 0`` gives ``end`` at once.
    """
    if total_images <= 0 or images >= total_images:
        return float(end)
    decay = 0.5 * (1.0 + math.cos(math.pi * images / total_images))
    return float(start + (1.0 - decay) * (end - start))


class R3GAN(GAN):
    """Huang, Gokaslan, Kuleshov & Tompkin 2024, "The GAN is dead; long live the GAN! A Modern
    GAN Baseline", as the official training loop (brownvc/R3GAN, training/training_loop.py).

    The loss is the generic scheme's (``loss=rpgan``: RpGAN, eq. 2, with R1 and R2, each
    ``gamma / 2 * E||grad D||^2``, sec. 3), R1 and R2 taken from the logits of the loss's own D
    forward as the official D phase (``AdversarialLoss.discriminator_terms``); the nets are
    gan_lab.nets.R3GAN*. As the official loop, D and G each get a real batch of their own
    (``fresh_generator_batch``, conf/model/r3gan.yaml: ``D_img`` and ``G_img`` from two
    ``next(training_set_iterator)``; G's fakes take the G batch's labels, its ``gen_c``) and,
    by default, D's inputs are augmented (conf/augment/ada_r3gan.yaml: train.py's ``--aug``
    default True). This scheme adds the official schedules, each a cosine from a start to an
    end value over ``schedule_kimg`` thousand images. Images shown = iteration * batch size *
    n_critic * world size: the official ``cur_nimg += batch_size`` once per iteration (n_critic
    is 1 there), which leaves the G phase's own batch uncounted; every value is a pure function
    of ``self.iteration``, so a resumed run continues them exactly:

    - ``lr``: the learning rate of both optimizers (official CIFAR-10: 2e-4 -> 5e-5);
    - ``beta2``: Adam's beta2 of both, beta1 kept (official: 0.9 -> 0.99, beta1 0);
    - ``gamma``: R1 and R2 gamma alike, set on the loss (official CIFAR-10: 0.05 -> 0.005);
    - ``ema_kimg``: the half-life of G's EMA in thousands of images (official CIFAR-10: 0 ->
      5000), beta = 0.5 ** (batch / half-life images), as the official loop;
    - ``aug_p``: the probability ``p`` of an augmentation with a fixed ``p`` (the default
      ``augment=ada_r3gan``); official CIFAR-10 ``aug_scheduler``: 0 -> 0.55. Without an
      augmentation (``augment=none``) there is nothing to schedule and it is skipped.

    A pair with ``*_end: null`` turns that schedule off (the optimizer's / loss's / EMA's own
    values stay). Values are set at the start of each iteration, from the images shown before
    it (the official loop reads them at ``cur_nimg`` before the step), and logged as
    ``schedule/*``. The official schedules run over 20000 kimg (CIFAR-10, batch 512).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: AdversarialLoss,
                 latent_dim: int, schedule_kimg: float = 20000.0,
                 lr_start: float | None = 2e-4, lr_end: float | None = 5e-5,
                 beta2_start: float | None = 0.9, beta2_end: float | None = 0.99,
                 gamma_start: float | None = 0.05, gamma_end: float | None = 0.005,
                 ema_kimg_start: float | None = 0.0, ema_kimg_end: float | None = 5000.0,
                 aug_p_start: float | None = None, aug_p_end: float | None = None,
                 **training: Any) -> None:
        if float(schedule_kimg) < 0:
            raise ValueError(f"model.schedule_kimg={schedule_kimg}: must be >= 0")
        self.schedule_kimg = float(schedule_kimg)
        self.ranges: dict[str, tuple[float, float]] = {}
        for name, start, end, low, high in (
                ("lr", lr_start, lr_end, 0.0, math.inf), ("beta2", beta2_start, beta2_end, 0.0, 1.0),
                ("gamma", gamma_start, gamma_end, 0.0, math.inf),
                ("ema_kimg", ema_kimg_start, ema_kimg_end, 0.0, math.inf),
                ("aug_p", aug_p_start, aug_p_end, 0.0, 1.0)):
            if end is None:
                continue
            start = end if start is None else start
            for key, value in ((f"{name}_start", start), (f"{name}_end", end)):
                if isinstance(value, bool) or not low <= float(value) <= high:
                    raise ValueError(f"model.{key}={value}: must be in [{low}, {high}] or null")
            self.ranges[name] = (float(start), float(end))
        if "gamma" in self.ranges:
            # The loss starts at the schedule's start, so the critic check sees the penalties.
            loss.r1_gamma = loss.r2_gamma = self.ranges["gamma"][0]
        if "ema_kimg" in self.ranges:
            training.setdefault("ema_decay", 0.999)  # the EMA exists; its decay follows the ramp
        super().__init__(generator, discriminator, loss, latent_dim, **training)
        if "aug_p" in self.ranges and isinstance(self.augment, NoAugment):
            del self.ranges["aug_p"]  # augment=none: no p to schedule
        if "aug_p" in self.ranges and getattr(self.augment, "fixed_p", None) is None:
            raise ValueError("model.aug_p_*: scheduling the augmentation probability needs an "
                             "augmentation with a fixed p (augment=ada_r3gan, or augment=ada "
                             "augment.fixed_p=0); with another augmentation set "
                             "model.aug_p_end=null")
        self._batch_images = 0

    # ----------------------------------------------------------------- schedules
    def images_before(self, iteration: int, batch_images: int) -> float:
        """Images shown before ``iteration`` (0-based): iteration * batch * n_critic, the
        official ``cur_nimg`` (batch_size per iteration; the G phase's fresh batch is not
        counted, as there)."""
        return float(iteration) * batch_images * self.n_critic

    def schedule(self, iteration: int, batch_images: int) -> dict[str, float]:
        """The scheduled values at the start of ``iteration`` (a pure function of it)."""
        images = self.images_before(iteration, batch_images)
        total = self.schedule_kimg * 1000
        return {name: cosine_decay(images, start, end, total)
                for name, (start, end) in self.ranges.items()}

    def _global_batch(self, batch: Any) -> int:
        size = len(batch[0]) if isinstance(batch, list | tuple) else len(batch)
        world = self.trainer.world_size if self._trainer is not None else 1
        return size * world

    def apply_schedule(self, values: dict[str, float]) -> None:
        """Set lr and beta2 on every optimizer's param groups, R1 = R2 gamma on the loss and a
        fixed augmentation p, as the official loop does each iteration."""
        if "lr" in values or "beta2" in values:
            for optimizer in self.named_optimizers().values():
                for group in optimizer.param_groups:
                    if "lr" in values:
                        group["lr"] = values["lr"]
                    if "beta2" in values and "betas" in group:
                        group["betas"] = (group["betas"][0], values["beta2"])
        if "gamma" in values:
            self.loss.r1_gamma = self.loss.r2_gamma = values["gamma"]
        if "aug_p" in values:
            self.augment.p.fill_(values["aug_p"])

    def training_step(self, batch: Any, batch_idx: int) -> None:
        self._batch_images = self._global_batch(batch)
        if self.at_iteration_boundary:  # the first batch of an iteration
            values = self.schedule(self.iteration, self._batch_images)
            self.apply_schedule(values)
            self._accumulate({f"schedule/{name}": torch.tensor(value)
                              for name, value in values.items()})
        return super().training_step(batch, batch_idx)

    # ----------------------------------------------------------------- D phase
    # ----------------------------------------------------------------- EMA
    def current_ema_decay(self) -> float:
        """beta = 0.5 ** (batch / half-life images), the half-life from the ``ema_kimg``
        schedule at the images shown before the iteration just done (official loop)."""
        if "ema_kimg" not in self.ranges:
            return float(self.ema_decay)
        half_life = self.schedule(self.iteration - 1, self._batch_images)["ema_kimg"] * 1000
        return 0.5 ** (self._batch_images / max(half_life, 1e-8))


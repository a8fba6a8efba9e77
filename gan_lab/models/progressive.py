"""Progressive growing: ProGAN (Karras et al. 2018) and, with style nets, StyleGAN (2019)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.losses import AdversarialLoss
from gan_lab.models.gan import GAN
from gan_lab.models.stages import Stage
from gan_lab.models.styles import is_style_generator, style_generate
from gan_lab.nets.progan import images_at_level, resolution_at


class GrowthSchedule:
    """The level of detail as a function of the images shown (Karras et al. 2018, sec. 3 and
    appendix A.1; the official TrainingSchedule).

    From ``start_level`` (0: 4x4) each level is trained for ``stable_kimg`` thousand real images,
    then the next one fades in over ``fade_kimg`` (alpha ramping linearly 0 -> 1), up to
    ``max_level``. ``level`` is continuous: k while block k is stable, k - 1 + alpha while it
    fades in (gan_lab.nets.progan's protocol).
    """

    def __init__(self, max_level: int, stable_kimg: float = 600.0, fade_kimg: float = 600.0,
                 start_level: int = 0) -> None:
        if not 0 <= int(start_level) <= int(max_level):
            raise ValueError(f"model.start_level={start_level}: must be in [0, {max_level}]")
        if float(stable_kimg) < 0 or float(fade_kimg) < 0 or stable_kimg + fade_kimg <= 0:
            raise ValueError(f"model.stable_kimg={stable_kimg}, model.fade_kimg={fade_kimg}: "
                             "must be >= 0 with a positive sum")
        self.max_level, self.start_level = int(max_level), int(start_level)
        self.stable_kimg, self.fade_kimg = float(stable_kimg), float(fade_kimg)

    def level(self, images_seen: int) -> float:
        kimg = images_seen / 1000.0
        phase_kimg = self.stable_kimg + self.fade_kimg
        phase = math.floor(kimg / phase_kimg)
        level = self.start_level + phase
        if self.fade_kimg > 0:
            level += max(kimg - phase * phase_kimg - self.stable_kimg, 0.0) / self.fade_kimg
        return min(float(level), float(self.max_level))

    @staticmethod
    def stage(level: float) -> int:
        """2k while level k is stable, 2k + 1 while level k + 1 fades in."""
        return 2 * math.floor(level) + (0 if level == math.floor(level) else 1)


class ProgressiveGAN(GAN):
    """ProGAN's training (Karras et al. 2018): nets that grow from 4x4 to the data size.

    The level comes from the images shown (:class:`GrowthSchedule`) and is set before each
    batch; G makes images at that level's resolution and D judges them beside the real batch
    brought to the same level (``images_at_level``: average-pooled, and blended across the
    fade as the official code does). Per-resolution batch sizes (``batch_sizes``, e.g.
    {4: 64, 32: 16}, the official minibatch_dict) take the first images of the loader's batch,
    which must be at least as large. Each stable level and each fade is a stage of the base
    (gan_lab.models.stages), ended by the images shown; on entering one the optimizers' state is
    reset (the official reset_opt_for_new_lod). The images shown and the stage are the base's
    checkpoint counters, so a run stopped mid-fade resumes exactly.

    With a style generator (StyleGAN, Karras et al. 2019, which keeps ProGAN's growing) the
    codes go through its mapping with style mixing (``style_mixing``, sec. 3.1: 0.9) over the
    layers in use, w_avg is tracked for truncation, and sampling takes ``truncation_psi``,
    ``truncation_cutoff``, ``space`` (z, w, w+) and ``noise_mode``.

    Per-resolution learning rates (``lr_by_resolution``, e.g. {128: 0.0015, 256: 0.002}: the
    official G_lrate_dict / D_lrate_dict, which every official preset sets alike for G and D)
    replace every optimizer group's lr while the nets work at that resolution (the resolution
    of the level fading in, as the official TrainingSchedule); other resolutions train at the
    group's own lr (``optim.<group>.lr``, the official G_lrate_base / D_lrate_base 0.001).

    G's EMA: a constant ``ema_decay`` per iteration (ProGAN's G_smoothing 0.999), or with
    ``ema_kimg`` a half-life in thousands of images, beta = 0.5 ** (minibatch / (ema_kimg *
    1000)) for the iteration's minibatch at the current resolution (StyleGAN's
    G_smoothing_kimg 10, NVlabs/stylegan training/training_loop.py); buffers are copied.

    The losses (ProGAN: WGAN-GP with lambda 10 and the drift term epsilon 0.001,
    ``loss=wgan_gp loss.drift=0.001``; StyleGAN: non-saturating with R1 gamma 10) come from
    ``loss``; n_critic 1 from the model config. Samples for evaluation and grids are upsampled
    (nearest) to the full size while the nets are still small.

    Deliberate difference: the official loops revisit the schedule every 4 minibatches
    (minibatch_repeats); here it is read before every batch.
    """

    static_nets = False  # each level takes another path through the nets (speed.compile)

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: AdversarialLoss,
                 latent_dim: int, stable_kimg: float = 600.0, fade_kimg: float = 600.0,
                 start_level: int = 0, batch_sizes: Mapping[int, int] | None = None,
                 reset_optimizers: bool = True, style_mixing: float = 0.0,
                 lr_by_resolution: Mapping[int, float] | None = None,
                 ema_kimg: float | None = None, **training: Any) -> None:
        if ema_kimg is not None:
            if float(ema_kimg) < 0:
                raise ValueError(f"model.ema_kimg={ema_kimg}: must be null or >= 0")
            training.setdefault("ema_decay", 0.999)  # the EMA exists; its decay is the half-life
        super().__init__(generator, discriminator, loss, latent_dim, **training)
        if not 0.0 <= float(style_mixing) <= 1.0:
            raise ValueError(f"model.style_mixing={style_mixing}: must be in [0, 1]")
        self.lr_by_resolution = {int(k): float(v) for k, v in (lr_by_resolution or {}).items()}
        for resolution, lr in self.lr_by_resolution.items():
            if resolution < 4 or resolution & (resolution - 1) or not lr > 0:
                raise ValueError(f"model.lr_by_resolution.{resolution}={lr}: keys must be "
                                 "resolutions (powers of two >= 4) and learning rates > 0")
        self.ema_kimg = None if ema_kimg is None else float(ema_kimg)
        self._batch_images = 0
        self.schedule = GrowthSchedule(generator.max_level, stable_kimg, fade_kimg, start_level)
        self.batch_sizes = {int(k): int(v) for k, v in (batch_sizes or {}).items()}
        for resolution, size in self.batch_sizes.items():
            if size < 1:
                raise ValueError(f"model.batch_sizes.{resolution}={size}: must be >= 1")
        self.reset_optimizers = bool(reset_optimizers)
        self.style_mixing = float(style_mixing)
        self._level = self.schedule.level(0)

    # ----------------------------------------------------------------- the schedule
    @property
    def level(self) -> float:
        """The level of the batch in progress (during training) or of the next one."""
        return self._level

    def restore_counters(self, state: dict) -> None:
        super().restore_counters(state)
        self._level = self.schedule.level(self.images_seen)

    def batch_size_at(self, level: float, loaded: int) -> int:
        return min(self.batch_sizes.get(resolution_at(level), loaded), loaded)

    def stages(self) -> list[Stage]:
        """Stage 2k: level k stable; 2k + 1: level k + 1 fading in (:meth:`GrowthSchedule.stage`),
        each ended by the images shown. The stages below ``start_level`` end at once."""
        def ended(index: int) -> Callable[[int], bool]:
            return lambda _: self.schedule.stage(self.schedule.level(self.images_seen)) > index

        last = 2 * self.schedule.max_level
        return [Stage(f"level{index // 2}" if index % 2 == 0 else f"fade{index // 2 + 1}",
                      until=ended(index) if index < last else None,
                      reset_optimizers=self.reset_optimizers)
                for index in range(last + 1)]

    def batch_images(self, batch: Any) -> int:
        """The part of the loader's batch the current resolution trains on."""
        return self.batch_size_at(self._level, len(batch[0]))

    def prepare_batch(self, batch: Any) -> None:
        self._level = self.schedule.level(self.images_seen)
        if self.lr_by_resolution:
            self._set_learning_rates(resolution_at(self._level))
        self._batch_images = self.batch_size_at(self._level, len(batch[0]))

    def _set_learning_rates(self, resolution: int) -> None:
        """Every group's lr: ``lr_by_resolution[resolution]``, else the group's own (kept in its
        param groups as ``base_lr``, so it survives checkpoints)."""
        for optimizer in self.named_optimizers().values():
            for group in getattr(optimizer, "optimizer", optimizer).param_groups:
                base = group.setdefault("base_lr", group["lr"])
                group["lr"] = self.lr_by_resolution.get(resolution, base)

    def current_ema_decay(self) -> float | None:
        """With ``ema_kimg``: 0.5 ** (minibatch / (ema_kimg * 1000)) (0 for a zero half-life), as
        StyleGAN's Gs_beta; None: the constant ``ema_decay``."""
        if self.ema_kimg is None:
            return None
        if self.ema_kimg == 0:
            return 0.0
        return 0.5 ** (self._batch_images / (self.ema_kimg * 1000))

    # ----------------------------------------------------------------- hooks
    def real_samples(self, batch: Any) -> tuple[Tensor, Tensor | None]:
        images, labels = super().real_samples(batch)
        size = self.batch_size_at(self._level, len(images))
        return images_at_level(images[:size], self._level), None

    def generate(self, noise: Tensor, labels: Tensor | None, net: nn.Module | None = None,
                 **options: Any) -> Tensor:
        net = self.generator if net is None else net
        if not is_style_generator(net):
            if options:
                raise ValueError(f"{type(net).__name__} takes no sampling options "
                                 f"({', '.join(options)}): it is not a style generator")
            return net(noise, labels, level=self._level)
        training = net.training and net is self.generator
        active = 2 * (math.ceil(self._level) + 1)  # the synthesis layers in use
        return style_generate(net, noise, labels, level=self._level,
                              mixing=self.style_mixing if training else 0.0,
                              active_layers=active, update_w_avg=training, **options)

    def critic(self, labels: Tensor | None) -> Callable[[Tensor], Tensor]:
        return lambda x: self.discriminate(x, labels, level=self._level)

    # ----------------------------------------------------------------- data and sampling
    def check_data(self, datamodule) -> None:
        side = 4 * 2 ** self.schedule.max_level
        if tuple(datamodule.sample_shape[1:]) != (side, side):
            raise ValueError(f"data: images of {tuple(datamodule.sample_shape)}, but the nets "
                             f"grow to {side}x{side}; set data.image_size={side}")
        # Only the resolutions this run trains at (from start_level up) need the loader's batch.
        reached = [4 * 2 ** k for k in range(self.schedule.start_level,
                                             self.schedule.max_level + 1)]
        largest = max((self.batch_sizes.get(r, 0) for r in reached), default=0)
        if largest > datamodule.batch_size:
            raise ValueError(f"data.batch_size={datamodule.batch_size}: the per-resolution "
                             f"batch sizes go up to {largest}; raise data.batch_size to it")
        super().check_data(datamodule)

    def synthesize(self, codes: Tensor, space: str = "z", condition: Tensor | None = None,
                   **options: Any) -> Tensor:
        """Outputs at the current level, upsampled (nearest) to the full size."""
        images = super().synthesize(codes, space, condition, **options)
        side = 4 * 2 ** self.schedule.max_level
        return images if images.shape[-1] == side else F.interpolate(
            images, size=(side, side), mode="nearest")

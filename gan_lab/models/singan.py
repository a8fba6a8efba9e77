"""SinGAN (Shaham et al. 2019, "SinGAN: Learning a Generative Model from a Single Natural Image").

A pyramid of patch GANs trained coarse to fine on one image (sec. 2), checked against the
official code (tamarott/SinGAN: SinGAN/training.py, models.py, functions.py, manipulate.py).
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from omegaconf import ListConfig
from torch import Tensor, nn
from torch.optim.lr_scheduler import LambdaLR

from gan_lab.kinds import BatchKind, batch_kind
from gan_lab.losses import AdversarialLoss
from gan_lab.losses.regularizers import _input_gradient
from gan_lab.models.base import AdversarialModule
from gan_lab.models.modes import eval_mode
from gan_lab.models.phases import Phase
from gan_lab.models.stages import Stage
from gan_lab.nets.singan import (
    SinGANDiscriminator,
    SinGANGenerator,
    pyramid_geometry,
    resize,
    scale_widths,
)
from gan_lab.visuals import Visual

__all__ = ["PerScaleStep", "SinGAN", "per_scale_step_decay", "pixelwise_gradient_penalty"]

GP_NORMS = ("pixel", "image")
Size = tuple[int, int]


def pixelwise_gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                               center: float = 1.0) -> Tensor:
    """SinGAN's WGAN-GP term, without its weight: the official ``calc_gradient_penalty``.

    At x^ = eps real + (1 - eps) fake (one eps ~ U[0, 1] per image), the gradient of the sum of
    D's patch scores w.r.t. x^ has its 2-norm taken over the channels at each pixel, and
    ``(norm - center)^2`` is averaged over the pixels (the official ``gradients.norm(2, dim=1)``;
    the per-image norm of Gulrajani et al. would penalise the whole image's gradient at once).
    """
    real, fake = real.detach().float(), fake.detach().float()
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    grad = _input_gradient(critic, eps * real + (1.0 - eps) * fake)
    return (torch.linalg.vector_norm(grad, ord=2, dim=1) - center).pow(2).mean()


class PerScaleStep:
    """lr factor 1, then ``gamma`` from ``milestone`` (a share) of each scale's iterations on:
    the official per-scale ``MultiStepLR(milestones=[1600], gamma=0.1)`` of 2000 iterations,
    restarted at every scale.
    (The official steps its scheduler before each epoch's updates, so its decay starts one
    iteration earlier, at 1599.)"""

    def __init__(self, iterations_per_scale: int, milestone: float = 0.8,
                 gamma: float = 0.1) -> None:
        self.iterations_per_scale = int(iterations_per_scale)
        self.decay_from = round(float(milestone) * self.iterations_per_scale)
        self.gamma = float(gamma)

    def __call__(self, iteration: int) -> float:
        return self.gamma if iteration % self.iterations_per_scale >= self.decay_from else 1.0


def per_scale_step_decay(optimizer: torch.optim.Optimizer, iterations_per_scale: int,
                         milestone: float = 0.8, gamma: float = 0.1) -> LambdaLR:
    """LambdaLR with :class:`PerScaleStep`, stepped once per generator iteration."""
    if isinstance(iterations_per_scale, bool) or int(iterations_per_scale) < 1:
        raise ValueError(f"optim.schedulers.*.iterations_per_scale={iterations_per_scale}: "
                         "must be an integer >= 1")
    if not 0.0 <= float(milestone) <= 1.0:
        raise ValueError(f"optim.schedulers.*.milestone={milestone}: must be in [0, 1] "
                         "(the share of each scale's iterations before the decay)")
    if not 0.0 < float(gamma) <= 1.0:
        raise ValueError(f"optim.schedulers.*.gamma={gamma}: must be in (0, 1]")
    return LambdaLR(optimizer, PerScaleStep(iterations_per_scale, milestone, gamma))


def _upsample(images: Tensor, size: Size) -> Tensor:
    """The coarser scale's image at ``size``, clamped to [-1, 1] as the official ``imresize``
    (which goes through uint8) leaves it."""
    return resize(images, size).clamp(-1.0, 1.0)


class SinGAN(AdversarialModule):
    """SinGAN (Shaham et al. 2019): one patch GAN per scale, trained coarse to fine on one image.

    The pyramid (sec. 2.1, gan_lab.nets.singan.pyramid_geometry): scales n = 0 (coarsest, short
    side ``min_size`` = 25) ... S - 1 (the training image, long side at most ``max_size``), the
    exact factor r about 0.75 as the official ``adjust_scales2image``. G_n makes x_n =
    G_n(sigma_n z_n + up(x_{n-1})) + up(x_{n-1}) (eq. 2 with our coarse-first index; the
    coarsest gets zeros for the image and sigma_0 = 1), up = bicubic resizing.

    Training (sec. 2.2, Alg. of training.py): scale n trains for ``iterations_per_scale``
    iterations, then is frozen: each scale is a stage of the base (gan_lab.models.stages) that
    trains only that scale's G and D, and the run ends with the finest. One iteration is
    ``n_critic`` (Dsteps, 3) discriminator updates, each on a fresh up(x~_{n-1}) drawn through
    the frozen coarser scales, with the iteration's noise map z_n, then ``generator_steps``
    (Gsteps, 3) generator updates. D: the WGAN loss with the gradient penalty of weight
    ``loss.gp_weight`` (0.1), the gradient's norm taken per pixel (``gp_norm="pixel"``, the
    official; "image": the loss's own per-image penalty). G: the adversarial loss plus alpha
    (``reconstruction_weight``, 10) times the MSE of the reconstruction G_n(sigma_n z_n^rec +
    up(x^rec_{n-1})) against x_n, with z^rec = (z*, 0, ..., 0): one fixed noise map z* at the
    coarsest scale (drawn once, as the paper says; the official redraws it every iteration of
    scale 0, its issue #43) and zeros elsewhere. sigma_n = ``noise_amp_init`` (0.1) times the RMSE
    between x_n and up(x^rec_{n-1}) (sec. 2.2, "the reconstructed image ... determines the
    standard deviation"), sigma_0 = 1. Noise at the coarsest scale has one channel repeated over
    the image channels, as the official.

    Each scale starts from the previous scale's weights when their widths match (the official
    ``nfc_prev == nfc``), with fresh optimizer state (the official builds new Adams per scale);
    the lr decays x0.1 at ``milestone`` of each scale (:func:`per_scale_step_decay`). All scales'
    nets are built up front, so checkpoints have one structure; the noise amplitudes and z* are
    buffers and the scale is the base's stage counter (``scale_started``), so a run stopped
    mid-scale or on a scale boundary resumes exactly. Frozen scales run in eval mode (batch norm on its running
    statistics), as the official ``G_curr.eval()``.

    Differences from the official code, each deliberate: the generator steps recompute the fake
    with G's current weights (the official back-propagates through the first step's graph after
    G has changed, which torch now refuses); resizing is torch's antialiased bicubic (a = -0.5, the
    kernel of the official MATLAB-style ``imresize``) straight to each scale's size, without the
    uint8 rounding; z* is fixed (above). Batch norm meets the gradient penalty here without
    harm: a batch holds one image, so no samples are mixed (``loss.check_critic`` is not asked).

    Sampling: :meth:`noise` / :meth:`sample` at the training size or any ``size`` (each scale's
    sides scaled by the same factors, the official ``random_samples_arbitrary_sizes``);
    :meth:`sample_from_scale` (scales below ``start_scale`` reconstruct, the official
    ``gen_start_scale`` and the paper's Table 2 "generation from scale N - k");
    :meth:`translate` with ``direction="inject"``: an image injected at a chosen scale (editing,
    harmonization, paint-to-image; sec. 4 and the official harmonization.py).

    Args:
        loss: the adversarial objective (``loss=wgan_gp``, gp_weight 0.1).
        source_size: (height, width) of the source image (gan_lab.data.single_image.image.source_size);
            None when it cannot be read: a checkpoint's ``source_hw`` then builds the pyramid
            as it loads (sampling from a checkpoint alone), and training refuses to start.
        max_size, min_size, scale_factor: the pyramid (250, 25, 0.75).
        channels: image channels.
        nfc, min_nfc, max_nfc, num_layers, kernel_size: the nets (32, 32, 128, 5, 3).
        iterations_per_scale: 2000.
        generator_steps: G updates per iteration (3).
        reconstruction_weight: alpha (10).
        noise_amp_init: 0.1.
        init_from_previous: start each scale from the previous one's weights when widths match.
        gp_norm: "pixel" (official) or "image".
        **training: AdversarialModule's options (n_critic = Dsteps, 3).
    """

    # "scale_started" mirrors the stage (checkpoints written before the base's stages have only it)
    counters = (*AdversarialModule.counters, "scale_started")
    static_nets = False  # each scale its own net and sizes (speed.compile leaves them eager)
    directions = ("inject",)
    translate_options = ("scale",)
    evaluation_hint = "eval=singan"  # the evaluation that scores this scheme
    sample_options = ("size",)
    evaluation_hint = "eval=singan"  # named when an evaluator needs what SinGAN does not do
    num_classes = 0

    def __init__(self, loss: AdversarialLoss, source_size: Sequence[int] | None,
                 max_size: int = 250, channels: int = 3, min_size: int = 25,
                 scale_factor: float = 0.75, nfc: int = 32,
                 min_nfc: int = 32, max_nfc: int = 128, num_layers: int = 5, kernel_size: int = 3,
                 iterations_per_scale: int = 2000, generator_steps: int = 3,
                 reconstruction_weight: float = 10.0, noise_amp_init: float = 0.1,
                 init_from_previous: bool = True, gp_norm: str = "pixel",
                 **training: Any) -> None:
        super().__init__(**training)
        if self.replicas != 1:
            raise ValueError("model.replicas: SinGAN trains one pyramid per run (replicas=1)")
        for key, value, low in (("iterations_per_scale", iterations_per_scale, 1),
                                ("generator_steps", generator_steps, 1), ("nfc", nfc, 1),
                                ("min_nfc", min_nfc, 1), ("max_nfc", max_nfc, 1),
                                ("channels", channels, 1), ("max_size", max_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"model.{key}={value!r}: must be an integer >= {low}")
        for key, value in (("reconstruction_weight", reconstruction_weight),
                           ("noise_amp_init", noise_amp_init)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"model.{key}={value!r}: must be a number >= 0")
        if gp_norm not in GP_NORMS:
            raise ValueError(f"model.gp_norm={gp_norm!r}: must be one of {', '.join(GP_NORMS)}")
        self.channels = channels
        self.iterations_per_scale = iterations_per_scale
        self.generator_steps = generator_steps
        self.reconstruction_weight = float(reconstruction_weight)
        self.noise_amp_init = float(noise_amp_init)
        self.init_from_previous = bool(init_from_previous)
        self.pyramid_options = {"min_size": min_size, "max_size": max_size,
                                "scale_factor": scale_factor}
        self.net_options = {"nfc": nfc, "min_nfc": min_nfc, "max_nfc": max_nfc,
                            "num_layers": num_layers, "kernel_size": kernel_size}
        self.loss = loss
        self.pixel_gp = gp_norm == "pixel" and loss.gp_weight > 0
        # The loss's other penalties (R1, drift) when the gradient penalty is the pixel one.
        self.other_penalties = copy.copy(loss)
        if self.pixel_gp:
            self.other_penalties.gp_weight = 0.0
        self._cache: dict[str, Any] = {}
        self._noise: Tensor | None = None
        self._previous: Tensor | None = None
        self.source_size: Size | None = None
        self.sizes: tuple[Size, ...] = ()
        self.generator, self.discriminator = nn.ModuleList(), nn.ModuleList()
        if source_size is not None:
            sides = list(source_size) if isinstance(source_size, Sequence | ListConfig) else []
            if len(sides) != 2 or any(isinstance(v, bool) or int(v) < 1 for v in sides):
                raise ValueError(f"model.source_size={source_size!r}: must be [height, width] of "
                                 "the source image")
            self.build_pyramid((int(sides[0]), int(sides[1])))

    def build_pyramid(self, source_size: Size) -> None:
        """The scales' sizes, all scales' nets and the buffers for a source of ``source_size``:
        sigma_n per scale (set when the scale starts), z* (the coarsest reconstruction noise) and
        the source size itself, so that a checkpoint rebuilds its pyramid without the image."""
        geometry = pyramid_geometry(*source_size, **self.pyramid_options)
        options = self.net_options
        widths = [scale_widths(n, options["nfc"], options["min_nfc"], options["max_nfc"])
                  for n in range(geometry.num_scales)]
        layers = (options["num_layers"], options["kernel_size"])
        discriminators = [SinGANDiscriminator(self.channels, *w, *layers) for w in widths]
        patch = discriminators[0].receptive_field
        if min(geometry.sizes[0]) < patch:
            raise ValueError(f"model.min_size={self.pyramid_options['min_size']}: the coarsest "
                             f"scale is {geometry.sizes[0][0]}x{geometry.sizes[0][1]}, smaller "
                             f"than the discriminator's {patch}-pixel patches; raise "
                             "model.min_size")
        self.source_size, self.sizes = tuple(source_size), geometry.sizes
        self.scale_factor = geometry.scale_factor
        self.widths = [w[0] for w in widths]
        self.generator = nn.ModuleList(SinGANGenerator(self.channels, *w, *layers) for w in widths)
        self.discriminator = nn.ModuleList(discriminators)
        self.register_buffer("noise_amps", torch.zeros(self.num_scales))
        self.register_buffer("z_rec", torch.randn(1, 1, *self.sizes[0]))
        self.register_buffer("source_hw", torch.tensor(source_size, dtype=torch.long))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # A checkpoint's pyramid is that of its source image, whatever the config can read today
        # (the image may be gone or changed): rebuild before the nets load (torch loads the
        # children after this, from the rebuilt ModuleLists).
        stored = state_dict.get(prefix + "source_hw")
        if stored is not None and tuple(int(v) for v in stored.tolist()) != self.source_size:
            self.build_pyramid(tuple(int(v) for v in stored.tolist()))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ----------------------------------------------------------------- the schedule
    @property
    def num_scales(self) -> int:
        return len(self.sizes)

    @property
    def total_iterations(self) -> int:
        return self.num_scales * self.iterations_per_scale

    @property
    def scale_started(self) -> int:
        """The last scale whose training has begun (-1 before training): the base's stage."""
        return self.stage

    @scale_started.setter
    def scale_started(self, scale: int) -> None:
        self.stage = int(scale)

    def stages(self) -> list[Stage]:
        """One stage per scale, coarse to fine: ``iterations_per_scale`` long, training that
        scale's G and D only (the others frozen), entered by :meth:`start_scale`."""
        if not self.sizes:  # no pyramid yet (no source image): nothing can train
            return [Stage("scale0")]
        return [Stage(f"scale{n}", length=self.iterations_per_scale,
                      trains=(f"generator.{n}", f"discriminator.{n}"),
                      enter=lambda batch, n=n: self.start_scale(n, batch[0]))
                for n in range(self.num_scales)]

    @property
    def top_scale(self) -> int:
        """The finest scale trained so far (sampling stops there; coarsest before any)."""
        return max(self.scale_started, 0)

    def training_scale(self) -> int:
        """The scale the iteration in progress trains: the stage."""
        return max(self.stage, 0)

    def start_scale(self, scale: int, image: Tensor) -> None:
        """Begin training ``scale``: the previous scale's weights when the widths match, and
        sigma_n from the reconstruction's RMSE (1 at the coarsest). (The base clears the
        optimizers' state on entering the stage: the official builds new Adams per scale.)"""
        if scale > 0 and self.init_from_previous and self.widths[scale] == self.widths[scale - 1]:
            for nets in (self.generator, self.discriminator):
                nets[scale].load_state_dict(nets[scale - 1].state_dict())
        with torch.no_grad():
            if scale == 0:
                amplitude = torch.ones(())
            else:
                real = self.real_at(image, scale)
                rmse = F.mse_loss(self.reconstruction_input(scale, image.shape[0]), real).sqrt()
                amplitude = self.noise_amp_init * rmse
            self.noise_amps[scale] = amplitude
        self.scale_started = scale
        self._cache = {}

    def real_at(self, image: Tensor, scale: int) -> Tensor:
        """The training image at ``scale``'s size (the official ``creat_reals_pyramid``)."""
        return resize(image, self.sizes[scale]).clamp(-1.0, 1.0)

    def prepare_batch(self, batch: Any) -> None:
        image = batch[0]
        scale = self.training_scale()
        if self._cache.get("scale") != scale:
            with torch.no_grad():
                self._cache = {"scale": scale, "real": self.real_at(image, scale),
                               "rec_input": self.reconstruction_input(scale, image.shape[0])}
        if self.at_iteration_boundary:  # the iteration's noise map z_n
            self._noise = self.draw_map(scale, image.shape[0])
        # A fresh up(x~_{n-1}) for each discriminator step (the official draw_concat 'rand').
        self._previous = self.random_input(scale, image.shape[0])

    # ----------------------------------------------------------------- phases
    def optimizer_groups(self) -> dict[str, Any]:
        return {"generator": self.generator.parameters(),
                "discriminator": self.discriminator.parameters()}

    def phases(self) -> list[Phase]:
        """Dsteps discriminator updates (``n_critic``), then Gsteps generator updates."""
        scale = self.training_scale()
        after = lambda: self.loss.after_discriminator_step(self.discriminator[scale])  # noqa: E731
        steps = [Phase("Dmain", "discriminator", self.discriminator_step, "loss/d", critic=True,
                       after=after)]
        steps.append(Phase("Gmain", "generator", self.generator_step, "loss/g",
                           repeat=self.generator_steps))
        return steps

    def _fake(self, scale: int) -> Tensor:
        sigma = self.noise_amps[scale]
        return self.generator[scale](sigma * self._noise, self._previous)

    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        scale = self.training_scale()
        real = self._cache["real"]
        with torch.no_grad():
            fake = self._fake(scale)

        def critic(x: Tensor) -> Tensor:
            return self.discriminate(x, net=self.discriminator[scale])

        real_scores, fake_scores = critic(real), critic(fake)
        self.observe_real_scores(real_scores)
        penalties = self.other_penalties.penalties(critic, real, fake, real_scores=real_scores)
        if self.pixel_gp:
            penalties["gp"] = self.loss.gp_weight * pixelwise_gradient_penalty(
                critic, real, fake, center=self.loss.gp_center)
        terms = {f"loss/d_{name}": value for name, value in penalties.items()}
        terms["loss/d"] = self.loss.discriminator_loss(real_scores, fake_scores) + sum(
            penalties.values())
        terms["score/real"] = real_scores.mean()
        terms["score/fake"] = fake_scores.mean()
        return terms

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        scale = self.training_scale()
        critic = self.discriminator[scale]
        scores = self.discriminate(self._fake(scale), net=critic)
        real_scores = (self.discriminate(self._cache["real"], net=critic)
                       if self.loss.needs_real_scores else None)  # relativistic losses (rpgan)
        adversarial = self.loss.generator_loss(scores, real_scores)
        rec_input = self._cache["rec_input"]
        rec_noise = self.reconstruction_noise(scale, rec_input.shape[0])
        rec = self.generator[scale](self.noise_amps[scale] * rec_noise, rec_input)
        reconstruction = F.mse_loss(rec, self._cache["real"])
        return {"loss/g": adversarial + self.reconstruction_weight * reconstruction,
                "loss/g_adv": adversarial, "loss/g_rec": reconstruction,
                "singan/scale": self.noise_amps.new_tensor(float(scale)),
                "singan/noise_amp": self.noise_amps[scale].detach()}

    # ----------------------------------------------------------------- the pyramid's inputs
    def sizes_for(self, size: Any = None) -> tuple[Size, ...]:
        """Each scale's size for samples of ``size`` ([height, width] or one side; None: the
        training size): every scale scaled by the same factors, rounded (the official
        ``random_samples_arbitrary_sizes``, scale_v = H / H_train, scale_h = W / W_train)."""
        if size is None:
            return self.sizes
        sides = list(size) if isinstance(size, Sequence | ListConfig) else [size, size]
        if len(sides) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                  for v in sides):
            raise ValueError(f"size={size!r}: must be [height, width] of integers >= 1 (or one "
                             "side for a square)")
        top_h, top_w = self.sizes[-1]
        factors = (sides[0] / top_h, sides[1] / top_w)
        sizes = tuple((round(h * factors[0]), round(w * factors[1])) for h, w in self.sizes)
        if min(sizes[0]) < 1:
            raise ValueError(f"size={sides}: the coarsest scale would be {sizes[0][0]}x"
                             f"{sizes[0][1]} pixels; ask for a larger size (the training size "
                             f"is {top_h}x{top_w}, its coarsest scale {self.sizes[0][0]}x"
                             f"{self.sizes[0][1]})")
        return sizes

    def _map_shapes(self, sizes: Sequence[Size]) -> list[tuple[int, int, int]]:
        # One channel at the coarsest (repeated over the image channels), as the official.
        return [(1 if n == 0 else self.channels, *size) for n, size in enumerate(sizes)]

    def noise(self, n: int, generator: torch.Generator | None = None,
              size: Any = None) -> Tensor:
        """Codes for ``n`` samples: every scale's noise map z_n ~ N(0, I), flattened and
        concatenated, (n, D); ``size`` as :meth:`sizes_for`. A CPU ``generator`` makes them
        reproducible."""
        total = sum(math.prod(shape) for shape in self._map_shapes(self.sizes_for(size)))
        if generator is not None:
            return torch.randn(n, total, generator=generator).to(self.device)
        return torch.randn(n, total, device=self.device)

    def unflatten_noise(self, noise: Tensor, sizes: Sequence[Size]) -> list[Tensor]:
        """Codes of :meth:`noise` as each scale's (n, C, h, w) map."""
        shapes = self._map_shapes(sizes)
        lengths = [math.prod(shape) for shape in shapes]
        if noise.dim() != 2 or noise.shape[1] != sum(lengths):
            raise ValueError(f"noise of shape {tuple(noise.shape)} does not fit samples of "
                             f"{sizes[-1][0]}x{sizes[-1][1]} ({sum(lengths)} values each); draw "
                             "it with noise(n, size=...) of the same size")
        maps = []
        for chunk, (channels, h, w) in zip(noise.split(lengths, dim=1), shapes, strict=True):
            z = chunk.reshape(-1, channels, h, w)
            maps.append(z.expand(-1, self.channels, h, w) if channels == 1 else z)
        return maps

    def noise_maps(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """Every scale's noise map at the training size."""
        return self.unflatten_noise(self.noise(n, generator), self.sizes)

    def draw_map(self, scale: int, n: int) -> Tensor:
        """z_n for training ``scale`` from the global random stream (checkpointed): one channel
        repeated at the coarsest, as the official ``generate_noise([1, ...]).expand``."""
        channels, h, w = self._map_shapes(self.sizes)[scale]
        z = torch.randn(n, channels, h, w, device=self.device)
        return z.expand(-1, self.channels, h, w) if channels == 1 else z

    def reconstruction_noise(self, scale: int, n: int) -> Tensor:
        """z^rec_n: z* at the coarsest scale, zeros elsewhere."""
        if scale == 0:
            return self.z_rec.expand(n, self.channels, *self.sizes[0])
        return self.z_rec.new_zeros(n, self.channels, *self.sizes[scale])

    def run_scales(self, maps: Sequence[Tensor | None], sizes: Sequence[Size], top: int,
                   injected: Tensor | None = None, inject_at: int = 0) -> Tensor:
        """x~ at scale ``top``: scales ``inject_at`` .. ``top`` run on ``maps`` (None: that
        scale's reconstruction noise), the first one on ``injected`` (zeros when None) as its
        coarser image. The generators run as they are (the callers set their modes)."""
        x = injected
        for scale in range(inject_at, top + 1):
            if x is None:
                x = self.z_rec.new_zeros(maps[0].shape[0] if maps[0] is not None else 1,
                                         self.channels, *sizes[scale])
            elif scale > inject_at:
                x = _upsample(x, sizes[scale])
            z = maps[scale]
            if z is None:
                z = self.reconstruction_noise(scale, x.shape[0])
            x = self.generator[scale](self.noise_amps[scale] * z, x)
        return x

    @torch.no_grad()
    def random_input(self, scale: int, n: int) -> Tensor:
        """up(x~_{n-1}) for training ``scale``: fresh noise through the frozen coarser scales
        (eval mode); zeros at the coarsest."""
        if scale == 0:
            return self.z_rec.new_zeros(n, self.channels, *self.sizes[0])
        maps = [self.draw_map(coarser, n) for coarser in range(scale)]
        with eval_mode(*self.generator[:scale]):
            x = self.run_scales(maps, self.sizes, scale - 1)
        return _upsample(x, self.sizes[scale])

    @torch.no_grad()
    def reconstruction_input(self, scale: int, n: int = 1) -> Tensor:
        """up(x^rec_{n-1}): the frozen coarser scales on z^rec; zeros at the coarsest."""
        if scale == 0:
            return self.z_rec.new_zeros(n, self.channels, *self.sizes[0])
        with eval_mode(*self.generator[:scale]):
            x = self.run_scales([None] * scale, self.sizes, scale - 1)
        return _upsample(x, self.sizes[scale]).expand(n, -1, -1, -1)

    # ----------------------------------------------------------------- sampling protocol
    @contextlib.contextmanager
    def _sampling(self) -> Iterator[None]:
        with torch.no_grad(), eval_mode(*self.generator):
            yield

    def _finish(self, x: Tensor, sizes: Sequence[Size]) -> Tensor:
        """Samples of a pyramid trained up to ``top_scale`` brought to the full size."""
        return x if tuple(x.shape[-2:]) == tuple(sizes[-1]) else _upsample(x, sizes[-1])

    def sample(self, n: int | None = None, labels: Tensor | None = None,
               noise: Tensor | None = None, size: Any = None) -> Tensor:
        """Random samples (n fresh codes, or ``noise`` from :meth:`noise` of the same ``size``),
        in eval mode, through the scales trained so far, at the training size or ``size``."""
        if labels is not None:
            raise ValueError("SinGAN is unconditional: sample() takes no labels")
        sizes = self.sizes_for(size)
        if noise is None:
            if n is None:
                raise ValueError("sample() needs n or noise")
            noise = self.noise(n, size=size)
        maps = self.unflatten_noise(noise.to(self.device), sizes)
        with self._sampling():
            return self._finish(self.run_scales(maps, sizes, self.top_scale), sizes)

    def sample_from_scale(self, n: int, start_scale: int,
                          generator: torch.Generator | None = None) -> Tensor:
        """Samples whose scales below ``start_scale`` reconstruct the image (z^rec) and random
        from it on: the official ``gen_start_scale``; the paper's "generation from scale N - k"
        (Table 2, fig. 6) is ``start_scale = k``."""
        if isinstance(start_scale, bool) or not isinstance(start_scale, int) or not (
                0 <= start_scale <= self.top_scale):
            raise ValueError(f"start_scale={start_scale!r}: must be in 0..{self.top_scale} (the "
                             "scales trained)")
        maps: list[Tensor | None] = list(self.noise_maps(n, generator))
        maps[:start_scale] = [None] * start_scale  # one reconstruction, broadcast to n after
        with self._sampling():
            return self._finish(self.run_scales(maps, self.sizes, self.top_scale), self.sizes)

    def reconstruct(self) -> Tensor:
        """G's reconstruction of the training image (z^rec at every scale trained), (1, C, H, W)."""
        with self._sampling():
            x = self.run_scales([None] * self.num_scales, self.sizes, self.top_scale)
            return self._finish(x, self.sizes)

    def translation_channels(self, direction: str) -> int:
        return self.channels

    def translate(self, images: Tensor, direction: str = "inject",
                  scale: int | None = None) -> Tensor:
        """Inject ``images`` at ``scale`` (editing, harmonization, paint-to-image; sec. 4): each
        is resized to the training size, then to scale ``scale - 1``'s size and up to
        ``scale``'s, and replaces the image the coarser scales would have made; that scale and
        the finer ones add detail from fresh noise (the official harmonization.py with
        ``SinGAN_generate(Gs[n:], ..., in_s, n=n)``). The noise is seeded (seed 0), so an input
        gives the same output each time. Output: the training size."""
        if direction not in self.directions:
            raise ValueError(f"direction={direction!r}: SinGAN translates by {self.directions[0]} "
                             "(an image injected at a scale)")
        top = self.top_scale
        if top < 1:
            raise ValueError("this SinGAN has trained only its coarsest scale; injecting an "
                             "image needs scale 1 or finer")
        if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= top:
            shown = "null" if scale is None else repr(scale)
            raise ValueError(f"scale={shown}: the scale to inject at must be in 1..{top} "
                             f"(1 is the second coarsest, {self.sizes[1][0]}x{self.sizes[1][1]}; "
                             f"{top} the finest trained)")
        if images.dim() != 4 or images.shape[1] != self.channels:
            raise ValueError(f"an input of shape {tuple(images.shape)}: SinGAN takes "
                             f"(N, {self.channels}, H, W) images")
        images = resize(images.to(self.device).float(), self.sizes[-1]).clamp(-1.0, 1.0)
        injected = _upsample(resize(images, self.sizes[scale - 1]).clamp(-1.0, 1.0),
                             self.sizes[scale])
        maps = self.noise_maps(images.shape[0], torch.Generator().manual_seed(0))
        with self._sampling():
            x = self.run_scales(maps, self.sizes, top, injected=injected, inject_at=scale)
            return self._finish(x, self.sizes)

    # ----------------------------------------------------------------- data and visuals
    def check_data(self, datamodule) -> None:
        """One image (data=single_image) of the size and channels the pyramid was built for."""
        if batch_kind(datamodule) != BatchKind.SINGLE_IMAGE:
            raise ValueError("model: SinGAN learns from one image; use data=single_image "
                             "(data.photo=NAME or data.path=FILE)")
        if self.source_size is None:
            raise ValueError("model.source_size is null: the pyramid follows the source image's "
                             "size, which could not be read; check data.path")
        if int(datamodule.channels) != self.channels:
            raise ValueError(f"model.channels={self.channels} but the image has "
                             f"{datamodule.channels} channels; set data.channels to match")
        source = tuple(getattr(datamodule, "source_size", self.source_size))
        if source != self.source_size or tuple(datamodule.image_shape) != self.sizes[-1]:
            raise ValueError(
                f"model.source_size={list(self.source_size)} builds a pyramid up to "
                f"{self.sizes[-1][0]}x{self.sizes[-1][1]}, but the data's image is "
                f"{source[0]}x{source[1]} scaled to {datamodule.image_shape[0]}x"
                f"{datamodule.image_shape[1]}; the model's pyramid must come from the data "
                "(model.source_size and model.max_size follow data.path, data.photo and "
                "data.max_size)")

    def visual_inputs(self, datamodule, count: int, nrow: int, generator: torch.Generator) -> Any:
        """``nrow`` codes at the training size, half as many 1.5 times as wide (the official
        default of random_samples_arbitrary_sizes), and the training image."""
        height, width = self.sizes[-1]
        wide = [height, round(1.5 * width)]
        n = max(1, min(count, nrow))
        return {"noise": self.noise(n, generator), "nrow": n,
                "wide": wide, "wide_noise": self.noise(max(1, n // 2), generator, size=wide),
                "real": datamodule.image[None]}

    def visuals(self, inputs: Any) -> dict[str, Visual]:
        """Random samples, the training image beside its reconstruction, and wider samples."""
        real = inputs["real"].to(self.device)
        return {
            "samples": Visual("images", self.sample(noise=inputs["noise"]), inputs["nrow"]),
            "reconstruction": Visual("images", torch.cat([real, self.reconstruct()]), 2),
            "samples_wide": Visual("images", self.sample(noise=inputs["wide_noise"],
                                                         size=inputs["wide"]), 4),
        }

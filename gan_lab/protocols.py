"""What callbacks, commands, evaluators and tools may ask of a training scheme, declared as
``typing.Protocol``s, and the errors a scheme raises to them.

Rooms above the schemes (callbacks, commands, metrics, tools) import these, never
``gan_lab.models``: a scheme conforms by having the methods, not by inheriting from anything here.
Every protocol is ``runtime_checkable``, so ``isinstance(module, Sampler)`` says whether a module
has every member (by name: Python checks no signatures; tests/test_protocols.py checks each
``conf/model`` option against the protocols it claims, and tests/test_trained_generator.py the
behaviour of :class:`TrainedGenerator`). A scheme is also a LightningModule (``device``,
``buffers()``, ``to()``, ...); the protocols name only what gan_lab adds.

- :class:`Scheme`: every training scheme (train.py, the training loop, every callback, the cost
  estimate, checkpoint loading).
- :class:`Sampler`: schemes that generate from codes (``speaks("sample")``): the sample callback's
  and the evaluators' sampler, ``python -m gan_lab.sample``; :class:`StyleSampler` adds the
  style-mixing figure's w+ codes, :class:`ScaleSampler` SinGAN's generation from a scale.
- :class:`Translator`: schemes that map inputs (``speaks("translate")``): ``python -m
  gan_lab.translate`` and the translation, attribute, super-resolution, inpainting and
  segmentation evaluators.
- :class:`TrainedGenerator`: a trained generator's differentiable synthesis from z / w / w+
  codes and its named feature layers, the one thing inversion, dissection and steering use.

Optional members, read with ``getattr`` and a default (so absent from the protocols):
``sample_options`` and ``translate_options`` (the command options a scheme takes, default ``()``:
gan_lab.cli.model_options), ``evaluation_hint`` (the ``eval=`` that fits the scheme, for the
evaluation callback's error line), ``loss.objective`` (the health callback's divergence check),
``sample_spec`` (a gan_lab.kinds.SampleSpec, or None in checkpoints written before the specs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

__all__ = [
    "NonFiniteLossError",
    "Sampler",
    "ScaleSampler",
    "Scheme",
    "StyleSampler",
    "TrainedGenerator",
    "Translator",
]


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; training stops before the bad weights are saved."""


@runtime_checkable
class Scheme(Protocol):
    """A training scheme: what train.py, the training loop and the callbacks ask of it
    (gan_lab.models.base.AdversarialModule implements all of it; a scheme writes
    ``optimizer_groups``, ``phases``, ``visual_inputs``, ``visuals`` and usually ``check_data``).

    Who asks what:

    - train.py: ``budget`` (set), ``run_config`` (set; gan_lab.building), ``check_optimizers``,
      ``check_data``, ``load_frozen_nets``, ``iteration`` and ``stop_reason`` after fit.
    - the cost estimate (gan_lab.cost) and the speed options (gan_lab.speed, callbacks/speed.py):
      ``optimizer_groups``, ``static_nets``, ``channels_last_batches`` (set).
    - checkpoints (callbacks/checkpoint.py, gan_lab.loading, gan_lab.resume): ``iteration``,
      ``at_iteration_boundary``, ``counters``, ``restore_counters``.
    - the sample callback (callbacks/samples.py): ``visual_inputs``, ``visuals`` (name ->
      gan_lab.visuals.Visual), ``iteration``.
    - the health callback (callbacks/health.py): ``diversity_probe``, ``discriminator_means``,
      ``log_sources`` (appended to), ``log_every``, ``named_optimizers``, ``log_metrics``,
      ``at_iteration_boundary``, ``stop_reason`` (set), ``iteration``.
    - the progress bar (callbacks/progress.py): ``budget``, ``iteration``, ``progress_metrics``.
    - interruption (callbacks/interrupt.py): ``at_iteration_boundary``, ``stop_reason`` (set).
    - the evaluation callback and the commands: ``speaks`` (which of :class:`Sampler`,
      :class:`Translator` or an evaluator's own method the scheme offers), ``log_metrics``,
      ``iteration``.
    """

    iteration: int
    budget: int | None
    log_every: int
    stop_reason: str | None
    run_config: dict | None
    progress_metrics: dict[str, float]
    log_sources: list[Callable[[dict[str, float]], dict[str, float]]]
    channels_last_batches: bool
    counters: tuple[str, ...]
    static_nets: bool

    @property
    def at_iteration_boundary(self) -> bool:
        """True between iterations: a checkpoint taken here resumes exactly."""
        ...

    def optimizer_groups(self) -> dict[str, Iterable[nn.Parameter]]:
        """Optimizer group name -> the parameters it trains (one ``optim.<group>`` each)."""
        ...

    def phases(self) -> list[Any]:
        """The optimizer steps of one iteration (gan_lab.models.phases.Phase), in order."""
        ...

    def check_optimizers(self) -> None:
        """ValueError (one line) unless ``optim`` has one optimizer per group."""
        ...

    def check_data(self, datamodule: Any) -> None:
        """ValueError (one line) unless the data fits the scheme; called before training."""
        ...

    def load_frozen_nets(self) -> None:
        """Load the frozen auxiliary nets training needs (VGG, segmenters) from their files."""
        ...

    def named_optimizers(self) -> dict[str, Any]:
        """Group name -> optimizer."""
        ...

    def log_metrics(self, metrics: dict[str, float]) -> None:
        """Send metrics to every logger at step = iteration (a no-op outside training)."""
        ...

    def restore_counters(self, state: dict) -> None:
        """The counters of a checkpoint's ``gan_lab`` entry (also for the commands)."""
        ...

    def speaks(self, protocol: str) -> bool:
        """Whether the scheme has the method ``protocol`` ("sample", "translate", ...)."""
        ...

    def visual_inputs(self, datamodule: Any, count: int, nrow: int,
                      generator: torch.Generator) -> Any:
        """The fixed inputs the sample callback renders each time."""
        ...

    def visuals(self, inputs: Any) -> dict[str, Any]:
        """Name -> gan_lab.visuals.Visual of what the scheme makes from ``inputs``."""
        ...

    def diversity_probe(self, datamodule: Any, n: int, seed: int) -> list[tuple[Tensor, Tensor]]:
        """``(outputs, reals)`` pairs for the collapse measure; [] for none."""
        ...

    def discriminator_means(self, datasets: Sequence[Any], n: int,
                            seed: int) -> list[float] | None:
        """D's mean score on each data set, then on samples of fixed codes; None for none."""
        ...


@runtime_checkable
class Sampler(Protocol):
    """A scheme that generates from codes (``speaks("sample")``: the GAN schemes, SinGAN).

    Used by the evaluation callback's sampler and every ``protocol = "sample"`` evaluator
    (classifier / Inception / DINOv2 features, toy metrics, conditional metrics:
    ``sample(n, labels=...)``, ``num_classes``), the health callback (through
    ``diversity_probe``) and ``python -m gan_lab.sample`` (``noise(n, generator=...)``, codes
    redrawn for BigGAN's truncation and interpolated; ``sample(noise=..., labels=...,
    **options)``; ``num_classes``; ``iteration``; the optional ``sample_options``). The
    weights-only export (gan_lab.export) keeps the children named ``generator*`` (the EMA's
    weights in their place) and the module's own buffers; a scheme whose sampling needs other
    nets names them in an optional ``sampling_nets``. The sample command's interpolation is
    spherical between codes unless the scheme gives ``interpolate_codes(a, b, t)`` (SeqGAN's
    uniforms: linear).
    """

    num_classes: int
    iteration: int

    def noise(self, n: int, generator: torch.Generator | None = None, **options: Any) -> Tensor:
        """``n`` latent codes (a CPU ``generator`` makes them reproducible)."""
        ...

    def sample(self, n: int | None = None, labels: Tensor | None = None,
               noise: Tensor | None = None, **options: Any) -> Tensor:
        """Outputs for ``n`` fresh codes or for ``noise``, without gradients, in eval mode."""
        ...


@runtime_checkable
class StyleSampler(Sampler, Protocol):
    """A sampler whose generator may have a w space: ``python -m gan_lab.sample
    style_mixing=true`` draws Karras et al. 2019's style-mixing figure (fig. 3) from
    ``w_plus`` codes with ``sample(noise=ws, space="w+")``. ``w_plus`` raises ValueError (one
    line) for a generator without a w space."""

    def w_plus(self, noise: Tensor, labels: Tensor | None = None, truncation_psi: float = 1.0,
               truncation_cutoff: int | None = None) -> Tensor:
        """w+ codes (B, num_ws, w_dim) of z codes ``noise``, truncated in W."""
        ...


@runtime_checkable
class ScaleSampler(Sampler, Protocol):
    """SinGAN's generation from a scale (Shaham et al. 2019, table 2 and fig. 6: "generation
    from scale N - k"), for the ``eval=singan`` evaluator (gan_lab.metrics.sifid,
    ``protocol = "sample_from_scale"``)."""

    top_scale: int

    def sample_from_scale(self, n: int, start_scale: int,
                          generator: torch.Generator | None = None) -> Tensor:
        """Samples whose scales below ``start_scale`` reconstruct the training image."""
        ...


@runtime_checkable
class Translator(Protocol):
    """A scheme that maps inputs (``speaks("translate")``: pix2pix, CycleGAN, StarGAN, SRGAN,
    SPADE, the context encoder, SinGAN's injection). Not gan_lab.models.Translator, the base
    class of the two-domain schemes, which is one of them.

    Used by ``python -m gan_lab.translate`` (``directions``, ``translation_input`` reading a
    PIL image as the input of a direction, ``translate(inputs, direction, **options)`` with the
    optional ``translate_options``, ``iteration``) and the evaluators with ``protocol =
    "translate"`` (translation, attributes, super-resolution, inpainting, segmentation:
    ``translate`` and ``directions`` through the evaluation callback's sampler).
    """

    directions: tuple[str, ...]
    iteration: int

    def translate(self, images: Tensor, direction: str, **options: Any) -> Tensor:
        """Outputs for a batch of inputs of ``direction``, without gradients."""
        ...

    def translation_input(self, image: Any, direction: str, size: int | None = None) -> Tensor:
        """A PIL image read as an input of ``direction`` (resized to ``size`` when given)."""
        ...

    def translation_channels(self, direction: str) -> int:
        """The image channels the generator of ``direction`` reads."""
        ...


@runtime_checkable
class TrainedGenerator(Protocol):
    """A trained generator as the tools on it see it (inversion, dissection, steering: a library
    beside the schemes, DESIGN.md "Tools on a trained generator"); they use nothing else.

    Every GAN scheme (gan_lab.models.GAN and its subclasses) implements it, on the generator
    sampling uses (the EMA one once it has been updated). The latent spaces: z ~ N(0, I)
    (``noise``); for a style generator (StyleGAN, StyleGAN2) the intermediate space W, w = f(z)
    of the mapping network (Karras et al. 2019, "A Style-Based Generator Architecture for
    GANs", sec. 2), and W+, one w per synthesis layer (Abdal et al. 2019, "Image2StyleGAN: How
    to Embed Images Into the StyleGAN Latent Space?").
    """

    latent_dim: int
    num_classes: int

    @property
    def spaces(self) -> tuple[str, ...]:
        """("z",), or ("z", "w", "w+") for a style generator."""
        ...

    @property
    def w_avg(self) -> Tensor | None:
        """The tracked average w (w_dim,), a copy; None without a w space."""
        ...

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` z codes (B, latent_dim) ~ N(0, I)."""
        ...

    def synthesize(self, codes: Tensor, space: str = "z", condition: Tensor | None = None,
                   **options: Any) -> Tensor:
        """Outputs for ``codes`` of ``space``, differentiable in the codes, with the semantics
        of ``sample`` (``sample(noise=z)`` is ``synthesize(z)`` without gradients); ValueError
        (one line) for a space the generator lacks. ``condition``: class labels of a
        conditional model; ``options``: truncation_psi, truncation_cutoff, noise_mode (style
        generators)."""
        ...

    def mapping(self, z: Tensor, condition: Tensor | None = None) -> Tensor:
        """w = f(z), (B, w_dim), differentiable; ValueError without a w space."""
        ...

    def code_shape(self, space: str = "z") -> tuple[int, ...]:
        """The shape of one code of ``space``: (latent_dim,), (w_dim,), (num_ws, w_dim)."""
        ...

    def feature_layers(self) -> dict[str, nn.Module]:
        """Stable name ("b4", "b8", ... or "block0", ...) -> the module whose output is that
        block's feature map, in the order they run, for forward hooks."""
        ...

    def noise_buffers(self) -> dict[str, Tensor]:
        """Buffer name -> the live per-layer noise map (``noise_mode="const"``); {} for none."""
        ...

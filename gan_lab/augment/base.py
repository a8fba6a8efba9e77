"""The discriminator-augmentation protocol shared by DiffAugment and ADA.

Every scheme calls its discriminators through one entry point that applies ``augment(x)`` to
real and fake samples alike, also inside gradient penalties (Zhao et al. 2020, sec. 3;
Karras et al. 2020, sec. 2). Hence two rules for every implementation:

* ``forward`` is differentiable w.r.t. its input: G's gradient and R1/WGAN-GP input
  gradients pass through the augmentation.
* randomness comes only from torch's global RNG (no private ``torch.Generator``), so a resumed
  run, which restores the RNG states, replays the same augmentations.

State that must survive a resume lives in registered buffers, so it travels in the module's
``state_dict`` (and therefore in the checkpoint of the model that owns the module).

Layouts. The caller says what a batch holds (``augment(x, kind=...)``, a
:class:`gan_lab.kinds.SampleKind`; rank alone is ambiguous, a 5-D tensor is clips or voxels):

* ``images`` (N, C, H, W), the default: each image gets its own random transform.
* ``clips`` (N, T, C, H, W): one random transform per clip, the same for all its T frames, so
  that motion survives the augmentation (the video GANs' use of DiffAugment: a per-frame draw
  would add jitter that no real clip has). The frames are folded into the batch and each clip's
  parameters are repeated for its frames (:meth:`Augment.transform`'s ``frames``).
* ``voxels`` (N, C, D, H, W): what a subclass declares (DiffAugment's translation and cutout
  on the three spatial axes).

Each subclass declares the kinds it handles (``kinds``); any other kind, or a tensor whose rank
does not fit the kind, is refused in one line naming the augment option and the layout.
:func:`augment_for_critic` picks the augmentation of one critic when a scheme gives its critics
different ones (MoCoGAN's image and video critics, Tulyakov et al. 2018), and
:func:`augment_input` applies it with the kind of what that critic reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from torch import Tensor, nn

from gan_lab.kinds import SampleKind

__all__ = ["LAYOUTS", "Augment", "NoAugment", "augment_for_critic", "augment_input",
           "augment_metrics", "check_layout", "per_clip"]

# The tensor layout of a batch of each kind an augmentation may handle.
LAYOUTS = {
    SampleKind.IMAGES: "(N, C, H, W)",
    SampleKind.CLIPS: "(N, T, C, H, W)",
    SampleKind.VOXELS: "(N, C, D, H, W)",
}


def per_clip(values: Tensor, frames: int) -> Tensor:
    """Parameters drawn per clip (dim 0 of size N) repeated for each of its ``frames`` frames,
    as the folded batch (N * frames, ...) orders them (frame-minor); ``values`` itself for
    ``frames == 1`` (images), so image results stay bit-for-bit those of a per-image draw."""
    return values if frames == 1 else values.repeat_interleave(frames, dim=0)


class Augment(nn.Module):
    """Base class: ``forward`` augments, ``observe`` sees D's real scores, ``metrics`` logs.

    A subclass implements :meth:`transform` and declares ``kinds`` (the sample kinds it
    handles, images only by default) and ``option`` (its name in ``conf/augment``, for
    messages); :meth:`check_kind` may refuse more (DiffAugment's colour on voxels).
    """

    kinds: ClassVar[tuple[SampleKind, ...]] = (SampleKind.IMAGES,)
    option: ClassVar[str] = "augment"

    def forward(self, x: Tensor, kind: SampleKind | str | None = SampleKind.IMAGES) -> Tensor:
        """Augmented samples of the same shape as ``x``, differentiable w.r.t. ``x``.

        ``kind``: what ``x`` holds (None: images). Images (N, C, H, W) and voxels
        (N, C, D, H, W) go to :meth:`transform` as they are; clips (N, T, C, H, W) go as
        (N * T, C, H, W) with ``frames=T``, so each clip's T frames share one transform.
        """
        kind = self.check_kind(kind)
        check_layout(x, kind, self.option)
        if kind is SampleKind.CLIPS:
            n, t = x.shape[:2]
            return self.transform(x.reshape(n * t, *x.shape[2:]), frames=t).reshape(x.shape)
        return self.transform(x, frames=1)

    def transform(self, x: Tensor, frames: int = 1) -> Tensor:
        """Augment a batch (N * frames, C, *spatial): every ``frames`` consecutive samples are
        the frames of one clip and get the same random parameters (draw N of each, expand with
        :func:`per_clip`). ``frames=1``: images (2 spatial dims) or voxels (3)."""
        raise NotImplementedError

    def check_kind(self, kind: SampleKind | str | None) -> SampleKind:
        """``kind`` as a SampleKind; ValueError (one line) unless this augmentation handles it.
        A scheme may call it before training, so a wrong pairing fails at once."""
        kind = SampleKind.IMAGES if kind is None else SampleKind(kind)
        if kind not in self.kinds:
            handled = ", ".join(f"{k} {LAYOUTS[k]}" for k in self.kinds)
            raise ValueError(f"augment={self.option} ({type(self).__name__}) does not apply to "
                             f"{kind}{' ' + LAYOUTS[kind] if kind in LAYOUTS else ''}; it "
                             f"handles {handled} (augment=none turns augmentation off)")
        return kind

    def observe(self, real_scores: Tensor, counts_step: bool = True) -> None:
        """Called by the scheme after each D step with D's raw scores on augmented reals
        (``counts_step=False``: another forward's scores on the same step's reals).

        The default ignores them; adaptive augmentations use them to steer their strength.
        """
        del real_scores, counts_step

    def metrics(self) -> dict[str, float]:
        """Values to log, keyed ``augment/<name>``; none by default."""
        return {}


def check_layout(x: Tensor, kind: SampleKind, option: str = "augment") -> None:
    """ValueError (one line) unless ``x``'s rank is that of a batch of ``kind``."""
    rank = len(LAYOUTS[kind].split(","))
    if x.ndim == rank:
        return
    if kind is SampleKind.IMAGES and x.ndim == 5:
        raise ValueError(f"augment={option}: a 5-D input {tuple(x.shape)} declared as images "
                         f"{LAYOUTS[kind]}; declare its kind: clips {LAYOUTS[SampleKind.CLIPS]} "
                         f"or voxels {LAYOUTS[SampleKind.VOXELS]} (discriminate(..., kind=))")
    raise ValueError(f"augment={option}: {kind} are {LAYOUTS[kind]} batches, got a {x.ndim}-D "
                     f"input of shape {tuple(x.shape)}")


class NoAugment(Augment):
    """The identity: the discriminator sees its inputs unchanged, whatever their kind and shape
    (points, tokens and any layout pass: nothing is transformed, so nothing is checked)."""

    kinds = tuple(SampleKind)
    option = "none"

    def forward(self, x: Tensor, kind: SampleKind | str | None = SampleKind.IMAGES) -> Tensor:
        del kind
        return x

    def transform(self, x: Tensor, frames: int = 1) -> Tensor:
        del frames
        return x


_IDENTITY = NoAugment()


def augment_for_critic(augment: nn.Module, critic: str | None = None,
                       per_critic: Mapping[str, nn.Module | None] | None = None) -> nn.Module:
    """The augmentation the inputs of critic ``critic`` get: ``per_critic[critic]`` when the
    scheme declares one for it (None there: no augmentation), else the scheme's ``augment``.

    For schemes with several critics that want different augmentations, such as MoCoGAN's
    image critic D_I and video critic D_V (Tulyakov et al. 2018, eq. 1), each of which would
    otherwise see the one augmentation of the run. ``critic=None`` or no mapping: ``augment``.
    Keep stateful ones (ADA's p) in an ``nn.ModuleDict`` so they travel in checkpoints.
    """
    if critic is None or not per_critic or critic not in per_critic:
        return augment
    chosen = per_critic[critic]
    return _IDENTITY if chosen is None else chosen


def augment_input(augment: nn.Module, x: Tensor,
                  kind: SampleKind | str | None = None) -> Tensor:
    """``augment(x, kind=kind)``: the input a critic sees (Zhao et al. 2020, sec. 3: the same
    differentiable map for reals, fakes and penalty inputs). An ``Augment`` is told the kind
    (None: images); any other module (an ``x -> x`` map a test or a user plugs in) declares no
    kinds and gets ``x`` alone."""
    return augment(x, kind=kind) if isinstance(augment, Augment) else augment(x)


def augment_metrics(augment: nn.Module,
                    per_critic: Mapping[str, nn.Module | None] | None = None) -> dict[str, float]:
    """The metrics of ``augment`` (``augment/<name>``) and of each critic's own augmentation,
    as ``augment/<critic>/<name>`` (one ADA per critic logs its own p and r_t)."""
    metrics = dict(augment.metrics()) if isinstance(augment, Augment) else {}
    for critic, module in (per_critic or {}).items():
        if module is None or module is augment or not isinstance(module, Augment):
            continue
        for key, value in module.metrics().items():
            metrics[f"augment/{critic}/{key.removeprefix('augment/')}"] = value
    return metrics

"""The unconditional GAN training scheme: any generator, discriminator and adversarial loss."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from gan_lab.batches import spaced_batch
from gan_lab.kinds import BatchKind, SampleKind, batch_kind
from gan_lab.losses import AdversarialLoss
from gan_lab.models.base import AdversarialModule
from gan_lab.models.modes import eval_mode
from gan_lab.models.phases import Phase
from gan_lab.models.styles import (
    STYLE_SAMPLE_OPTIONS,
    check_space,
    is_style_generator,
    latent_spaces,
    noise_buffers,
    to_w_plus,
    truncate,
)
from gan_lab.nets.packing import pack
from gan_lab.visuals import Visual

UPDATES = ("alternating", "simultaneous")
# Where a conditional model's fake labels come from: the real batch's (Mirza & Osindero 2014;
# gan_lab's default), or drawn uniformly over the classes, independently of the real batch, as
# BigGAN-PyTorch (utils.prepare_z_y) and stylegan2-ada's loop (labels of random training images;
# the same law on a class-balanced set) do.
FAKE_LABELS = ("batch", "uniform")


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

    Update order (``update``): "alternating" (the default; Alg. 1: D steps, then a G step on a
    fresh forward through the updated D) or "simultaneous": one forward per batch, both players'
    gradients at the same parameters, then both steps, as the PacGAN toy code trains (ALI's
    ``ali_algorithm``, which that code calls). Simultaneous needs ``n_critic=1``.

    ``fake_labels``: "batch" (G is given the real batch's labels) or "uniform" (drawn
    independently, BigGAN and StyleGAN2-ADA's official loops); ``generator_batch_factor``: the G
    step generates this many times the real batch (SNGAN's official chainer configs: 128 fakes
    for G against D's batch of 64, ``n_gen_samples``).

    Replicas (``replicas=R``, toy MLP nets): R independent runs stacked in one module (see
    AdversarialModule); the data gives each replica its own batch, ``(B, R, ...)``, and
    ``sample(n)`` returns ``(R, n, ...)``.

    Sampling protocol (used by callbacks and commands; gan_lab.protocols.Sampler):
    ``sample(n, labels=None)`` or ``sample(noise=z, labels=y)`` returns generator outputs, from
    the EMA generator when it exists; a conditional model draws uniform labels when none are
    given. ``sample`` is :meth:`synthesize` without gradients.

    Trained-generator protocol (inversion, dissection, steering; gan_lab.protocols.
    TrainedGenerator): :meth:`synthesize` from codes of any of the generator's latent
    :attr:`spaces` (z; a style generator's w and w+, gan_lab.models.styles), differentiable in
    the codes; :attr:`w_avg`, :meth:`mapping`, :meth:`code_shape`, :meth:`feature_layers` and
    :meth:`noise_buffers` of the generator that synthesizes (the EMA one when present).
    """

    # The command options (``python -m gan_lab.sample options.<name>=...``) its sample() takes:
    # none for plain generators; the style generators' truncation, space and noise mode.
    @property
    def sample_options(self) -> tuple[str, ...]:
        return STYLE_SAMPLE_OPTIONS if is_style_generator(self.generator) else ()

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss,
        latent_dim: int,
        packing: int = 1,
        num_classes: int = 0,
        update: str = "alternating",
        fake_labels: str = "batch",
        generator_batch_factor: int = 1,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        if fake_labels not in FAKE_LABELS:
            raise ValueError(f"model.fake_labels={fake_labels!r} is not one of: "
                             f"{', '.join(FAKE_LABELS)}")
        if isinstance(generator_batch_factor, bool) or int(generator_batch_factor) < 1:
            raise ValueError(f"model.generator_batch_factor={generator_batch_factor} must be an "
                             "integer >= 1")
        if int(generator_batch_factor) > 1 and loss.needs_real_scores:
            raise ValueError(f"model.generator_batch_factor={generator_batch_factor}: the loss pairs "
                             "each fake with a real sample (relativistic); use 1")
        if int(packing) < 1:
            raise ValueError(f"model.packing={packing} must be an integer >= 1")
        if update not in UPDATES:
            raise ValueError(f"model.update={update!r} is not one of: {', '.join(UPDATES)}")
        if update == "simultaneous" and self.n_critic != 1:
            raise ValueError(f"model.update=simultaneous steps D and G on the same batch; it needs "
                             f"model.n_critic=1 (got {self.n_critic})")
        self.update = update
        self.fake_label_source = fake_labels
        self.generator_batch_factor = int(generator_batch_factor)
        self.num_classes = int(num_classes)
        self.generator = generator
        self.discriminator = discriminator
        self.loss = loss
        loss.check_critic(discriminator)
        self.latent_dim = int(latent_dim)
        self.packing = int(packing)
        self.init_generator_ema(generator)

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Latent codes z ~ N(0, I); a given `generator` (CPU) makes them reproducible."""
        if generator is not None:
            return torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        return torch.randn(n, self.latent_dim, device=self.device)

    # ----------------------------------------------------------------- training
    def optimizer_groups(self) -> dict[str, Any]:
        return {"generator": self.generator.parameters(),
                "discriminator": self.discriminator.parameters()}

    def phases(self) -> list[Phase]:
        """Goodfellow et al. 2014, Alg. 1: n_critic D steps, then one G step; or one joint
        step of both (``update="simultaneous"``)."""
        after_d = lambda: self.loss.after_discriminator_step(self.discriminator)  # noqa: E731
        if self.update == "simultaneous":
            return [Phase("GDmain", ("discriminator", "generator"), self.simultaneous_step,
                          ("loss/d", "loss/g"), after=after_d)]
        return [
            Phase("Dmain", "discriminator", self.discriminator_step, "loss/d", critic=True,
                  after=after_d),
            Phase("Gmain", "generator", self.generator_step, "loss/g"),
        ]

    # ----------------------------------------------------------------- hooks of variants
    def real_samples(self, batch: Any) -> tuple[Tensor, Tensor | None]:
        """The real samples D sees and their labels (None when unconditional); with replicas,
        the data's ``(B, R, ...)`` batch as the nets' replica-major ``(R * B, ...)``."""
        real = batch[0]
        if self.replicas > 1:
            real = real.transpose(0, 1).flatten(0, 1)
        return real, batch[1] if self.num_classes else None

    def fake_labels(self, labels: Tensor | None, n: int) -> Tensor | None:
        """Labels for ``n`` fakes beside a real batch with ``labels`` (None when unconditional):
        the real batch's, repeated to ``n`` (``fake_labels="batch"``), or uniform draws."""
        if labels is None or not self.num_classes:
            return None
        if self.fake_label_source == "uniform":
            return torch.randint(self.num_classes, (n,), device=labels.device)
        return labels.repeat(-(-n // len(labels)))[:n]

    def generate(self, noise: Tensor, labels: Tensor | None, net: nn.Module | None = None,
                 **options: Any) -> Tensor:
        """G's samples for ``noise`` (the training generator unless ``net`` is given)."""
        if options:
            raise ValueError(f"this generator takes no sampling options ({', '.join(options)}); "
                             "truncation in W, latent spaces and mixing need a style generator")
        return (self.generator if net is None else net)(noise, labels)

    def critic(self, labels: Tensor | None) -> Callable[[Tensor], Tensor]:
        """D's scores for packed inputs with these labels, through the one D entry point."""
        packed = None if labels is None else pack(labels[:, None], self.packing)
        return lambda x: self.discriminate(x, packed)

    # ----------------------------------------------------------------- phases
    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        real, labels = self.real_samples(batch)
        fake_labels = self.fake_labels(labels, real.shape[0])
        fake = self.generate(self.noise(real.shape[0]), fake_labels).detach()
        return self._discriminator_terms(real, fake, labels, fake_labels)[0]

    def _discriminator_terms(self, real: Tensor, fake: Tensor, labels: Tensor | None,
                             fake_labels: Tensor | None = None
                             ) -> tuple[dict[str, Tensor], Tensor, Tensor]:
        """D's loss terms on unpacked real and fake samples (the fakes with ``fake_labels``,
        by default the reals'), and its scores on the fakes and on the reals."""
        real, fake = pack(real, self.packing), pack(fake, self.packing)
        critic = self.critic(labels)
        fake_critic = critic if fake_labels is None else self.critic(fake_labels)
        # R1 / R2 from the logits of the adversarial loss where the loss shares the forward
        # (R3GAN's and StyleGAN's official D steps), else one forward per penalty.
        adversarial, penalties, real_scores, fake_scores = self.loss.discriminator_terms(
            critic, real, fake, fake_critic)
        self.observe_real_scores(real_scores)
        terms = {f"loss/d_{name}": value for name, value in penalties.items()}
        terms["loss/d"] = adversarial + sum(penalties.values())
        terms["score/real"] = real_scores.mean()
        terms["score/fake"] = fake_scores.mean()
        return terms, fake_scores, real_scores

    def simultaneous_step(self, batch: Any) -> dict[str, Tensor]:
        """One forward for both players (PacGAN's toy code, through ALI's ``ali_algorithm``):
        D's loss and G's loss on the same real batch, codes and generated samples (a relativistic
        G loss pairs the fakes' scores with the same forward's real scores)."""
        real, labels = self.real_samples(batch)
        fake = self.generate(self.noise(real.shape[0]), labels)
        terms, fake_scores, real_scores = self._discriminator_terms(real, fake, labels)
        terms["loss/g"] = self.loss.generator_loss(fake_scores, real_scores)
        return terms

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        """G's loss on fresh fakes; D scores the real batch too only when the loss needs it
        (relativistic pairing, e.g. RpGAN: Huang et al. 2024, eq. 2)."""
        real, labels = self.real_samples(batch)
        n = real.shape[0] * self.generator_batch_factor
        fake_labels = self.fake_labels(labels, n)
        fake = self.generate(self.noise(n), fake_labels)
        fake_scores = self.critic(fake_labels)(pack(fake, self.packing))
        real_scores = (self.critic(labels)(pack(real, self.packing))
                       if self.loss.needs_real_scores else None)
        return {"loss/g": self.loss.generator_loss(fake_scores, real_scores)}

    # ----------------------------------------------------------------- data and visuals
    def check_data(self, datamodule) -> None:
        """The data must be single samples (with this many classes) shaped like G's output."""
        if batch_kind(datamodule) != BatchKind.SAMPLES:
            raise ValueError(
                f"data: a {datamodule.batch_kind} set, but {type(self).__name__} generates single "
                "samples; two-domain translation sets are for model=pix2pix or model=cyclegan")
        data_replicas = int(getattr(datamodule, "replicas", 1))
        if data_replicas != self.replicas:
            raise ValueError(
                f"model.replicas={self.replicas} but the data gives {data_replicas} replica "
                "batch(es); each replica needs its own training set (data=ring, grid or "
                "swiss_roll with data.replicas)")
        data_classes = getattr(datamodule, "num_classes", 0)
        if self.num_classes and self.num_classes != data_classes:
            raise ValueError(
                f"model.num_classes={self.num_classes} but the data has {data_classes} classes; "
                "a conditional model needs labelled data with that many classes")
        expected = tuple(datamodule.sample_shape)
        produced = tuple(self.sample(2).shape[1 if self.replicas == 1 else 2:])
        if produced != expected and len(produced) != len(expected):  # another kind of sample
            wanted = ("2-D points: data=ring, grid or swiss_roll (or experiment=toy)"
                      if len(produced) == 1 else "images: data=digits, mnist, cifar10, ...")
            raise ValueError(
                f"model.generator produces samples of shape {produced} but data gives "
                f"{expected}, another kind of sample; this model needs {wanted}")
        if produced != expected:
            raise ValueError(
                f"model.generator produces samples of shape {produced} but data gives "
                f"{expected}; make model.generator.image_size/channels match "
                "data.image_size/channels")

    def visual_inputs(self, datamodule, count: int, nrow: int, generator: torch.Generator) -> Any:
        """``count`` fixed codes (per replica); a conditional model gets one row of ``nrow`` per
        class."""
        labels = torch.arange(self.num_classes).repeat_interleave(nrow) if self.num_classes else None
        count = count if labels is None else len(labels)
        return self.noise(count * self.replicas, generator=generator), labels, nrow

    def visuals(self, inputs: Any) -> dict[str, Visual]:
        """The samples, of the kind the data's sample spec names (``sample_spec``): an image
        grid, or a scatter plot for 2-D points (the toy data)."""
        noise, labels, nrow = inputs
        samples = self.sample(noise=noise, labels=labels)
        spec = getattr(self, "sample_spec", None)  # None in checkpoints written before the specs
        kind = (spec.kind if spec is not None
                else SampleKind.IMAGES if samples.dim() == 4 else SampleKind.POINTS)
        return {"samples": Visual(kind, samples, nrow)}

    @torch.no_grad()
    def diversity_probe(self, datamodule: Any, n: int, seed: int) -> list[tuple[Tensor, Tensor]]:
        """Samples of ``n`` fixed codes (labels cycling over the classes) beside ``n`` real
        samples as D sees them (ProGAN: at the current resolution, resized to the samples');
        with replicas, one pair per replica, each against the real samples of all of them."""
        reference = getattr(datamodule, "reference_set", None)
        if reference is None:
            return []
        noise = self.noise(n * self.replicas, generator=torch.Generator().manual_seed(seed))
        labels = torch.arange(n) % self.num_classes if self.num_classes else None
        fake = self.sample(noise=noise, labels=labels).float()
        images, real_labels = spaced_batch(reference, n)
        if self.replicas == 1:
            real = self.real_samples((images.to(self.device), real_labels.to(self.device)))[0]
            if real.dim() == 4 and real.shape[-2:] != fake.shape[-2:]:  # ProGAN: below full size
                real = nn.functional.interpolate(real.float(), size=fake.shape[-2:])
        else:
            real = images
        width = real[0].numel() if self.replicas == 1 else math.prod(datamodule.sample_shape)
        return [(f, real.reshape(-1, width)) for f in fake.reshape(self.replicas, -1, width)]

    @torch.no_grad()
    def discriminator_means(self, datasets: Sequence[Dataset], n: int,
                            seed: int) -> list[float] | None:
        """D's mean score on ``n`` real samples of each data set (as D sees them, packed), then
        on ``n`` samples of fixed codes (``seed``) with the last set's labels, in D's current
        mode; ``n`` is cut to the smallest set and to whole packs. None with replicas or fewer
        than two samples (or one pack)."""
        if self.replicas != 1:
            return None
        n = min(n, *(len(dataset) for dataset in datasets)) // self.packing * self.packing
        if n < max(2, self.packing):
            return None

        def mean_score(x: Tensor, labels: Tensor | None) -> float:
            return float(self.critic(labels)(pack(x, self.packing)).float().mean())

        means = []
        for dataset in datasets:
            images, labels = spaced_batch(dataset, n)
            real, real_labels = self.real_samples((images.to(self.device), labels.to(self.device)))
            means.append(mean_score(real, real_labels))
        noise = self.noise(len(real), generator=torch.Generator().manual_seed(seed))
        means.append(mean_score(self.generate(noise, real_labels), real_labels))
        return means

    @torch.no_grad()
    def sample(self, n: int | None = None, labels: Tensor | None = None,
               noise: Tensor | None = None, **options: Any) -> Tensor:
        """Generator outputs for `n` fresh z codes or for the given `noise` (codes of
        ``options["space"]``, z by default), without gradients: :meth:`synthesize` with labels
        drawn uniformly for a conditional model when none are given (``options``: what the
        variant's ``generate`` takes, e.g. truncation_psi, space). With R replicas:
        ``(R, n, ...)``, n per replica (``noise``: replica-major, R * n codes)."""
        space = options.pop("space", "z")
        if noise is None:
            if n is None:
                raise ValueError("sample() needs n or noise")
            if space != "z":
                raise ValueError(f"sample(n) draws z codes; pass codes of space {space!r} as "
                                 "noise=")
            noise = self.noise(n * self.replicas)
        if labels is not None and not self.num_classes:
            raise ValueError("this model is unconditional: sample() takes no labels")
        if self.num_classes and labels is None:
            labels = torch.randint(self.num_classes, (noise.shape[0],), device=self.device)
        return self.synthesize(noise, space, labels, **options)

    # ----------------------------------------------------------------- trained generator
    def synthesize(self, codes: Tensor, space: str = "z", condition: Tensor | None = None,
                   **options: Any) -> Tensor:
        """Generator outputs for ``codes`` of latent ``space``, differentiable in the codes: the
        one code path of sampling (``sample`` is this under ``torch.no_grad``), for tools that
        optimize or probe codes (inversion, steering, dissection).

        The generator is the one sampling uses (the EMA one once it has been updated), run in
        eval mode (restored after) and with its training-only behaviour off (no style mixing,
        w_avg not tracked). ``space``: one of :attr:`spaces`; z codes ``(B, latent_dim)``; for
        a style generator w codes ``(B, w_dim)`` (Karras et al. 2019, sec. 2) and w+ codes
        ``(B, num_ws, w_dim)``, one w per synthesis layer (Abdal et al. 2019, Image2StyleGAN).
        ``condition``: class labels ``(B,)`` of a conditional model (needed for z codes; w and
        w+ already hold them). ``options``: what the variant's ``generate`` takes
        (truncation_psi, truncation_cutoff, noise_mode for style generators). The generator's
        parameters keep ``requires_grad`` as they are (the EMA copy's are frozen). With R
        replicas: ``(R, B / R, ...)``. One ValueError line for a space the generator lacks.
        """
        net = self.sampling_generator()
        check_space(net, space)
        if condition is not None and not self.num_classes:
            raise ValueError("this model is unconditional: it takes no condition (labels)")
        if self.num_classes and condition is None and space == "z":
            raise ValueError(f"this model is conditional on {self.num_classes} classes: pass "
                             "condition= (class labels, one per code)")
        if space != "z":
            options["space"] = space
        condition = None if condition is None else condition.to(self.device)
        with eval_mode(net):
            samples = self.generate(codes.to(self.device), condition, net=net, **options)
        return samples if self.replicas == 1 else samples.unflatten(0, (self.replicas, -1))

    @property
    def spaces(self) -> tuple[str, ...]:
        """The latent spaces :meth:`synthesize` takes: ("z",), or ("z", "w", "w+") for a style
        generator (one with ``mapping`` and ``synthesis``, gan_lab.models.styles)."""
        return latent_spaces(self.generator)

    @property
    def w_avg(self) -> Tensor | None:
        """A style generator's tracked average w (``w_dim``,), the centre of the truncation
        trick (Karras et al. 2019, appendix B) and the usual start of an inversion (a copy);
        None for a generator without a w space."""
        net = self.sampling_generator()
        return net.mapping.w_avg.detach().clone() if is_style_generator(net) else None

    def mapping(self, z: Tensor, condition: Tensor | None = None) -> Tensor:
        """w = f(z) (B, w_dim) of a style generator's mapping network (Karras et al. 2019, sec.
        2), differentiable, in eval mode and without tracking w_avg; ``condition``: the labels
        of a conditional mapping. ValueError for a generator without a w space."""
        net = self.sampling_generator()
        check_space(net, "w")
        condition = None if condition is None else condition.to(self.device)
        with eval_mode(net):
            return net.mapping(z.to(self.device), condition, update_w_avg=False)[:, 0]

    def code_shape(self, space: str = "z") -> tuple[int, ...]:
        """The shape of one code of ``space``: (latent_dim,) for z, (w_dim,) for w,
        (num_ws, w_dim) for w+."""
        net = self.sampling_generator()
        check_space(net, space)
        if space == "z":
            return (self.latent_dim,)
        return (int(net.w_dim),) if space == "w" else (int(net.num_ws), int(net.w_dim))

    def feature_layers(self) -> dict[str, nn.Module]:
        """Named modules of the synthesizing generator whose outputs are its intermediate
        feature maps, in the order they run, for forward hooks (dissection: Bau et al. 2019,
        "GAN Dissection"); see :func:`generator_feature_layers` for the names."""
        return generator_feature_layers(self.sampling_generator())

    def noise_buffers(self) -> dict[str, Tensor]:
        """The synthesizing generator's fixed per-layer noise maps (read with
        ``noise_mode="const"``; Karras et al. 2019, sec. 2, fig. 1b "B"), by buffer name: the
        live buffers (an inversion may optimize them, as the official StyleGAN2 projector);
        empty for a generator without per-layer noise."""
        return noise_buffers(self.sampling_generator())

    def sampling_generator(self) -> nn.Module:
        """The generator sampling uses: the EMA one once it has been updated."""
        return self.generator_ema.module if self.ema_ready() else self.generator

    @torch.no_grad()
    def w_plus(self, noise: Tensor, labels: Tensor | None = None, truncation_psi: float = 1.0,
               truncation_cutoff: int | None = None) -> Tensor:
        """A style generator's w+ codes (B, num_ws, w_dim) for z codes ``noise``, truncated;
        ``sample(noise=codes, space="w+")`` draws them (gan_lab.models.styles)."""
        net = self.sampling_generator()
        check_space(net, "w+")
        labels = None if labels is None else labels.to(self.device)
        ws = to_w_plus(net, noise.to(self.device), labels)
        return truncate(net, ws, truncation_psi, truncation_cutoff)


def generator_feature_layers(net: nn.Module) -> dict[str, nn.Module]:
    """Named modules of generator ``net`` whose outputs are its intermediate feature maps
    (tensors), one per block in the order they run: what dissection hooks.

    - the net's own ``feature_layers()`` when it has one;
    - StyleGAN2's synthesis blocks by their official names ``b4``, ``b8``, ... (the smaller
      side), each its last layer ``conv1`` (the block's features; the block returns a pair);
    - StyleGAN's blocks alike, ``b4``, ``b8``, ...: the second layer of each;
    - nets built of ``blocks`` or ``stages`` (SNGAN's and BigGAN's ResNets, ProGAN, R3GAN):
      ``block0``, ``block1``, ..., and ``attention`` for a self-attention block (where it runs);
    - a sequential body ``net`` (DCGAN, SNGAN's CNN, the toy MLP): its hidden activations,
      ``block0``, ``block1``, ...

    A growing net (ProGAN, StyleGAN) runs only the blocks up to its level.
    """
    own = getattr(net, "feature_layers", None)
    if callable(own):
        return dict(own())
    blocks = getattr(getattr(net, "synthesis", None), "blocks", None)
    if isinstance(blocks, nn.ModuleList):
        return {f"b{min(block.size)}": block.conv1 for block in blocks}
    layers = getattr(net, "layers", None)
    if is_style_generator(net) and isinstance(layers, nn.ModuleList):
        return {f"b{4 << k}": layers[2 * k + 1] for k in range(len(layers) // 2)}
    for name in ("blocks", "stages"):
        blocks = getattr(net, name, None)
        if isinstance(blocks, nn.ModuleList):
            found = [(f"block{i}", block) for i, block in enumerate(blocks)]
            attention = getattr(net, "attention", None)
            if isinstance(attention, nn.Module):  # after block ``attention_after`` (-1: first)
                after = int(getattr(net, "attention_after", len(found) - 1))
                found.insert(after + 1, ("attention", attention))
            return dict(found)
    body = getattr(net, "net", None)
    if isinstance(body, nn.Sequential):
        activations = [m for m in body if isinstance(m, nn.ReLU | nn.LeakyReLU)]
        return {f"block{i}": m for i, m in enumerate(activations)}
    return {}

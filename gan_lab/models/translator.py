"""What the image-to-image translation schemes (pix2pix, CycleGAN) share.

Nets are held by direction and by domain: ``generator["AtoB"]`` maps domain A to B,
``discriminator["B"]`` judges images of domain B; one optimizer trains all generators and one
all discriminators (as the reference code's ``itertools.chain``). Here: D's loss for one domain,
the check that the data fits, and the translation protocol the callbacks and commands use:
``translate(images, direction)``, ``directions`` and ``rows(real_a, real_b)`` (named image rows,
e.g. input | translation | reconstruction, as the ``visual_names`` lists of
junyanz/pytorch-CycleGAN-and-pix2pix), shown as one grid by ``visuals``. Each scheme lists its
own phases: pix2pix updates D then G, CycleGAN G then D, as their reference code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.batches import spaced_batch
from gan_lab.kinds import BatchKind, batch_kind
from gan_lab.losses import AdversarialLoss
from gan_lab.models.base import AdversarialModule
from gan_lab.models.phases import Phase
from gan_lab.nets.layers import input_channels
from gan_lab.visuals import Visual

INFERENCE_MODES = ("eval", "train")


class Translator(AdversarialModule):
    """Base of translation schemes: G and D are ``nn.ModuleDict``s keyed by direction / domain.

    Args:
        generators: ``{"AtoB": G, ...}``; each maps (B, C_in, H, W) to (B, C_out, H, W) and
            may have ``size_multiple`` (input sides must be multiples of it).
        discriminators: ``{"B": D, ...}``; each maps images to a map of raw scores.
        loss: the adversarial objective and its regularizers (any ``loss=`` option).
        inference: ``"eval"`` translates with dropout off and batch norm's running statistics;
            ``"train"`` runs G as in training, dropout on and batch statistics of the test
            batch (pix2pix, Isola et al. 2017, sec. 3.3). Either way nothing is changed:
            running statistics are restored and the global RNG is left untouched.
    """

    directions: tuple[str, ...] = ("AtoB",)
    evaluation_hint = "eval=translation"  # the evaluation that scores this scheme
    visual_names: tuple[str, ...] = ()
    needs_pairs = False  # True: learns from aligned (input, target) pairs

    def __init__(self, generators: Mapping[str, nn.Module], discriminators: Mapping[str, nn.Module],
                 loss: AdversarialLoss, inference: str = "eval", **training: Any) -> None:
        super().__init__(**training)
        if inference not in INFERENCE_MODES:
            raise ValueError(f"model.inference={inference!r}: must be one of {', '.join(INFERENCE_MODES)}")
        self.generator = nn.ModuleDict(dict(generators))
        self.discriminator = nn.ModuleDict(dict(discriminators))
        self.loss = loss
        for domain, critic in self.discriminator.items():
            loss.check_critic(critic, f"discriminator {domain}")
        self.inference = inference
        self.num_classes = 0
        self.init_generator_ema(self.generator)

    # ----------------------------------------------------------------- training pieces
    def adversarial_terms(self, domain: str, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        """D[domain]'s objective on real vs fake images (plus the loss's penalties), named."""
        def critic(x: Tensor) -> Tensor:
            return self.judge(domain, x)

        real_scores, fake_scores = critic(real), critic(fake)
        self.observe_real_scores(real_scores)
        terms = {f"loss/d_{domain}": self.loss.discriminator_loss(real_scores, fake_scores)}
        for name, value in self.loss.penalties(critic, real, fake).items():
            terms[f"loss/d_{domain}_{name}"] = value
        terms[f"score/real_{domain}"] = real_scores.mean()
        terms[f"score/fake_{domain}"] = fake_scores.mean()
        return terms

    @torch.no_grad()
    def fresh_fake(self, images: Tensor, direction: str) -> Tensor:
        """G's output for D-only updates (n_critic > 1): the training generator in its training
        mode, without a graph."""
        return self.generator[direction](images)

    def optimizer_groups(self) -> dict[str, Any]:
        return {"generator": self.generator.parameters(),
                "discriminator": self.discriminator.parameters()}

    def discriminator_phase(self) -> Phase:
        """Dmain: every discriminator, on each of the iteration's n_critic batches."""
        return Phase("Dmain", "discriminator", self.discriminator_step, "loss/d", critic=True,
                     after=self._after_discriminator_update)

    def _after_discriminator_update(self) -> None:
        for discriminator in self.discriminator.values():
            self.loss.after_discriminator_step(discriminator)

    def judge(self, domain: str, images: Tensor) -> Tensor:
        """D[domain]'s scores, through the one discriminator entry point."""
        return self.discriminate(images, net=self.discriminator[domain])

    # ----------------------------------------------------------------- protocol
    @property
    def size_multiple(self) -> int:
        """Input sides must be multiples of this (translate pads other sizes)."""
        multiples = [int(getattr(g, "size_multiple", 1)) for g in self.generator.values()]
        return max(multiples, default=1)

    def _generators(self) -> nn.ModuleDict:
        return self.generator_ema.module if self.ema_ready() else self.generator

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str = "AtoB") -> Tensor:
        """Translate a batch of images in [-1, 1] (EMA generator when present).

        Sides that are not multiples of the generator's ``size_multiple`` are reflect-padded
        up to the next multiple and the output is cropped back, so any size works.
        """
        if direction not in self.directions:
            raise ValueError(f"direction={direction!r}: this model translates "
                             f"{', '.join(self.directions)}")
        net = self._generators()[direction]
        images = images.to(self.device)
        height, width = images.shape[-2:]
        multiple = int(getattr(net, "size_multiple", 1))
        pad_h, pad_w = -height % multiple, -width % multiple
        if pad_h or pad_w:
            # Reflection needs padding < side; replicate covers tiny images.
            mode = "reflect" if pad_h < height and pad_w < width else "replicate"
            images = F.pad(images, (0, pad_w, 0, pad_h), mode=mode)
        out = self._run(net, images)
        return out[..., :height, :width]

    def _run(self, net: nn.Module, images: Tensor) -> Tensor:
        was_training = net.training
        if self.inference == "eval":
            net.eval()
            try:
                return net(images)
            finally:
                net.train(was_training)
        buffers = {name: b.clone() for name, b in net.named_buffers()}
        devices = [images.device] if images.device.type == "cuda" else []
        net.train()
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(0)  # the same dropout masks at every evaluation
                return net(images)
        finally:
            for name, buffer in net.named_buffers():
                buffer.copy_(buffers[name])
            net.train(was_training)

    @torch.no_grad()
    def rows(self, real_a: Tensor, real_b: Tensor) -> dict[str, Tensor]:
        """Named image rows for sample grids, in ``visual_names`` order."""
        raise NotImplementedError

    # ----------------------------------------------------------------- data and visuals
    def visual_inputs(self, datamodule, count: int, nrow: int, generator: torch.Generator) -> Any:
        """The first ``nrow`` test images of each domain (equal counts, even for short sets)."""
        sets = [datamodule.eval_set(domain) for domain in ("A", "B")]
        n = min(nrow, *(len(s) for s in sets))
        return tuple(torch.stack([s[i][0] for i in range(n)]) for s in sets)

    def visuals(self, inputs: Any) -> dict[str, Visual]:
        """One grid: a row per entry of ``visual_names``, a column per test image."""
        rows = self.rows(*(x.to(self.device) for x in inputs))
        rows = [rows[name].float().cpu() for name in self.visual_names]
        channels = max(row.shape[1] for row in rows)
        # A grey domain beside a colour one: repeat its channel so all rows share one grid.
        images = torch.cat([row.expand(-1, channels, -1, -1) for row in rows])
        return {"translations": Visual("images", images, nrow=len(inputs[0]))}

    def translation_channels(self, direction: str) -> int:
        """The channels the generator of ``direction`` reads."""
        return input_channels(self.generator[direction])

    def diversity_probe(self, datamodule: Any, n: int, seed: int) -> list[tuple[Tensor, Tensor]]:
        """Per direction: the translations of ``n`` fixed test images of the source domain beside
        ``n`` real test images of the target domain (a collapsed translator maps them all alike)."""
        pairs = []
        for direction in self.directions:
            source = spaced_batch(datamodule.eval_set(direction[0]), n)[0]
            target = spaced_batch(datamodule.eval_set(direction[-1]), n)[0]
            pairs.append((self.translate(source, direction), target))
        return pairs

    def check_data(self, datamodule) -> None:
        """Two-domain data (paired if the scheme learns from pairs), crops the generators can
        take and the discriminators can judge, and generators that make the target's channels."""
        name = type(self).__name__
        if batch_kind(datamodule) != BatchKind.TWO_DOMAINS:
            raise ValueError(
                f"model: {name} translates images between two domains, but data gives single "
                "images; use a translation set: data=chalk2ink, edges2digits, horse2zebra, "
                "facades, maps, ..., or unpaired_folder / aligned_folder / paired_folder with "
                "data.path=..., or label maps as images with data=textures data.pairs=true")
        if self.needs_pairs and not datamodule.paired:
            raise ValueError(
                f"model: {name} learns from aligned pairs, but the data is unpaired; use paired "
                "data (data=edges2digits, facades, maps, aligned_folder, paired_folder)")
        size = datamodule.image_size
        if size % self.size_multiple:
            raise ValueError(
                f"data.image_size={size}: the generator takes sides that are multiples of "
                f"{self.size_multiple}; pick such a crop size")
        for domain, critic in self.discriminator.items():
            smallest = int(getattr(critic, "min_size", 1))
            if size < smallest:
                raise ValueError(
                    f"data.image_size={size}: discriminator {domain} needs sides of at least "
                    f"{smallest} (a PatchGAN with n_layers={getattr(critic, 'n_layers', '?')}); "
                    "lower its n_layers or use larger crops")
        for direction in self.directions:
            source, target = direction[0], direction[-1]
            probe = datamodule.eval_set(source)[0][0][None]
            produced = self.translate(probe, direction).shape[1]
            expected = datamodule.eval_set(target)[0][0].shape[0]
            if produced != expected:
                raise ValueError(
                    f"model: the {direction} generator makes {produced}-channel images but domain "
                    f"{target} has {expected}; make the generator's channels match "
                    "data.channels_a / data.channels_b")

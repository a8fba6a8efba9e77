"""StarGAN: one generator translating images between many attribute domains.

Choi et al., "StarGAN: Unified Generative Adversarial Networks for Multi-Domain Image-to-Image
Translation" (CVPR 2018), checked against the authors' code (yunjey/stargan, solver.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.kinds import BatchKind, batch_kind
from gan_lab.losses import AdversarialLoss
from gan_lab.models.base import AdversarialModule
from gan_lab.models.phases import Phase
from gan_lab.nets.stargan import single_attribute_targets
from gan_lab.visuals import Visual

__all__ = ["StarGAN", "attribute_classification_loss"]

INFERENCE_MODES = ("train", "eval")
NetFactory = Callable[..., nn.Module]


def attribute_classification_loss(logits: Tensor, attributes: Tensor) -> Tensor:
    """L_cls of eqs. 2 and 3 for multi-label attributes, as the official ``classification_loss``
    for CelebA: binary cross-entropy of each attribute's logit, summed over the attributes and
    averaged over the batch."""
    return F.binary_cross_entropy_with_logits(
        logits.float(), attributes.float(), reduction="sum") / logits.shape[0]


class StarGAN(AdversarialModule):
    """Choi et al. 2018: G(x, c) translates x to the target attributes c; D judges realness per
    patch (D_src) and classifies attributes (D_cls). The objectives, sec. 3.1, eqs. 5 and 6:

        L_D = -L_adv + lambda_cls L_cls^r,  L_cls^r = BCE(D_cls(x), c')          (real, own c')
        L_G =  L_adv + lambda_cls L_cls^f + lambda_rec L_rec,
               L_cls^f = BCE(D_cls(G(x, c)), c),  L_rec = E|x - G(G(x, c), c')|_1,

    with L_adv the ``loss`` objective on D_src (the paper's WGAN-GP, eq. 8: ``loss=wgan_gp``,
    lambda_gp 10, its gradient penalty on the adversarial head only) and lambda_cls 1,
    lambda_rec 10. The target c of each batch is a random permutation of the batch's own
    attribute vectors (the official ``rand_idx = torch.randperm``), drawn once per batch in
    :meth:`prepare_batch` and shared by D's and G's updates on that batch.

    Update order, as the official ``train``: D is updated on every batch (a ``critic`` phase);
    G on every ``n_critic``-th batch (5), after D's update on that same batch and with the same
    targets: the base's iteration of ``n_critic`` critic batches followed by the G phase. D's
    loss, penalty included, is one backward pass and one step, as the official code's latest
    version. Every D call goes through :meth:`discriminate` (augmentation applies).

    Inference (``translate``): ``inference="train"`` normalises with each image's own instance
    statistics, as the official code, which never switches G to eval mode (its running
    statistics are restored afterwards); ``"eval"`` uses the running statistics.

    Args:
        generator, discriminator: the nets (gan_lab.nets.stargan), or factories completed with
            ``c_dim=len(attributes)`` (the yaml's ``_partial_`` nets).
        loss: the adversarial objective and its penalties (any ``loss=``).
        attributes: the names of the conditioning attributes, in the data's column order.
        lambda_cls, lambda_rec: the weights of eqs. 5 and 6 (1 and 10).
        inference: ``"train"`` or ``"eval"``, see above.
    """

    directions = ("attributes",)
    translate_options = ("attributes",)
    # The evaluation that scores this scheme (for hints where another one is asked for).
    evaluation_hint = "eval=attributes"

    def __init__(self, generator: nn.Module | NetFactory, discriminator: nn.Module | NetFactory,
                 loss: AdversarialLoss, attributes: Sequence[str], lambda_cls: float = 1.0,
                 lambda_rec: float = 10.0, inference: str = "train", **training: Any) -> None:
        if int(training.get("replicas", 1)) != 1:
            raise ValueError("model.replicas: StarGAN's nets are not built for stacked replicas; "
                             "use model.replicas=1")
        super().__init__(**training)
        if isinstance(attributes, str) or not attributes:
            raise ValueError(f"model.attributes={attributes!r}: must be a non-empty list of names")
        names = tuple(str(name) for name in attributes)
        if len(set(names)) != len(names):
            raise ValueError(f"model.attributes={list(names)}: a name is listed twice")
        for key, value in (("lambda_cls", lambda_cls), ("lambda_rec", lambda_rec)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"model.{key}={value!r}: must be a number >= 0")
        if inference not in INFERENCE_MODES:
            raise ValueError(f"model.inference={inference!r}: must be one of "
                             f"{', '.join(INFERENCE_MODES)}")
        self.attribute_names = names
        self.generator = _built(generator, "generator", len(names))
        self.discriminator = _built(discriminator, "discriminator", len(names))
        self.loss = loss
        loss.check_critic(self.discriminator)
        self.lambda_cls, self.lambda_rec = float(lambda_cls), float(lambda_rec)
        self.inference = inference
        self.num_classes = 0
        self._target: Tensor | None = None
        self.init_generator_ema(self.generator)

    # ----------------------------------------------------------------- training
    def optimizer_groups(self) -> dict[str, Any]:
        return {"generator": self.generator.parameters(),
                "discriminator": self.discriminator.parameters()}

    def phases(self) -> list[Phase]:
        return [Phase("Dmain", "discriminator", self.discriminator_step, "loss/d", critic=True,
                      after=self._after_discriminator_update),
                Phase("Gmain", "generator", self.generator_step, "loss/g")]

    def prepare_batch(self, batch: Any) -> None:
        # The official code's target domains: the batch's own labels in a random order, drawn
        # from the CPU generator (as official) whatever the device.
        source = batch[1]
        order = torch.randperm(source.shape[0])
        self._target = source[order.to(source.device)].float()

    def _targets(self, batch: Any) -> tuple[Tensor, Tensor, Tensor]:
        real, source = batch[0], batch[1].float()
        if self._target is None or self._target.shape != source.shape:
            self.prepare_batch(batch)  # a phase run on its own (tests, tools)
        return real, source, self._target

    def _adversarial_head(self, images: Tensor) -> Tensor:
        """D_src alone: what the objective and its gradient penalty see."""
        return self.discriminate(images)[0]

    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        real, source, target = self._targets(batch)
        with torch.no_grad():
            fake = self.generator(real, target)
        real_src, real_cls = self.discriminate(real)
        fake_src, _ = self.discriminate(fake)
        self.observe_real_scores(real_src)
        adversarial = self.loss.discriminator_loss(real_src, fake_src)
        classification = attribute_classification_loss(real_cls, source)
        terms = {"loss/d_adv": adversarial, "loss/d_cls": classification}
        total = adversarial + self.lambda_cls * classification
        for name, value in self.loss.penalties(self._adversarial_head, real, fake,
                                               real_scores=real_src).items():
            terms[f"loss/d_{name}"] = value
            total = total + value
        terms["loss/d"] = total
        terms["score/real"], terms["score/fake"] = real_src.mean(), fake_src.mean()
        terms["accuracy/d_cls_real"] = ((real_cls > 0).float() == source).float().mean()
        return terms

    def _after_discriminator_update(self) -> None:
        self.loss.after_discriminator_step(self.discriminator)

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        real, source, target = self._targets(batch)
        fake = self.generator(real, target)
        fake_src, fake_cls = self.discriminate(fake)
        real_src = self.discriminate(real)[0] if self.loss.needs_real_scores else None
        adversarial = self.loss.generator_loss(fake_src, real_src)
        classification = attribute_classification_loss(fake_cls, target)
        reconstruction = (real - self.generator(fake, source)).abs().mean()
        total = (adversarial + self.lambda_cls * classification
                 + self.lambda_rec * reconstruction)
        return {"loss/g": total, "loss/g_adv": adversarial, "loss/g_cls": classification,
                "loss/g_rec": reconstruction,
                "accuracy/d_cls_fake": ((fake_cls > 0).float() == target).float().mean()}

    # ----------------------------------------------------------------- translation protocol
    @property
    def size_multiple(self) -> int:
        return int(getattr(self.generator, "size_multiple", 1))

    def translation_channels(self, direction: str) -> int:
        """The image channels G reads (not the channels of its input with the tiled labels)."""
        return int(self.generator.channels)

    def target_attributes(self, attributes: Any, count: int) -> Tensor:
        """The target vectors (count, K) for ``attributes``: a tensor (K,) or (count, K); a list
        of K values 0/1 in the order of ``attribute_names``; or a list of names (a single name
        alone) to turn on, every other attribute off. One ValueError line otherwise."""
        names, k = self.attribute_names, len(self.attribute_names)
        usage = (f"give {k} values 0/1 in the order {', '.join(names)}, e.g. attributes="
                 f"[{','.join(['1'] + ['0'] * (k - 1))}], or the names to turn on (the others "
                 f"off), e.g. attributes=[{names[0]}]")
        if isinstance(attributes, Tensor):
            target = attributes.float().reshape(-1, attributes.shape[-1]).cpu()
            if target.shape[1] != k or target.shape[0] not in (1, count):
                raise ValueError(f"target attributes of shape {tuple(attributes.shape)}: this "
                                 f"StarGAN takes ({count}, {k}) or ({k},)")
            return target.expand(count, k).to(self.device)
        if attributes is None:
            raise ValueError(f"attributes=null: a StarGAN translates to target attributes; {usage}")
        values = [attributes] if isinstance(attributes, str) else attributes
        if not isinstance(values, list | tuple):
            raise ValueError(f"attributes={attributes!r}: {usage}")
        if all(isinstance(v, str) for v in values):
            unknown = [v for v in values if v not in names]
            if unknown:
                raise ValueError(f"attributes: {unknown[0]!r} is not one of this StarGAN's "
                                 f"attributes ({', '.join(names)}); {usage}")
            vector = [1.0 if name in values else 0.0 for name in names]
        elif all(isinstance(v, int | float) and not isinstance(v, str) for v in values):
            if len(values) != k or any(float(v) not in (0.0, 1.0) for v in values):
                raise ValueError(f"attributes={list(values)}: this StarGAN has {k} attributes "
                                 f"({', '.join(names)}); {usage}")
            vector = [float(v) for v in values]
        else:
            raise ValueError(f"attributes={list(values)}: mixes names and values; {usage}")
        return torch.tensor(vector, device=self.device).expand(count, k)

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str = "attributes",
                  attributes: Any = None) -> Tensor:
        """``images`` (B, C, H, W) in [-1, 1] translated to ``attributes`` (see
        :meth:`target_attributes`) by the EMA generator when there is one. Sides that are not
        multiples of 4 are reflect-padded and the output cropped back, so any size works."""
        if direction not in self.directions:
            raise ValueError(f"direction={direction!r}: a StarGAN translates "
                             f"{', '.join(self.directions)}")
        images = images.to(self.device)
        target = self.target_attributes(attributes, images.shape[0])
        net = self.generator_ema.module if self.ema_ready() else self.generator
        height, width = images.shape[-2:]
        pad_h, pad_w = -height % self.size_multiple, -width % self.size_multiple
        if pad_h or pad_w:
            mode = "reflect" if pad_h < height and pad_w < width else "replicate"
            images = F.pad(images, (0, pad_w, 0, pad_h), mode=mode)
        return self._run(net, images, target.to(images.dtype))[..., :height, :width]

    def _run(self, net: nn.Module, images: Tensor, target: Tensor) -> Tensor:
        was_training = net.training
        buffers = {name: b.clone() for name, b in net.named_buffers()}
        net.train(self.inference == "train")
        try:
            return net(images, target)
        finally:
            with torch.no_grad():  # train-mode instance norm moved the running statistics
                for name, buffer in net.named_buffers():
                    buffer.copy_(buffers[name])
            net.train(was_training)

    # ----------------------------------------------------------------- data and visuals
    def visual_inputs(self, datamodule: Any, count: int, nrow: int,
                      generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """The first test images (``count`` cells over rows of 1 + K) and their attributes."""
        test = datamodule.test_set
        rows = min(len(test), max(1, count // (1 + len(self.attribute_names))))
        items = [test[i] for i in range(rows)]
        return torch.stack([x for x, _ in items]), torch.stack([a for _, a in items]).float()

    def visuals(self, inputs: tuple[Tensor, Tensor]) -> dict[str, Visual]:
        """The paper's Fig. 4: a row per test image, the input then one translation per
        single-attribute transfer (a hair colour chosen, any other attribute flipped)."""
        images, source = (x.to(self.device) for x in inputs)
        columns = [images] + [self.translate(images, attributes=target)
                              for target in single_attribute_targets(source, self.attribute_names)]
        grid = torch.stack(columns, dim=1).flatten(0, 1)
        return {"translations": Visual("images", grid.float().cpu(), nrow=len(columns))}

    def check_data(self, datamodule: Any) -> None:
        """Attribute data with this model's attributes, channels and image size."""
        kind = batch_kind(datamodule)
        if kind != BatchKind.ATTRIBUTES:
            raise ValueError(
                f"model: StarGAN translates images to target attributes, but the data gives "
                f"{kind}; use data=digit_attributes, or data=celeba with data.root=...")
        if tuple(datamodule.attribute_names) != self.attribute_names:
            raise ValueError(
                f"model.attributes={list(self.attribute_names)} differ from the data's "
                f"{list(datamodule.attribute_names)}; leave model.attributes at "
                "${data.attributes}")
        if datamodule.channels != self.generator.channels:
            raise ValueError(f"model: the generator makes {self.generator.channels}-channel "
                             f"images but the data has {datamodule.channels}")
        size = int(datamodule.image_size)
        if size % self.size_multiple:
            raise ValueError(f"data.image_size={size}: StarGAN's generator takes sides that are "
                             f"multiples of {self.size_multiple}")
        built = int(getattr(self.discriminator, "image_size", size))
        if size != built:
            raise ValueError(f"data.image_size={size}: the discriminator's classification head "
                             f"was built for {built} (model.discriminator.image_size)")


def _built(net: nn.Module | NetFactory, name: str, c_dim: int) -> nn.Module:
    """The net itself, or the factory's net for ``c_dim`` attributes; its c_dim checked."""
    net = net if isinstance(net, nn.Module) else net(c_dim=c_dim)
    if int(getattr(net, "c_dim", c_dim)) != c_dim:
        raise ValueError(f"model.{name}: built for {net.c_dim} attributes, but model.attributes "
                         f"names {c_dim}")
    return net

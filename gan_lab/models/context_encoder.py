"""Context encoders: inpainting with a joint reconstruction and adversarial loss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gan_lab.kinds import BatchKind, batch_kind
from gan_lab.losses import AdversarialLoss
from gan_lab.losses.masked import (
    MASKS,
    center_mask,
    context_weights,
    make_masks,
    overlap_weights,
    weighted_l2,
)
from gan_lab.models.base import AdversarialModule
from gan_lab.models.phases import Phase
from gan_lab.readers import read_mask
from gan_lab.visuals import Visual

# train.lua fills the hole with the ImageNet mean pixel (117, 104, 123) / 255, in [-1, 1].
MEAN_PIXEL = (117.0, 104.0, 123.0)
# The mask a model without one of its own fills in translate(): drawn with this seed.
OWN_MASK_SEED = 0


class ContextEncoder(AdversarialModule):
    """Pathak et al. 2016, "Context Encoders: Feature Learning by Inpainting".

    G (the context encoder F, gan_lab.nets.context_encoder) sees an image whose hole (mask M = 1)
    is filled with the mean pixel and predicts the hole's content; D judges predicted against
    real regions, unconditioned (sec. 3.2.2). Joint loss, eq. (4): L = lambda_rec L_rec +
    lambda_adv L_adv with ``l2_weight`` 0.999 and ``adversarial_weight`` 0.001 (sec. 4.1 and the
    official train.lua's ``wtl2=0.999``: (1 - wtl2) errG + wtl2 errG_l2). L_rec is eq. (1), the
    masked L2, as the official code optimises it (gan_lab.losses.masked.weighted_l2): the mean
    over the prediction of w (x - F(x))^2 with w = ``overlap_weight`` (overlapL2Weight, 10) on
    the border that overlaps the context. L_adv is the ``loss`` objective (the paper's: the
    non-saturating log loss, ``loss=nsgan``, the official BCECriterion with real labels for G).

    Masks (``mask``, sec. 3.3; gan_lab.losses.masked):

    - ``center`` (train.lua, the paper's inpainting): the central ``hole_size`` square of each
      image (64 of 128). G predicts that square; the input has only the square shrunk by
      ``overlap`` filled (overlapPred: 4 in the official README's command, 7 px in the paper's
      sec. 4.1), so the predicted border overlaps real context and is weighted 10x in L_rec; D
      judges real vs predicted squares.
    - ``random_block`` / ``random_region`` (train_random.lua): a fresh mask per image. G predicts
      the whole image, D judges whole images (real vs G's raw output), and L_rec weighs the
      hole 1 and the context ``context_weight`` (1: the README's useOverlapPred=0; 10:
      useOverlapPred=1; 0: eq. (1), the hole only).

    Training step, as train.lua: one forward of G per batch (:meth:`prepare_batch`), D's
    update on real vs predicted (detached), then G's update. train.lua reuses D's output on the
    fakes from before D's step for G's loss (netD.output); here D judges them again after its
    step (the order of updates is the same). Adam: lr 2e-4, beta1 0.5 for D and 10x that for G
    (train.lua: "LR of Gen is 10 times Adv"; conf/optim/adam_context_encoder.yaml).

    ``adversarial_weight=0`` is the paper's L2-only context encoder (fig. 5 and 6): D is then
    neither trained nor consulted. Translating (``translate``, ``python -m gan_lab.translate``)
    fills the model's own hole or a given mask (see :meth:`translate`).
    """

    directions = ("inpaint",)
    translate_options = ("mask",)
    translate_option_readers = {"mask": read_mask}  # an image file whose white pixels mark the hole
    evaluation_hint = "eval=inpainting"  # the evaluation that scores this scheme

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: AdversarialLoss,
                 mask: str = "center", hole_size: int | None = None, overlap: int = 4,
                 overlap_weight: float = 10.0, context_weight: float = 1.0,
                 l2_weight: float = 0.999, adversarial_weight: float = 0.001,
                 fill: Sequence[float] = MEAN_PIXEL, **training: Any) -> None:
        super().__init__(**training)
        if mask not in MASKS:
            raise ValueError(f"model.mask={mask!r}: must be one of {', '.join(MASKS)}")
        for key, value in (("overlap_weight", overlap_weight), ("context_weight", context_weight),
                           ("l2_weight", l2_weight), ("adversarial_weight", adversarial_weight)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"model.{key}={value!r}: must be a number >= 0")
        if float(l2_weight) == 0 and float(adversarial_weight) == 0:
            raise ValueError("model.l2_weight and model.adversarial_weight are both 0: G would "
                             "have nothing to learn from")
        image_size = int(generator.image_size)
        hole_size = image_size // 2 if hole_size is None else hole_size
        if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
            raise ValueError(f"model.overlap={overlap!r}: must be an integer >= 0")
        if mask == "center" and 2 * overlap >= hole_size:
            raise ValueError(f"model.overlap={overlap}: the overlap border must leave part of the "
                             f"{hole_size}-pixel hole to fill (2 * overlap < model.hole_size)")
        nets = {"generator": generator, "discriminator": discriminator}
        for name, net in nets.items():
            if getattr(net, "mask", mask) != mask or int(getattr(net, "image_size",
                                                                   image_size)) != image_size:
                raise ValueError(f"model.{name}: built for another mask or image size than "
                                 f"model.mask={mask}, image size {image_size}")
        if mask == "center" and int(generator.output_size) != hole_size:
            raise ValueError(f"model.generator outputs {generator.output_size} pixels, but "
                             f"model.hole_size={hole_size}")
        channels = int(generator.channels)
        fill = [float(v) for v in fill]
        if channels == 1 and len(fill) == 3:
            fill = [sum(fill) / 3]  # grey images: the mean pixel's grey
        if len(fill) not in (1, channels) or any(not 0 <= v <= 255 for v in fill):
            raise ValueError(f"model.fill={fill}: one value or one per channel ({channels}), "
                             "each in [0, 255] (the hole's colour in G's input)")
        if len(fill) != channels:
            fill = fill * channels
        self.generator = generator
        self.discriminator = discriminator
        self.loss = loss
        loss.check_critic(discriminator)
        self.mask = mask
        self.image_size, self.hole_size, self.overlap = image_size, int(hole_size), int(overlap)
        self.overlap_weight = float(overlap_weight)
        self.context_weight = float(context_weight)
        self.l2_weight = float(l2_weight)
        self.adversarial_weight = float(adversarial_weight)
        self.num_classes = 0
        # Derived from the config, so not saved (persistent=False).
        self.register_buffer("fill", torch.tensor(fill).view(1, channels, 1, 1) / 127.5 - 1.0,
                             persistent=False)
        self.register_buffer("centre_weights",
                             overlap_weights(hole_size, overlap, overlap_weight), persistent=False)
        self._step: dict[str, Tensor] | None = None
        self.init_generator_ema(self.generator)

    # ----------------------------------------------------------------- masks and regions
    @property
    def corner(self) -> int:
        """Row (= column) where the central hole starts."""
        return (self.image_size - self.hole_size) // 2

    def draw_masks(self, count: int, generator: torch.Generator | None = None) -> Tensor:
        """``count`` masks of the model's kind (1 = hole), (count, 1, S, S), on its device; the
        random kinds draw from ``generator`` (the global stream when None)."""
        masks = make_masks(self.mask, count, self.image_size, self.hole_size, generator)
        return masks.to(self.device)

    def input_holes(self, masks: Tensor) -> Tensor:
        """The pixels filled in G's input: the hole, or for the centre the hole shrunk by the
        overlap (train.lua fills only that; the border stays real context)."""
        if self.mask != "center":
            return masks
        inner = center_mask(self.image_size, self.hole_size, self.overlap).to(masks)
        return inner.expand_as(masks)

    def context(self, images: Tensor, holes: Tensor) -> Tensor:
        """G's input: ``images`` with ``holes`` (1 = hole) filled with the mean pixel."""
        return images * (1.0 - holes) + self.fill.to(images) * holes

    def region(self, images: Tensor) -> Tensor:
        """What G predicts and D judges of ``images``: the central hole, or the whole image."""
        if self.mask != "center":
            return images
        a, h = self.corner, self.hole_size
        return images[..., a:a + h, a:a + h]

    def l2_weights(self, masks: Tensor) -> Tensor:
        """The per-pixel weights of L_rec on G's output (module docstring)."""
        if self.mask == "center":
            return self.centre_weights
        return context_weights(masks, self.context_weight)

    # ----------------------------------------------------------------- training
    def optimizer_groups(self) -> dict[str, Any]:
        return {"generator": self.generator.parameters(),
                "discriminator": self.discriminator.parameters()}

    def phases(self) -> list[Phase]:
        generator = Phase("Gmain", "generator", self.generator_step, "loss/g")
        if self.adversarial_weight == 0:
            return [generator]  # L2 only: no adversary
        return [Phase("Dmain", "discriminator", self.discriminator_step, "loss/d", critic=True,
                      after=lambda: self.loss.after_discriminator_step(self.discriminator)),
                generator]

    def prepare_batch(self, batch: Any) -> None:
        # One mask draw and one forward of G per batch: D judges the prediction detached, G
        # learns through it (train.lua's fDx / fGx share netG's forward).
        images = batch[0]
        masks = self.draw_masks(len(images))
        fake = self.generator(self.context(images, self.input_holes(masks)))
        self._step = {"masks": masks, "real": self.region(images), "fake": fake}

    def _pieces(self, batch: Any) -> dict[str, Tensor]:
        if self._step is None:
            self.prepare_batch(batch)
        return self._step

    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        step = self._pieces(batch)
        real, fake = step["real"], step["fake"].detach()
        real_scores, fake_scores = self.discriminate(real), self.discriminate(fake)
        self.observe_real_scores(real_scores)
        terms = {"loss/d_adv": self.loss.discriminator_loss(real_scores, fake_scores)}
        for name, value in self.loss.penalties(self.discriminate, real, fake,
                                               real_scores=real_scores).items():
            terms[f"loss/d_{name}"] = value
        terms["loss/d"] = sum(terms.values())
        terms["score/real"], terms["score/fake"] = real_scores.mean(), fake_scores.mean()
        return terms

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        step = self._pieces(batch)
        self._step = None
        real, fake = step["real"], step["fake"]
        l2 = weighted_l2(fake, real, self.l2_weights(step["masks"]))
        terms = {"loss/g_l2": l2}
        total = self.l2_weight * l2
        if self.adversarial_weight:
            real_scores = self.discriminate(real) if self.loss.needs_real_scores else None
            adversarial = self.loss.generator_loss(self.discriminate(fake), real_scores)
            terms["loss/g_adv"] = adversarial
            total = total + self.adversarial_weight * adversarial
        terms["loss/g"] = total
        return terms

    # ----------------------------------------------------------------- inpainting
    def translation_channels(self, direction: str) -> int:
        return int(self.generator.channels)

    def _net(self) -> nn.Module:
        return self.generator_ema.module if self.ema_ready() else self.generator

    @torch.no_grad()
    def inpaint(self, images: Tensor, masks: Tensor) -> Tensor:
        """``images`` (B, C, S, S) with the pixels where ``masks`` (B or 1, 1, S, S) is 1 filled
        by G (EMA weights when kept; batch norm with its running statistics, as test.lua's
        net:evaluate()); every other pixel is the input's own."""
        net = self._net()
        was_training = net.training
        net.eval()
        try:
            holes = self.input_holes(masks) if self.mask == "center" else masks
            fake = net(self.context(images, holes))
        finally:
            net.train(was_training)
        if self.mask == "center":
            whole = images.clone()
            a, h = self.corner, self.hole_size
            whole[..., a:a + h, a:a + h] = fake
            fake = whole
        return images * (1.0 - masks) + fake * masks

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str = "inpaint",
                  mask: Tensor | None = None) -> Tensor:
        """Fill the hole of a batch of images in [-1, 1], (B, C, S, S) with S the training size.

        ``mask`` None: the model's own hole, as test.lua fills it: for ``mask="center"`` the
        centre shrunk by the overlap (the border stays the input's); for the random kinds a
        mask of the model's kind drawn with a fixed seed (the same on every call). A ``mask``
        (1 or B, 1, S, S), 1 = hole: that region is filled. A centre model predicts only its
        central hole_size square, from its training input (that square's interior filled), so
        it fills any mask inside that square and refuses others (ValueError); the random-mask
        models fill any shape. The output is the image with only the masked pixels replaced.
        """
        if direction not in self.directions:
            raise ValueError(f"direction={direction!r}: this model translates "
                             f"{', '.join(self.directions)}")
        images = images.to(self.device)
        size = self.image_size
        if images.dim() != 4 or tuple(images.shape[-2:]) != (size, size):
            raise ValueError(f"the image is {'x'.join(map(str, images.shape[-2:]))} pixels; this "
                             f"context encoder fills {size}x{size} images (its data.image_size): "
                             f"give square images and size={size}")
        if mask is None:
            if self.mask == "center":
                masks = center_mask(size, self.hole_size, self.overlap).to(self.device)
            else:
                seeded = torch.Generator().manual_seed(OWN_MASK_SEED)
                masks = self.draw_masks(len(images), seeded)
            return self.inpaint(images, masks)
        masks = (torch.as_tensor(mask).float().to(self.device) > 0.5).float()
        if masks.dim() != 4 or masks.shape[1] != 1 or masks.shape[0] not in (1, len(images)):
            raise ValueError(f"the mask has shape {tuple(masks.shape)}; give (1, 1, H, W) or "
                             f"({len(images)}, 1, H, W) with 1 = hole")
        if tuple(masks.shape[-2:]) != (size, size):
            raise ValueError(f"the mask is {'x'.join(map(str, masks.shape[-2:]))} pixels but the "
                             f"image is {size}x{size}; give a mask of the image's size")
        if self.mask == "center":
            square = center_mask(size, self.hole_size).to(masks)
            if bool((masks * (1.0 - square)).any()):
                a, h = self.corner, self.hole_size
                raise ValueError(f"this context encoder (model.mask=center) predicts only the "
                                 f"central {h}x{h} square (rows and columns {a}..{a + h - 1}); the "
                                 "mask marks pixels outside it: use a model trained with "
                                 "model.mask=random_region or random_block for holes elsewhere")
        return self.inpaint(images, masks)

    # ----------------------------------------------------------------- data and visuals
    def check_data(self, datamodule) -> None:
        """Single square images of the generator's size and channels."""
        if batch_kind(datamodule) != BatchKind.SAMPLES:
            raise ValueError("model: the context encoder inpaints single images, but the data "
                             "gives two domains; use data=photos_inpainting, paris_streetview, "
                             "inpainting_folder or image_folder")
        shape = tuple(getattr(datamodule, "sample_shape", ()))
        expected = (int(self.generator.channels), self.image_size, self.image_size)
        if shape != expected:
            raise ValueError(f"data: images of {shape}, but the context encoder was built for "
                             f"{expected}; set data.image_size={self.image_size} (square) and "
                             "matching channels")

    def visual_inputs(self, datamodule, count: int, nrow: int, generator: torch.Generator) -> Any:
        """``nrow`` held-out images spread evenly over the held-out set (training images for
        data without one) and a fixed draw of masks."""
        if hasattr(datamodule, "eval_set"):
            source = datamodule.eval_set()
        else:
            datamodule.setup("fit")
            source = datamodule.train_set
        spread = torch.linspace(0, len(source) - 1, min(nrow, len(source))).round().long()
        images = torch.stack([source[int(i)][0] for i in spread.unique()])
        n = len(images)
        masks = make_masks(self.mask, n, self.image_size, self.hole_size, generator)
        return images, masks

    def visuals(self, inputs: Any) -> dict[str, Visual]:
        """Rows: masked input (the hole white) | filled | original."""
        images, masks = (x.to(self.device) for x in inputs)
        if self.mask == "center":
            masks = self.input_holes(masks)  # what the model's own translate fills
        filled = self.inpaint(images, masks)
        shown = images * (1.0 - masks) + masks  # white holes, as test.lua's pretty output
        grid = torch.cat([shown, filled, images]).float().cpu()
        return {"inpainting": Visual("images", grid, nrow=len(images))}

"""SPADE (GauGAN): semantic image synthesis, label map -> photo.

Park, Liu, Wang & Zhu, "Semantic Image Synthesis with Spatially-Adaptive Normalization" (CVPR
2019), as the authors' code trains it (NVlabs/SPADE: ``models/pix2pix_model.py``,
``trainers/pix2pix_trainer.py``, ``models/networks/loss.py``, ``options/train_options.py``).
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.kinds import BatchKind, batch_kind
from gan_lab.losses import AdversarialLoss
from gan_lab.models.base import AdversarialModule
from gan_lab.models.frozen import FrozenNets
from gan_lab.models.phases import Phase
from gan_lab.nets.spade import one_hot_semantics
from gan_lab.visuals import Visual

__all__ = ["SPADE", "VGG_LAYERS", "VGG_LAYER_WEIGHTS"]

# pix2pixHD / SPADE's VGG loss (official VGGLoss): L1 between VGG19 maps, these weights.
VGG_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
VGG_LAYER_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)
DIRECTION = "labels_to_image"


def _non_negative(key: str, value: float) -> float:
    if isinstance(value, bool) or not float(value) >= 0:
        raise ValueError(f"model.{key}={value!r}: must be a number >= 0")
    return float(value)


class SPADE(AdversarialModule):
    """Park et al. 2019: a SPADE generator, multi-scale PatchGAN discriminators, hinge loss with
    feature matching (and optionally a VGG perceptual loss and a VAE style encoder).

    Objective (sec. 3 and appendix A, as pix2pixHD's eq. 4 with the hinge loss): G minimises
    ``L_adv + feat_weight * L_FM (+ vgg_weight * L_VGG) (+ kld_weight * KL)``, D the hinge loss,
    each averaged over the discriminator scales (official ``GANLoss`` over a list):

    - ``L_adv``: the loss's generator term on each scale's patch scores (``loss=hinge``:
      ``-mean D(x, G(x))``), averaged over scales;
    - ``L_FM`` (pix2pixHD eq. 4, official ``GANFeatLoss``): for each scale, the L1 distance
      between D's intermediate features of the generated and the real image (the real ones
      detached), summed over the layers before the score map and divided by the number of
      scales: ``sum_i sum_j L1(D_i^j(fake), D_i^j(real)) / num_D``;
    - ``L_VGG`` (official ``VGGLoss``): ``sum_k w_k L1(VGG_k(fake), VGG_k(real))`` on relu1_1 ..
      relu5_1 with w = 1/32, 1/16, 1/8, 1/4, 1, the images fed to VGG19 in [-1, 1] as they are
      (the official code does not normalise them); needs torchvision's VGG19 weights
      (``model.vgg_weights``, or the torch hub cache), loaded by :meth:`load_frozen_nets` and
      never saved in checkpoints; off by default here (``vgg_weight=0``; the paper's 10);
    - ``KL`` (VAE mode, appendix B; official ``KLDLoss``): ``-0.5 * sum(1 + logvar - mu^2 -
      exp(logvar))`` over the batch and the code, the style code z = mu + sigma * eps from the
      encoder (reparameterisation), weight 0.05.

    D sees the one-hot label map (with the instance edge channel) concatenated with the image;
    fake and real go through it in one batch (official ``discriminate``), through the base's one
    discriminator entry point (:meth:`discriminate`, where augmentation applies).

    Update order (official ``train.py`` with ``D_steps_per_G = 1``): per batch, the generator
    step (G and, in VAE mode, the encoder, one Adam) and then the discriminator step, which
    generates its fakes again without a graph from the just-updated G (official
    ``compute_discriminator_loss``). With ``n_critic = k`` the k - 1 earlier batches of an
    iteration are D steps only and the last is a G then a D step (the official trainer does the
    G step on the first of its k batches).

    Batches are ``(labels, image[, edges])`` (gan_lab.data.label_maps.base). Sampling: ``translate(
    label_maps)`` (direction ``labels_to_image``), as ``python -m gan_lab.translate``; in VAE mode
    with z drawn from N(0, I) (a fixed stream, so translations are reproducible).

    Args:
        generator: a :class:`~gan_lab.nets.spade.SPADEGenerator`.
        discriminator: a :class:`~gan_lab.nets.multiscale_patchgan.MultiscaleDiscriminator`.
        loss: the adversarial objective (``loss=hinge``, the paper's).
        label_classes: classes of the label maps (one-hot channels without the edge channel).
        encoder: the :class:`~gan_lab.nets.spade.ConvEncoder`, used when ``use_vae``.
        use_vae: multi-modal synthesis with the style encoder (official ``--use_vae``).
        z_dim: the style code's length (official 256), as the generator and encoder read it.
        feat_weight: lambda_feat (official 10); 0 turns feature matching off.
        vgg_weight: lambda_vgg (official 10); 0 (default here) turns the VGG loss off.
        kld_weight: lambda_kld (official 0.05).
        vgg_weights: torchvision's VGG19 weights file; None: the torch hub cache.
    """

    directions: tuple[str, ...] = (DIRECTION,)
    translate_options: tuple[str, ...] = ()
    evaluation_hint = "eval=segmentation"  # the evaluation that scores this scheme

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: AdversarialLoss,
                 label_classes: int, encoder: nn.Module | None = None, use_vae: bool = False,
                 z_dim: int = 256, feat_weight: float = 10.0, vgg_weight: float = 0.0, kld_weight: float = 0.05,
                 vgg_weights: str | None = None, **training: Any) -> None:
        super().__init__(**training)
        self.label_classes = int(label_classes)
        edge_channels = int(generator.label_channels) - self.label_classes
        if edge_channels not in (0, 1):
            raise ValueError(f"model.label_classes={label_classes}: the generator reads "
                             f"{generator.label_channels} label channels (classes, plus 1 with "
                             "instance edges)")
        self.edge_channels = edge_channels
        if bool(use_vae) != bool(getattr(generator, "use_vae", False)):
            raise ValueError(f"model.use_vae={use_vae}: the generator was built with "
                             f"use_vae={generator.use_vae}; set both from model.use_vae")
        if use_vae and encoder is None:
            raise ValueError("model.use_vae=true needs model.encoder (the style encoder)")
        if use_vae and int(z_dim) != int(generator.z_dim):
            raise ValueError(f"model.z_dim={z_dim}: the generator reads codes of "
                             f"{generator.z_dim}; set both from model.z_dim")
        self.feat_weight = _non_negative("feat_weight", feat_weight)
        self.vgg_weight = _non_negative("vgg_weight", vgg_weight)
        self.kld_weight = _non_negative("kld_weight", kld_weight)
        self.vgg_weights = vgg_weights
        self.use_vae = bool(use_vae)
        self.generator = generator
        self.discriminator = discriminator
        # The encoder is a trained net only in VAE mode; otherwise it is not kept at all.
        self.encoder = encoder if self.use_vae else None
        self.loss = loss
        loss.check_critic(discriminator)
        self.frozen = FrozenNets()
        self.init_generator_ema(self.generator)

    # ----------------------------------------------------------------- nets
    def semantics(self, labels: Tensor, edges: Tensor | None = None) -> Tensor:
        """The one-hot label map (plus the edge channel) the nets read."""
        if self.edge_channels and edges is None:
            edges = torch.zeros(len(labels), 1, *labels.shape[-2:], device=labels.device)
        return one_hot_semantics(labels, self.label_classes, edges if self.edge_channels else None)

    def _split(self, batch: Any) -> tuple[Tensor, Tensor]:
        labels, real = batch[0], batch[1]
        edges = batch[2] if len(batch) > 2 else None
        return self.semantics(labels, edges), real

    def encode(self, real: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """z = mu + exp(logvar / 2) * eps from the encoder (official ``encode_z``)."""
        mu, logvar = self.encoder(real)
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar), mu, logvar

    def generate(self, semantics: Tensor, real: Tensor) -> tuple[Tensor, Tensor | None]:
        """G's image for the semantic map (style from ``real`` in VAE mode) and the weighted KL
        term (VAE mode) or None (official ``generate_fake``)."""
        if not self.use_vae:
            return self.generator(semantics), None
        z, mu, logvar = self.encode(real)
        kld = -0.5 * torch.sum(1 + logvar - mu.square() - logvar.exp())
        return self.generator(semantics, z), kld * self.kld_weight

    def judge(self, semantics: Tensor, fake: Tensor, real: Tensor) -> tuple[list, list]:
        """D's outputs (per scale, per layer) for fake and real, from one forward of both."""
        pairs = torch.cat([torch.cat([semantics, fake], 1), torch.cat([semantics, real], 1)])
        outputs = self.discriminate(pairs)
        half = len(fake)
        return ([[t[:half] for t in scale] for scale in outputs],
                [[t[half:] for t in scale] for scale in outputs])

    # ----------------------------------------------------------------- training
    def optimizer_groups(self) -> dict[str, Any]:
        generator = self.generator.parameters()
        if self.encoder is not None:  # official: the encoder trains with G's optimizer
            generator = itertools.chain(generator, self.encoder.parameters())
        return {"generator": generator, "discriminator": self.discriminator.parameters()}

    def phases(self) -> list[Phase]:
        return [Phase("Gmain", "generator", self.generator_step, "loss/g"),
                Phase("Dmain", "discriminator", self.discriminator_step, "loss/d", critic=True,
                      after=lambda: self.loss.after_discriminator_step(self.discriminator))]

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        semantics, real = self._split(batch)
        fake, kld = self.generate(semantics, real)
        pred_fake, pred_real = self.judge(semantics, fake, real)
        num_d = len(pred_fake)
        real_scores = [s[-1] for s in pred_real] if self.loss.needs_real_scores else [None] * num_d
        adversarial = sum(self.loss.generator_loss(f[-1], r)
                          for f, r in zip(pred_fake, real_scores, strict=True)) / num_d
        terms = {"loss/g_adv": adversarial}
        total = adversarial
        if self.feat_weight:
            feat = sum(F.l1_loss(f, r.detach()) for fake_scale, real_scale
                       in zip(pred_fake, pred_real, strict=True)
                       for f, r in zip(fake_scale[:-1], real_scale[:-1], strict=True)) / num_d
            terms["loss/g_feat"] = feat
            total = total + self.feat_weight * feat
        if self.vgg_weight:
            terms["loss/g_vgg"] = self.vgg_loss(fake, real)
            total = total + self.vgg_weight * terms["loss/g_vgg"]
        if kld is not None:
            terms["loss/g_kld"] = kld
            total = total + kld
        terms["loss/g"] = total
        return terms

    def vgg_loss(self, fake: Tensor, real: Tensor) -> Tensor:
        """Official ``VGGLoss``: weighted L1 between VGG19 maps of fake and real (real without
        a graph)."""
        if "vgg" not in self.frozen:
            raise RuntimeError("model.vgg_weight > 0 needs the VGG19 features: "
                               "load_frozen_nets() must run first")
        fake_maps = self.frozen["vgg"](fake)
        with torch.no_grad():
            real_maps = self.frozen["vgg"](real)
        return sum(w * F.l1_loss(f, r) for w, f, r in
                   zip(VGG_LAYER_WEIGHTS, fake_maps, real_maps, strict=True))

    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        semantics, real = self._split(batch)
        with torch.no_grad():
            fake, _ = self.generate(semantics, real)
        pred_fake, pred_real = self.judge(semantics, fake, real)
        num_d = len(pred_fake)
        adversarial = sum(self.loss.discriminator_loss(r[-1], f[-1])
                          for r, f in zip(pred_real, pred_fake, strict=True)) / num_d
        real_scores = torch.cat([s[-1].flatten(1) for s in pred_real], 1)
        self.observe_real_scores(real_scores)
        terms = {"loss/d_adv": adversarial}
        total = adversarial

        def critic(x: Tensor) -> Tensor:
            return torch.cat([scale[-1].flatten(1) for scale in self.discriminate(x)], 1)

        real_pairs, fake_pairs = torch.cat([semantics, real], 1), torch.cat([semantics, fake], 1)
        for name, value in self.loss.penalties(critic, real_pairs, fake_pairs).items():
            terms[f"loss/d_{name}"] = value
            total = total + value
        terms["loss/d"] = total
        terms["score/real"] = real_scores.mean()
        terms["score/fake"] = torch.cat([s[-1].flatten(1) for s in pred_fake], 1).mean()
        return terms

    def load_frozen_nets(self) -> None:
        """VGG19 features for the perceptual loss when ``vgg_weight > 0`` (one line when the
        weights file is missing)."""
        if not self.vgg_weight or "vgg" in self.frozen:
            return
        from gan_lab.nets.vgg import VGGFeatures, load_vgg19

        features = load_vgg19(self.vgg_weights, key="model.vgg_weights")
        # input_range (0, 1) without ImageNet normalisation passes the [-1, 1] images to VGG19
        # unchanged, as the official VGGLoss feeds them.
        self.frozen["vgg"] = VGGFeatures(features, VGG_LAYERS, input_range=(0.0, 1.0),
                                         normalize=False).to(self.device)

    # ----------------------------------------------------------------- translation
    def _generator(self) -> nn.Module:
        return self.generator_ema.module if self.ema_ready() else self.generator

    def translation_input(self, image: Any, direction: str = DIRECTION,
                          size: int | None = None) -> Tensor:
        """A label PNG (grey values = class ids; a palette PNG's indices) as ``(1, H, W)``
        int64, its shorter side resized (nearest) to ``size`` when given. A colour image comes
        back ``(1, 3, H, W)`` and :meth:`translate` refuses it."""
        import numpy as np
        from PIL import Image

        if size is not None:
            width, height = image.size
            scale = size / min(width, height)
            image = image.resize((max(1, round(width * scale)), max(1, round(height * scale))),
                                 Image.NEAREST)
        if image.mode in ("RGB", "RGBA"):
            pixels = np.asarray(image)[..., :3]
            if not (pixels == pixels[..., :1]).all():
                return torch.from_numpy(pixels.astype(np.int64)).permute(2, 0, 1)[None]
            pixels = pixels[..., 0]
        elif image.mode == "LA":
            pixels = np.asarray(image)[..., 0]
        else:  # L, P (indices), I, I;16
            pixels = np.asarray(image)
        return torch.from_numpy(pixels.astype(np.int64))[None]

    @torch.no_grad()
    def translate(self, label_maps: Tensor, direction: str = DIRECTION) -> Tensor:
        """Images in [-1, 1] (B, 3, H, W) for label maps: class indices (B, H, W) or a semantic
        map (B, label_channels, H, W) float (one-hot, plus the edge channel when the model has
        one; class-index maps get an empty edge map). G runs in eval mode (batch norm's running
        statistics) at its own size: other sizes are resized there (nearest) and the image back
        (bilinear). ValueError (one line) for labels outside the model's classes."""
        if direction not in self.directions:
            raise ValueError(f"direction={direction!r}: SPADE translates {DIRECTION}")
        maps = label_maps.to(self.device)
        if not maps.is_floating_point():
            if maps.dim() == 4 and maps.shape[1] == 3:
                raise ValueError("a colour image: label maps are grey PNGs whose values are the "
                                 "class ids (0.."f"{self.label_classes - 1})")
            semantics = self.semantics(maps)
        else:
            semantics = maps
        net = self._generator()
        height, width = semantics.shape[-2:]
        if (height, width) != tuple(net.output_size):
            semantics = F.interpolate(semantics, size=tuple(net.output_size), mode="nearest")
        z = None
        if self.use_vae:
            stream = torch.Generator().manual_seed(0)
            z = torch.randn(len(semantics), net.z_dim, generator=stream).to(self.device)
        was_training = net.training
        net.eval()
        try:
            images = net(semantics, z) if self.use_vae else net(semantics)
        finally:
            net.train(was_training)
        if (height, width) != tuple(images.shape[-2:]):
            images = F.interpolate(images, size=(height, width), mode="bilinear",
                                   align_corners=False, antialias=True).clamp(-1, 1)
        return images

    @torch.no_grad()
    def styled(self, label_maps: Tensor, real: Tensor) -> Tensor:
        """VAE mode: G's image with the style (the encoder's mean code) of ``real``."""
        net = self._generator()
        was_training, encoder_training = net.training, self.encoder.training
        net.eval()
        self.encoder.eval()
        try:
            mu, _ = self.encoder(real.to(self.device))
            return net(self.semantics(label_maps.to(self.device)), mu)
        finally:
            net.train(was_training)
            self.encoder.train(encoder_training)

    # ----------------------------------------------------------------- data and visuals
    def check_data(self, datamodule) -> None:
        """Label-map data with this model's classes, edge channel and image size."""
        kind = batch_kind(datamodule)
        if kind != BatchKind.LABEL_MAPS:
            raise ValueError(f"model=spade turns label maps into images, but the data gives "
                             f"{kind}; use data=textures, cityscapes_labels, ade20k or coco_stuff")
        classes, edges = int(datamodule.num_classes), int(bool(datamodule.instance_edges))
        if (classes, edges) != (self.label_classes, self.edge_channels):
            raise ValueError(f"model.label_classes={self.label_classes} with "
                             f"{self.edge_channels} edge channel: the data has {classes} classes "
                             f"and {edges} (set both from data.num_classes and "
                             "data.instance_edges)")
        shape = tuple(datamodule.sample_shape[1:])
        if shape != tuple(self.generator.output_size):
            raise ValueError(f"data.image_size={datamodule.image_size}: the data's images are "
                             f"{shape[0]}x{shape[1]} but the generator makes "
                             f"{self.generator.output_size[0]}x{self.generator.output_size[1]} "
                             "(width a multiple of 2^upsamplings, height width / aspect_ratio)")
        generator = self.generator
        if (generator.sh * generator.sw == 1 and datamodule.batch_size < 2
                and isinstance(generator.head_0.norm_0.param_free_norm, nn.BatchNorm2d)):
            raise ValueError(f"data.batch_size={datamodule.batch_size}: the generator starts from "
                             "a 1x1 map, where batch norm needs at least 2 samples; use a larger "
                             "batch or model.generator.norm=instance with larger images")
        if min(shape) < self.discriminator.min_size:
            raise ValueError(f"data.image_size={datamodule.image_size}: the discriminator needs "
                             f"sides of at least {self.discriminator.min_size}; lower "
                             "model.discriminator.n_layers or num_d")

    def visual_inputs(self, datamodule, count: int, nrow: int, generator: torch.Generator) -> Any:
        """The first ``nrow`` evaluation items: label maps, their colour coding, photos, edges."""
        items = datamodule.eval_set()
        n = min(nrow, len(items))
        rows = [items[i] for i in range(n)]
        labels = torch.stack([r[0] for r in rows])
        inputs = {"labels": labels, "colours": datamodule.colourize(labels),
                  "real": torch.stack([r[1] for r in rows])}
        if self.edge_channels and len(rows[0]) > 2:
            inputs["edges"] = torch.stack([r[2] for r in rows])
        return inputs

    def visuals(self, inputs: Any) -> dict[str, Visual]:
        """One grid: colour-coded label map | generated | (VAE: with the real photo's style) |
        real photo, a column per evaluation item."""
        labels = inputs["labels"].to(self.device)
        edges = inputs["edges"].to(self.device) if "edges" in inputs else None
        semantics = self.semantics(labels, edges)
        rows = [inputs["colours"].float(), self.translate(semantics).float().cpu()]
        if self.use_vae:
            rows.append(self.styled(labels, inputs["real"]).float().cpu())
        rows.append(inputs["real"].float())
        return {"translations": Visual("images", torch.cat(rows), nrow=len(labels))}

"""BigGAN generator and discriminator.

Brock, Donahue & Simonyan, "Large Scale GAN Training for High Fidelity Natural Image Synthesis"
(ICLR 2019), sec. 3 and appendix B (fig. 15, table 4 (a)); channel layouts, attention placement,
conditioning options and init as the official ajbrock/BigGAN-PyTorch (``BigGAN.py``: ``G_arch``,
``D_arch``, ``Generator``, ``Discriminator``, ``init_weights``; ``layers.py``: ``GBlock``,
``DBlock``, ``ccbn``):

- G: a shared class embedding (``shared_dim``; ``--G_shared``) and a hierarchical latent
  ("skip-z", ``--hier``): z is split into one chunk for the input linear and one per residual
  block; each block's batch norms are linear-conditional on [shared embedding, z chunk] (gain
  1 + W c, bias W c). ``hierarchical=False``: the whole z enters the input linear and the batch
  norms see the shared embedding alone. ``shared_embedding=False`` (the official default, and its
  CIFAR run): no shared embedding; every conditional batch norm has its own two class embeddings
  for the gain (1 + E_g[y]) and the bias (E_b[y]), as ``ccbn`` with ``which_linear=nn.Embedding``
  (the hierarchical z then needs the shared embedding, as in the official code). Residual up
  blocks as SNGAN's (``resnet_gan.GBlock``), self-attention (SAGAN) after the block that outputs
  the ``attention`` resolution, BN, ReLU, conv3x3, tanh. Spectral norm on every conv and linear
  layer, never on G's embeddings (as the official code: "SN on G's embedding seems to cripple
  G").
- D: SNGAN's ResNet discriminator (``resnet_gan``) with wide blocks (hidden convs as wide as
  the block output, BigGAN-PyTorch's ``D_wide``), attention, and the projection term; spectral
  norm on every layer, the projection embedding included.

``init`` (``--G_init`` / ``--D_init``, ``init_weights``): every ``Conv2d``, ``Linear`` and
``Embedding`` weight of the net (attention convs, conditional-BN maps and embeddings, the shared
embedding, D's projection embedding) is drawn "ortho" (orthogonal, the official default and its
ImageNet runs), "N02" (normal, mean 0, std 0.02: the official CIFAR run) or "xavier" (Glorot
uniform, gain 1); biases keep torch's default init and batch-norm gains and biases their ones and
zeros, as the official ``init_weights`` touches weights only.

Unconditional (``num_classes = 0``, not in the official code): G conditions its batch norms on the
z chunks alone (plain batch norm when not hierarchical) and D has no projection. BigGAN-deep is not
implemented.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.nets.attention import SelfAttention
from gan_lab.nets.conditional_norm import ClassConditionalBatchNorm2d, LinearConditionalBatchNorm2d
from gan_lab.nets.layers import positive_int
from gan_lab.nets.resnet_gan import (
    GBlock,
    ResNetDiscriminator,
    _attention_index,
    _resolution,
    resnet_geometry,
)
from gan_lab.nets.spectral import spectral_norm as normalise

SIZES = (16, 32, 64, 128, 256)
# BigGAN-PyTorch's init styles (BigGAN.py, Generator/Discriminator.init_weights).
INITS = ("ortho", "N02", "xavier")
_WEIGHTED = (nn.Conv2d, nn.Linear, nn.Embedding)


def biggan_layout(image_size: int) -> dict:
    """Channel multipliers of BigGAN-PyTorch's ``G_arch`` / ``D_arch`` at ``image_size``.

    ``g``: the input map's multiplier then each up block's output; ``d``: (output multiplier,
    downsample) per D block. 16 px (not in the official code) follows the 32 px pattern."""
    bottom, k = resnet_geometry(image_size)
    size = bottom << k
    if size not in SIZES:
        raise ValueError(f"image_size={image_size}: BigGAN's layouts exist for {SIZES} px")
    g = {16: [4, 4, 4], 32: [4, 4, 4, 4], 64: [16, 16, 8, 4, 2], 128: [16, 16, 8, 4, 2, 1],
         256: [16, 16, 8, 8, 4, 2, 1]}[size]
    d = {16: [4, 4, 4, 4], 32: [4, 4, 4, 4], 64: [1, 2, 4, 8, 16], 128: [1, 2, 4, 8, 16, 16],
         256: [1, 2, 4, 8, 8, 16, 16]}[size]
    downs = [True, True, False, False] if size <= 32 else [True] * (len(d) - 1) + [False]
    return {"g": g, "d": list(zip(d, downs))}


def _check_init(init: str, net: str) -> str:
    if init not in INITS:
        raise ValueError(f"model.{net}.init={init!r} is not one of: {', '.join(INITS)} "
                         "(BigGAN-PyTorch's G_init / D_init)")
    return init


def biggan_init_(net: nn.Module, style: str) -> nn.Module:
    """BigGAN-PyTorch's ``init_weights`` on a net built without spectral norm: every conv, linear
    and embedding weight drawn by ``style`` ("ortho", "N02", "xavier"); their biases reset to
    torch's default (uniform +-1/sqrt(fan_in)), i.e. left as the official code leaves them."""
    if style not in INITS:
        raise ValueError(f"init={style!r} is not one of: {', '.join(INITS)}")
    with torch.no_grad():
        for layer in net.modules():
            if not isinstance(layer, _WEIGHTED):
                continue
            if style == "ortho":
                nn.init.orthogonal_(layer.weight)
            elif style == "N02":
                nn.init.normal_(layer.weight, 0.0, 0.02)
            else:
                nn.init.xavier_uniform_(layer.weight)
            bias = getattr(layer, "bias", None)
            if isinstance(bias, Tensor):
                bound = 1.0 / math.sqrt(layer.weight[0].numel())   # fan_in of a conv or linear
                nn.init.uniform_(bias, -bound, bound)
    return net


class ClassEmbeddingBatchNorm2d(nn.Module):
    """BN whose gain 1 + E_g[y] and bias E_b[y] come from two class embeddings: BigGAN-PyTorch's
    ``ccbn`` without ``--G_shared`` (``which_linear=nn.Embedding``, ``input_size=n_classes``).
    Unlike ``ClassConditionalBatchNorm2d`` (SNGAN: gain E_g[y] initialised to ones) the gain is an
    offset from 1 and the embeddings take the net's init (N02 in the official CIFAR run)."""

    def __init__(self, channels: int, num_classes: int, eps: float = 1e-5,
                 momentum: float = 0.1) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, eps=eps, momentum=momentum, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        gain = 1.0 + self.gain(labels)
        return self.norm(x) * gain[:, :, None, None] + self.bias(labels)[:, :, None, None]


class BigGANGenerator(nn.Module):
    """BigGAN's generator (Brock et al. 2019, appendix B, fig. 15 (a), table 4 (a)).

    ``latent_dim``: the whole z. ``hierarchical`` (``--hier``): z split into ``z_chunks`` equal
    chunks (one for the input linear, one per block, so it must divide evenly: 120 at 128 px
    gives 6 chunks of 20 as the official ``--hier --dim_z 120``); false: the whole z into the
    input linear (the official default and its CIFAR run, ``dim_z`` 128). ``shared_embedding``
    (``--G_shared``): one class embedding of ``shared_dim`` units feeding every block's linear-
    conditional BN; false: class embeddings per batch norm (see the module docstring).
    ``width``: BigGAN's "ch" (96 at 128 px; channels follow ``G_arch``). ``attention``:
    resolution of the self-attention block (64 at 128 px as the official launch scripts; null for
    none, the official CIFAR setting). ``init``: "ortho", "N02" or "xavier" (``--G_init``).
    forward(z, labels=None) -> images.
    """

    def __init__(self, latent_dim: int = 120, image_size: int = 128, channels: int = 3,
                 width: int = 96, num_classes: int = 0, shared_dim: int = 128,
                 attention: int | None = 64, spectral_norm: bool = True,
                 hierarchical: bool = True, shared_embedding: bool = True,
                 init: str = "ortho") -> None:
        super().__init__()
        bottom, k = resnet_geometry(image_size)
        layout = biggan_layout(image_size)
        self.latent_dim = positive_int("latent_dim", latent_dim)
        self.image_size = bottom << k
        self.channels = positive_int("channels", channels)
        self.width = positive_int("width", width)
        self.num_classes = int(num_classes)
        self.init = _check_init(init, "generator")
        self.hierarchical = bool(hierarchical)
        self.bottom = bottom
        conditional = self.num_classes > 0
        self.shared_embedding = bool(shared_embedding) and conditional
        if conditional and self.hierarchical and not self.shared_embedding:
            raise ValueError(
                "model.generator.hierarchical=true needs model.generator.shared_embedding=true "
                "for a conditional BigGAN (the z chunks join the shared embedding, as "
                "BigGAN-PyTorch's --hier with --G_shared)")
        self.z_chunks = k + 1 if self.hierarchical else 1
        if self.latent_dim % self.z_chunks:
            raise ValueError(
                f"latent_dim={latent_dim}: BigGAN's hierarchical z is split into {self.z_chunks} "
                f"equal chunks at {self.image_size} px (input + {k} blocks); use a multiple of "
                f"{self.z_chunks} (e.g. {self.latent_dim // self.z_chunks * self.z_chunks or self.z_chunks})"
                " or model.generator.hierarchical=false")
        self.chunk_size = self.latent_dim // self.z_chunks
        self.shared_dim = positive_int("shared_dim", shared_dim) if self.shared_embedding else 0
        self.shared = (nn.Embedding(self.num_classes, self.shared_dim)
                       if self.shared_embedding else None)
        chs = [m * self.width for m in layout["g"]]
        # Built plain, initialised as BigGAN-PyTorch, then spectrally normalised (below).
        self.linear = nn.Linear(self.chunk_size, chs[0] * bottom ** 2)
        condition_dim = self.shared_dim + (self.chunk_size if self.hierarchical else 0)

        def norm(c: int) -> nn.Module:
            if conditional and not self.shared_embedding:
                return ClassEmbeddingBatchNorm2d(c, self.num_classes)
            if condition_dim == 0:   # unconditional, whole z at the input: plain BN
                return ClassConditionalBatchNorm2d(c, 0)
            return LinearConditionalBatchNorm2d(c, condition_dim, spectral_norm=False)

        self.blocks = nn.ModuleList(
            GBlock(chs[i], chs[i + 1], norm, spectral_norm=False) for i in range(k))
        resolutions = [bottom << i for i in range(k + 1)]   # the input map, then each block
        index = _attention_index(_resolution(attention, "attention"), resolutions, "generator")
        self.attention_after = None if index is None else index - 1   # -1: after the linear
        self.attention = None
        if self.attention_after is not None:
            self.attention = SelfAttention(chs[self.attention_after + 1], spectral_norm=False)
        self.out_norm = nn.BatchNorm2d(chs[-1])
        self.out_conv = nn.Conv2d(chs[-1], self.channels, 3, padding=1)
        biggan_init_(self, self.init)
        if spectral_norm:   # SNConv2d / SNLinear everywhere, plain nn.Embedding (official)
            for layer in list(self.modules()):
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    normalise(layer)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if z.dim() == 4:
            z = z.flatten(1)
        if z.shape[1] != self.latent_dim:
            raise ValueError(f"BigGANGenerator expects z of {self.latent_dim} units "
                             f"({self.z_chunks} chunks of {self.chunk_size}), got {tuple(z.shape)}")
        if self.num_classes and labels is None:
            raise ValueError(f"this generator is conditional on {self.num_classes} classes: "
                             "pass labels")
        chunks = z.split(self.chunk_size, dim=1)
        blocks = len(self.blocks)
        if self.shared is not None:
            shared = self.shared(labels.reshape(-1))
            conditions = ([torch.cat([shared, chunk], dim=1) for chunk in chunks[1:]]
                          if self.hierarchical else [shared] * blocks)
        elif self.num_classes:
            conditions = [labels.reshape(-1)] * blocks
        else:
            conditions = list(chunks[1:]) if self.hierarchical else [None] * blocks
        h = self.linear(chunks[0]).view(z.shape[0], -1, self.bottom, self.bottom)
        if self.attention_after == -1:
            h = self.attention(h)
        for i, (block, condition) in enumerate(zip(self.blocks, conditions)):
            h = block(h, condition)
            if i == self.attention_after:
                h = self.attention(h)
        return torch.tanh(self.out_conv(F.relu(self.out_norm(h))))


class BigGANDiscriminator(ResNetDiscriminator):
    """BigGAN's discriminator (Brock et al. 2019, fig. 15 (b), table 4 (a)): the ResNet D of
    ``resnet_gan`` with BigGAN-PyTorch's ``D_arch`` channels, wide blocks, a biased output linear,
    self-attention after the first block that outputs ``attention`` px, the spectrally normalised
    projection embedding when ``num_classes`` > 0, and ``init`` "ortho", "N02" or "xavier"
    (``--D_init``). forward(x, labels=None) -> (B,) raw scores."""

    def __init__(self, image_size: int = 128, channels: int = 3, width: int = 96,
                 num_classes: int = 0, attention: int | None = 64,
                 spectral_norm: bool = True, init: str = "ortho") -> None:
        nn.Module.__init__(self)
        self.width = positive_int("width", width)
        self.init = _check_init(init, "discriminator")
        blocks = [(m * self.width, down) for m, down in biggan_layout(image_size)["d"]]
        # Built plain ("xavier": the cheap init, redrawn below), initialised, then normalised.
        self._build(image_size, channels, blocks, num_classes, False, attention,
                    wide=True, init="xavier", bias=True)
        biggan_init_(self, self.init)
        if spectral_norm:   # SNConv2d, SNLinear and SNEmbedding everywhere (official D)
            for layer in list(self.modules()):
                if isinstance(layer, _WEIGHTED):
                    normalise(layer)


__all__ = ["BigGANDiscriminator", "BigGANGenerator", "ClassEmbeddingBatchNorm2d", "INITS",
           "biggan_init_", "biggan_layout"]

"""BigGAN generator and discriminator.

Brock, Donahue & Simonyan, "Large Scale GAN Training for High Fidelity Natural Image Synthesis"
(ICLR 2019), sec. 3 and appendix B (fig. 15, table 4 (a)); channel layouts, attention placement
and init as the official ajbrock/BigGAN-PyTorch (``BigGAN.py``: ``G_arch``, ``D_arch``;
``layers.py``: ``GBlock``, ``DBlock``, ``ccbn``):

- G: a shared class embedding (``shared_dim``) and a hierarchical latent ("skip-z"): z is split
  into one chunk for the input linear and one per residual block; each block's batch norms are
  linear-conditional on [shared embedding, z chunk] (gain 1 + W c, bias W c). Residual up blocks
  as SNGAN's (``resnet_gan.GBlock``), self-attention (SAGAN) after the block that outputs the
  ``attention`` resolution, BN, ReLU, conv3x3, tanh. Spectral norm on every layer but the shared
  embedding (as the official code: "SN on G's embedding seems to cripple G").
- D: SNGAN's ResNet discriminator (``resnet_gan``) with wide blocks (hidden convs as wide as
  the block output, BigGAN-PyTorch's ``D_wide``), attention, and the projection term.

Orthogonal init of every conv, linear and embedding weight (``G_init = D_init = 'ortho'``).
Unconditional (``num_classes = 0``): G conditions its batch norms on the z chunks alone and D has
no projection. BigGAN-deep is not implemented.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.nets.attention import SelfAttention
from gan_lab.nets.conditional_norm import LinearConditionalBatchNorm2d
from gan_lab.nets.layers import positive_int
from gan_lab.nets.resnet_gan import (
    GBlock,
    ResNetDiscriminator,
    _attention_index,
    _layer,
    _resolution,
    init_weight_,
    resnet_geometry,
)

SIZES = (16, 32, 64, 128, 256)


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


class BigGANGenerator(nn.Module):
    """BigGAN's generator (Brock et al. 2019, appendix B, fig. 15 (a), table 4 (a)).

    ``latent_dim``: the whole z, split into ``z_chunks`` equal chunks (one for the input linear,
    one per block, so it must divide evenly: 120 at 128 px gives 6 chunks of 20 as the official
    ``--hier --dim_z 120``). ``width``: BigGAN's "ch" (96 at 128 px; channels follow ``G_arch``).
    ``attention``: resolution of the self-attention block (64 at 128 px as the official launch
    scripts; null for none, the official CIFAR setting). forward(z, labels=None) -> images.
    """

    def __init__(self, latent_dim: int = 120, image_size: int = 128, channels: int = 3,
                 width: int = 96, num_classes: int = 0, shared_dim: int = 128,
                 attention: int | None = 64, spectral_norm: bool = True) -> None:
        super().__init__()
        bottom, k = resnet_geometry(image_size)
        layout = biggan_layout(image_size)
        self.latent_dim = positive_int("latent_dim", latent_dim)
        self.image_size = bottom << k
        self.channels = positive_int("channels", channels)
        self.width = positive_int("width", width)
        self.num_classes = int(num_classes)
        self.bottom = bottom
        self.z_chunks = k + 1
        if self.latent_dim % self.z_chunks:
            raise ValueError(
                f"latent_dim={latent_dim}: BigGAN's hierarchical z is split into {self.z_chunks} "
                f"equal chunks at {self.image_size} px (input + {k} blocks); use a multiple of "
                f"{self.z_chunks} (e.g. {self.latent_dim // self.z_chunks * self.z_chunks or self.z_chunks})")
        self.chunk_size = self.latent_dim // self.z_chunks
        sn = bool(spectral_norm)
        self.shared_dim = positive_int("shared_dim", shared_dim) if self.num_classes else 0
        self.shared = (init_weight_(nn.Embedding(self.num_classes, self.shared_dim), "ortho")
                       if self.num_classes else None)
        chs = [m * self.width for m in layout["g"]]
        condition_dim = self.shared_dim + self.chunk_size
        self.linear = _layer(nn.Linear(self.chunk_size, chs[0] * bottom ** 2), "ortho", sn)

        def norm(c: int) -> nn.Module:
            bn = LinearConditionalBatchNorm2d(c, condition_dim, spectral_norm=sn)
            init_weight_(bn.gain, "ortho")
            init_weight_(bn.bias, "ortho")
            return bn

        self.blocks = nn.ModuleList(
            GBlock(chs[i], chs[i + 1], norm, sn, init="ortho") for i in range(k))
        resolutions = [bottom << i for i in range(k + 1)]   # the input map, then each block
        index = _attention_index(_resolution(attention, "attention"), resolutions, "generator")
        self.attention_after = None if index is None else index - 1   # -1: after the linear
        self.attention = None
        if self.attention_after is not None:
            self.attention = SelfAttention(chs[self.attention_after + 1], spectral_norm=sn)
            for conv in (self.attention.query, self.attention.key, self.attention.value,
                         self.attention.out):
                init_weight_(conv, "ortho")
        self.out_norm = nn.BatchNorm2d(chs[-1])
        self.out_conv = _layer(nn.Conv2d(chs[-1], self.channels, 3, padding=1), "ortho", sn)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if z.dim() == 4:
            z = z.flatten(1)
        if z.shape[1] != self.latent_dim:
            raise ValueError(f"BigGANGenerator expects z of {self.latent_dim} units "
                             f"({self.z_chunks} chunks of {self.chunk_size}), got {tuple(z.shape)}")
        chunks = z.split(self.chunk_size, dim=1)
        if self.shared is not None:
            if labels is None:
                raise ValueError(f"this generator is conditional on {self.num_classes} classes: "
                                 "pass labels")
            shared = self.shared(labels.reshape(-1))
            conditions = [torch.cat([shared, chunk], dim=1) for chunk in chunks[1:]]
        else:
            conditions = list(chunks[1:])
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
    ``resnet_gan`` with BigGAN-PyTorch's ``D_arch`` channels, wide blocks, orthogonal init, a
    biased output linear, self-attention after the first block that outputs ``attention`` px and
    the spectrally normalised projection embedding when ``num_classes`` > 0.
    forward(x, labels=None) -> (B,) raw scores."""

    def __init__(self, image_size: int = 128, channels: int = 3, width: int = 96,
                 num_classes: int = 0, attention: int | None = 64,
                 spectral_norm: bool = True) -> None:
        nn.Module.__init__(self)
        self.width = positive_int("width", width)
        blocks = [(m * self.width, down) for m, down in biggan_layout(image_size)["d"]]
        self._build(image_size, channels, blocks, num_classes, spectral_norm, attention,
                    wide=True, init="ortho", bias=True)


__all__ = ["BigGANDiscriminator", "BigGANGenerator", "biggan_layout"]

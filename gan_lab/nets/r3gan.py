"""R3GAN's normalization-free ResNet generator and discriminator.

Huang, Gokaslan, Kuleshov & Tompkin, "The GAN is dead; long live the GAN! A Modern GAN
Baseline" (NeurIPS 2024), sec. 4 (config E), as the official code (brownvc/R3GAN,
R3GAN/Networks.py) builds it:

- Residual blocks x + conv1x1(act(conv_kxk_grouped(act(conv1x1(x))))): the first 1x1 conv
  expands the channels by ``expansion_factor``, the middle one is a grouped conv with
  ``cardinality`` groups (ResNeXt), the last 1x1 conv maps back and is zero-initialised, so every
  block starts as the identity. Leaky ReLU 0.2 with a learned bias; no normalization anywhere;
  convolutions have no bias.
- Fix-up style init (official code): weights ~ N(0, gain^2 / fan_in) with, inside a block,
  gain = sqrt(2 / (1 + 0.2^2)) * L^(-1/4), L = the total number of blocks of the net
  (the "variance scaling parameter"; -1/(2m - 2) with m = 3 linear layers per branch).
- Resampling: the [1, 2, 1] filter, "interpolative" (convolved with [1, 1], i.e. the FIR
  filter [1, 3, 3, 1]), between stages; a 1x1 conv changes the width before up-sampling in G
  and after down-sampling in D.
- G starts from a "generative basis" (a learned 4x4 map per channel, scaled per sample by a
  linear map of z); D ends in a "discriminative basis" (a depthwise 4x4 conv, then a linear
  map). G has no output non-linearity (the official code returns the 1x1 aggregation conv's
  output as is).
- Conditional (official code): G concatenates a linear embedding of the one-hot label to z;
  D's basis outputs ``embedding_dim`` features whose dot product with a linear embedding of the
  label (init scaled by 1 / sqrt(dim)) is the score.

Widths, cardinalities and blocks are per stage, from the 4x4 stage up (G's order; D uses them
reversed, as the official train.py). A single int applies to every stage; the defaults are the
official CIFAR-10 preset (width 768, cardinality 96, 2 blocks per stage, expansion 2, z 64).
Images may be 4 * 2^k pixels per side (8, 16, 32, 64, ...), or [height, width] with a
power-of-two ratio (the basis is then 4x8, ...).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.nets.dcgan import image_geometry, image_shape
from gan_lab.nets.filters import downsample2d, setup_filter, upsample2d

__all__ = ["R3GANDiscriminator", "R3GANGenerator", "R3GANResidualBlock"]

#: The gain of leaky ReLU 0.2 (He et al. 2015): sqrt(2 / (1 + 0.2^2)).
LRELU_GAIN = math.sqrt(2 / (1 + 0.2**2))


def msr_init_(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    """Weights ~ N(0, (gain / sqrt(fan_in))^2), fan_in = input units per output (per group for a
    grouped conv); bias 0. The official code's ``MSRInitializer``; gain 0 zero-initialises."""
    weight = layer.weight
    fan_in = weight.shape[1] * weight[0][0].numel()
    with torch.no_grad():
        weight.normal_(0.0, gain / math.sqrt(fan_in))
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


def _conv(cin: int, cout: int, kernel: int = 1, groups: int = 1, gain: float = 1.0) -> nn.Conv2d:
    return msr_init_(nn.Conv2d(cin, cout, kernel, padding=(kernel - 1) // 2, groups=groups,
                               bias=False), gain)


class BiasedLeakyReLU(nn.Module):
    """Leaky ReLU 0.2 of ``x + b`` with a learned per-channel bias ``b`` (zero at init)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return F.leaky_relu(x + self.bias.to(x.dtype).view(shape), 0.2)


class R3GANResidualBlock(nn.Module):
    """x + conv1x1(act(grouped conv_kxk(act(conv1x1(x))))), the last conv zero-initialised
    (Huang et al. 2024, sec. 4 and fig. 2; official ``ResidualBlock``)."""

    def __init__(self, channels: int, cardinality: int, expansion_factor: int,
                 kernel_size: int = 3, variance_scaling: float = 1.0) -> None:
        super().__init__()
        expanded = channels * expansion_factor
        if expanded % cardinality:
            raise ValueError(f"R3GAN: width {channels} x expansion {expansion_factor} = {expanded} "
                             f"is not divisible by cardinality {cardinality}")
        # Fix-up scaling over m = 3 linear layers per branch: L^(-1 / (2m - 2)).
        gain = LRELU_GAIN * variance_scaling ** (-1 / (2 * 3 - 2))
        self.conv1 = _conv(channels, expanded, 1, gain=gain)
        self.act1 = BiasedLeakyReLU(expanded)
        self.conv2 = _conv(expanded, expanded, kernel_size, groups=cardinality, gain=gain)
        self.act2 = BiasedLeakyReLU(expanded)
        self.conv3 = _conv(expanded, channels, 1, gain=0.0)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv3(self.act2(self.conv2(self.act1(self.conv1(x)))))


def _interpolative_filter(taps: Sequence[float]) -> Tensor:
    """The official ``CreateLowpassKernel(taps, Inplace=False)``: taps convolved with [1, 1],
    outer product, normalised ([1, 2, 1] -> the [1, 3, 3, 1] FIR filter)."""
    return setup_filter(np.convolve(list(taps), [1, 1]).tolist())


class _Resample(nn.Module):
    """x2 FIR up- (G) or down-sampling (D), with a 1x1 conv where the width changes: before
    up-sampling, after down-sampling (official ``UpsampleLayer`` / ``DownsampleLayer``)."""

    def __init__(self, cin: int, cout: int, taps: Sequence[float], up: bool) -> None:
        super().__init__()
        self.up = up
        self.register_buffer("kernel", _interpolative_filter(taps), persistent=False)
        self.conv = _conv(cin, cout, 1) if cin != cout else None

    def forward(self, x: Tensor) -> Tensor:
        kernel = self.kernel.to(x.dtype)
        if self.up:
            x = x if self.conv is None else self.conv(x)
            return upsample2d(x, kernel)
        x = downsample2d(x, kernel)
        return x if self.conv is None else self.conv(x)


class GenerativeBasis(nn.Module):
    """z -> basis * linear(z): a learned (C, h0, w0) map per channel, scaled per sample by a
    bias-free linear map of z (official ``GenerativeBasis``; basis ~ N(0, 1))."""

    def __init__(self, in_features: int, channels: int, size: tuple[int, int]) -> None:
        super().__init__()
        self.basis = nn.Parameter(torch.randn(channels, *size))
        self.linear = msr_init_(nn.Linear(in_features, channels, bias=False))

    def forward(self, z: Tensor) -> Tensor:
        return self.basis.unsqueeze(0) * self.linear(z)[:, :, None, None]


class DiscriminativeBasis(nn.Module):
    """(C, h0, w0) features -> a depthwise h0 x w0 conv to C values -> bias-free linear map
    (official ``DiscriminativeBasis``)."""

    def __init__(self, channels: int, out_features: int, size: tuple[int, int]) -> None:
        super().__init__()
        self.basis = msr_init_(nn.Conv2d(channels, channels, size, groups=channels, bias=False))
        self.linear = msr_init_(nn.Linear(channels, out_features, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.basis(x).flatten(1))


def _per_stage(name: str, value: int | Sequence[int], stages: int) -> list[int]:
    values = [value] * stages if isinstance(value, int) else [int(v) for v in value]
    if len(values) != stages:
        raise ValueError(f"R3GAN: {name}={list(values)} has {len(values)} entries, but this image "
                         f"size needs {stages} stages (4x4 up to the image); give one per stage "
                         "or a single int")
    if any(isinstance(v, bool) or v < (0 if name == "blocks" else 1) for v in values):
        raise ValueError(f"R3GAN: {name}={list(values)}: need positive integers")
    return values


def _labels_one_hot(labels: Tensor | None, num_classes: int, net: str) -> Tensor:
    if labels is None:
        raise ValueError(f"{net} is conditional on {num_classes} classes: pass labels")
    return F.one_hot(labels.long(), num_classes).float()


class R3GANGenerator(nn.Module):
    """R3GAN generator (Huang et al. 2024, sec. 4; official ``Generator``).

    Stage 0: generative basis to a 4x4 map of width[0], then blocks; stage i > 0: 1x1 conv to
    width[i] (when it changes), x2 up-sampling, blocks; a last 1x1 conv to ``channels``.
    forward(z, labels=None) -> images (B, channels, H, W), no output non-linearity.
    """

    def __init__(self, latent_dim: int = 64, image_size: int | Sequence[int] = 32,
                 channels: int = 3, width: int | Sequence[int] = 768,
                 cardinality: int | Sequence[int] = 96, blocks: int | Sequence[int] = 2,
                 expansion_factor: int = 2, kernel_size: int = 3, num_classes: int = 0,
                 embedding_dim: int | None = None,
                 resampling_filter: Sequence[float] = (1, 2, 1)) -> None:
        super().__init__()
        k, base = image_geometry(image_size)
        stages = k + 1
        self.latent_dim, self.channels = int(latent_dim), int(channels)
        self.image_size = image_shape(image_size)
        self.num_classes = int(num_classes)
        widths = _per_stage("width", width, stages)
        cards = _per_stage("cardinality", cardinality, stages)
        counts = _per_stage("blocks", blocks, stages)
        variance_scaling = max(1, sum(counts))
        # Official CIFAR-10 / ImageNet presets: G's label embedding is as wide as z.
        self.embedding_dim = (int(embedding_dim or latent_dim)) if self.num_classes else 0
        self.embed = (msr_init_(nn.Linear(self.num_classes, self.embedding_dim, bias=False))
                      if self.num_classes else None)
        self.stages = nn.ModuleList()
        for i in range(stages):
            first = (GenerativeBasis(self.latent_dim + self.embedding_dim, widths[0], base)
                     if i == 0 else _Resample(widths[i - 1], widths[i], resampling_filter, up=True))
            self.stages.append(nn.Sequential(first, *[
                R3GANResidualBlock(widths[i], cards[i], expansion_factor, kernel_size,
                                   variance_scaling) for _ in range(counts[i])]))
        self.to_image = _conv(widths[-1], self.channels, 1)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"R3GANGenerator expects z of shape (B, {self.latent_dim}), "
                             f"got {tuple(z.shape)}")
        if self.embed is not None:
            y = _labels_one_hot(labels, self.num_classes, "R3GANGenerator").to(z.dtype)
            z = torch.cat([z, self.embed(y)], dim=1)
        x = z
        for stage in self.stages:
            x = stage(x)
        return self.to_image(x)


class R3GANDiscriminator(nn.Module):
    """R3GAN discriminator (Huang et al. 2024, sec. 4; official ``Discriminator``).

    A 1x1 conv from ``channels * packing`` to the widest-resolution width, then per stage
    (image size down to 4x4): blocks, then x2 down-sampling and a 1x1 conv to the next width;
    the 4x4 stage ends in the discriminative basis. ``width``/``cardinality``/``blocks`` are given
    in G's order (4x4 first) and used reversed, as the official train.py. Conditional: the basis
    outputs ``embedding_dim`` (default: the 4x4 width) features, dotted with a label embedding.
    forward(x, labels=None) -> (B,) raw scores.
    """

    def __init__(self, image_size: int | Sequence[int] = 32, channels: int = 3,
                 width: int | Sequence[int] = 768, cardinality: int | Sequence[int] = 96,
                 blocks: int | Sequence[int] = 2, expansion_factor: int = 2,
                 kernel_size: int = 3, num_classes: int = 0, embedding_dim: int | None = None,
                 packing: int = 1, resampling_filter: Sequence[float] = (1, 2, 1)) -> None:
        super().__init__()
        k, base = image_geometry(image_size)
        stages = k + 1
        self.channels, self.packing = int(channels), int(packing)
        if self.channels < 1 or self.packing < 1:
            raise ValueError(f"R3GANDiscriminator: channels={channels} and packing={packing} "
                             "must be positive integers")
        self.image_size = image_shape(image_size)
        self.num_classes = int(num_classes)
        if self.num_classes and self.packing > 1:
            raise ValueError("R3GANDiscriminator: a conditional (num_classes > 0) D takes no "
                             "packing")
        widths = _per_stage("width", width, stages)[::-1]
        cards = _per_stage("cardinality", cardinality, stages)[::-1]
        counts = _per_stage("blocks", blocks, stages)[::-1]
        variance_scaling = max(1, sum(counts))
        self.embedding_dim = int(embedding_dim or widths[-1]) if self.num_classes else 0
        self.from_image = _conv(self.channels * self.packing, widths[0], 1)
        self.stages = nn.ModuleList()
        for i in range(stages):
            last = (_Resample(widths[i], widths[i + 1], resampling_filter, up=False)
                    if i < stages - 1 else
                    DiscriminativeBasis(widths[i], self.embedding_dim or 1, base))
            self.stages.append(nn.Sequential(*[
                R3GANResidualBlock(widths[i], cards[i], expansion_factor, kernel_size,
                                   variance_scaling) for _ in range(counts[i])], last))
        self.embed = (msr_init_(nn.Linear(self.num_classes, self.embedding_dim, bias=False),
                                gain=1 / math.sqrt(self.embedding_dim))
                      if self.num_classes else None)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        expected = (self.channels * self.packing, *self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"R3GANDiscriminator expects input (B, {expected[0]}, {expected[1]}, "
                f"{expected[2]}) (channels * packing = {self.channels} * {self.packing}), got "
                f"{tuple(x.shape)}")
        x = self.from_image(x)
        for stage in self.stages:
            x = stage(x)
        if self.embed is not None:
            y = _labels_one_hot(labels, self.num_classes, "R3GANDiscriminator").to(x.dtype)
            x = (x * self.embed(y)).sum(dim=1, keepdim=True)
        return x.flatten()

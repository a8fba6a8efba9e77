"""ProGAN generator and discriminator with progressive growing.

Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved Quality, Stability,
and Variation" (ICLR 2018). Architecture as appendix A / table 2 and the official code
(tkarras/progressive_growing_of_gans, networks.py: G_paper, D_paper): equalized learning rate
(sec. 4.1), pixel norm after every generator conv (sec. 4.2), LeakyReLU(0.2), minibatch
standard deviation before the discriminator's last block (sec. 3).

Growing protocol (sec. 2, fig. 2), shared with ``gan_lab.nets.stylegan``. The image side is
``image_size = 4 * 2**L`` (L >= 1) and the nets have blocks 0..L, block k working at
``4 * 2**k`` pixels. A continuous ``level`` in [0, L] (the official code's lod = L - level)
selects what runs: the resolution is ``4 * 2**ceil(level)`` and, when the level is
fractional, block k = ceil(level) is being faded in with alpha = level - floor(level):

    G: lerp(upsample_nearest(toRGB_{k-1}(h_{k-1})), toRGB_k(block_k(h_{k-1})), alpha)
    D: lerp(fromRGB_{k-1}(avgpool2(x)), block_k(fromRGB_k(x)), alpha), then blocks k-1..0

G returns images at the current resolution and D takes images at that resolution;
``images_at_level`` turns full-size reals into what D should see. All blocks are built up
front, so one optimizer serves the whole run (blocks not yet in use get no gradient).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.nets.equalized import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStddev,
    PixelNorm,
    normalize_2nd_moment,
)

__all__ = [
    "ProGANDiscriminator",
    "ProGANDiscriminatorBlock",
    "ProGANDiscriminatorOutput",
    "ProGANGenerator",
    "ProGANGeneratorBlock",
    "ProGANGeneratorInput",
    "images_at_level",
    "max_level",
    "resolution_at",
]

# He gain for LeakyReLU layers. As in the official code it scales the weights and the plain
# LeakyReLU(0.2) follows the bias, rather than multiplying the activation's output.
RELU_GAIN = math.sqrt(2.0)


def _lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2)


def max_level(image_size: int) -> int:
    """L with ``image_size == 4 * 2**L``, L >= 1; ValueError otherwise."""
    size = image_size
    ok = isinstance(size, int) and not isinstance(size, bool) and size >= 8 and size % 4 == 0
    if not (ok and (size // 4) & (size // 4 - 1) == 0):
        raise ValueError(f"image_size={image_size!r}: must be 4 * 2**L with L >= 1 "
                         "(8, 16, 32, ..., 1024)")
    return (size // 4).bit_length() - 1


def _check_level(level: float | None, top: int) -> float:
    """The level as a float in [0, top] (None = top); ValueError outside."""
    if level is None:
        return float(top)
    value = float(level)
    if not 0.0 <= value <= top:  # also rejects NaN
        raise ValueError(f"level={level!r}: must lie in [0, {top}] for these nets")
    return value


def _fade(level: float) -> tuple[int, float]:
    """(k, alpha): block k = ceil(level) runs; alpha = level - floor(level), 1.0 if whole."""
    k = math.ceil(level)
    alpha = level - math.floor(level)
    return k, (alpha if alpha > 0 else 1.0)


def resolution_at(level: float) -> int:
    """Image side the nets work at for ``level``: 4 * 2**ceil(level)."""
    value = float(level)
    if not value >= 0:
        raise ValueError(f"level={level!r}: must be >= 0")
    return 4 * 2 ** math.ceil(value)


def images_at_level(images: Tensor, level: float) -> Tensor:
    """Full-size reals (B, C, S, S) -> what D sees at ``level``, as the official process_reals.

    Average-pool down to 4 * 2**ceil(level) (the official datasets store each level-of-detail
    as repeated 2x2 means); if the level is fractional, blend with that image's 2x-pooled,
    nearest-upsampled version: lerp(coarse, fine, alpha) (the official "FadeLOD").
    """
    if images.dim() != 4 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"images_at_level takes square (B, C, S, S) images, got "
                         f"{tuple(images.shape)}")
    side = int(images.shape[-1])
    top = max_level(side) if side != 4 else 0
    k, alpha = _fade(_check_level(level, top))
    fine = F.avg_pool2d(images, side // resolution_at(k)) if resolution_at(k) < side else images
    if alpha == 1.0:
        return fine
    coarse = F.interpolate(F.avg_pool2d(fine, 2), scale_factor=2, mode="nearest")
    return torch.lerp(coarse, fine, alpha)


def _nf(fmap_base: int, fmap_decay: float, fmap_max: int):
    """Channels per stage as the official code: min(int(base / 2**(stage * decay)), max)."""
    return lambda stage: min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def _check_unconditional(num_classes: int, name: str) -> None:
    if num_classes != 0:
        raise ValueError(f"{name}: num_classes={num_classes} but only unconditional nets "
                         "(num_classes=0) are implemented")


def _check_no_labels(labels: Tensor | None, name: str) -> None:
    if labels is not None:
        raise ValueError(f"{name} is unconditional (num_classes=0): labels must be None")


class ProGANGeneratorInput(nn.Module):
    """Generator block 0 (Karras et al. 2018, table 2, 4x4 rows): latent -> 4x4 maps -> conv3x3.

    The latent is pixel-normalized (normalize_latent), a dense layer makes ``channels * 16``
    values reshaped to (channels, 4, 4) with one bias per channel (the official code adds the
    bias after the reshape) and the official gain sqrt(2)/4 (kept there to match their
    earlier Theano code), then LeakyReLU and pixel norm; a 3x3 conv follows likewise.
    """

    def __init__(self, latent_dim: int, channels: int, normalize_latent: bool = True,
                 use_pixelnorm: bool = True) -> None:
        super().__init__()
        self.channels = int(channels)
        self.normalize_latent = bool(normalize_latent)
        self.dense = EqualizedLinear(latent_dim, channels * 16, bias=False, gain=RELU_GAIN / 4)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.conv = EqualizedConv2d(channels, channels, 3, gain=RELU_GAIN)
        self.norm = PixelNorm() if use_pixelnorm else nn.Identity()

    def forward(self, z: Tensor) -> Tensor:
        if self.normalize_latent:
            z = normalize_2nd_moment(z)
        x = self.dense(z).reshape(-1, self.channels, 4, 4) + self.bias[None, :, None, None]
        x = self.norm(_lrelu(x))
        return self.norm(_lrelu(self.conv(x)))


class ProGANGeneratorBlock(nn.Module):
    """Generator block k >= 1 (Karras et al. 2018, table 2): nearest 2x upsampling, then two
    3x3 convs, each followed by LeakyReLU(0.2) and pixel norm (sec. 4.2).

    The official code fuses the upsampling into a transposed conv; that is the same function
    with the stored 3x3 kernel flipped, so the same net up to relabelling the weights. This
    keeps the two steps apart for readability.
    """

    def __init__(self, in_channels: int, out_channels: int, use_pixelnorm: bool = True) -> None:
        super().__init__()
        self.conv0 = EqualizedConv2d(in_channels, out_channels, 3, gain=RELU_GAIN)
        self.conv1 = EqualizedConv2d(out_channels, out_channels, 3, gain=RELU_GAIN)
        self.norm = PixelNorm() if use_pixelnorm else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.norm(_lrelu(self.conv0(x)))
        return self.norm(_lrelu(self.conv1(x)))


class ProGANGenerator(nn.Module):
    """ProGAN generator (Karras et al. 2018, sec. 2 and appendix A, table 2; official G_paper).

    Blocks 0..L with nf(k + 1) channels each (nf as the official code), a linear 1x1 toRGB per
    block (no tanh, as the official code) and the fade-in of sec. 2 / fig. 2 (module docstring).
    forward(z, labels=None, level=None) -> (B, channels, r, r), r = resolution_at(level).
    Only unconditional nets are implemented (num_classes must be 0, labels None).
    """

    def __init__(self, latent_dim: int = 512, image_size: int = 1024, channels: int = 3,
                 fmap_base: int = 8192, fmap_decay: float = 1.0, fmap_max: int = 512,
                 normalize_latent: bool = True, use_pixelnorm: bool = True,
                 num_classes: int = 0) -> None:
        super().__init__()
        _check_unconditional(num_classes, type(self).__name__)
        self.max_level = max_level(image_size)
        self.image_size, self.latent_dim, self.channels = image_size, int(latent_dim), int(channels)
        nf = _nf(fmap_base, fmap_decay, fmap_max)
        self.blocks = nn.ModuleList([ProGANGeneratorInput(latent_dim, nf(1), normalize_latent,
                                                          use_pixelnorm)])
        self.blocks.extend(ProGANGeneratorBlock(nf(k), nf(k + 1), use_pixelnorm)
                           for k in range(1, self.max_level + 1))
        self.to_rgb = nn.ModuleList(EqualizedConv2d(nf(k + 1), channels, 1)
                                    for k in range(self.max_level + 1))

    def forward(self, z: Tensor, labels: Tensor | None = None,
                level: float | None = None) -> Tensor:
        _check_no_labels(labels, type(self).__name__)
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"{type(self).__name__} expects z of shape (B, {self.latent_dim}), "
                             f"got {tuple(z.shape)}")
        k, alpha = _fade(_check_level(level, self.max_level))
        x = self.blocks[0](z)
        for block in self.blocks[1:k]:
            x = block(x)
        if k == 0:
            return self.to_rgb[0](x)
        new = self.to_rgb[k](self.blocks[k](x))
        if alpha == 1.0:
            return new
        old = F.interpolate(self.to_rgb[k - 1](x), scale_factor=2, mode="nearest")
        return torch.lerp(old, new, alpha)


class ProGANDiscriminatorBlock(nn.Module):
    """Discriminator block k >= 1 (Karras et al. 2018, table 2): conv3x3, conv3x3 to the next
    block's width, 2x2 average pooling, LeakyReLU(0.2) after each conv.

    ``blur`` (StyleGAN) low-pass filters before the second conv. The official code fuses the
    second conv with the pooling (conv then pool, one strided conv; the same result).
    """

    def __init__(self, in_channels: int, out_channels: int, blur: nn.Module | None = None) -> None:
        super().__init__()
        self.conv0 = EqualizedConv2d(in_channels, in_channels, 3, gain=RELU_GAIN)
        self.blur = blur if blur is not None else nn.Identity()
        self.conv1 = EqualizedConv2d(in_channels, out_channels, 3, gain=RELU_GAIN)

    def forward(self, x: Tensor) -> Tensor:
        x = _lrelu(self.conv0(x))
        x = self.conv1(self.blur(x))
        # Bias before pooling equals bias after it; the activation follows the pooling, as in
        # the official conv2d_downscale2d.
        return _lrelu(F.avg_pool2d(x, 2))


class ProGANDiscriminatorOutput(nn.Module):
    """Discriminator block 0 (Karras et al. 2018, table 2, 4x4 rows): minibatch stddev (sec. 3),
    conv3x3, dense 4x4 -> nf(0), dense -> 1 (linear); returns (B,) raw scores.
    ``mbstd_group_size`` <= 1 leaves the stddev layer out, as the official code."""

    def __init__(self, channels: int, hidden: int, mbstd_group_size: int = 4,
                 mbstd_num_channels: int = 1) -> None:
        super().__init__()
        use_mbstd = mbstd_group_size > 1
        self.mbstd = MinibatchStddev(mbstd_group_size, mbstd_num_channels) if use_mbstd else None
        extra = mbstd_num_channels if use_mbstd else 0
        self.conv = EqualizedConv2d(channels + extra, channels, 3, gain=RELU_GAIN)
        self.dense0 = EqualizedLinear(channels * 16, hidden, gain=RELU_GAIN)
        self.dense1 = EqualizedLinear(hidden, 1)

    def forward(self, x: Tensor) -> Tensor:
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = _lrelu(self.conv(x))
        x = _lrelu(self.dense0(x.flatten(1)))
        return self.dense1(x).squeeze(1)


class ProGANDiscriminator(nn.Module):
    """ProGAN discriminator (Karras et al. 2018, sec. 2 and appendix A, table 2; official D_paper).

    A fromRGB 1x1 conv (LeakyReLU) per block, blocks L..1 halving the resolution, block 0 with
    minibatch stddev and the dense head; fade-in as sec. 2 / fig. 2 (module docstring).
    forward(x, labels=None, level=None) -> (B,) raw scores; x must be at resolution_at(level).
    Only unconditional nets are implemented (num_classes must be 0, labels None).
    """

    def __init__(self, image_size: int = 1024, channels: int = 3, fmap_base: int = 8192,
                 fmap_decay: float = 1.0, fmap_max: int = 512, mbstd_group_size: int = 4,
                 mbstd_num_channels: int = 1, num_classes: int = 0) -> None:
        super().__init__()
        _check_unconditional(num_classes, type(self).__name__)
        self.max_level = max_level(image_size)
        self.image_size, self.channels = image_size, int(channels)
        nf = _nf(fmap_base, fmap_decay, fmap_max)
        self.from_rgb = nn.ModuleList(
            nn.Sequential(EqualizedConv2d(channels, nf(k + 1), 1, gain=RELU_GAIN),
                          nn.LeakyReLU(0.2))
            for k in range(self.max_level + 1))
        self.blocks = nn.ModuleList([ProGANDiscriminatorOutput(nf(1), nf(0), mbstd_group_size,
                                                               mbstd_num_channels)])
        self.blocks.extend(self._make_block(nf(k + 1), nf(k))
                           for k in range(1, self.max_level + 1))

    def _make_block(self, in_channels: int, out_channels: int) -> nn.Module:
        """Block k >= 1; subclasses (StyleGAN's D) change how it downsamples."""
        return ProGANDiscriminatorBlock(in_channels, out_channels)

    def forward(self, x: Tensor, labels: Tensor | None = None,
                level: float | None = None) -> Tensor:
        _check_no_labels(labels, type(self).__name__)
        level = _check_level(level, self.max_level)
        k, alpha = _fade(level)
        side = resolution_at(k)
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.channels, side, side):
            raise ValueError(f"{type(self).__name__} at level={level:g} expects images "
                             f"(B, {self.channels}, {side}, {side}), got {tuple(x.shape)}; "
                             "feed it images_at_level(x, level)")
        h = self.from_rgb[k](x)
        if k > 0:
            h = self.blocks[k](h)
            if alpha != 1.0:
                h = torch.lerp(self.from_rgb[k - 1](F.avg_pool2d(x, 2)), h, alpha)
            for block in self.blocks[k - 1:0:-1]:
                h = block(h)
        return self.blocks[0](h)

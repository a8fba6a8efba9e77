"""SinGAN's nets and pyramid geometry (Shaham et al. 2019, "SinGAN: Learning a Generative Model
from a Single Natural Image", sec. 2 and fig. 4; the official code's SinGAN/models.py and
functions.py, tamarott/SinGAN).

Each scale n has a generator G_n and a Markovian (patch) discriminator D_n of the same shape:
five conv blocks, each a 3x3 convolution without padding, batch norm and LeakyReLU(0.2), the
last block a plain 3x3 convolution (G: to the image channels, then tanh; D: to one score per
patch). Widths: the head has ``nfc`` channels, body block i (1-based) maps
``max(2 N_i, min_nfc)`` to ``max(N_i, min_nfc)`` channels with ``N_i = nfc / 2^i``, as the
official ``WDiscriminator`` / ``GeneratorConcatSkip2CleanAdd``; ``nfc`` and ``min_nfc`` start at
32 and double every 4 scales up to 128 (:func:`scale_widths`, the official
``min(nfc_init * 2^floor(n / 4), 128)``).

G_n is residual (eq. 2 of the paper): x_n = G_n(z_n + up(x_{n+1})) + up(x_{n+1}). The five
unpadded convolutions take 10 pixels off each side length, so the input is zero-padded by 5 on
each side first, as the official ``ZeroPad2d`` on the noise and on the image (zeros in both, so
padding their sum is the same thing). D sees the image unpadded and scores (H - 10) x (W - 10)
patches of 11x11 pixels.

The pyramid (:func:`pyramid_geometry`) follows the official ``adjust_scales2image`` and
``creat_reals_pyramid`` exactly: the image is first scaled by ``min(max_size / long side, 1)``,
the number of scales comes from ``min_size`` (the coarsest short side, about 25) and the nominal
factor (0.75), and the exact factor r = (min_size / short side) ^ (1 / stop_scale) makes the
coarsest short side exactly ``min_size``; scale n (0 = coarsest) has sides ``ceil(side * r^(N -
n))``, the official ``imresize`` output shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "PyramidGeometry",
    "SinGANDiscriminator",
    "SinGANGenerator",
    "fit_to_max_size",
    "pyramid_geometry",
    "resize",
    "scale_widths",
]

Size = tuple[int, int]


# ----------------------------------------------------------------------------- geometry
def fit_to_max_size(height: int, width: int, max_size: int) -> Size:
    """The training image's size: the source scaled by ``min(max_size / long side, 1)``, each
    side rounded up (the official ``scale1`` and ``imresize``'s ``ceil(side * scale)``)."""
    scale = min(max_size / max(height, width), 1.0)
    if scale == 1.0:
        return int(height), int(width)
    return math.ceil(height * scale), math.ceil(width * scale)


@dataclass(frozen=True)
class PyramidGeometry:
    """The sizes of SinGAN's scales, coarsest first, and the exact scale factor between them."""

    sizes: tuple[Size, ...]
    scale_factor: float

    @property
    def num_scales(self) -> int:
        return len(self.sizes)


def pyramid_geometry(height: int, width: int, min_size: int = 25, max_size: int = 250,
                     scale_factor: float = 0.75) -> PyramidGeometry:
    """The official pyramid of a ``height`` x ``width`` source image (``adjust_scales2image``).

    num_scales = ceil(log_r0(min_size / short)) + 1 and scale2stop = ceil(log_r0(min(max_size,
    long) / long)) with the nominal factor r0 and the source's sides; stop_scale = num_scales -
    scale2stop; the image is scaled to fit ``max_size``; r = (min_size / its short side) ^
    (1 / stop_scale); and the stop_scale + 1 scales have sides ceil(side * r^(stop_scale - n)).
    """
    if not 0.0 < scale_factor < 1.0:
        raise ValueError(f"model.scale_factor={scale_factor}: must be in (0, 1)")
    short, long = min(height, width), max(height, width)
    top = fit_to_max_size(height, width, max_size)
    num_scales = math.ceil(math.log(min_size / short, scale_factor)) + 1 if min_size >= 1 else 0
    scale2stop = math.ceil(math.log(min(max_size, long) / long, scale_factor))
    stop_scale = num_scales - scale2stop
    if not 1 <= min_size < min(top) or stop_scale < 1:
        raise ValueError(f"model.min_size={min_size}: the coarsest scale's short side must be "
                         f"at least 1 and below the training image's ({min(top)} px: a "
                         f"{height}x{width} image at data.max_size={max_size}); lower "
                         "model.min_size or raise data.max_size")
    factor = math.pow(min_size / min(top), 1.0 / stop_scale)
    sizes = []
    for n in range(stop_scale + 1):
        scale = math.pow(factor, stop_scale - n)
        sizes.append(top if scale == 1.0 else (math.ceil(top[0] * scale),
                                               math.ceil(top[1] * scale)))
    return PyramidGeometry(tuple(sizes), factor)


def scale_widths(scale: int, nfc: int = 32, min_nfc: int = 32, max_nfc: int = 128) -> Size:
    """``(nfc, min_nfc)`` of scale ``scale`` (0 = coarsest): both double every 4 scales, capped
    at ``max_nfc`` (the official ``min(nfc_init * pow(2, floor(scale_num / 4)), 128)``)."""
    factor = 2 ** (scale // 4)
    return min(nfc * factor, max_nfc), min(min_nfc * factor, max_nfc)


def resize(images: Tensor, size: Sequence[int]) -> Tensor:
    """Bicubic resizing to ``size`` (antialiased when shrinking): the cubic kernel with a = -0.5
    of MATLAB's ``imresize``, which the official code reimplements; torch's antialiased path
    uses that kernel in both directions."""
    size = (int(size[0]), int(size[1]))
    if tuple(images.shape[-2:]) == size:
        return images
    return F.interpolate(images, size=size, mode="bicubic", align_corners=False, antialias=True)


# ----------------------------------------------------------------------------- nets
def _conv_block(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """3x3 convolution (no padding), batch norm, LeakyReLU(0.2): the official ``ConvBlock``."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(0.2),
    )


def _trunk(channels: int, nfc: int, min_nfc: int, num_layers: int,
           kernel_size: int) -> tuple[nn.Sequential, int]:
    """Head and body blocks (all but the last layer) and the body's output width."""
    if num_layers < 2:
        raise ValueError(f"model.num_layers={num_layers}: must be >= 2 (head and tail)")
    blocks = [_conv_block(channels, nfc, kernel_size)]
    width = nfc
    for i in range(num_layers - 2):
        half = int(nfc / 2 ** (i + 1))
        blocks.append(_conv_block(max(2 * half, min_nfc), max(half, min_nfc), kernel_size))
        width = max(half, min_nfc)
    return nn.Sequential(*blocks), width


def _init_weights(net: nn.Module) -> None:
    """The official ``weights_init``: conv weights N(0, 0.02), batch-norm scales N(1, 0.02) and
    shifts 0; conv biases keep torch's default initialisation."""
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, 0.0, 0.02)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)


class SinGANGenerator(nn.Module):
    """G_n of one scale: ``forward(noise, previous) = tanh(body(pad(noise + previous))) +
    previous`` (eq. 2), where ``noise`` is the scaled noise map sigma_n z_n and ``previous`` the
    upsampled image of the coarser scale (zeros at the coarsest); output size = input size.

    Args:
        channels: image channels.
        nfc, min_nfc: the widths of :func:`scale_widths`.
        num_layers: conv layers (5: head, three body blocks, tail).
        kernel_size: 3.
    """

    def __init__(self, channels: int = 3, nfc: int = 32, min_nfc: int = 32, num_layers: int = 5,
                 kernel_size: int = 3) -> None:
        super().__init__()
        self.body, width = _trunk(channels, nfc, min_nfc, num_layers, kernel_size)
        self.tail = nn.Sequential(nn.Conv2d(width, channels, kernel_size), nn.Tanh())
        # The official pad_noise = pad_image = (ker_size - 1) * num_layer / 2.
        self.padding = (kernel_size - 1) * num_layers // 2
        _init_weights(self)

    def forward(self, noise: Tensor, previous: Tensor) -> Tensor:
        x = F.pad(noise + previous, (self.padding,) * 4)
        return self.tail(self.body(x)) + previous


class SinGANDiscriminator(nn.Module):
    """D_n of one scale (the official ``WDiscriminator``): a map of raw (Wasserstein) scores,
    one per (2 * padding + 1)-pixel patch, (H - 10) x (W - 10) for five 3x3 layers."""

    def __init__(self, channels: int = 3, nfc: int = 32, min_nfc: int = 32, num_layers: int = 5,
                 kernel_size: int = 3) -> None:
        super().__init__()
        self.body, width = _trunk(channels, nfc, min_nfc, num_layers, kernel_size)
        self.tail = nn.Conv2d(width, 1, kernel_size)
        self.receptive_field = (kernel_size - 1) * num_layers + 1
        _init_weights(self)

    def forward(self, images: Tensor) -> Tensor:
        return self.tail(self.body(images))


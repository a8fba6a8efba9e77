"""StyleGAN (v1) generator and discriminator with progressive growing.

Karras, Laine & Aila, "A Style-Based Generator Architecture for Generative Adversarial
Networks" (CVPR 2019), as the official code (NVlabs/stylegan, training/networks_stylegan.py:
G_style, G_mapping, G_synthesis, D_basic). The generator is the mapping network f: Z -> W
(``gan_lab.nets.equalized.MappingNetwork``) followed by a synthesis network that starts from a
learned constant and, in every layer, adds per-pixel noise (sec. 3.2) and applies AdaIN with a
style computed from w (sec. 2, eq. 1); resampling is low-pass filtered with a [1, 2, 1]
binomial filter (sec. 2.1, configuration B). The discriminator is ProGAN's with that filter
before each downsampling.

The growing protocol (level, fade-in, resolutions, ``images_at_level``) is ProGAN's; see
``gan_lab.nets.progan``. Synthesis layer i (two per block, 2 * (L + 1) in all) reads ws[:, i],
so style mixing (sec. 3.1) is done by handing ``synthesis`` a mixed ws tensor.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.nets.equalized import EqualizedConv2d, EqualizedLinear, MappingNetwork
from gan_lab.nets.progan import (
    RELU_GAIN,
    ProGANDiscriminator,
    ProGANDiscriminatorBlock,
    _check_level,
    _check_no_labels,
    _check_unconditional,
    _fade,
    _lrelu,
    _nf,
    max_level,
)

__all__ = [
    "NOISE_MODES",
    "AdaIN",
    "Blur",
    "NoiseInput",
    "StyleGANDiscriminator",
    "StyleGANGenerator",
    "StyleGANLayer",
]

NOISE_MODES = ("random", "const", "none")


class Blur(nn.Module):
    """Separable [1, 2, 1] low-pass filter, normalized to sum 1, per channel with zero "same"
    padding (Karras et al. 2019, sec. 2.1 config B, after Zhang 2019; official blur2d)."""

    def __init__(self, taps: tuple[float, ...] = (1.0, 2.0, 1.0)) -> None:
        super().__init__()
        f = torch.tensor(taps, dtype=torch.float32)
        kernel = f[:, None] * f[None, :]
        self.register_buffer("kernel", (kernel / kernel.sum())[None, None], persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        channels = x.shape[1]
        kernel = self.kernel.to(x.dtype).expand(channels, 1, -1, -1)
        return F.conv2d(x, kernel, padding=self.kernel.shape[-1] // 2, groups=channels)


class NoiseInput(nn.Module):
    """Per-pixel noise input (Karras et al. 2019, sec. 2 / fig. 1b "B", sec. 3.2): one N(0, 1)
    map per sample, shared by all channels and scaled by a learned per-channel weight that
    starts at zero.

    noise_mode "random" draws fresh noise, "const" uses a fixed map drawn at construction
    (the official code's noise variables, saved with the net), "none" adds nothing.
    """

    def __init__(self, channels: int, resolution: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: Tensor, noise_mode: str = "random") -> Tensor:
        if noise_mode == "none":
            return x
        if noise_mode == "const":
            noise = self.noise_const.to(x.dtype)
        else:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device,
                                dtype=x.dtype)
        return x + noise * self.weight.to(x.dtype)[None, :, None, None]


class AdaIN(nn.Module):
    """Adaptive instance normalization (Karras et al. 2019, sec. 2, eq. 1):
    AdaIN(x, y) = y_s * (x - mean(x)) / std(x) + y_b, per sample and channel over the pixels,
    with the style (y_s, y_b) = A(w) an equalized dense layer (gain 1) of w.

    The official code computes y_s as 1 + dense(w) with the bias at 0; here the scale layer's
    bias starts at 1 instead, which is the same function and the same training dynamics.
    """

    def __init__(self, channels: int, w_dim: int, eps: float = 1e-8) -> None:
        super().__init__()
        self.scale = EqualizedLinear(w_dim, channels, bias_init=1.0)
        self.shift = EqualizedLinear(w_dim, channels)
        self.eps = float(eps)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        x = x - x.mean(dim=(2, 3), keepdim=True)
        x = x * (x.square().mean(dim=(2, 3), keepdim=True) + self.eps).rsqrt()
        return x * self.scale(w)[:, :, None, None] + self.shift(w)[:, :, None, None]


class StyleGANLayer(nn.Module):
    """One synthesis layer (Karras et al. 2019, fig. 1b; official layer_epilogue): an optional
    3x3 conv (after nearest 2x upsampling and followed by the blur when ``up``), then noise,
    bias, LeakyReLU(0.2), AdaIN. With ``in_channels=None`` there is no conv (the layer on the
    learned constant). The official code fuses upsampling and conv into a transposed conv at
    >= 128 px (the same function with the stored kernel flipped); this keeps them apart.
    """

    def __init__(self, channels: int, w_dim: int, resolution: int,
                 in_channels: int | None = None, up: bool = False) -> None:
        super().__init__()
        self.up = bool(up)
        self.conv = (None if in_channels is None
                     else EqualizedConv2d(in_channels, channels, 3, bias=False, gain=RELU_GAIN))
        self.blur = Blur() if self.up else None
        self.noise = NoiseInput(channels, resolution)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.adain = AdaIN(channels, w_dim)

    def forward(self, x: Tensor, w: Tensor, noise_mode: str = "random") -> Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.conv is not None:
            x = self.conv(x)
        if self.blur is not None:
            x = self.blur(x)
        x = self.noise(x, noise_mode)
        x = _lrelu(x + self.bias.to(x.dtype)[None, :, None, None])
        return self.adain(x, w)


class StyleGANGenerator(nn.Module):
    """StyleGAN generator (Karras et al. 2019, sec. 2, fig. 1b; official G_style).

    ``mapping``: 8-layer MLP (lr multiplier 0.01, sec. 2 / appendix C) emitting ``num_ws``
    = 2 * (L + 1) copies of w, tracking w_avg for the truncation trick (appendix B).
    Synthesis: learned constant 4x4 input (init 1), block 0 = [const layer, conv layer],
    block k >= 1 = [up-conv layer, conv layer], layer i reading ws[:, i]; a linear 1x1 toRGB
    per block; ProGAN's level / fade-in protocol (``gan_lab.nets.progan``).

    forward(z, labels=None, level=None, truncation_psi=1.0, truncation_cutoff=None,
    noise_mode="random", update_w_avg=False) -> (B, channels, r, r), r = resolution_at(level).
    Only unconditional nets are implemented (num_classes must be 0, labels None).
    """

    def __init__(self, z_dim: int = 512, w_dim: int = 512, image_size: int = 1024,
                 channels: int = 3, mapping_layers: int = 8, mapping_lr_multiplier: float = 0.01,
                 fmap_base: int = 8192, fmap_decay: float = 1.0, fmap_max: int = 512,
                 w_avg_beta: float = 0.995, num_classes: int = 0) -> None:
        super().__init__()
        _check_unconditional(num_classes, type(self).__name__)
        self.max_level = max_level(image_size)
        self.image_size, self.channels = image_size, int(channels)
        self.z_dim, self.w_dim = int(z_dim), int(w_dim)
        self.num_ws = 2 * (self.max_level + 1)
        self.mapping = MappingNetwork(z_dim, w_dim, num_ws=self.num_ws, num_layers=mapping_layers,
                                      lr_multiplier=mapping_lr_multiplier, w_avg_beta=w_avg_beta)
        nf = _nf(fmap_base, fmap_decay, fmap_max)
        self.const = nn.Parameter(torch.ones(1, nf(1), 4, 4))
        layers = [StyleGANLayer(nf(1), w_dim, 4), StyleGANLayer(nf(1), w_dim, 4, nf(1))]
        for k in range(1, self.max_level + 1):
            side = 4 * 2**k
            layers += [StyleGANLayer(nf(k + 1), w_dim, side, nf(k), up=True),
                       StyleGANLayer(nf(k + 1), w_dim, side, nf(k + 1))]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = nn.ModuleList(EqualizedConv2d(nf(k + 1), channels, 1)
                                    for k in range(self.max_level + 1))

    def _block(self, k: int, x: Tensor, ws: Tensor, noise_mode: str) -> Tensor:
        for i in (2 * k, 2 * k + 1):
            x = self.layers[i](x, ws[:, i], noise_mode)
        return x

    def synthesis(self, ws: Tensor, level: float | None = None,
                  noise_mode: str = "random") -> Tensor:
        """ws (B, num_ws, w_dim) -> images (B, channels, r, r); layer i uses ws[:, i]."""
        if ws.dim() != 3 or tuple(ws.shape[1:]) != (self.num_ws, self.w_dim):
            raise ValueError(f"{type(self).__name__}.synthesis expects ws of shape "
                             f"(B, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode={noise_mode!r}: must be one of {', '.join(NOISE_MODES)}")
        k, alpha = _fade(_check_level(level, self.max_level))
        x = self.const.to(ws.dtype).expand(ws.shape[0], -1, -1, -1)
        for j in range(k):
            x = self._block(j, x, ws, noise_mode)
        new = self.to_rgb[k](self._block(k, x, ws, noise_mode))
        if k == 0 or alpha == 1.0:
            return new
        old = F.interpolate(self.to_rgb[k - 1](x), scale_factor=2, mode="nearest")
        return torch.lerp(old, new, alpha)

    def forward(self, z: Tensor, labels: Tensor | None = None, level: float | None = None,
                truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                noise_mode: str = "random", update_w_avg: bool = False) -> Tensor:
        _check_no_labels(labels, type(self).__name__)
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"{type(self).__name__} expects z of shape (B, {self.z_dim}), "
                             f"got {tuple(z.shape)}")
        ws = self.mapping(z, None, truncation_psi=truncation_psi,
                          truncation_cutoff=truncation_cutoff, update_w_avg=update_w_avg)
        return self.synthesis(ws, level=level, noise_mode=noise_mode)


class StyleGANDiscriminator(ProGANDiscriminator):
    """StyleGAN discriminator (Karras et al. 2019, sec. 2.1 config B; official D_basic): the
    ProGAN discriminator with the [1, 2, 1] blur before each downsampling conv. Same
    parameters, signature and growing protocol as ``ProGANDiscriminator``.
    """

    def _make_block(self, in_channels: int, out_channels: int) -> nn.Module:
        return ProGANDiscriminatorBlock(in_channels, out_channels, blur=Blur())

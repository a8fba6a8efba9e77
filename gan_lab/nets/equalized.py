"""Layers of the Karras family (ProGAN, StyleGAN, StyleGAN2): equalized learning rate, pixel
norm, minibatch standard deviation, and the mapping network.

Equalized learning rate (Karras et al. 2018, "Progressive Growing of GANs", sec. 4.1): weights
are stored as N(0, 1) / lr_multiplier and scaled at run time by the He constant
``gain / sqrt(fan_in)`` times ``lr_multiplier``, so that Adam's per-parameter step sizes are
equal for every layer. ``lr_multiplier`` < 1 slows a layer down (StyleGAN's mapping network uses
0.01, Karras et al. 2019, sec. 2 / appendix C).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "EqualizedConv2d",
    "EqualizedLinear",
    "MappingNetwork",
    "MinibatchStddev",
    "PixelNorm",
    "normalize_2nd_moment",
]


class EqualizedLinear(nn.Module):
    """y = x (w * c)^T + b * lr_multiplier, c = lr_multiplier * gain / sqrt(in_features).

    ``activation="lrelu"`` applies LeakyReLU(0.2) times sqrt(2) (the gain that keeps unit
    variance, as the official code's bias_act); "linear" applies nothing.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 bias_init: float = 0.0, lr_multiplier: float = 1.0, gain: float = 1.0,
                 activation: str = "linear") -> None:
        super().__init__()
        if activation not in ("linear", "lrelu"):
            raise ValueError(f"activation={activation!r}: must be linear or lrelu")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier * gain / math.sqrt(in_features)
        self.bias_gain = lr_multiplier
        self.activation = activation

    def forward(self, x: Tensor) -> Tensor:
        bias = None if self.bias is None else self.bias * self.bias_gain
        x = F.linear(x, self.weight * self.weight_gain, bias)
        return lrelu_gain(x) if self.activation == "lrelu" else x

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"activation={self.activation}")


class EqualizedConv2d(nn.Module):
    """Conv2d with run-time He scaling ``gain / sqrt(in_channels * k * k)`` ("same" padding)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 gain: float = 1.0, activation: str = "linear") -> None:
        super().__init__()
        if activation not in ("linear", "lrelu"):
            raise ValueError(f"activation={activation!r}: must be linear or lrelu")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = int(kernel_size)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.activation = activation

    def forward(self, x: Tensor) -> Tensor:
        weight = (self.weight * self.weight_gain).to(x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        x = F.conv2d(x, weight, bias, padding=self.kernel_size // 2)
        return lrelu_gain(x) if self.activation == "lrelu" else x

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"activation={self.activation}")


def lrelu_gain(x: Tensor) -> Tensor:
    """LeakyReLU(0.2) * sqrt(2): the activation of the Karras-family nets, variance-preserving."""
    return F.leaky_relu(x, 0.2) * math.sqrt(2.0)


def normalize_2nd_moment(x: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over ``dim`` (StyleGAN's input normalization of z)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


class PixelNorm(nn.Module):
    """Pixelwise feature vector normalization (Karras et al. 2018, sec. 4.2, eq. 2):
    b_{x,y} = a_{x,y} / sqrt(1/N sum_j (a^j_{x,y})^2 + 1e-8), over the channels."""

    def forward(self, x: Tensor) -> Tensor:
        return normalize_2nd_moment(x, dim=1)


class MinibatchStddev(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018, sec. 3), as the official code does it.

    The batch is split into groups of ``group_size`` samples (i.e. sample i belongs to group
    i mod (B / group_size)); within a group, the standard deviation of each feature at each
    position is taken over the group's samples and averaged over ``num_channels`` channel
    groups and all positions; the result is appended as ``num_channels`` constant feature maps.
    """

    def __init__(self, group_size: int = 4, num_channels: int = 1) -> None:
        super().__init__()
        self.group_size, self.num_channels = int(group_size), int(num_channels)

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, height, width = x.shape
        group = min(self.group_size, batch)
        if batch % group:
            raise ValueError(f"MinibatchStddev: batch {batch} is not a multiple of the group "
                             f"size {group}")
        feats = self.num_channels
        y = x.reshape(group, -1, feats, channels // feats, height, width)
        y = y - y.mean(dim=0)
        y = (y.square().mean(dim=0) + 1e-8).sqrt()          # (B/G, F, C/F, H, W)
        y = y.mean(dim=(2, 3, 4))                            # (B/G, F)
        y = y.reshape(-1, feats, 1, 1).repeat(group, 1, height, width)
        return torch.cat([x, y], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_channels={self.num_channels}"


class MappingNetwork(nn.Module):
    """StyleGAN's mapping f: Z -> W (Karras et al. 2019, sec. 2): ``num_layers`` equalized FC
    layers with LeakyReLU, ``lr_multiplier`` 0.01, z normalized to unit second moment first.

    With ``num_classes`` > 0 an embedding of the label (normalized alike) is concatenated to z
    (StyleGAN2-ADA's conditional mapping). ``w_avg`` tracks the mean w during training
    (``update_w_avg=True``, momentum ``w_avg_beta``) for the truncation trick
    w' = w_avg + psi (w - w_avg) (Karras et al. 2019, appendix B), applied to the first ``cutoff`` of the
    ``num_ws`` broadcast copies (all when None).

    forward(z, labels) -> ws of shape (B, num_ws, w_dim).
    """

    def __init__(self, z_dim: int = 512, w_dim: int = 512, num_ws: int = 1, num_layers: int = 8,
                 num_classes: int = 0, lr_multiplier: float = 0.01,
                 w_avg_beta: float = 0.995, normalize_z: bool = True) -> None:
        super().__init__()
        if int(num_layers) < 1:
            raise ValueError(f"num_layers={num_layers}: the mapping needs at least one layer")
        self.z_dim, self.w_dim, self.num_ws = int(z_dim), int(w_dim), int(num_ws)
        self.num_classes = int(num_classes)
        self.w_avg_beta = float(w_avg_beta)
        self.normalize_z = bool(normalize_z)
        self.embed = EqualizedLinear(self.num_classes, w_dim) if self.num_classes else None
        width = [self.z_dim + (w_dim if self.num_classes else 0)] + [w_dim] * int(num_layers)
        self.layers = nn.Sequential(*(
            EqualizedLinear(width[i], width[i + 1], lr_multiplier=lr_multiplier,
                            activation="lrelu")
            for i in range(int(num_layers))))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: Tensor, labels: Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, update_w_avg: bool = False) -> Tensor:
        x = normalize_2nd_moment(z) if self.normalize_z else z
        if self.embed is not None:
            if labels is None:
                raise ValueError("this mapping network is conditional: pass labels")
            one_hot = F.one_hot(labels.long().reshape(-1), self.num_classes).to(z.dtype)
            x = torch.cat([x, normalize_2nd_moment(self.embed(one_hot))], dim=1)
        w = self.layers(x)
        if update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().float().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        ws = w[:, None, :].repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            cutoff = self.num_ws if truncation_cutoff is None else int(truncation_cutoff)
            ws[:, :cutoff] = self.w_avg.to(ws.dtype).lerp(ws[:, :cutoff], truncation_psi)
        return ws

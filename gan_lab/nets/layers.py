"""Building blocks shared by the networks: the DCGAN initialisation, argument checks."""

from __future__ import annotations

import torch
from torch import Tensor, nn

_WEIGHTED = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)


@torch.no_grad()
def init_dcgan_weights_(module: nn.Module) -> nn.Module:
    """DCGAN initialisation, in place (Radford et al. 2016, sec. 4).

    Every conv, transposed conv and linear weight ~ N(0, 0.02) with zero bias; every
    BatchNorm scale ~ N(1, 0.02) with zero shift. Walks all submodules of ``module``, so
    call it once on the root (it is also safe inside ``module.apply``). Returns ``module``.
    """
    for m in module.modules():
        if isinstance(m, _WEIGHTED):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def positive_int(name: str, value: int) -> int:
    """``value`` as an int; ValueError naming ``name`` unless it is an integer >= 1."""
    if isinstance(value, bool) or int(value) < 1:
        raise ValueError(f"{name}={value}: must be a positive integer")
    return int(value)


def check_size_multiple(net: nn.Module, x: Tensor, multiple: int, why: str = "") -> None:
    """ValueError unless ``x`` is (B, C, H, W) with H and W multiples of ``multiple`` (fully
    convolutional generators that downsample and upsample back need it); ``why`` names where
    the multiple comes from, e.g. ``"2^num_downs = "``."""
    if x.dim() != 4 or x.shape[2] % multiple or x.shape[3] % multiple:
        raise ValueError(
            f"{type(net).__name__} expects (B, C, H, W) with H and W multiples of "
            f"{why}{multiple}, got {tuple(x.shape)}"
        )


def input_channels(net: nn.Module) -> int:
    """Channels a network takes: those of its first convolution."""
    for layer in net.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            return int(layer.in_channels)
    raise ValueError(f"{type(net).__name__} has no convolution to read its input channels from")

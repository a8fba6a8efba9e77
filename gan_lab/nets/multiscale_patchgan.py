"""The multi-scale PatchGAN discriminator of pix2pixHD and SPADE, with intermediate features.

Wang et al., "High-Resolution Image Synthesis and Semantic Manipulation with Conditional GANs"
(pix2pixHD, CVPR 2018, sec. 3.2: multi-scale discriminators and the feature-matching loss), as
SPADE uses it (Park et al. 2019, appendix A, fig. 12; official ``MultiscaleDiscriminator`` and
``NLayerDiscriminator`` in ``models/networks/discriminator.py``):

- each scale is a PatchGAN of 4x4 convs with padding 2 (the official ``ceil((4 - 1) / 2)``): a
  first stride-2 conv to nf channels with LeakyReLU(0.2) and no norm, then ``n_layers - 1`` convs
  doubling the channels (at most 512), stride 2 except the last (stride 1), each with spectral
  norm and instance norm (official ``norm_D = spectralinstance``; the conv bias dropped before
  the norm), then a stride-1 conv to one channel (the patch scores);
- ``num_d`` scales: the input is average-pooled (3x3, stride 2, padding 1, padding not counted)
  between them;
- the forward returns, per scale, the output of every layer: the intermediate features feed the
  feature-matching loss, the last entry is the score map.

The input is the one-hot label map (plus the instance edge channel) concatenated with the image.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.nets.layers import positive_int
from gan_lab.nets.spade import xavier_init_
from gan_lab.nets.spectral import spectral_norm

__all__ = ["MultiscaleDiscriminator", "NLayerDiscriminator", "layer_strides"]

KERNEL = 4
PADDING = 2  # official padw = ceil((kw - 1) / 2)
MAX_WIDTH = 512


def layer_strides(n_layers: int) -> list[int]:
    """Strides of one scale's convs: 2 for the first, 2 for the normed ones except the last of
    them (1), 1 for the score conv."""
    return [2] + [1 if n == n_layers - 1 else 2 for n in range(1, n_layers)] + [1]


def _downsample(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=2, padding=1, count_include_pad=False)


class NLayerDiscriminator(nn.Module):
    """One scale (official ``NLayerDiscriminator``): x (B, C, H, W) -> list of ``n_layers + 1``
    layer outputs, the last the (B, 1, h, w) patch scores."""

    def __init__(self, in_channels: int, width: int = 64, n_layers: int = 4,
                 spectral: bool = True, norm: str = "instance") -> None:
        super().__init__()
        if norm not in ("instance", "none"):
            raise ValueError(f"norm={norm!r}: must be instance (official) or none")
        c_in, nf = positive_int("in_channels", in_channels), positive_int("width", width)
        self.n_layers = positive_int("n_layers", n_layers)
        layers = [nn.Sequential(xavier_init_(nn.Conv2d(c_in, nf, KERNEL, 2, PADDING)),
                                nn.LeakyReLU(0.2))]
        for n in range(1, self.n_layers):
            previous, nf = nf, min(nf * 2, MAX_WIDTH)
            stride = 1 if n == self.n_layers - 1 else 2
            conv = xavier_init_(nn.Conv2d(previous, nf, KERNEL, stride, PADDING,
                                          bias=norm == "none"))
            parts: list[nn.Module] = [spectral_norm(conv, enabled=spectral)]
            if norm == "instance":
                parts.append(nn.InstanceNorm2d(nf, affine=False))
            layers.append(nn.Sequential(*parts, nn.LeakyReLU(0.2)))
        layers.append(nn.Sequential(xavier_init_(nn.Conv2d(nf, 1, KERNEL, 1, PADDING))))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> list[Tensor]:
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        return outputs


class MultiscaleDiscriminator(nn.Module):
    """``num_d`` :class:`NLayerDiscriminator` at successively halved resolutions.

    ``forward(x)`` -> a list (one per scale, finest first) of lists of layer outputs; the last of
    each is that scale's score map. ``min_size`` is the smallest input side the coarsest scale
    still judges (a score map of at least 1x1; instance norm needs more than one value per
    channel, so every normed layer's map must have at least 2 pixels).

    Args:
        in_channels: label channels + image channels.
        width: ndf (official 64).
        n_layers: official ``n_layers_D`` 4.
        num_d: official 2 scales.
        spectral: spectral norm on the normed convs (official ``spectralinstance``).
        norm: ``instance`` (official) or ``none``.
    """

    def __init__(self, in_channels: int, width: int = 64, n_layers: int = 4, num_d: int = 2,
                 spectral: bool = True, norm: str = "instance") -> None:
        super().__init__()
        self.num_d = positive_int("num_d", num_d)
        self.n_layers = positive_int("n_layers", n_layers)
        self.scales = nn.ModuleList(
            NLayerDiscriminator(in_channels, width, n_layers, spectral, norm)
            for _ in range(self.num_d))
        self.min_size = self._min_size()

    def _min_size(self) -> int:
        side = 1
        while not self._fits(side):
            side += 1
        return side

    def _fits(self, side: int) -> bool:
        for _ in range(self.num_d):
            if not self._scale_fits(side):
                return False
            side = (side + 2 - 3) // 2 + 1
        return True

    def _scale_fits(self, side: int) -> bool:
        for i, stride in enumerate(layer_strides(self.n_layers)):
            side = (side + 2 * PADDING - KERNEL) // stride + 1
            if side < 1 or (0 < i < self.n_layers and side * side < 2):
                return False
        return True

    def forward(self, x: Tensor) -> list[list[Tensor]]:
        if x.dim() != 4 or min(x.shape[2:]) < self.min_size:
            raise ValueError(f"MultiscaleDiscriminator(num_d={self.num_d}, n_layers="
                             f"{self.n_layers}) expects (B, C, H, W) with sides >= "
                             f"{self.min_size}, got {tuple(x.shape)}")
        results = []
        for index, scale in enumerate(self.scales):
            if index:
                x = _downsample(x)
            results.append(scale(x))
        return results

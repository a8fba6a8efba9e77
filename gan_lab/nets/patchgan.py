"""PatchGAN (Markovian) discriminator of pix2pix, also CycleGAN's discriminator.

Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks" (CVPR 2017),
sec. 3.2.2 and appendix 6.1.2: the 70x70 discriminator C64-C128-C256-C512 (4x4 convs,
LeakyReLU(0.2), no BatchNorm on C64) then a conv to one channel, giving one score per
overlapping patch; n_layers = 0 is the 1x1 PixelGAN of sec. 4.4. Zhu et al., "Unpaired
Image-to-Image Translation using Cycle-Consistent Adversarial Networks" (ICCV 2017), appendix
7.2, uses the same 70x70 net with instance norm on a single image. Appendix 6.1 says every
conv has stride 2, but 70x70 needs the authors' code's stride 1 for C512 and the output conv,
which is what is built here; the paper's final sigmoid is left to the loss (logits out).
"""

from __future__ import annotations

from torch import Tensor, nn

from gan_lab.nets.layers import init_dcgan_weights_
from gan_lab.nets.norm import check_norm, conv_bias, norm_layer


def _check_n_layers(n_layers: int) -> int:
    if isinstance(n_layers, bool) or int(n_layers) != n_layers or n_layers < 0:
        raise ValueError(f"n_layers={n_layers}: must be an integer >= 0 (3: 70x70 patches)")
    return int(n_layers)


def conv_geometry(n_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of each conv of the net, input side first."""
    n = _check_n_layers(n_layers)
    if n == 0:
        return [(1, 1)] * 3
    return [(4, 2)] * n + [(4, 1), (4, 1)]


def _padding(kernel: int) -> int:
    """1 for the 4x4 convs (as the authors' code), 0 for the PixelGAN's 1x1 convs."""
    return (kernel - 1) // 2


def receptive_field(n_layers: int) -> int:
    """Side of the input window one output score sees (1, 16, 34, 70, 142, 286, ...)."""
    side = 1
    for kernel, stride in reversed(conv_geometry(n_layers)):
        side = (side - 1) * stride + kernel
    return side


def min_input_size(n_layers: int) -> int:
    """Smallest input side that still yields a 1x1 score map (24 for n_layers = 3)."""
    side = 1
    for kernel, stride in reversed(conv_geometry(n_layers)):
        side = (side - 1) * stride + kernel - 2 * _padding(kernel)
    return side


class PatchDiscriminator(nn.Module):
    """PatchGAN: x (B, in_channels, H, W) -> (B, 1, h, w) raw scores (logits, no sigmoid).

    n_layers >= 1: 4x4 convs, padding 1; n_layers of stride 2 with width * min(2^i, 8)
    channels (no norm on the first), one of stride 1 with width * min(2^n_layers, 8), then a
    stride-1 conv to one channel. n_layers = 0: 1x1 convs width, 2 * width (normed), 1.
    pix2pix conditions D by concatenating input and output, so in_channels = in + out.
    """

    def __init__(
        self, in_channels: int = 6, width: int = 64, n_layers: int = 3, norm: str = "batch",
    ) -> None:
        super().__init__()
        geometry = conv_geometry(n_layers)
        for name, value in (("in_channels", in_channels), ("width", width)):
            if int(value) < 1:
                raise ValueError(f"{name}={value}: must be a positive integer")
        check_norm(norm)
        self.n_layers = int(n_layers)
        self.norm = norm
        self.receptive_field = receptive_field(self.n_layers)
        self.min_size = min_input_size(self.n_layers)

        if self.n_layers == 0:
            chans = [int(in_channels), int(width), 2 * int(width)]
        else:
            chans = [int(in_channels)] + [int(width) * min(2**i, 8) for i in range(n_layers + 1)]
        layers: list[nn.Module] = []
        for i, (kernel, stride) in enumerate(geometry[:-1]):
            first = i == 0
            layers.append(nn.Conv2d(
                chans[i], chans[i + 1], kernel, stride, _padding(kernel),
                bias=first or conv_bias(norm),
            ))
            if not first:
                layers.append(norm_layer(norm, chans[i + 1]))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        kernel, stride = geometry[-1]
        layers.append(nn.Conv2d(chans[-1], 1, kernel, stride, _padding(kernel)))
        self.net = nn.Sequential(*layers)
        init_dcgan_weights_(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or min(x.shape[2:]) < self.min_size:
            raise ValueError(
                f"PatchDiscriminator(n_layers={self.n_layers}) expects (B, C, H, W) with sides"
                f" >= {self.min_size}, got {tuple(x.shape)}; use fewer n_layers for small images"
            )
        return self.net(x)

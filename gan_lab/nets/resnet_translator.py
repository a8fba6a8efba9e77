"""ResNet generator of CycleGAN.

Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks" (ICCV 2017), sec. 4 and appendix 7.2, after Johnson et al. (2016):
c7s1-64, d128, d256, R256 x n_blocks, u128, u64, c7s1-3 with instance norm and ReLU, reflection
padding, tanh output; 6 blocks for 128x128 images, 9 for 256x256. Weights ~ N(0, 0.02)
(appendix 7.1).
"""

from __future__ import annotations

from torch import Tensor, nn

from gan_lab.nets.layers import check_size_multiple, init_dcgan_weights_
from gan_lab.nets.norm import check_norm, conv_bias, norm_layer

PADDINGS = ("reflect", "replicate", "zero")


def _pad(padding: str, size: int) -> tuple[nn.Module, int]:
    """(explicit padding layer, padding argument for the conv) for a 'same' conv."""
    if padding == "reflect":
        return nn.ReflectionPad2d(size), 0
    if padding == "replicate":
        return nn.ReplicationPad2d(size), 0
    if padding == "zero":
        return nn.Identity(), size  # let the conv pad
    raise ValueError(f"padding={padding!r}: must be one of {', '.join(PADDINGS)}")


class ResnetBlock(nn.Module):
    """R{channels}: x + [pad, conv3x3, norm, ReLU, (dropout), pad, conv3x3, norm](x)."""

    def __init__(
        self, channels: int, norm: str = "instance", dropout: float = 0.0,
        padding: str = "reflect",
    ) -> None:
        super().__init__()
        bias = conv_bias(norm)
        pad1, p1 = _pad(padding, 1)
        pad2, p2 = _pad(padding, 1)
        layers: list[nn.Module] = [
            pad1, nn.Conv2d(channels, channels, 3, 1, p1, bias=bias), norm_layer(norm, channels),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [
            pad2, nn.Conv2d(channels, channels, 3, 1, p2, bias=bias), norm_layer(norm, channels),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN generator (Zhu et al. 2017, appendix 7.2): x (B, in, H, W) -> (B, out, H, W).

    c7s1-k is a 7x7 stride-1 conv, norm, ReLU; dk a 3x3 stride-2 conv, norm, ReLU; Rk a
    residual block; uk a 3x3 stride-1/2 transposed conv (padding 1, output_padding 1), norm,
    ReLU. The 7x7 and residual convs pad by ``padding``; the stride-2 convs zero-pad, as in
    the authors' code. Two halvings, so H and W must be multiples of ``size_multiple`` = 4.
    """

    size_multiple = 4

    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, width: int = 64, n_blocks: int = 9,
        norm: str = "instance", dropout: float = 0.0, padding: str = "reflect",
    ) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("width", width)):
            if int(value) < 1:
                raise ValueError(f"{name}={value}: must be a positive integer")
        if int(n_blocks) < 0:
            raise ValueError(f"n_blocks={n_blocks}: must be an integer >= 0 (paper: 6 or 9)")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout={dropout}: must be a probability in [0, 1)")
        _pad(padding, 1)  # validates before anything is built
        check_norm(norm)
        self.n_blocks = int(n_blocks)
        self.norm = norm
        self.padding = padding
        bias = conv_bias(norm)
        w = int(width)

        pad, p = _pad(padding, 3)
        layers: list[nn.Module] = [
            pad, nn.Conv2d(int(in_channels), w, 7, 1, p, bias=bias), norm_layer(norm, w),
            nn.ReLU(inplace=True),
        ]
        for c in (w, 2 * w):  # d128, d256
            layers += [
                nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), norm_layer(norm, 2 * c),
                nn.ReLU(inplace=True),
            ]
        layers += [ResnetBlock(4 * w, norm, float(dropout), padding) for _ in range(self.n_blocks)]
        for c in (4 * w, 2 * w):  # u128, u64
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias),
                norm_layer(norm, c // 2), nn.ReLU(inplace=True),
            ]
        pad, p = _pad(padding, 3)
        layers += [pad, nn.Conv2d(w, int(out_channels), 7, 1, p), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights_(self)

    def forward(self, x: Tensor) -> Tensor:
        check_size_multiple(self, x, self.size_multiple)
        return self.net(x)

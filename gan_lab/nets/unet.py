"""U-Net generator of pix2pix.

Isola, Zhu, Zhou & Efros, "Image-to-Image Translation with Conditional Adversarial Networks"
(CVPR 2017), sec. 3.2.1 and appendix 6.1.1. Encoder C64-C128-C256-C512-C512-C512-C512-C512 of
4x4 stride-2 convs with LeakyReLU(0.2), no BatchNorm on the first layer; decoder of 4x4
stride-2 transposed convs with ReLU, dropout 0.5 in its first three layers (CD512), and skip
connections concatenating encoder layer i with decoder layer n - i; tanh output. Weights
~ N(0, 0.02) (appendix 6.2). As in the authors' code the bottleneck conv has no norm either
(a 1x1 map has no spatial statistics for instance norm, nor any for BatchNorm at batch size 1).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gan_lab.nets.layers import check_size_multiple, init_dcgan_weights_
from gan_lab.nets.norm import check_norm, conv_bias, norm_layer

MAX_DOWNS = 8  # the paper's 256x256 net: its bottleneck is 1x1
DROPOUT_LAYERS = 3  # CD512 x 3 at the top of the decoder


def unet_num_downs(image_size: int, num_downs: int | None = None) -> int:
    """The number of stride-2 encoder layers; ``None`` means min(8, log2(image_size))."""
    size = int(image_size)
    if num_downs is None:
        if size < 4 or size & (size - 1):
            raise ValueError(
                f"image_size={image_size}: with num_downs unset the U-Net needs a power of two"
                " >= 4 (num_downs = min(8, log2 image_size)); else set num_downs"
            )
        num_downs = min(MAX_DOWNS, size.bit_length() - 1)
    if int(num_downs) < 2:
        raise ValueError(f"num_downs={num_downs}: a U-Net needs at least 2 downsamplings")
    num_downs = int(num_downs)
    if size < 1 or size % 2**num_downs:
        raise ValueError(
            f"image_size={image_size}, num_downs={num_downs}: image_size must be a positive"
            f" multiple of 2^num_downs = {2**num_downs}"
        )
    return num_downs


class UnetGenerator(nn.Module):
    """pix2pix U-Net (Isola et al. 2017, appendix 6.1.1): x (B, in, H, W) -> (B, out, H, W).

    Encoder layer i (0-based) is a 4x4 stride-2 conv to width * min(2^i, 8) channels. The
    activations sit at the start of each block (LeakyReLU in the encoder, ReLU in the decoder)
    so that the skip connections carry the normalised encoder features, the decoder
    activation acting on the concatenation. H and W must be multiples of ``size_multiple`` =
    2^num_downs; ``image_size`` only fixes the default depth (1x1 bottleneck up to 256 px).
    Dropout (p = ``dropout``; 0 disables) follows the norm of the three innermost decoder
    layers, i.e. the first three after the bottleneck, never the output layer.
    """

    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, image_size: int = 256,
        num_downs: int | None = None, width: int = 64, norm: str = "batch", dropout: float = 0.5,
    ) -> None:
        super().__init__()
        n = unet_num_downs(image_size, num_downs)
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("width", width)):
            if int(value) < 1:
                raise ValueError(f"{name}={value}: must be a positive integer")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout={dropout}: must be a probability in [0, 1)")
        check_norm(norm)
        self.image_size = int(image_size)
        self.num_downs = n
        self.size_multiple = 2**n
        self.norm = norm
        self.dropout = float(dropout)

        chans = [int(width) * min(2**i, 8) for i in range(n)]
        encoder: list[nn.Module] = [nn.Conv2d(int(in_channels), chans[0], 4, 2, 1)]
        for i in range(1, n):
            innermost = i == n - 1
            encoder.append(nn.Sequential(
                nn.LeakyReLU(0.2),
                nn.Conv2d(chans[i - 1], chans[i], 4, 2, 1, bias=innermost or conv_bias(norm)),
                nn.Identity() if innermost else norm_layer(norm, chans[i]),
            ))
        self.encoder = nn.ModuleList(encoder)

        # Decoder layer j works at the resolution of encoder layer n-1-j; from j = 1 on its
        # input is [encoder features, previous decoder output], hence twice the channels.
        decoder: list[nn.Module] = []
        for j in range(n):
            level = n - 1 - j
            c_in = chans[level] * (1 if j == 0 else 2)
            if level == 0:
                decoder.append(nn.Sequential(
                    nn.ReLU(), nn.ConvTranspose2d(c_in, int(out_channels), 4, 2, 1), nn.Tanh(),
                ))
                continue
            block: list[nn.Module] = [
                nn.ReLU(),
                nn.ConvTranspose2d(c_in, chans[level - 1], 4, 2, 1, bias=conv_bias(norm)),
                norm_layer(norm, chans[level - 1]),
            ]
            if j < DROPOUT_LAYERS and self.dropout > 0:
                block.append(nn.Dropout(self.dropout))
            decoder.append(nn.Sequential(*block))
        self.decoder = nn.ModuleList(decoder)
        init_dcgan_weights_(self)

    def forward(self, x: Tensor) -> Tensor:
        check_size_multiple(self, x, self.size_multiple, "2^num_downs = ")
        skips: list[Tensor] = []
        h = x
        for block in self.encoder:
            h = block(h)
            skips.append(h)
        h = skips.pop()  # the bottleneck feeds the decoder directly, without a skip
        for j, block in enumerate(self.decoder):
            if j:
                h = torch.cat([skips.pop(), h], dim=1)
            h = block(h)
        return h

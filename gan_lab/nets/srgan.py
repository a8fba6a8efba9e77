"""SRResNet and the SRGAN discriminator.

Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
Network" (CVPR 2017), sec. 2.1 and Fig. 4. The official code was never published; the layer
lists here follow Fig. 4 and, where the figure is silent, the widely used PyTorch
reimplementation Lornatang/SRGAN-PyTorch (``model.py``): one shared PReLU slope per layer
(``nn.PReLU()``), no conv bias before a batch norm, He-normal conv weights in G, logits out of D
(the sigmoid is the loss's).

- Generator (SRResNet): k9n64s1 + PReLU; B = 16 residual blocks (k3n64s1, BN, PReLU, k3n64s1,
  BN, elementwise sum); k3n64s1 + BN and the long skip from the first layer; log2(scale)
  upsampling blocks (k3n256s1, pixel shuffle x2, PReLU: the sub-pixel convolution of Shi et al.
  2016); k9n3s1. The paper scales LR inputs to [0, 1] and HR targets to [-1, 1] (sec. 3.2): G
  takes gan_lab's [-1, 1] images and maps them to [0, 1] first; its output is linear (Fig. 4
  has no output activation), read as [-1, 1].
- Discriminator: k3n64s1 + LeakyReLU(0.2); seven conv-BN-LeakyReLU blocks k3n64s2, k3n128s1,
  k3n128s2, k3n256s1, k3n256s2, k3n512s1, k3n512s2; dense 1024, LeakyReLU, dense 1. The dense
  layer sees the whole 512 x (S/16)^2 map, so D judges HR patches of one size S (96 in the paper).

At the paper's settings (width 64, 16 blocks, x4; D on 96x96) G has 1,547,350 parameters and D
23,563,649 (counted by hand from the layer lists in tests/test_srgan.py).
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.nets.layers import positive_int
from gan_lab.nets.norm import check_norm, conv_bias, norm_layer

__all__ = ["SRGANDiscriminator", "SRResNet", "SRResidualBlock", "SubPixelUpsample"]


def check_scale(scale: int, key: str = "scale") -> int:
    """``scale`` if it is a power of two >= 2 (one pixel-shuffle x2 block per octave)."""
    if isinstance(scale, bool) or int(scale) != scale or scale < 2 or int(scale) & (int(scale) - 1):
        raise ValueError(f"{key}={scale!r}: SRResNet upsamples by 2 per pixel-shuffle block, so "
                         "the scale must be a power of two: 2, 4 (the paper) or 8")
    return int(scale)


class SRResidualBlock(nn.Module):
    """x + BN(conv3x3(PReLU(BN(conv3x3(x))))), the residual block of Fig. 4 (after Gross and
    Wilber's ResNet variant, sec. 2.1)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.PReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SubPixelUpsample(nn.Module):
    """Doubles the resolution: conv3x3 to 4C channels, pixel shuffle x2 (Shi et al. 2016: out
    channel c at (2h + i, 2w + j) is in channel 4c + 2i + j at (h, w)), PReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 4 * channels, 3, 1, 1)
        self.act = nn.PReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(F.pixel_shuffle(self.conv(x), 2))


class SRResNet(nn.Module):
    """SRResNet, SRGAN's generator: LR (B, C, h, w) in [-1, 1] -> SR (B, C, scale*h, scale*w).

    Args:
        scale: upscaling factor, a power of two (4 in the paper).
        width: feature maps of the body (64 in the paper).
        blocks: residual blocks B (16 in the paper).
        channels: image channels (3).
    """

    size_multiple = 1  # fully convolutional at the LR resolution: any input size

    def __init__(self, scale: int = 4, width: int = 64, blocks: int = 16, channels: int = 3) -> None:
        super().__init__()
        self.scale = check_scale(scale)
        width = positive_int("width", width)
        blocks = positive_int("blocks", blocks)
        self.channels = positive_int("channels", channels)
        self.head = nn.Sequential(nn.Conv2d(self.channels, width, 9, 1, 4), nn.PReLU())
        self.body = nn.Sequential(*(SRResidualBlock(width) for _ in range(blocks)))
        self.body_end = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(width))
        self.upsample = nn.Sequential(*(SubPixelUpsample(width)
                                        for _ in range(int(math.log2(self.scale)))))
        self.tail = nn.Conv2d(width, self.channels, 9, 1, 4)
        for module in self.modules():  # He-normal conv weights, zero biases (as the reference)
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, lr: Tensor) -> Tensor:
        features = self.head((lr + 1.0) / 2.0)  # the paper's LR range [0, 1] (sec. 3.2)
        features = features + self.body_end(self.body(features))  # the long skip
        return self.tail(self.upsample(features))


class SRGANDiscriminator(nn.Module):
    """SRGAN's VGG-style discriminator: HR patches (B, C, S, S) -> (B, 1) logits.

    Args:
        image_size: side S of the patches it judges (a multiple of 16: four stride-2 convs
            before the dense layer; 96 in the paper).
        width: channels of the first conv (64); the blocks double it every two convs up to 8x.
        channels: image channels (3).
        hidden: units of the first dense layer (1024).
        norm: ``batch`` (the paper); ``layer`` or ``none`` for losses with gradient penalties,
            whose per-sample gradients batch norm would mix.
    """

    def __init__(self, image_size: int = 96, width: int = 64, channels: int = 3,
                 hidden: int = 1024, norm: str = "batch") -> None:
        super().__init__()
        self.image_size = positive_int("image_size", image_size)
        if self.image_size % 16:
            raise ValueError(f"image_size={image_size}: the SRGAN discriminator halves the patch "
                             "four times before its dense layer; use a multiple of 16 (96)")
        width = positive_int("width", width)
        check_norm(norm)
        self.norm = norm
        self.min_size = self.image_size  # it judges exactly this size
        widths = [width, width, 2 * width, 2 * width, 4 * width, 4 * width, 8 * width, 8 * width]
        layers: list[nn.Module] = [nn.Conv2d(positive_int("channels", channels), width, 3, 1, 1),
                                   nn.LeakyReLU(0.2)]
        for index in range(1, len(widths)):
            stride = 2 if index % 2 else 1
            layers += [nn.Conv2d(widths[index - 1], widths[index], 3, stride, 1,
                                 bias=conv_bias(norm)),
                       norm_layer(norm, widths[index]), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        side = self.image_size // 16
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(widths[-1] * side * side, positive_int("hidden", hidden)),
            nn.LeakyReLU(0.2), nn.Linear(int(hidden), 1))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError(f"SRGANDiscriminator judges {self.image_size}x{self.image_size} "
                             f"patches (its dense layer fixes the size), got {tuple(x.shape)}")
        return self.classifier(self.features(x))

"""The "standard CNN" generator and discriminator of SNGAN.

Miyato et al., "Spectral Normalization for GANs" (ICLR 2018), appendix B, table 3, for CIFAR-10
(M = 32, first map M_g = 4) and STL-10 (M = 48, M_g = 6); any side 8 * M_g works (16 px: M_g = 2).
Layer details follow the official chainer code (pfnet-research/chainer-gan-lib ``common/net.py``,
``DCGANGenerator`` and ``SNDCGANDiscriminator``, which the paper's CNN experiments used):

- G: z (128) -> linear to (512, M_g, M_g), BN, ReLU; three 4x4 stride-2 deconvs halving the
  channels (BN, ReLU each); 3x3 conv to the image, tanh. The BN after the linear normalises each
  of its M_g * M_g * 512 outputs (a 1-d BN, as the chainer code).
- D: conv3x3 64, conv4x4/2 64, conv3x3 128, conv4x4/2 128, conv3x3 256, conv4x4/2 256, conv3x3
  512, each followed by LeakyReLU(0.1) (the paper's slope; chainer's default, which the official
  code leaves in place, is 0.2), then a linear from (512, M_g, M_g) to 1. Spectral norm on every
  layer; no batch norm.

Weights ~ N(0, 0.02) as the official code; biases zero. ``width`` is the widest layer (512).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gan_lab.nets.conditioning import LabelEmbedding, ProjectionHead
from gan_lab.nets.spectral import spectral_norm as normalised


def cnn_geometry(image_size: int) -> int:
    """M_g: the side of the first map, image_size / 8; ValueError unless a positive multiple of 8."""
    size = image_size[0] if isinstance(image_size, (list, tuple)) and len(set(image_size)) == 1 \
        else image_size
    if not isinstance(size, int) or isinstance(size, bool) or size < 8 or size % 8:
        raise ValueError(f"image_size={image_size}: SNGAN's standard CNN makes square images of "
                         "8 * M_g pixels (16, 32, 48, ...)")
    return size // 8


def _multiple_of_8(name: str, value: int) -> int:
    if isinstance(value, bool) or int(value) < 8 or int(value) % 8:
        raise ValueError(f"{name}={value}: must be a positive multiple of 8")
    return int(value)


def _init_(net: nn.Module) -> None:
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            nn.init.zeros_(module.bias)


class SNGANCNNGenerator(nn.Module):
    """SNGAN's standard CNN generator (Miyato et al. 2018, table 3 (a)).

    ``num_classes`` > 0 joins an embedding of the label to z (a conditional GAN, Mirza & Osindero
    2014; not in the paper). forward(z, labels=None) -> (B, channels, M, M) in [-1, 1].
    """

    def __init__(self, latent_dim: int = 128, image_size: int = 32, channels: int = 3,
                 width: int = 512, num_classes: int = 0) -> None:
        super().__init__()
        self.bottom = cnn_geometry(image_size)
        self.image_size = 8 * self.bottom
        self.latent_dim = int(latent_dim)
        self.channels = int(channels)
        self.width = _multiple_of_8("width", width)
        if self.latent_dim < 1 or self.channels < 1:
            raise ValueError(f"latent_dim={latent_dim}, channels={channels}: must be positive")
        self.condition = LabelEmbedding(num_classes)
        c, m = self.width, self.bottom
        self.linear = nn.Linear(self.latent_dim + self.condition.dim, c * m * m)
        self.linear_norm = nn.BatchNorm1d(c * m * m)
        layers: list[nn.Module] = []
        for _ in range(3):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.Conv2d(c, self.channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        _init_(self)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if z.dim() == 4:
            z = z.flatten(1)
        h = torch.relu(self.linear_norm(self.linear(self.condition(z, labels))))
        return self.net(h.view(z.shape[0], self.width, self.bottom, self.bottom))


class SNGANCNNDiscriminator(nn.Module):
    """SNGAN's standard CNN discriminator (Miyato et al. 2018, table 3 (b)), every layer
    spectrally normalised (``spectral_norm`` false gives the unnormalised baseline).

    ``num_classes`` > 0 adds the projection <embed(y), sum-pooled features> (Miyato & Koyama 2018,
    eq. 3; not in the SNGAN paper). forward(x, labels=None) -> (B,) raw scores.
    """

    def __init__(self, image_size: int = 32, channels: int = 3, width: int = 512,
                 num_classes: int = 0, spectral_norm: bool = True, slope: float = 0.1) -> None:
        super().__init__()
        self.bottom = cnn_geometry(image_size)
        self.image_size = 8 * self.bottom
        self.channels = int(channels)
        self.width = _multiple_of_8("width", width)
        c = self.width // 8
        specs = [(self.channels, c, 3, 1), (c, c, 4, 2), (c, 2 * c, 3, 1), (2 * c, 2 * c, 4, 2),
                 (2 * c, 4 * c, 3, 1), (4 * c, 4 * c, 4, 2), (4 * c, 8 * c, 3, 1)]
        layers: list[nn.Module] = []
        for c_in, c_out, k, s in specs:
            layers += [nn.Conv2d(c_in, c_out, k, s, 1), nn.LeakyReLU(slope, inplace=True)]
        self.net = nn.Sequential(*layers)
        self.linear = nn.Linear(self.width * self.bottom ** 2, 1)
        self.projection = ProjectionHead(num_classes, self.width) if num_classes else None
        _init_(self)
        for module in list(self.modules()):
            if isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
                normalised(module, spectral_norm)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        expected = (self.channels, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"SNGANCNNDiscriminator expects input (B, {expected[0]}, "
                             f"{expected[1]}, {expected[2]}), got {tuple(x.shape)}")
        h = self.net(x)
        scores = self.linear(h.flatten(1)).flatten()
        if self.projection is not None:
            scores = scores + self.projection(h.sum(dim=(2, 3)), labels)
        return scores


__all__ = ["SNGANCNNDiscriminator", "SNGANCNNGenerator", "cnn_geometry"]

"""StarGAN's generator and two-headed discriminator, and the target vectors of its transfers.

Choi et al., "StarGAN: Unified Generative Adversarial Networks for Multi-Domain Image-to-Image
Translation" (CVPR 2018), sec. 3 and appendix 7.2 (Tables 4 and 5), as the authors' code
(yunjey/stargan, model.py) builds them:

- G (Table 4): the target attribute vector c is tiled over the image and concatenated to its
  channels; a 7x7 conv to ``width`` channels, two 4x4 stride-2 convs (doubling), ``num_blocks``
  residual blocks (two 3x3 convs), two 4x4 stride-2 transposed convs (halving), a 7x7 conv to the
  image channels and tanh. Every conv but the last is followed by instance norm (affine, with
  running statistics as the official code) and ReLU; no conv has a bias (the norm's shift
  replaces it); zero padding, which the official code notes the tiled labels need.
- D (Table 5): a PatchGAN of ``num_layers`` 4x4 stride-2 convs (with bias), each followed by
  LeakyReLU(0.01), doubling from ``width`` channels, no normalisation; two heads on the last map:
  D_src, a 3x3 conv to one channel (a score per patch), and D_cls, a conv whose kernel covers
  the whole map (image_size / 2^num_layers) to one logit per attribute.

Weights keep PyTorch's default initialisation, as the official code.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["HAIR_COLOURS", "StarGANDiscriminator", "StarGANGenerator", "single_attribute_targets"]

# The CelebA attributes the official code treats as one exclusive group in its test-time target
# vectors (solver.py, ``create_labels``): choosing one hair colour turns the others off.
HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r}: must be an integer >= 1")
    return value


def _norm(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=True, track_running_stats=True)


class StarGANResidualBlock(nn.Module):
    """x + [conv3x3, IN, ReLU, conv3x3, IN](x), convs without bias (Table 4, "Bottleneck")."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), _norm(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), _norm(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class StarGANGenerator(nn.Module):
    """G(x, c): images (B, channels, H, W) in [-1, 1] and target attributes (B, c_dim) ->
    translated images (B, channels, H, W) in [-1, 1]; H and W multiples of 4.

    Args:
        c_dim: attributes in the conditioning vector (5 for the paper's CelebA setting).
        width: channels of the first conv (the official ``g_conv_dim``, 64).
        num_blocks: residual blocks (the official ``g_repeat_num``, 6).
        channels: image channels (3).
    """

    size_multiple = 4  # two stride-2 downsamplings

    def __init__(self, c_dim: int = 5, width: int = 64, num_blocks: int = 6,
                 channels: int = 3) -> None:
        super().__init__()
        self.c_dim = _positive("c_dim", c_dim)
        self.channels = _positive("channels", channels)
        width = _positive("width", width)
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 0:
            raise ValueError(f"num_blocks={num_blocks!r}: must be an integer >= 0")
        layers: list[nn.Module] = [
            nn.Conv2d(channels + c_dim, width, 7, 1, 3, bias=False), _norm(width),
            nn.ReLU(inplace=True),
        ]
        current = width
        for _ in range(2):  # down-sampling
            layers += [nn.Conv2d(current, 2 * current, 4, 2, 1, bias=False), _norm(2 * current),
                       nn.ReLU(inplace=True)]
            current *= 2
        layers += [StarGANResidualBlock(current) for _ in range(num_blocks)]
        for _ in range(2):  # up-sampling
            layers += [nn.ConvTranspose2d(current, current // 2, 4, 2, 1, bias=False),
                       _norm(current // 2), nn.ReLU(inplace=True)]
            current //= 2
        layers += [nn.Conv2d(current, channels, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        if c.dim() != 2 or c.shape != (x.shape[0], self.c_dim):
            raise ValueError(f"target attributes of shape {tuple(c.shape)}: the generator takes "
                             f"(batch, {self.c_dim}) for {x.shape[0]} images")
        tiled = c.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return self.main(torch.cat([x, tiled], dim=1))


class StarGANDiscriminator(nn.Module):
    """D(x) -> (D_src (B, 1, h, w) raw scores per patch, D_cls (B, c_dim) attribute logits).

    Args:
        image_size: side of the (square) training images; D_cls's kernel covers
            image_size / 2^num_layers, so D judges this size only.
        c_dim: attributes D classifies.
        width: channels of the first conv (the official ``d_conv_dim``, 64).
        num_layers: stride-2 convs (the official ``d_repeat_num``); None: log2(image_size) - 1,
            a 2x2 last map as the official 6 layers at 128x128.
        channels: image channels (3).
    """

    def __init__(self, image_size: int = 128, c_dim: int = 5, width: int = 64,
                 num_layers: int | None = None, channels: int = 3) -> None:
        super().__init__()
        image_size = _positive("image_size", image_size)
        self.c_dim = _positive("c_dim", c_dim)
        width = _positive("width", width)
        if num_layers is None:
            num_layers = max(1, image_size.bit_length() - 2)  # log2(size) - 1 for powers of 2
        num_layers = _positive("num_layers", num_layers)
        if image_size % 2**num_layers:
            raise ValueError(
                f"image_size={image_size}: D's {num_layers} stride-2 convs need sides that are "
                f"multiples of {2**num_layers} (its classification head covers the last map); "
                "change data.image_size or model.discriminator.num_layers")
        self.image_size, self.num_layers = image_size, num_layers
        layers: list[nn.Module] = []
        current, out = _positive("channels", channels), width
        for _ in range(num_layers):
            layers += [nn.Conv2d(current, out, 4, 2, 1), nn.LeakyReLU(0.01)]
            current, out = out, 2 * out
        self.main = nn.Sequential(*layers)
        self.src = nn.Conv2d(current, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(current, c_dim, image_size // 2**num_layers, bias=False)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.main(x)
        return self.src(h), self.cls(h).flatten(1)


def single_attribute_targets(source: Tensor, names: Sequence[str]) -> list[Tensor]:
    """The target vectors of the paper's single-attribute transfers (Fig. 4; the official
    ``create_labels``): for each attribute k, ``source`` (B, c_dim) with attribute k flipped; for
    a hair colour of :data:`HAIR_COLOURS`, that colour on and the other hair colours off."""
    if source.dim() != 2 or source.shape[1] != len(names):
        raise ValueError(f"attributes of shape {tuple(source.shape)} for {len(names)} names")
    hair = [i for i, name in enumerate(names) if name in HAIR_COLOURS]
    targets = []
    for k in range(len(names)):
        target = source.clone()
        if k in hair:
            target[:, hair] = 0.0
            target[:, k] = 1.0
        else:
            target[:, k] = 1.0 - target[:, k]
        targets.append(target)
    return targets

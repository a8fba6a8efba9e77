"""ResNet generator and discriminator of SNGAN, also SAGAN's nets.

Miyato et al., "Spectral Normalization for GANs" (ICLR 2018), appendix B, tables 4-6 (CIFAR-10
and STL-10) and the ImageNet nets of Miyato & Koyama, "cGANs with Projection Discriminator"
(ICLR 2018); channel layouts as the official chainer code (pfnet-research/sngan_projection:
``gen_models/resnet_32.py``, ``resnet_64.py``, ``resnet.py``; ``dis_models/snresnet_32.py``,
``snresnet_64.py``, ``snresnet.py``; ``resblocks.py``):

- G: linear z -> (C0, M, M); residual up blocks (BN, ReLU, nearest 2x upsampling, conv3x3, BN,
  ReLU, conv3x3; shortcut: upsampling + conv1x1); BN, ReLU, conv3x3 to the image, tanh.
  Class-conditional BN in the blocks when ``num_classes`` > 0 (Miyato & Koyama 2018, sec. 4).
- D: an "optimized" first block (conv, ReLU, conv, avg-pool; shortcut avg-pool + conv1x1), pre-
  activation residual blocks (ReLU, conv, ReLU, conv, avg-pool; shortcut conv1x1 + avg-pool), ReLU,
  global sum pooling, linear to 1, plus the projection <embed(y), phi(x)> (Miyato & Koyama 2018,
  eq. 3) when conditional. Every D layer (the embedding too) is spectrally normalised.

SAGAN (Zhang et al. 2019, sec. 4-5; brain-research/self-attention-gan ``generator_test`` /
``discriminator_test``) is the same ResNet with spectral norm in G as well, "wide" D blocks (the
hidden conv has the block's output width) and a self-attention block after the block that outputs
the ``attention`` resolution (32 at 128 px) in G and in D.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from gan_lab.nets.attention import SelfAttention
from gan_lab.nets.conditional_norm import ClassConditionalBatchNorm2d
from gan_lab.nets.layers import positive_int
from gan_lab.nets.spectral import is_spectrally_normalised, spectral_norm


def resnet_geometry(image_size: int) -> tuple[int, int]:
    """(M, k): a square image of M * 2^k pixels, k >= 1 up blocks from an M x M first map, M = 6
    when the side is a multiple of 3 (STL-10's 48 px) and 4 otherwise; ValueError else."""
    if isinstance(image_size, Sequence) and not isinstance(image_size, str):
        sides = list(image_size)
        if len(sides) == 2 and sides[0] == sides[1]:
            image_size = sides[0]
        else:
            raise ValueError(f"image_size={image_size}: the ResNet GANs make square images")
    size = int(image_size)
    bottom = 6 if size % 3 == 0 else 4
    k = (size // bottom).bit_length() - 1
    if size < 2 * bottom or size != bottom << k:
        raise ValueError(
            f"image_size={image_size}: the ResNet GANs make images of 4 * 2^k or 6 * 2^k pixels, "
            "k >= 1 (8, 12, 16, 24, 32, 48, 64, 128, ...)")
    return bottom, k


def sngan_layout(image_size: int) -> dict:
    """The channel layout of SNGAN's ResNets at ``image_size`` (multipliers of ``width``).

    ``g``: the first map's multiplier then each up block's output; ``d``: (output multiplier,
    downsample) per D block, the first the optimized block; ``widths``: the official default
    (G, D) base widths; ``bias``: whether D's last linear has a bias. 32 px: the chainer
    ``resnet_32`` / ``snresnet_32`` (G 256 and D 128 channels throughout, D: two down blocks then
    two at 8x8, no bias), and 16 px the same pattern; 48 px: the paper's table 6 (STL-10); 64 and
    128 px: ``resnet_64`` / ``snresnet_64`` and ``resnet`` / ``snresnet``. Other sizes extrapolate
    the 128 px pattern (channels halving from 16 * width, D doubling up to 16 * width)."""
    bottom, k = resnet_geometry(image_size)
    size = bottom << k
    if size in (16, 32):
        return {"g": [1] * (k + 1), "d": [(1, True), (1, True), (1, False), (1, False)],
                "widths": (256, 128), "bias": False}
    if size == 48:
        d = [(1, True), (2, True), (4, True), (8, True), (16, False)]
    elif size == 64:
        d = [(1, True), (2, True), (4, True), (8, True), (16, True)]
    else:
        d = [(min(16, 2 ** i), True) for i in range(k)] + [(min(16, 2 ** k), False)]
    g = [min(16, 2 ** k)] + [min(16, 2 ** (k - 1 - i)) for i in range(k)]
    return {"g": g, "d": d, "widths": (64, 64), "bias": True}


def _resolution(value: float | int | None, name: str) -> int | None:
    if value is None:
        return None
    if float(value) != int(value) or int(value) < 1:
        raise ValueError(f"{name}={value}: a feature-map side in pixels (e.g. 32) or null")
    return int(value)


def _attention_index(attention: int | None, resolutions: list[int], net: str) -> int | None:
    """The block after which the attention block sits: the first whose output is that size."""
    if attention is None:
        return None
    if attention not in resolutions:
        raise ValueError(f"attention={attention}: no {net} block outputs {attention}x{attention} "
                         f"maps (its blocks output {sorted(set(resolutions))}); use one of these "
                         "or null")
    return resolutions.index(attention)


def init_weight_(layer: nn.Module, style: str, gain: float = 1.0) -> nn.Module:
    """Initialise a conv, linear or embedding layer in place (before or after spectral norm).

    "xavier": Glorot uniform with ``gain`` and zero biases (the chainer SNGAN code: gain sqrt(2)
    for the 3x3 convs of the residual branches, 1 elsewhere); "ortho": orthogonal weights, biases
    left at torch's default (BigGAN-PyTorch's ``G_init = D_init = 'ortho'``). A spectrally
    normalised layer is re-initialised through its unnormalised weight and its power-iteration
    vectors recomputed for the new weight.
    """
    normalised = is_spectrally_normalised(layer)
    if normalised:
        parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    with torch.no_grad():
        if style == "ortho":
            nn.init.orthogonal_(layer.weight)
        else:
            nn.init.xavier_uniform_(layer.weight, gain=gain)
            if getattr(layer, "bias", None) is not None:
                nn.init.zeros_(layer.bias)
    if normalised:
        spectral_norm(layer)
    return layer


def _layer(layer: nn.Module, init: str, sn: bool, gain: float = 1.0) -> nn.Module:
    return spectral_norm(init_weight_(layer, init, gain), sn)


class GBlock(nn.Module):
    """Residual up block of SNGAN's G (Miyato et al. 2018, fig. 8 (b); BigGAN's ``GBlock``):
    x -> conv(ReLU(BN(conv(up(ReLU(BN(x))))))) + conv1x1(up(x)). ``norm(channels)`` builds the
    batch norms, called as norm(h, condition) (labels for class-conditional BN, a vector for
    BigGAN's linear-conditional BN)."""

    def __init__(self, c_in: int, c_out: int, norm: Callable[[int], nn.Module],
                 spectral_norm: bool = False, init: str = "xavier") -> None:
        super().__init__()
        residual_gain = 2 ** 0.5
        self.norm1, self.norm2 = norm(c_in), norm(c_out)
        self.conv1 = _layer(nn.Conv2d(c_in, c_out, 3, padding=1), init, spectral_norm, residual_gain)
        self.conv2 = _layer(nn.Conv2d(c_out, c_out, 3, padding=1), init, spectral_norm,
                            residual_gain)
        self.shortcut = _layer(nn.Conv2d(c_in, c_out, 1), init, spectral_norm)

    def forward(self, x: Tensor, condition: Tensor | None = None) -> Tensor:
        h = F.interpolate(F.relu(self.norm1(x, condition)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), condition)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """Residual block of SNGAN's D (Miyato et al. 2018, fig. 8 (b); chainer ``dis_models/
    resblocks.py``). ``first``: the "optimized" input block (conv, ReLU, conv, pool; shortcut
    pool + conv1x1); otherwise pre-activation (ReLU, conv, ReLU, conv, [pool]; shortcut [conv1x1,
    pool]). The hidden conv has the input width (SNGAN) or, ``wide``, the output width (SAGAN,
    BigGAN's ``D_wide``). The shortcut conv exists when the block downsamples or changes width."""

    def __init__(self, c_in: int, c_out: int, downsample: bool = True, first: bool = False,
                 wide: bool = False, spectral_norm: bool = True, init: str = "xavier") -> None:
        super().__init__()
        hidden = c_out if wide or first else c_in
        gain = 2 ** 0.5
        self.first, self.downsample = first, downsample or first
        self.conv1 = _layer(nn.Conv2d(c_in, hidden, 3, padding=1), init, spectral_norm, gain)
        self.conv2 = _layer(nn.Conv2d(hidden, c_out, 3, padding=1), init, spectral_norm, gain)
        learnable = first or downsample or c_in != c_out
        self.shortcut = _layer(nn.Conv2d(c_in, c_out, 1), init, spectral_norm) if learnable else None

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        if self.first:
            return h + self.shortcut(F.avg_pool2d(x, 2))
        if self.shortcut is not None:
            x = self.shortcut(x)
        return h + (F.avg_pool2d(x, 2) if self.downsample else x)


class ResNetGenerator(nn.Module):
    """SNGAN's ResNet generator (Miyato et al. 2018, tables 4 and 6; chainer ``gen_models``).

    ``width``: the base channel count ("ch"; null = the official default: 256 at 16/32 px, where
    every layer has ``width`` channels, 64 at 48 px and above, where the first map has 8 or 16 *
    width channels, halving per block). ``num_classes`` > 0: class-conditional BN in the blocks
    (Miyato & Koyama 2018). ``spectral_norm``: also normalise G's layers (SAGAN, sec. 4).
    ``attention``: a self-attention block after the block that outputs that resolution (SAGAN:
    32 at 128 px). Init as the chainer code: Glorot uniform, gain sqrt(2) for the residual 3x3
    convs, 1 for the shortcuts, the input linear and the output conv; zero biases.
    forward(z, labels=None) -> (B, channels, image_size, image_size) in [-1, 1].
    """

    def __init__(self, latent_dim: int = 128, image_size: int = 32, channels: int = 3,
                 width: int | None = None, num_classes: int = 0, spectral_norm: bool = False,
                 attention: int | None = None) -> None:
        super().__init__()
        bottom, k = resnet_geometry(image_size)
        layout = sngan_layout(image_size)
        self.latent_dim = positive_int("latent_dim", latent_dim)
        self.image_size = bottom << k
        self.channels = positive_int("channels", channels)
        self.width = positive_int("width", width if width is not None else layout["widths"][0])
        self.num_classes = int(num_classes)
        self.bottom = bottom
        sn = bool(spectral_norm)
        chs = [m * self.width for m in layout["g"]]
        self.linear = _layer(nn.Linear(self.latent_dim, chs[0] * bottom ** 2), "xavier", sn)
        norm = lambda c: ClassConditionalBatchNorm2d(c, self.num_classes)  # noqa: E731
        self.blocks = nn.ModuleList(
            GBlock(chs[i], chs[i + 1], norm, sn) for i in range(k))
        resolutions = [bottom << i for i in range(k + 1)]   # the input map, then each block
        index = _attention_index(_resolution(attention, "attention"), resolutions, "generator")
        self.attention_after = None if index is None else index - 1   # -1: after the linear
        self.attention = (SelfAttention(chs[self.attention_after + 1], spectral_norm=sn)
                          if self.attention_after is not None else None)
        self.out_norm = nn.BatchNorm2d(chs[-1])
        self.out_conv = _layer(nn.Conv2d(chs[-1], self.channels, 3, padding=1), "xavier", sn)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if z.dim() == 4:
            z = z.flatten(1)
        if self.num_classes and labels is None:
            raise ValueError(f"this generator is conditional on {self.num_classes} classes: "
                             "pass labels")
        labels = labels.reshape(-1) if self.num_classes else None
        h = self.linear(z).view(z.shape[0], -1, self.bottom, self.bottom)
        if self.attention_after == -1:
            h = self.attention(h)
        for i, block in enumerate(self.blocks):
            h = block(h, labels)
            if i == self.attention_after:
                h = self.attention(h)
        return torch.tanh(self.out_conv(F.relu(self.out_norm(h))))


class ResNetDiscriminator(nn.Module):
    """SNGAN's ResNet discriminator (Miyato et al. 2018, tables 5 and 6; chainer ``dis_models
    /snresnet*.py``), with the projection of Miyato & Koyama 2018 (eq. 3) when ``num_classes`` >
    0: D(x, y) = w^T phi(x) + <embed(y), phi(x)>, phi(x) the sum-pooled ReLU features, the
    embedding spectrally normalised as the official ``SNResNetProjectionDiscriminator``.

    ``width``: the base channel count (null = official default: 128 at 16/32 px, every block that
    wide; 64 at 48 px and above, doubling per block up to 16 * width). ``spectral_norm`` (default
    true) normalises every layer. ``wide``: hidden convs as wide as the block output (SAGAN and
    BigGAN; SNGAN false). ``attention``: self-attention after the first block that outputs that
    resolution (SAGAN: 32 at 128 px). forward(x, labels=None) -> (B,) raw scores.
    """

    def __init__(self, image_size: int = 32, channels: int = 3, width: int | None = None,
                 num_classes: int = 0, spectral_norm: bool = True,
                 attention: int | None = None, wide: bool = False) -> None:
        super().__init__()
        layout = sngan_layout(image_size)
        self.width = positive_int("width", width if width is not None else layout["widths"][1])
        blocks = [(m * self.width, down) for m, down in layout["d"]]
        self._build(image_size, channels, blocks, num_classes, spectral_norm, attention, wide,
                    "xavier", layout["bias"])

    def _build(self, image_size: int, channels: int, blocks: list[tuple[int, bool]],
               num_classes: int, spectral_norm: bool, attention: int | None, wide: bool,
               init: str, bias: bool) -> None:
        """Build the trunk from (output channels, downsample) per block (the first optimized)."""
        bottom, k = resnet_geometry(image_size)
        self.image_size = bottom << k
        self.channels = positive_int("channels", channels)
        self.num_classes = int(num_classes)
        sn = bool(spectral_norm)
        self.blocks = nn.ModuleList()
        c_in, side, resolutions = self.channels, self.image_size, []
        for i, (c_out, down) in enumerate(blocks):
            self.blocks.append(DBlock(c_in, c_out, down, first=i == 0, wide=wide,
                                      spectral_norm=sn, init=init))
            side //= 2 if down or i == 0 else 1
            resolutions.append(side)
            c_in = c_out
        self.attention_after = _attention_index(_resolution(attention, "attention"),
                                                resolutions, "discriminator")
        self.attention = None
        if self.attention_after is not None:
            self.attention = SelfAttention(blocks[self.attention_after][0], spectral_norm=sn)
            if init == "ortho":
                for conv in (self.attention.query, self.attention.key, self.attention.value,
                             self.attention.out):
                    init_weight_(conv, init)
        self.linear = _layer(nn.Linear(c_in, 1, bias=bias), init, sn)
        self.embed = (_layer(nn.Embedding(self.num_classes, c_in), init, sn)
                      if self.num_classes else None)

    def features(self, x: Tensor) -> Tensor:
        """phi(x): the globally sum-pooled ReLU features, (B, C)."""
        expected = (self.channels, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"{type(self).__name__} expects input (B, {expected[0]}, "
                             f"{expected[1]}, {expected[2]}), got {tuple(x.shape)}")
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attention_after:
                h = self.attention(h)
        return F.relu(h).sum(dim=(2, 3))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        phi = self.features(x)
        scores = self.linear(phi).flatten()
        if self.embed is not None:
            if labels is None:
                raise ValueError(f"this discriminator is conditional on {self.num_classes} "
                                 "classes: pass labels")
            scores = scores + (self.embed(labels.reshape(-1)) * phi).sum(dim=1)
        return scores


__all__ = ["DBlock", "GBlock", "ResNetDiscriminator", "ResNetGenerator", "init_weight_",
           "resnet_geometry", "sngan_layout"]

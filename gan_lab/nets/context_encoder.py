"""Context encoder nets: an encoder-decoder generator that fills a hole, and its discriminator.

Pathak et al. 2016, "Context Encoders: Feature Learning by Inpainting", sec. 3.1 and fig. 2,
held against the official inpainting code (pathak22/context-encoder, train.lua for the central
region and train_random.lua for arbitrary regions; Torch, DCGAN-style layers):

- Encoder (train.lua's netE): stride-2 4x4 convolutions, the first with LeakyReLU(0.2) only,
  the others with BatchNorm + LeakyReLU(0.2), down to 8 * width maps of 4 x 4 (128 px crops:
  64, 64, 128, 256, 512 channels; 64 px crops, train_random.lua: 64, 128, 256, 512).
- Bottleneck, ``bottleneck="channel_fc"`` (the paper's, sec. 3.1): a channel-wise fully
  connected layer (:class:`ChannelWiseFC`: each of the m = 8 * width maps of n x n = 4 x 4 is
  fully connected within itself, m n^4 weights and no parameter across channels), then a stride-1
  1x1 convolution that propagates information across channels. ``bottleneck="conv"`` is what
  the official train.lua does instead: a 4x4 convolution to ``bottleneck_channels`` x 1 x 1
  (nBottleneck: 4000 in the README's inpainting command) and a 4x4 up-convolution back to
  4 x 4, each followed by BatchNorm and a LeakyReLU / ReLU; the paper's fig. 9b inpainting net
  is this one, the channel-wise layer being its AlexNet feature-learning net (fig. 9a).
- Decoder: stride-2 4x4 up-convolutions with BatchNorm + ReLU, halving the channels down to
  ``decoder_width``, the last to the image channels with tanh. It stops at the hole's size:
  with ``mask="center"`` the generator outputs only the ``hole_size`` centre (train.lua: 64 x 64
  of a 128 crop); with random masks it outputs the whole image (train_random.lua).

The discriminator (train.lua's netD, the unconditioned one the paper uses: sec. 3.2.2) is the
encoder's stack on the region it judges (the hole_size centre for ``mask="center"``, the whole
image otherwise) and a 4x4 convolution to one raw score per image (the sigmoid lives in the
loss). No convolution has a bias: the official code zeroes every convolution's bias before each
step (``m.bias:zero()`` in fDx / fGx), so its nets train without them; BatchNorm's shift plays
that role. Weights: N(0, 0.02), BatchNorm scales N(1, 0.02) (its weights_init).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gan_lab.nets.layers import init_dcgan_weights_, positive_int
from gan_lab.nets.norm import check_norm, norm_layer

__all__ = ["BOTTLENECKS", "ChannelWiseFC", "ContextEncoderDiscriminator",
           "ContextEncoderGenerator", "hole_side", "predicted_size"]

BOTTLENECKS = ("channel_fc", "conv")
# The context encoder's mask kinds (gan_lab.losses.masked.MASKS; nets do not import losses):
# "center" predicts the centre square, the random kinds the whole image.
_MASK_KINDS = ("center", "random_block", "random_region")
_FIRST_MAP = 4  # the encoder's last and the decoder's first maps are 4 x 4


def _steps(size: int) -> int | None:
    """k when size = 4 * 2^k with k >= 1, else None."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 8 or size % _FIRST_MAP:
        return None
    ratio = size // _FIRST_MAP
    return ratio.bit_length() - 1 if ratio & (ratio - 1) == 0 else None


def hole_side(image_size: int, hole_size: int | None) -> int:
    """``hole_size``, or half the image side when it is None (the paper's 64 of 128)."""
    return image_size // 2 if hole_size is None and isinstance(image_size, int) else hole_size


def predicted_size(image_size: int, hole_size: int | None, mask: str) -> int:
    """The side of what the generator predicts (and the discriminator judges): the hole for
    ``mask="center"``, the whole image otherwise; ValueError naming the keys when the sizes
    do not fit (the hole must be smaller than the image; both 4 * 2^k pixels). ``hole_size``
    None: half the image side."""
    hole_size = hole_side(image_size, hole_size)
    if mask not in _MASK_KINDS:
        raise ValueError(f"model.mask={mask!r}: must be one of {', '.join(_MASK_KINDS)}")
    if _steps(image_size) is None or image_size < 16:
        raise ValueError(f"data.image_size={image_size}: the context encoder takes square images "
                         "of 4 * 2^k pixels, at least 16 (16, 32, 64, 128, ...)")
    if isinstance(hole_size, bool) or not isinstance(hole_size, int) or hole_size < 1:
        raise ValueError(f"model.hole_size={hole_size!r}: must be a positive integer")
    if hole_size >= image_size:
        raise ValueError(f"model.hole_size={hole_size} must be smaller than data.image_size="
                         f"{image_size}: the hole is cut from the image (the paper: 64 of 128)")
    if mask != "center":
        return image_size
    if _steps(hole_size) is None:
        raise ValueError(f"model.hole_size={hole_size}: the centre generator outputs the hole, "
                         "which must be 4 * 2^k pixels (8, 16, 32, 64, ...)")
    return hole_size


def _down_widths(steps: int, width: int) -> list[int]:
    """Channels of the ``steps`` stride-2 convolutions: the last four are width x 1, 2, 4, 8 (the
    official 64 px stack), earlier ones width (its 128 px stack has one more of 64)."""
    return [width * 2 ** max(0, 3 - (steps - i)) for i in range(1, steps + 1)]


def _up_widths(steps: int, width: int) -> list[int]:
    """Channels after each of the decoder's first ``steps - 1`` up-convolutions: width x 4, 2, 1,
    then width (the official 64 / 128 px decoders); the last makes the image channels."""
    return [width * 2 ** max(0, 3 - j) for j in range(1, steps)]


def conv_stack(channels: int, size: int, width: int, norm: str = "batch") -> nn.Sequential:
    """train.lua's netE / netD body: ``size`` -> 4 x 4 with 8 * width maps (no biases)."""
    steps = _steps(size)
    layers: list[nn.Module] = []
    previous = channels
    for index, out in enumerate(_down_widths(steps, width)):
        layers.append(nn.Conv2d(previous, out, 4, 2, 1, bias=False))
        if index > 0:  # no normalisation on the input layer (DCGAN)
            layers.append(norm_layer(norm, out, "model.discriminator.norm"))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        previous = out
    return nn.Sequential(*layers)


class ChannelWiseFC(nn.Module):
    """The channel-wise fully connected layer (Pathak et al. 2016, sec. 3.1).

    m feature maps of n x n in, m of n x n out; each output map is a fully connected function of
    its own input map only: out[b, c, :] = W[c] @ in[b, c, :] over the n^2 positions, so the layer
    has m n^4 weights (a fully connected layer would have m^2 n^4), and no bias (the paper's count
    ignores it; BatchNorm follows).
    """

    def __init__(self, channels: int, size: int) -> None:
        super().__init__()
        self.channels = positive_int("channels", channels)
        self.size = positive_int("size", size)
        self.weight = nn.Parameter(torch.empty(self.channels, size * size, size * size))
        nn.init.normal_(self.weight, 0.0, 0.02)

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, height, width = x.shape
        if (channels, height, width) != (self.channels, self.size, self.size):
            raise ValueError(f"ChannelWiseFC expects (B, {self.channels}, {self.size}, "
                             f"{self.size}), got {tuple(x.shape)}")
        flat = x.reshape(batch, channels, height * width)
        out = (self.weight.unsqueeze(0) @ flat.unsqueeze(-1)).squeeze(-1)
        return out.reshape(batch, channels, height, width)


class ContextEncoderGenerator(nn.Module):
    """The context encoder F: an image with a filled hole -> the hole's content (module
    docstring for the layers).

    Args:
        image_size: side S of the square input images (4 * 2^k, at least 16; the paper: 128).
        hole_size: side of the central hole (``mask="center"``: the output's side; 64 of 128);
            None: half the image side.
        mask: the model's mask kind: "center" outputs the hole_size centre, "random_block" and
            "random_region" the whole S x S image.
        channels: image channels (3, or 1 for grey images).
        width: nef, the encoder's first-layer channels (64 in the official code).
        decoder_width: ngf, the decoder's last hidden channels (null: ``width``; 64).
        bottleneck: "channel_fc" (the paper's sec. 3.1) or "conv" (train.lua's nBottleneck).
        bottleneck_channels: nBottleneck of ``bottleneck="conv"`` (4000 in the official
            README's inpainting command).

    forward(x (B, channels, S, S)) -> (B, channels, O, O) in [-1, 1], O = ``output_size``.
    """

    def __init__(self, image_size: int = 128, hole_size: int = 64, mask: str = "center",
                 channels: int = 3, width: int = 64, decoder_width: int | None = None,
                 bottleneck: str = "channel_fc", bottleneck_channels: int = 4000) -> None:
        super().__init__()
        self.output_size = predicted_size(image_size, hole_size, mask)
        hole_size = hole_side(image_size, hole_size)
        if bottleneck not in BOTTLENECKS:
            raise ValueError(f"model.generator.bottleneck={bottleneck!r}: must be one of "
                             f"{', '.join(BOTTLENECKS)}")
        self.image_size, self.hole_size, self.mask = image_size, hole_size, mask
        self.channels = positive_int("channels", channels)
        self.width = positive_int("width", width)
        self.decoder_width = positive_int("decoder_width", decoder_width or width)
        self.bottleneck_kind = bottleneck
        code = 8 * self.width        # the encoder's 4 x 4 maps
        start = 8 * self.decoder_width  # the decoder's first 4 x 4 maps
        self.encoder = conv_stack(self.channels, image_size, self.width)
        if bottleneck == "channel_fc":
            self.bottleneck = nn.Sequential(
                ChannelWiseFC(code, _FIRST_MAP), nn.BatchNorm2d(code), nn.LeakyReLU(0.2, True),
                nn.Conv2d(code, start, 1, 1, 0, bias=False), nn.BatchNorm2d(start),
                nn.ReLU(True))
        else:
            units = positive_int("bottleneck_channels", bottleneck_channels)
            self.bottleneck = nn.Sequential(
                nn.Conv2d(code, units, _FIRST_MAP, 1, 0, bias=False), nn.BatchNorm2d(units),
                nn.LeakyReLU(0.2, True),
                nn.ConvTranspose2d(units, start, _FIRST_MAP, 1, 0, bias=False),
                nn.BatchNorm2d(start), nn.ReLU(True))
        layers: list[nn.Module] = []
        previous = start
        for out in _up_widths(_steps(self.output_size), self.decoder_width):
            layers += [nn.ConvTranspose2d(previous, out, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(out), nn.ReLU(True)]
            previous = out
        layers += [nn.ConvTranspose2d(previous, self.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.decoder = nn.Sequential(*layers)
        init_dcgan_weights_(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.channels, self.image_size, self.image_size):
            raise ValueError(f"the context encoder takes ({self.channels}, {self.image_size}, "
                             f"{self.image_size}) images, got {tuple(x.shape[1:])}")
        return self.decoder(self.bottleneck(self.encoder(x)))


class ContextEncoderDiscriminator(nn.Module):
    """train.lua's adversarial discriminator: real vs predicted regions (the hole_size centre
    for ``mask="center"``, the whole image otherwise), one raw score each.

    Args:
        image_size, hole_size, mask: as for :class:`ContextEncoderGenerator` (they fix the side
            of what it judges).
        channels: image channels.
        width: ndf, the first layer's channels (64).
        norm: "batch" (the official code) or "layer" / "none" (a critic trained with a gradient
            penalty, which needs per-sample scores).

    forward(x (B, channels, O, O)) -> (B,) scores.
    """

    def __init__(self, image_size: int = 128, hole_size: int = 64, mask: str = "center",
                 channels: int = 3, width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        self.input_size = predicted_size(image_size, hole_size, mask)
        hole_size = hole_side(image_size, hole_size)
        self.image_size, self.hole_size, self.mask = image_size, hole_size, mask
        self.channels = positive_int("channels", channels)
        self.width = positive_int("width", width)
        self.norm = check_norm(norm, "model.discriminator.norm")
        self.features = conv_stack(self.channels, self.input_size, self.width, self.norm)
        self.score = nn.Conv2d(8 * self.width, 1, _FIRST_MAP, 1, 0, bias=False)
        init_dcgan_weights_(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.channels, self.input_size, self.input_size):
            raise ValueError(f"the context encoder's discriminator judges ({self.channels}, "
                             f"{self.input_size}, {self.input_size}) regions, got "
                             f"{tuple(x.shape[1:])}")
        return self.score(self.features(x)).reshape(-1)

"""SPADE: spatially-adaptive normalization, its residual blocks, the generator and the encoder.

Park, Liu, Wang & Zhu, "Semantic Image Synthesis with Spatially-Adaptive Normalization" (CVPR
2019), checked against the authors' code (NVlabs/SPADE: ``models/networks/normalization.py``,
``architecture.py``, ``generator.py``, ``encoder.py``, ``base_network.py``):

- :class:`SPADE` (sec. 3, eq. 1): a parameter-free normalization (batch norm without affine
  parameters by default, the official ``spadesyncbatch3x3``; instance norm as an option), then a
  scale and a bias predicted per pixel from the label map resized (nearest) to the activation:
  a shared 3x3 conv to 128 channels with ReLU, then one 3x3 conv to gamma and one to beta.
  ``out = norm(x) * (1 + gamma) + beta`` as the official code (the ``1 +`` keeps the identity
  at initialization).
- :class:`SPADEResBlock` (sec. 3, fig. 4): SPADE, LeakyReLU(0.2), 3x3 conv, twice, with a
  learned shortcut (SPADE, 1x1 conv without bias) when the channels change; the middle width is
  ``min(fin, fout)``. Spectral norm on the block's convs (official ``spectral`` in ``norm_G``),
  not on the SPADE convs.
- :class:`SPADEGenerator` (appendix A, fig. 11): from the label map downsampled to the start
  size (or, with the VAE encoder, from z through a linear layer) through head, two middle and
  four up blocks of 16nf, 16nf, 16nf, 8nf, 4nf, 2nf, nf channels with nearest x2 upsamplings
  between them (5 for ``normal``; ``more`` adds one between the middle blocks, ``most`` also an
  up block of nf/2 channels at the end), then LeakyReLU, a 3x3 conv to RGB and tanh.
- :class:`ConvEncoder` (appendix B, fig. 14): 3x3 stride-2 convs (spectral + instance norm) to a
  4x4 map, then two linear layers to the mean and log-variance of z (256-d).

Weights are initialised as the official ``init_weights('xavier', 0.02)``: Xavier-normal with
gain 0.02 for every conv and linear weight, zero biases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.nets.layers import positive_int
from gan_lab.nets.spectral import spectral_norm

__all__ = [
    "UPSAMPLING_LAYERS",
    "ConvEncoder",
    "SPADE",
    "SPADEGenerator",
    "SPADEResBlock",
    "encoder_layers",
    "one_hot_semantics",
    "xavier_init_",
]

# num_upsampling_layers -> number of x2 upsamplings (official compute_latent_vector_size).
UPSAMPLING_LAYERS = {"normal": 5, "more": 6, "most": 7}
PARAM_FREE_NORMS = ("batch", "instance")
SPADE_HIDDEN = 128  # the official nhidden ("Yes, hardcoded")
INIT_GAIN = 0.02  # official init_variance


@torch.no_grad()
def xavier_init_(module: nn.Module, gain: float = INIT_GAIN) -> nn.Module:
    """Xavier-normal weights with ``gain`` and zero biases for ``module``'s conv and linear
    layers (the official ``init_weights('xavier', 0.02)``); call before spectral norm wraps a
    layer, so its power iteration starts from the initialised weight."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.xavier_normal_(layer.weight, gain=gain)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


def _conv(c_in: int, c_out: int, kernel: int, bias: bool = True, spectral: bool = False,
          stride: int = 1) -> nn.Module:
    conv = xavier_init_(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=bias))
    return spectral_norm(conv, enabled=spectral)


def one_hot_semantics(labels: Tensor, num_classes: int, edges: Tensor | None = None) -> Tensor:
    """Label maps ``(B, H, W)`` of class indices as the one-hot float map ``(B, num_classes,
    H, W)`` the nets read (official ``preprocess_input``), with the instance edge map ``(B, 1,
    H, W)`` appended as one more channel when given. ValueError naming the largest value when a
    label is not in ``0 .. num_classes - 1``."""
    if labels.dim() == 4 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.dim() != 3 or labels.is_floating_point():
        raise ValueError(f"label maps must be integer class indices (B, H, W), got "
                         f"{labels.dtype} {tuple(labels.shape)}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        bad = int(labels.max()) if int(labels.max()) >= num_classes else int(labels.min())
        raise ValueError(f"label value {bad}: this model knows the classes 0..{num_classes - 1}")
    semantics = F.one_hot(labels.long(), num_classes).permute(0, 3, 1, 2).float()
    if edges is not None:
        semantics = torch.cat([semantics, edges.float().reshape(len(labels), 1,
                                                                *labels.shape[-2:])], 1)
    return semantics.contiguous()


class SPADE(nn.Module):
    """Spatially-adaptive normalization (Park et al. 2019, eq. 1).

    ``x`` (B, C, H, W) is normalised without affine parameters (batch statistics, or each
    sample's with ``norm="instance"``); ``segmap`` (B, L, h, w) is resized to (H, W) by nearest
    neighbour and mapped to gamma and beta (B, C, H, W); the output is
    ``norm(x) * (1 + gamma) + beta``.

    Args:
        channels: C, the channels normalised (``norm_nc``).
        label_channels: L, the channels of the semantic map (``semantic_nc``: classes, plus the
            instance edge map when used).
        hidden: channels of the shared embedding (official 128).
        kernel_size: of the three convs (official 3).
        norm: ``batch`` (official ``syncbatch``) or ``instance``.
    """

    def __init__(self, channels: int, label_channels: int, hidden: int = SPADE_HIDDEN,
                 kernel_size: int = 3, norm: str = "batch") -> None:
        super().__init__()
        channels, label_channels = positive_int("channels", channels), positive_int(
            "label_channels", label_channels)
        hidden, kernel_size = positive_int("hidden", hidden), positive_int("kernel_size",
                                                                           kernel_size)
        if norm not in PARAM_FREE_NORMS:
            raise ValueError(f"norm={norm!r}: SPADE's parameter-free norm is one of "
                             f"{', '.join(PARAM_FREE_NORMS)}")
        if norm == "batch":
            self.param_free_norm = nn.BatchNorm2d(channels, affine=False)
        else:
            self.param_free_norm = nn.InstanceNorm2d(channels, affine=False)
        self.mlp_shared = nn.Sequential(_conv(label_channels, hidden, kernel_size), nn.ReLU())
        self.mlp_gamma = _conv(hidden, channels, kernel_size)
        self.mlp_beta = _conv(hidden, channels, kernel_size)

    def modulation(self, segmap: Tensor, size: Sequence[int]) -> tuple[Tensor, Tensor]:
        """gamma and beta (B, C, *size) from the semantic map resized (nearest) to ``size``."""
        segmap = F.interpolate(segmap, size=tuple(size), mode="nearest")
        hidden = self.mlp_shared(segmap)
        return self.mlp_gamma(hidden), self.mlp_beta(hidden)

    def forward(self, x: Tensor, segmap: Tensor) -> Tensor:
        normalized = self.param_free_norm(x)
        gamma, beta = self.modulation(segmap, x.shape[2:])
        return normalized * (1 + gamma) + beta


class SPADEResBlock(nn.Module):
    """SPADE residual block (Park et al. 2019, fig. 4 right; official ``SPADEResnetBlock``).

    ``dx = conv_1(lrelu(SPADE_1(conv_0(lrelu(SPADE_0(x))))))`` with 3x3 convs through
    ``min(fin, fout)`` channels; the shortcut is ``x``, or ``conv_s(SPADE_s(x))`` (1x1, no bias)
    when ``fin != fout``. ``spectral`` puts spectral norm on conv_0, conv_1 and conv_s.
    """

    def __init__(self, fin: int, fout: int, label_channels: int, spectral: bool = True,
                 norm: str = "batch", hidden: int = SPADE_HIDDEN) -> None:
        super().__init__()
        fin, fout = positive_int("fin", fin), positive_int("fout", fout)
        self.learned_shortcut = fin != fout
        middle = min(fin, fout)
        self.conv_0 = _conv(fin, middle, 3, spectral=spectral)
        self.conv_1 = _conv(middle, fout, 3, spectral=spectral)
        self.norm_0 = SPADE(fin, label_channels, hidden, norm=norm)
        self.norm_1 = SPADE(middle, label_channels, hidden, norm=norm)
        if self.learned_shortcut:
            self.conv_s = _conv(fin, fout, 1, bias=False, spectral=spectral)
            self.norm_s = SPADE(fin, label_channels, hidden, norm=norm)

    def shortcut(self, x: Tensor, segmap: Tensor) -> Tensor:
        return self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x

    def forward(self, x: Tensor, segmap: Tensor) -> Tensor:
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return self.shortcut(x, segmap) + dx


def start_size(image_size: int, aspect_ratio: float, upsamplings: int) -> tuple[int, int]:
    """(sh, sw): the generator's first feature map, ``sw = image_size / 2^upsamplings`` and
    ``sh = round(sw / aspect_ratio)`` (official ``compute_latent_vector_size``); ValueError
    unless ``image_size`` is a multiple of ``2^upsamplings``."""
    multiple = 2**upsamplings
    if image_size % multiple:
        raise ValueError(f"image_size={image_size}: SPADE's generator upsamples {upsamplings} "
                         f"times, so the image width must be a multiple of {multiple}")
    sw = image_size // multiple
    sh = round(sw / aspect_ratio)
    if sh < 1:
        raise ValueError(f"aspect_ratio={aspect_ratio}: leaves no rows at the start size "
                         f"(width {sw}); lower it or raise image_size")
    return sh, sw


class SPADEGenerator(nn.Module):
    """The SPADE generator (Park et al. 2019, appendix A; official ``SPADEGenerator``).

    ``forward(semantics, z=None)``: semantics (B, label_channels, H, W), a one-hot label map
    (plus the instance edge channel) of the generator's output size; returns (B, out_channels,
    H, W) in [-1, 1] with (H, W) = ``output_size``. Without ``use_vae`` the first map is the
    semantic map resized (nearest) to the start size through a 3x3 conv to 16nf channels; with
    it, ``fc(z)`` reshaped (z ~ N(0, I) when not given). Nets are built as the official code
    for ``crop_size = image_size`` and ``aspect_ratio``: the start size is
    ``(round(sw / aspect_ratio), sw)`` with ``sw = image_size / 2^u`` and u = 5, 6, 7
    upsamplings for ``num_upsampling_layers`` normal, more, most.

    Args:
        label_channels: ``semantic_nc`` (classes + 1 with instance edges).
        image_size: the output width (official ``crop_size``).
        aspect_ratio: width / height (official 1; Cityscapes 2).
        width: nf (official ``ngf`` 64).
        num_upsampling_layers: ``normal``, ``more`` or ``most``.
        use_vae: start from z (the style code of :class:`ConvEncoder`) instead of the label map.
        z_dim: length of z (official 256).
        spectral: spectral norm on the residual blocks' convs (official ``spectral...``).
        norm: SPADE's parameter-free norm, ``batch`` (official) or ``instance``.
        spade_hidden: SPADE's embedding channels (official 128).
        out_channels: image channels (3).
    """

    def __init__(self, label_channels: int, image_size: int = 256, aspect_ratio: float = 1.0,
                 width: int = 64, num_upsampling_layers: str = "normal", use_vae: bool = False,
                 z_dim: int = 256, spectral: bool = True, norm: str = "batch",
                 spade_hidden: int = SPADE_HIDDEN, out_channels: int = 3) -> None:
        super().__init__()
        if num_upsampling_layers not in UPSAMPLING_LAYERS:
            raise ValueError(f"num_upsampling_layers={num_upsampling_layers!r}: must be one of "
                             f"{', '.join(UPSAMPLING_LAYERS)}")
        if not float(aspect_ratio) > 0:
            raise ValueError(f"aspect_ratio={aspect_ratio}: must be > 0 (width / height)")
        self.label_channels = positive_int("label_channels", label_channels)
        nf = positive_int("width", width)
        if num_upsampling_layers == "most" and nf < 2:
            raise ValueError("width=1: num_upsampling_layers=most needs width >= 2 (nf / 2)")
        self.num_upsampling_layers = num_upsampling_layers
        self.upsamplings = UPSAMPLING_LAYERS[num_upsampling_layers]
        self.sh, self.sw = start_size(positive_int("image_size", image_size),
                                      float(aspect_ratio), self.upsamplings)
        self.output_size = (self.sh * 2**self.upsamplings, self.sw * 2**self.upsamplings)
        self.use_vae = bool(use_vae)
        self.z_dim = positive_int("z_dim", z_dim)
        self.width = nf
        if self.use_vae:
            self.fc = xavier_init_(nn.Linear(self.z_dim, 16 * nf * self.sh * self.sw))
        else:
            self.fc = _conv(self.label_channels, 16 * nf, 3)

        def block(fin: int, fout: int) -> SPADEResBlock:
            return SPADEResBlock(fin, fout, self.label_channels, spectral, norm, spade_hidden)

        self.head_0 = block(16 * nf, 16 * nf)
        self.G_middle_0 = block(16 * nf, 16 * nf)
        self.G_middle_1 = block(16 * nf, 16 * nf)
        self.up_0 = block(16 * nf, 8 * nf)
        self.up_1 = block(8 * nf, 4 * nf)
        self.up_2 = block(4 * nf, 2 * nf)
        self.up_3 = block(2 * nf, nf)
        final = nf
        if num_upsampling_layers == "most":
            self.up_4 = block(nf, nf // 2)
            final = nf // 2
        self.conv_img = _conv(final, positive_int("out_channels", out_channels), 3)

    def check_semantics(self, semantics: Tensor) -> None:
        if (semantics.dim() != 4 or semantics.shape[1] != self.label_channels
                or tuple(semantics.shape[2:]) != self.output_size):
            raise ValueError(f"SPADEGenerator expects semantic maps (B, {self.label_channels}, "
                             f"{self.output_size[0]}, {self.output_size[1]}), got "
                             f"{tuple(semantics.shape)}")

    def forward(self, semantics: Tensor, z: Tensor | None = None) -> Tensor:
        self.check_semantics(semantics)
        if self.use_vae:
            if z is None:
                z = torch.randn(len(semantics), self.z_dim, device=semantics.device)
            x = self.fc(z).view(-1, 16 * self.width, self.sh, self.sw)
        else:
            x = self.fc(F.interpolate(semantics, size=(self.sh, self.sw), mode="nearest"))

        def up(t: Tensor) -> Tensor:
            return F.interpolate(t, scale_factor=2, mode="nearest")

        x = self.head_0(x, semantics)
        x = self.G_middle_0(up(x), semantics)
        if self.num_upsampling_layers in ("more", "most"):
            x = up(x)
        x = self.G_middle_1(x, semantics)
        for name in ("up_0", "up_1", "up_2", "up_3"):
            x = getattr(self, name)(up(x), semantics)
        if self.num_upsampling_layers == "most":
            x = self.up_4(up(x), semantics)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


def encoder_layers(input_size: int) -> int:
    """Stride-2 layers of :class:`ConvEncoder` for ``input_size``: down to a 4x4 map (6 at the
    official 256); ValueError unless ``input_size`` is a power of two >= 8."""
    size = int(input_size)
    if size < 8 or size & (size - 1):
        raise ValueError(f"input_size={input_size}: the encoder halves its input down to 4x4, "
                         "so it must be a power of two >= 8 (official 256)")
    return int(math.log2(size)) - 2


class ConvEncoder(nn.Module):
    """The style encoder of SPADE's VAE mode (Park et al. 2019, appendix B; official
    ``ConvEncoder``): image (B, 3, H, W) -> (mu, logvar), each (B, z_dim).

    The image is resized (bilinear) to ``input_size`` square (official 256), then 3x3 stride-2
    convs with spectral norm and instance norm (official ``norm_E = spectralinstance``; the
    conv bias is dropped as the official ``get_nonspade_norm_layer`` does before a norm) of
    width * min(2^i, 8) channels down to 4x4, each followed by LeakyReLU(0.2), then linear
    layers to mu and logvar. At 256 this is the official six layers nf..8nf, 8nf, 8nf.
    """

    def __init__(self, width: int = 64, input_size: int = 256, z_dim: int = 256,
                 in_channels: int = 3) -> None:
        super().__init__()
        nf = positive_int("width", width)
        self.input_size = int(input_size)
        layers: list[nn.Module] = []
        c_in = positive_int("in_channels", in_channels)
        for i in range(encoder_layers(input_size)):
            c_out = nf * min(2**i, 8)
            layers += [_conv(c_in, c_out, 3, bias=False, spectral=True, stride=2),
                       nn.InstanceNorm2d(c_out, affine=False), nn.LeakyReLU(0.2)]
            c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.fc_mu = xavier_init_(nn.Linear(c_in * 16, positive_int("z_dim", z_dim)))
        self.fc_var = xavier_init_(nn.Linear(c_in * 16, z_dim))

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        if images.shape[-2:] != (self.input_size, self.input_size):
            images = F.interpolate(images, size=(self.input_size, self.input_size),
                                   mode="bilinear", align_corners=False)
        x = self.layers(images).flatten(1)
        return self.fc_mu(x), self.fc_var(x)

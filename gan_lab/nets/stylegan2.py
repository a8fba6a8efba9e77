"""StyleGAN2 generator and discriminator in pure PyTorch.

Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN" (StyleGAN2), config
E/F: a skip generator (a toRGB per block, the images upsampled and summed, sec. 4.1, fig. 7b)
whose convolutions are modulated and demodulated by the style (sec. 2.2, eq. 1-3), with
per-pixel noise of learned strength and a learned constant input; a residual discriminator
(fig. 7c; or, by ``architecture``, the plain "orig" one of the official cifar config, or "skip")
with FIR down-sampling ([1, 3, 3, 1]) and minibatch standard deviation in the epilogue;
projection conditioning as StyleGAN2-ADA (Karras et al. 2020b). Layer shapes, initialization and
parameter names inside the blocks follow the official NVlabs/stylegan2-ada-pytorch, so parameter
counts agree exactly and ``from_official_state_dict`` loads its weights.

Non-square images: ``image_size=[H, W]`` with H and W powers of two, min(H, W) >= 4. The
constant input is then 4 x 4r (or 4r x 4), r = max / min, with as many blocks as a square net
of side min(H, W); channel counts follow the smaller side.
"""

from __future__ import annotations

import contextlib
import math
import operator
import re
from collections.abc import Iterator, Mapping

import torch
from torch import Tensor, nn

from gan_lab.nets.equalized import (
    EqualizedConv2d,
    EqualizedLinear,
    MappingNetwork,
    MinibatchStddev,
    lrelu_gain,
)
from gan_lab.nets.filters import conv2d_resample, downsample2d, setup_filter, upsample2d

__all__ = [
    "StyleGAN2Discriminator",
    "StyleGAN2Generator",
    "SynthesisNetwork",
    "modulated_conv2d",
]

NOISE_MODES = ("random", "const", "none")
_SQRT_HALF = math.sqrt(0.5)


def _image_hw(image_size) -> tuple[int, int]:
    """(H, W) from an int or an [H, W] pair of powers of two, min >= 4; ValueError otherwise."""
    try:                                    # operator.index: any integer type, no floats
        size = (operator.index(image_size),) * 2
    except TypeError:
        try:
            size = tuple(operator.index(v) for v in image_size)
        except TypeError:
            size = ()
    if len(size) != 2 or not all(v >= 4 and v & (v - 1) == 0 for v in size):
        raise ValueError(
            f"image_size={image_size!r}: StyleGAN2 needs a power of two >= 4 or a pair [H, W] "
            "of powers of two >= 4 (e.g. 256 or [32, 64])")
    return size


def _layout(image_size, channel_base: int, channel_max: int) -> tuple[tuple[int, int], list]:
    """(H, W) and, from the 4-px block up, [(res, (h, w), channels)]; res is the smaller side,
    channels = min(channel_base // res, channel_max) as stylegan2-ada."""
    height, width = _image_hw(image_size)
    side = min(height, width)
    base_h, base_w = height * 4 // side, width * 4 // side
    levels = []
    for i in range(int(math.log2(side)) - 1):
        res = 4 << i
        levels.append((res, (base_h << i, base_w << i), min(channel_base // res, channel_max)))
    if levels[-1][2] < 1 or levels[0][2] < 1:
        raise ValueError(f"channel_base={channel_base}, channel_max={channel_max}: give at least "
                         f"one channel at {side} px")
    return (height, width), levels


@contextlib.contextmanager
def _float32(x: Tensor) -> Iterator[None]:
    """Autocast off: styles and demodulation coefficients are computed in float32 (bf16 would
    lose the precision the normalization relies on)."""
    with torch.autocast(device_type=x.device.type, enabled=False):
        yield


def modulated_conv2d(x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool = True,
                     up: int = 1, resample_filter: Tensor | None = None, padding: int = 0,
                     noise: Tensor | None = None, fused: bool = False) -> Tensor:
    """Modulated convolution (StyleGAN2 sec. 2.2): w'_ijk = s_i w_ijk (eq. 1), and with
    ``demodulate`` w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk^2 + 1e-8) (eq. 2-3).

    ``fused=False`` scales the activations by s before and by the demodulation coefficients after
    a shared convolution (one kernel for the batch: the cheap way in training); ``fused=True``
    builds per-sample kernels and runs one grouped convolution (the paper's formulation). Both are
    the same function. ``noise`` (broadcast to the output) is added before the bias. Styles and
    coefficients are float32 regardless of autocast.
    """
    batch = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    with _float32(x):
        styles = styles.float()
        dcoefs = None
        if demodulate:
            # sum_ik (s_i w_ijk)^2 = sum_i s_i^2 sum_k w_ijk^2: a (B, I) x (I, O) product instead
            # of materializing the (B, O, I, k, k) kernels.
            energy = weight.float().square().sum(dim=(2, 3))              # (O, I)
            dcoefs = (styles.square() @ energy.t() + 1e-8).rsqrt()        # (B, O)
        if fused:
            w = weight.float()[None] * styles[:, None, :, None, None]
            if dcoefs is not None:
                w = w * dcoefs[:, :, None, None, None]
            w = w.reshape(batch * out_channels, in_channels, kh, kw)
    if fused:
        x = x.reshape(1, batch * in_channels, *x.shape[2:])
        x = conv2d_resample(x, w.to(x.dtype), resample_filter, up=up, padding=padding,
                            groups=batch)
        x = x.reshape(batch, out_channels, *x.shape[2:])
    else:
        x = x * styles.to(x.dtype)[:, :, None, None]
        x = conv2d_resample(x, weight.to(x.dtype), resample_filter, up=up, padding=padding)
        if dcoefs is not None:
            x = x * dcoefs.to(x.dtype)[:, :, None, None]
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally FIR-upsampling by 2) + noise * learned strength + bias +
    lrelu * sqrt(2) (StyleGAN2 fig. 2c/d). ``size`` = (h, w) of the output."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, size: tuple[int, int],
                 kernel_size: int = 3, up: int = 1, use_noise: bool = True) -> None:
        super().__init__()
        self.up, self.padding, self.size = int(up), kernel_size // 2, tuple(size)
        # Styles start at 1 (bias_init=1) so that the initial modulation is the identity.
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size,
                                               kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.use_noise = bool(use_noise)
        if self.use_noise:
            self.register_buffer("noise_const", torch.randn(self.size))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("resample_filter", setup_filter(), persistent=False)

    def forward(self, x: Tensor, w: Tensor, noise_mode: str = "random",
                fused: bool = False) -> Tensor:
        with _float32(x):
            styles = self.affine(w.float())
        noise = None
        if self.use_noise and noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, *self.size, device=x.device) * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        x = modulated_conv2d(x, self.weight, styles, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, noise=noise, fused=fused)
        return lrelu_gain(x + self.bias.to(x.dtype)[None, :, None, None])


class ToRGB(nn.Module):
    """Modulated 1x1 conv without demodulation + bias: a block's contribution to the image."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int) -> None:
        super().__init__()
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        # No demodulation to normalize the kernel, so the He constant goes into the styles.
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def forward(self, x: Tensor, w: Tensor, fused: bool = False) -> Tensor:
        with _float32(x):
            styles = self.affine(w.float()) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused=fused)
        return x + self.bias.to(x.dtype)[None, :, None, None]


class SynthesisBlock(nn.Module):
    """One resolution of the skip generator (StyleGAN2 fig. 7b): the first block starts from a
    learned constant, the others upsample in their first conv; every block adds its toRGB to the
    FIR-upsampled image of the block below. Uses num_conv + 1 ws (the toRGB's w is the next
    block's first)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, size: tuple[int, int],
                 image_channels: int) -> None:
        super().__init__()
        self.in_channels, self.size = int(in_channels), tuple(size)
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, *self.size))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, self.size, up=2)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, self.size)
        self.torgb = ToRGB(out_channels, image_channels, w_dim)
        self.num_conv = 1 if in_channels == 0 else 2
        self.register_buffer("resample_filter", setup_filter(), persistent=False)

    def forward(self, x: Tensor | None, img: Tensor | None, ws: Tensor,
                noise_mode: str = "random", fused: bool = False) -> tuple[Tensor, Tensor]:
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const[None].expand(ws.shape[0], -1, -1, -1)
        else:
            x = self.conv0(x, next(w_iter), noise_mode, fused)
        x = self.conv1(x, next(w_iter), noise_mode, fused)
        y = self.torgb(x, next(w_iter), fused).float()   # the image is summed in float32
        img = y if img is None else upsample2d(img, self.resample_filter) + y
        return x, img


class SynthesisNetwork(nn.Module):
    """g: ws (B, num_ws, w_dim) -> images (B, C, H, W) (StyleGAN2 config F, skip generator).

    forward(ws, noise_mode="random", fused_modconv=False): noise "random" draws fresh noise,
    "const" uses the fixed per-layer buffers ``noise_const``, "none" adds no noise.
    """

    def __init__(self, w_dim: int = 512, image_size=1024, channels: int = 3,
                 channel_base: int = 32768, channel_max: int = 512) -> None:
        super().__init__()
        (height, width), levels = _layout(image_size, channel_base, channel_max)
        self.w_dim, self.image_shape = int(w_dim), (int(channels), height, width)
        self.blocks = nn.ModuleList()
        prev = 0
        for _res, size, ch in levels:
            self.blocks.append(SynthesisBlock(prev, ch, w_dim, size, channels))
            prev = ch
        self.num_ws = sum(block.num_conv for block in self.blocks) + 1

    def forward(self, ws: Tensor, noise_mode: str = "random",
                fused_modconv: bool = False) -> Tensor:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode={noise_mode!r} is not one of: {', '.join(NOISE_MODES)}")
        if ws.ndim != 3 or tuple(ws.shape[1:]) != (self.num_ws, self.w_dim):
            raise ValueError(f"ws of shape {tuple(ws.shape)}: the synthesis network takes "
                             f"(B, {self.num_ws}, {self.w_dim})")
        ws = ws.float()
        x = img = None
        w_idx = 0
        for block in self.blocks:
            x, img = block(x, img, ws.narrow(1, w_idx, block.num_conv + 1), noise_mode,
                           fused_modconv)
            w_idx += block.num_conv
        return img


class StyleGAN2Generator(nn.Module):
    """StyleGAN2 generator (Karras et al. 2020, config F): mapping f: z -> w (8 FC layers,
    lr multiplier 0.01) broadcast to ``num_ws`` copies, then the skip synthesis network.

    forward(z, labels=None, truncation_psi=1.0, truncation_cutoff=None, noise_mode="random",
    update_w_avg=False) -> (B, C, H, W). Truncation (StyleGAN sec. 5.1) uses ``mapping.w_avg``,
    tracked when ``update_w_avg`` is True (the training step's call).
    """

    def __init__(self, z_dim: int = 512, w_dim: int = 512, image_size=1024, channels: int = 3,
                 num_classes: int = 0, mapping_layers: int = 8,
                 mapping_lr_multiplier: float = 0.01, channel_base: int = 32768,
                 channel_max: int = 512, w_avg_beta: float = 0.995) -> None:
        super().__init__()
        for name, value in (("z_dim", z_dim), ("w_dim", w_dim), ("channels", channels)):
            if int(value) < 1:
                raise ValueError(f"{name}={value}: must be a positive integer")
        if int(num_classes) < 0:
            raise ValueError(f"num_classes={num_classes}: must be >= 0 (0: unconditional)")
        self.z_dim, self.w_dim, self.num_classes = int(z_dim), int(w_dim), int(num_classes)
        self.synthesis = SynthesisNetwork(w_dim, image_size, channels, channel_base, channel_max)
        self.num_ws = self.synthesis.num_ws
        self.image_shape = self.synthesis.image_shape
        self.mapping = MappingNetwork(z_dim, w_dim, num_ws=self.num_ws, num_layers=mapping_layers,
                                      num_classes=num_classes, lr_multiplier=mapping_lr_multiplier,
                                      w_avg_beta=w_avg_beta)

    def forward(self, z: Tensor, labels: Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "random",
                update_w_avg: bool = False) -> Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z of shape {tuple(z.shape)}: the generator takes (B, {self.z_dim})")
        ws = self.mapping(z, labels, truncation_psi=truncation_psi,
                          truncation_cutoff=truncation_cutoff, update_w_avg=update_w_avg)
        return self.synthesis(ws, noise_mode=noise_mode)

    @classmethod
    def from_official_state_dict(cls, state_dict: Mapping[str, Tensor],
                                 **kwargs) -> StyleGAN2Generator:
        """A generator holding the weights of an official stylegan2-ada-pytorch ``Generator``
        state dict (e.g. ``G_ema.state_dict()`` of a network pickle). The architecture (size,
        channels, z/w dims, classes, mapping depth, channel_base/max) is read from the tensor
        shapes; ``kwargs`` override it (``mapping_lr_multiplier`` and ``w_avg_beta`` only matter
        for further training). Nets trained with ``conv_clamp`` differ where it clipped."""
        sd = dict(state_dict)
        blocks = sorted({int(m.group(1)) for k in sd if (m := re.match(r"synthesis\.b(\d+)\.", k))})
        if not blocks or any(k.startswith("synthesis.b") and ".skip." in k for k in sd):
            raise ValueError("not the state dict of an official StyleGAN2 skip generator")
        top = blocks[-1]
        w_dim = sd["synthesis.b4.conv1.affine.weight"].shape[1]
        num_classes = sd["mapping.embed.weight"].shape[1] if "mapping.embed.weight" in sd else 0
        embed = sd["mapping.embed.weight"].shape[0] if num_classes else 0
        inferred = dict(
            z_dim=sd["mapping.fc0.weight"].shape[1] - embed, w_dim=w_dim, image_size=top,
            channels=sd[f"synthesis.b{top}.torgb.weight"].shape[0], num_classes=num_classes,
            mapping_layers=sum(bool(re.fullmatch(r"mapping\.fc\d+\.weight", k)) for k in sd),
            **_channel_rule({r: sd[f"synthesis.b{r}.conv1.weight"].shape[0] for r in blocks}))
        net = cls(**{**inferred, **kwargs})

        def rename(key: str) -> str:
            key = re.sub(r"^mapping\.fc(\d+)\.", r"mapping.layers.\1.", key)
            return re.sub(r"^synthesis\.b(\d+)\.",
                          lambda m: f"synthesis.blocks.{int(math.log2(int(m.group(1)))) - 2}.", key)

        net.load_state_dict(_convert(sd, rename, net), strict=True)
        return net


class _FIRDownConv2d(EqualizedConv2d):
    """Equalized conv that low-passes with [1, 3, 3, 1] and halves the size (StyleGAN2 fig. 7c);
    same parameters as EqualizedConv2d."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: str = "linear") -> None:
        super().__init__(in_channels, out_channels, kernel_size, bias=bias, activation=activation)
        self.register_buffer("resample_filter", setup_filter(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        weight = (self.weight * self.weight_gain).to(x.dtype)
        x = conv2d_resample(x, weight, self.resample_filter, down=2,
                            padding=self.kernel_size // 2)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype)[None, :, None, None]
        return lrelu_gain(x) if self.activation == "lrelu" else x


D_ARCHITECTURES = ("resnet", "orig", "skip")


class DiscriminatorBlock(nn.Module):
    """One resolution of the discriminator (StyleGAN2 fig. 7): conv3x3, conv3x3 + FIR down.

    ``architecture``: "resnet" (config E/F, fig. 7c) adds a FIR-down 1x1 skip and scales the sum
    by sqrt(1/2); "orig" is the plain stack (config A-D, the StyleGAN discriminator with FIR
    down-sampling; the official cifar config); "skip" (fig. 7b) reads the image at every
    resolution through its own fromRGB, added to the features, and passes the image on FIR
    down-sampled. The first block reads RGB in every architecture (fromRGB).
    forward(x, img) -> (x, img); x is None in the first block, img None unless "skip".
    """

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int,
                 image_channels: int, architecture: str = "resnet") -> None:
        super().__init__()
        self.architecture = architecture
        self.fromrgb = (EqualizedConv2d(image_channels, tmp_channels, 1, activation="lrelu")
                        if in_channels == 0 or architecture == "skip" else None)
        self.conv0 = EqualizedConv2d(tmp_channels, tmp_channels, 3, activation="lrelu")
        self.conv1 = _FIRDownConv2d(tmp_channels, out_channels, 3, activation="lrelu")
        self.skip = (_FIRDownConv2d(tmp_channels, out_channels, 1, bias=False)
                     if architecture == "resnet" else None)
        if architecture == "skip":
            self.register_buffer("resample_filter", setup_filter(), persistent=False)

    def forward(self, x: Tensor | None, img: Tensor | None) -> tuple[Tensor, Tensor | None]:
        if self.fromrgb is not None:
            y = self.fromrgb(img)
            x = y if x is None else x + y
            img = downsample2d(img, self.resample_filter) if self.architecture == "skip" else None
        if self.skip is not None:
            return self.skip(x) * _SQRT_HALF + self.conv1(self.conv0(x)) * _SQRT_HALF, img
        return self.conv1(self.conv0(x)), img


class DiscriminatorEpilogue(nn.Module):
    """The 4 x 4r head: (with the "skip" architecture, a fromRGB of the 4 px image added first)
    minibatch stddev (ProGAN sec. 3), conv3x3, FC, output FC (1 score, or ``cmap_dim`` features
    for projection)."""

    def __init__(self, channels: int, size: tuple[int, int], cmap_dim: int,
                 mbstd_group_size: int, mbstd_num_channels: int, image_channels: int = 3,
                 architecture: str = "resnet") -> None:
        super().__init__()
        self.fromrgb = (EqualizedConv2d(image_channels, channels, 1, activation="lrelu")
                        if architecture == "skip" else None)
        self.mbstd = (MinibatchStddev(mbstd_group_size, mbstd_num_channels)
                      if mbstd_num_channels > 0 else None)
        self.conv = EqualizedConv2d(channels + mbstd_num_channels, channels, 3, activation="lrelu")
        self.fc = EqualizedLinear(channels * size[0] * size[1], channels, activation="lrelu")
        self.out = EqualizedLinear(channels, cmap_dim if cmap_dim else 1)

    def forward(self, x: Tensor, img: Tensor | None = None) -> Tensor:
        if self.fromrgb is not None:
            x = x + self.fromrgb(img)
        if self.mbstd is not None:
            x = self.mbstd(x)
        return self.out(self.fc(self.conv(x).flatten(1)))


class StyleGAN2Discriminator(nn.Module):
    """StyleGAN2 discriminator (Karras et al. 2020), residual by default (config E/F, fig. 7c).

    ``architecture``: "resnet" (fig. 7c, configs E/F and stylegan2-ada's default), "orig" (no
    skip connections; stylegan2-ada's cifar config sets it: 23,089,664 parameters at its 32 px
    conditional setting against resnet's 23,876,096) or "skip" (fig. 7b); see
    :class:`DiscriminatorBlock`.

    With ``num_classes`` > 0, projection conditioning as StyleGAN2-ADA: a mapping network (8 FC
    layers, lr multiplier 0.01) embeds the label to cmap (``cmap_dim``, default the 4-px channel
    count) and the score is <out(x), cmap> / sqrt(cmap_dim). forward(x, labels=None) -> (B,) raw
    scores (logits).
    """

    def __init__(self, image_size=1024, channels: int = 3, num_classes: int = 0,
                 channel_base: int = 32768, channel_max: int = 512, mbstd_group_size: int = 4,
                 mbstd_num_channels: int = 1, cmap_dim: int | None = None,
                 architecture: str = "resnet") -> None:
        super().__init__()
        if int(channels) < 1:
            raise ValueError(f"channels={channels}: must be a positive integer")
        if int(num_classes) < 0:
            raise ValueError(f"num_classes={num_classes}: must be >= 0 (0: unconditional)")
        if architecture not in D_ARCHITECTURES:
            raise ValueError(f"architecture={architecture!r}: must be one of "
                             f"{', '.join(D_ARCHITECTURES)}")
        (height, width), levels = _layout(image_size, channel_base, channel_max)
        if len(levels) < 2:     # the epilogue has no fromRGB: at least one block must read RGB
            raise ValueError(f"image_size={image_size!r}: the StyleGAN2 discriminator needs a "
                             "smaller side of at least 8 px")
        self.image_shape = (int(channels), height, width)
        self.num_classes = int(num_classes)
        self.architecture = architecture
        ch4 = levels[0][2]
        self.cmap_dim = (int(cmap_dim) if cmap_dim else ch4) if self.num_classes else 0
        self.blocks = nn.ModuleList()
        for i in range(len(levels) - 1, 0, -1):     # from the image size down to 8 px
            tmp, out = levels[i][2], levels[i - 1][2]
            self.blocks.append(DiscriminatorBlock(0 if i == len(levels) - 1 else tmp, tmp, out,
                                                  channels, architecture))
        self.mapping = None
        if self.num_classes:
            self.mapping = MappingNetwork(0, self.cmap_dim, num_ws=1, num_classes=num_classes,
                                          normalize_z=False)
        self.epilogue = DiscriminatorEpilogue(ch4, levels[0][1], self.cmap_dim,
                                              int(mbstd_group_size), int(mbstd_num_channels),
                                              int(channels), architecture)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"input of shape {tuple(x.shape)}: the discriminator takes "
                             f"(B, {', '.join(map(str, self.image_shape))})")
        features, img = None, x
        for block in self.blocks:
            features, img = block(features, img)
        x = self.epilogue(features, img)
        if self.mapping is not None:
            if labels is None:
                raise ValueError(f"this discriminator is conditional on {self.num_classes} "
                                 "classes: pass labels")
            cmap = self.mapping(torch.zeros(x.shape[0], 0, device=x.device), labels)[:, 0]
            x = (x * cmap.to(x.dtype)).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x[:, 0].float()

    @classmethod
    def from_official_state_dict(cls, state_dict: Mapping[str, Tensor],
                                 **kwargs) -> StyleGAN2Discriminator:
        """A discriminator holding the weights of an official stylegan2-ada-pytorch
        ``Discriminator`` state dict; architecture (resnet, orig or skip: from which layers
        exist) and shapes read from it, ``kwargs`` override them (``mbstd_group_size`` is not
        stored: default 4)."""
        sd = dict(state_dict)
        blocks = sorted({int(m.group(1)) for k in sd if (m := re.match(r"b(\d+)\.", k))})
        if len(blocks) < 2 or blocks[0] != 4 or "b4.conv.weight" not in sd:
            raise ValueError("not the state dict of an official StyleGAN2 discriminator")
        top = blocks[-1]
        architecture = ("skip" if "b4.fromrgb.weight" in sd else
                        "resnet" if f"b{top}.skip.weight" in sd else "orig")
        chans = {r: sd[f"b{r}.conv0.weight"].shape[0] for r in blocks[1:]}
        chans[4] = sd["b4.conv.weight"].shape[0]
        num_classes = sd["mapping.embed.weight"].shape[1] if "mapping.embed.weight" in sd else 0
        inferred = dict(
            image_size=top, channels=sd[f"b{top}.fromrgb.weight"].shape[1],
            num_classes=num_classes, mbstd_num_channels=sd["b4.conv.weight"].shape[1] - chans[4],
            cmap_dim=sd["b4.out.weight"].shape[0] if num_classes else None,
            architecture=architecture, **_channel_rule(chans))
        net = cls(**{**inferred, **kwargs})
        depth = top.bit_length()

        def rename(key: str) -> str:
            key = re.sub(r"^mapping\.fc(\d+)\.", r"mapping.layers.\1.", key)
            if key.startswith("b4."):
                return "epilogue." + key[3:]
            return re.sub(r"^b(\d+)\.", lambda m: f"blocks.{depth - int(m.group(1)).bit_length()}.",
                          key)

        net.load_state_dict(_convert(sd, rename, net), strict=True)
        return net


def _channel_rule(channels: Mapping[int, int]) -> dict[str, int]:
    """channel_base and channel_max reproducing {res: channels} by min(base // res, max)."""
    channel_max = max(channels.values())
    channel_base = max(res * ch for res, ch in channels.items())
    if any(min(channel_base // r, channel_max) != c for r, c in channels.items()):
        raise ValueError(f"channels per resolution {dict(sorted(channels.items()))} do not follow "
                         "min(channel_base // res, channel_max)")
    return dict(channel_base=channel_base, channel_max=channel_max)


def _convert(sd: dict, rename, net: nn.Module) -> dict[str, Tensor]:
    """Official keys renamed to ours; the FIR filter buffers (constants) dropped; a buffer the
    official net lacks (the discriminator mapping's unused w_avg) kept from ``net``."""
    out = {rename(k): v for k, v in sd.items() if not k.endswith("resample_filter")}
    for key, value in net.state_dict().items():
        if key.endswith("w_avg") and key not in out:
            out[key] = value
    return out

"""FIR up/down-sampling in pure PyTorch (the ``upfirdn2d`` operator of StyleGAN2).

Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN" (StyleGAN2) resample
with the binomial low-pass filter [1, 3, 3, 1] (as in Zhang 2019, "Making Convolutional Networks
Shift-Invariant Again", and StyleGAN, Karras et al. 2019, sec. 2). ``upfirdn2d`` is:
upsample by inserting zeros, pad (negative padding crops), convolve with the 2-D filter, keep
every ``down``-th pixel. Padding and ``gain`` follow the conventions of the official code
(NVlabs/stylegan2-ada-pytorch), so networks built on it reproduce its outputs on copied weights.

All ops work on (B, C, H, W) tensors with H != W allowed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "conv2d_resample",
    "downsample2d",
    "setup_filter",
    "upfirdn2d",
    "upsample2d",
]

Padding = int | Sequence[int]


def setup_filter(taps: Sequence[float] = (1, 3, 3, 1), normalize: bool = True) -> Tensor:
    """The separable 2-D FIR filter outer(taps, taps), float32, summing to 1 when ``normalize``
    (so a constant image keeps its value after filtering)."""
    f = torch.as_tensor(list(taps), dtype=torch.float32)
    if f.ndim != 1 or f.numel() == 0:
        raise ValueError(f"taps={taps!r}: need a non-empty 1-D list of filter taps")
    f = torch.outer(f, f)
    return f / f.sum() if normalize else f


def _pad4(padding: Padding) -> tuple[int, int, int, int]:
    """int p -> (p, p, p, p); (x, y) -> (x, x, y, y); (x0, x1, y0, y1) as is."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    p = [int(v) for v in padding]
    if len(p) == 2:
        return p[0], p[0], p[1], p[1]
    if len(p) == 4:
        return p[0], p[1], p[2], p[3]
    raise ValueError(f"padding={padding!r}: need an int, [x, y] or [x0, x1, y0, y1]")


def upfirdn2d(x: Tensor, f: Tensor, up: int = 1, down: int = 1, padding: Padding = 0,
              gain: float = 1.0, flip_filter: bool = False) -> Tensor:
    """Upsample (zero insertion), pad/crop by ``padding`` = (x0, x1, y0, y1), convolve with the
    filter ``f`` times ``gain`` (a true convolution, as the official op; ``flip_filter=True``: a
    correlation, the official flag), downsample (keep every ``down``-th pixel). Out size per
    axis: (in * up + p0 + p1 - taps) // down + 1.

    ``f`` is 2-D, or 1-D for a separable filter outer(f, f) applied as two 1-D passes (the
    official op's separable form, cheaper for long filters such as ADA's 12-tap wavelet)."""
    if x.ndim != 4 or f.ndim not in (1, 2):
        raise ValueError(f"upfirdn2d: x must be 4-D and f 1-D or 2-D, got {tuple(x.shape)} and "
                         f"{tuple(f.shape)}")
    batch, channels, height, width = x.shape
    px0, px1, py0, py1 = _pad4(padding)
    if up > 1:
        # Zero insertion: each pixel followed by up - 1 zeros along both axes.
        x = x.reshape(batch, channels, height, 1, width, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(batch, channels, height * up, width * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    # conv2d correlates: flip the filter for a true convolution (a no-op for symmetric taps).
    weight = f if flip_filter else f.flip(list(range(f.ndim)))
    if f.ndim == 2:
        weight = (weight * gain).to(x.dtype)[None, None].expand(channels, 1, *f.shape)
        x = F.conv2d(x, weight, groups=channels)
    else:  # separable: rows then columns, each with the square root of the gain
        weight = (weight * gain ** 0.5).to(x.dtype)
        x = F.conv2d(x, weight.view(1, 1, 1, -1).expand(channels, 1, 1, f.numel()),
                     groups=channels)
        x = F.conv2d(x, weight.view(1, 1, -1, 1).expand(channels, 1, f.numel(), 1),
                     groups=channels)
    return x[:, :, ::down, ::down] if down > 1 else x


def upsample2d(x: Tensor, f: Tensor, up: int = 2, padding: Padding = 0,
               flip_filter: bool = False) -> Tensor:
    """Upsample by ``up`` with the FIR filter: output exactly ``up`` times larger; gain up^2
    keeps the mean (zero insertion leaves 1 / up^2 of the energy per pixel). ``padding``
    (x0, x1, y0, y1; negative crops) is added to that default padding, as the official op."""
    taps = f.shape[-1]
    px0, px1, py0, py1 = _pad4(padding)
    pad0, pad1 = (taps + up - 1) // 2, (taps - up) // 2
    return upfirdn2d(x, f, up=up, padding=(px0 + pad0, px1 + pad1, py0 + pad0, py1 + pad1),
                     gain=up * up, flip_filter=flip_filter)


def downsample2d(x: Tensor, f: Tensor, down: int = 2, padding: Padding = 0,
                 flip_filter: bool = False) -> Tensor:
    """Low-pass with the FIR filter, then keep every ``down``-th pixel: output ``down`` times
    smaller (sizes must be multiples of ``down``). ``padding`` (x0, x1, y0, y1; negative crops)
    is added to the default padding, as the official op."""
    taps = f.shape[-1]
    px0, px1, py0, py1 = _pad4(padding)
    pad0, pad1 = (taps - down + 1) // 2, (taps - down) // 2
    return upfirdn2d(x, f, down=down, padding=(px0 + pad0, px1 + pad1, py0 + pad0, py1 + pad1),
                     flip_filter=flip_filter)


def conv2d_resample(x: Tensor, weight: Tensor, f: Tensor | None = None, up: int = 1,
                    down: int = 1, padding: int = 0, groups: int = 1) -> Tensor:
    """Convolution with FIR up- or down-sampling by 2^n, as the official ``conv2d_resample``.

    - up > 1: zero-insert, FIR (gain up^2), convolve; the kernel is applied as a true
      convolution (the official code's ``flip_weight=False`` for up-sampling layers, which
      matters only to reproduce its outputs), done as a strided transposed convolution.
    - down > 1: FIR, then a strided correlation (``F.conv2d``) - the filter runs before the
      subsampling, which is the point (anti-aliasing, StyleGAN2 sec. 4 / appendix B).
    - otherwise a plain ``F.conv2d`` with ``padding``.
    ``padding`` is relative to the up-sampled image; outputs are exactly up or 1/down times the
    input size when padding = kernel // 2.
    """
    if up > 1 and down > 1:
        raise ValueError("conv2d_resample: up and down at once is not supported")
    out_channels, in_per_group, kh, kw = weight.shape
    if up == 1 and down == 1:
        return F.conv2d(x, weight, padding=padding, groups=groups)
    if f is None:
        raise ValueError("conv2d_resample: resampling needs a filter f")
    taps = f.shape[-1]
    if down > 1:
        p0, p1 = padding + (taps - down + 1) // 2, padding + (taps - down) // 2
        x = upfirdn2d(x, f, padding=(p0, p1, p0, p1))
        return F.conv2d(x, weight, stride=down, groups=groups)
    # Up-sampling. A transposed convolution with stride ``up`` equals zero insertion followed by
    # a "full" convolution (padding k - 1 per side) less the last up - 1 all-zero outputs; the
    # FIR padding is reduced by that much (the filter and the kernel commute, both being LTI).
    p0, p1 = padding + (taps + up - 1) // 2, padding + (taps - up) // 2
    if groups == 1:
        w_t = weight.transpose(0, 1)
    else:
        w_t = weight.reshape(groups, out_channels // groups, in_per_group, kh, kw)
        w_t = w_t.transpose(1, 2).reshape(groups * in_per_group, out_channels // groups, kh, kw)
    x = F.conv_transpose2d(x, w_t, stride=up, groups=groups)
    fir = (p0 - (kw - 1), p1 - (kw - up), p0 - (kh - 1), p1 - (kh - up))
    return upfirdn2d(x, f, padding=fir, gain=up * up)

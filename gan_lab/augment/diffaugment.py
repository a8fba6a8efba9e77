"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

Sec. 3 of the paper: the same random, differentiable transformation family ``T`` is applied to
real and generated images every time D sees them, so D cannot tell them apart by augmentation
artefacts and G still receives gradients through ``T``. The three policies of the official
code (mit-han-lab/data-efficient-gans), each drawn independently per sample:

* ``color``: brightness ``+ U[-0.5, 0.5]``, then saturation (scale by ``U[0, 2]`` around the
  per-pixel channel mean), then contrast (scale by ``U[0.5, 1.5]`` around the per-image mean);
* ``translation``: an integer shift of up to 1/8 of each side, uncovered pixels zero;
* ``cutout``: a zeroed rectangle of half of each side, its centre anywhere in the image
  (clipped at the borders).

The magnitudes assume images in [-1, 1], gan_lab's range (as the official code does). The
per-op functions below take explicit parameters so their maths can be checked directly.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from gan_lab.augment.base import Augment

__all__ = [
    "POLICIES",
    "DiffAugment",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_saturation",
    "cutout",
    "translate",
]

POLICIES = ("color", "translation", "cutout")

TRANSLATION_RATIO = 0.125  # max shift, as a fraction of the side (paper, sec. 3)
CUTOUT_RATIO = 0.5  # side of the cut square, as a fraction of the image side


def _per_sample(v: Tensor, x: Tensor) -> Tensor:
    """``v`` of shape [N] as [N, 1, 1, 1] in ``x``'s dtype, to broadcast over C, H, W."""
    return v.to(x.dtype).view(-1, 1, 1, 1)


def adjust_brightness(x: Tensor, delta: Tensor) -> Tensor:
    """``x + delta[i]`` for sample ``i``."""
    return x + _per_sample(delta, x)


def adjust_saturation(x: Tensor, factor: Tensor) -> Tensor:
    """Scale each pixel's deviation from its channel mean by ``factor[i]``."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * _per_sample(factor, x) + mean


def adjust_contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Scale each image's deviation from its own mean (over C, H, W) by ``factor[i]``."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _per_sample(factor, x) + mean


def translate(x: Tensor, shift: Tensor) -> Tensor:
    """Move sample ``i``'s content by ``shift[i] = (dy, dx)`` pixels; uncovered pixels are 0.

    ``out[i, :, y, x] = x[i, :, y - dy, x - dx]`` where that source pixel exists. A gather, so
    the gradient reaches exactly the source pixels that were kept.
    """
    n, c, h, w = x.shape
    shift = shift.to(device=x.device, dtype=torch.long)
    ys = torch.arange(h, device=x.device).unsqueeze(0) - shift[:, 0:1]  # [N, H] source rows
    xs = torch.arange(w, device=x.device).unsqueeze(0) - shift[:, 1:2]  # [N, W] source cols
    valid = ((ys >= 0) & (ys < h)).unsqueeze(2) & ((xs >= 0) & (xs < w)).unsqueeze(1)
    index = ys.clamp(0, h - 1).unsqueeze(2) * w + xs.clamp(0, w - 1).unsqueeze(1)  # [N, H, W]
    index = index.view(n, 1, h * w).expand(n, c, h * w)
    out = x.reshape(n, c, h * w).gather(2, index).view(n, c, h, w)
    return out.masked_fill(~valid.unsqueeze(1), 0)


def cutout(x: Tensor, top_left: Tensor, size: tuple[int, int]) -> Tensor:
    """Zero rows ``[top, top + size[0])`` x columns ``[left, left + size[1])`` of sample ``i``.

    ``top_left[i] = (top, left)`` may lie partly outside the image; the rectangle is clipped.
    """
    _, _, h, w = x.shape
    top_left = top_left.to(device=x.device, dtype=torch.long)
    ys = torch.arange(h, device=x.device).unsqueeze(0) - top_left[:, 0:1]  # [N, H]
    xs = torch.arange(w, device=x.device).unsqueeze(0) - top_left[:, 1:2]  # [N, W]
    inside = ((ys >= 0) & (ys < size[0])).unsqueeze(2) & ((xs >= 0) & (xs < size[1])).unsqueeze(1)
    return x.masked_fill(inside.unsqueeze(1), 0)


def _parse_policy(policy: str | Iterable[str]) -> tuple[str, ...]:
    words = policy.split(",") if isinstance(policy, str) else list(policy)
    words = [str(word).strip() for word in words]
    words = [word for word in words if word]  # "" (or a stray comma) means no augmentation
    for word in words:
        if word not in POLICIES:
            raise ValueError(
                f"unknown DiffAugment policy {word!r}; allowed: {', '.join(POLICIES)} "
                "(comma-separated, e.g. 'color,translation,cutout')"
            )
    return tuple(words)


class DiffAugment(Augment):
    """DiffAugment (Zhao et al. 2020, sec. 3): policies applied in the order given.

    Args:
        policy: comma-separated subset of ``color``, ``translation``, ``cutout`` (or a list of
            them); ``""`` is the identity.
    """

    def __init__(self, policy: str | Iterable[str] = "color,translation,cutout") -> None:
        super().__init__()
        self.policy = _parse_policy(policy)

    def extra_repr(self) -> str:
        return f"policy={','.join(self.policy)!r}"

    def forward(self, x: Tensor) -> Tensor:
        for word in self.policy:
            if word == "color":
                x = self._color(x)
            elif word == "translation":
                x = self._translation(x)
            else:
                x = self._cutout(x)
        return x

    # Draws are float32/int64 from the global RNG of x's device, whatever x's dtype, so a run
    # replays the same augmentations under any precision setting.

    @staticmethod
    def _color(x: Tensor) -> Tensor:
        n = x.shape[0]
        x = adjust_brightness(x, torch.rand(n, device=x.device) - 0.5)
        x = adjust_saturation(x, torch.rand(n, device=x.device) * 2)
        return adjust_contrast(x, torch.rand(n, device=x.device) + 0.5)

    @staticmethod
    def _translation(x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        shift = torch.stack(
            [
                torch.randint(-m, m + 1, (n,), device=x.device)
                for m in (int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5))
            ],
            dim=1,
        )
        return translate(x, shift)

    @staticmethod
    def _cutout(x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        size = (int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5))
        # The square's centre is uniform over the image, as in the official code: the top edge
        # runs from -(s//2) to side - s//2 - (s % 2), i.e. the centre from row 0 to the last row
        # for odd s, and from -0.5 to side - 0.5 (symmetric) for even s; clipped at the borders.
        top_left = torch.stack(
            [
                torch.randint(-(s // 2), side - s // 2 + (1 - s % 2), (n,), device=x.device)
                for s, side in zip(size, (h, w))
            ],
            dim=1,
        )
        return cutout(x, top_left, size)

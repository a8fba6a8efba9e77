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

Beyond images (gan_lab.augment.base, ``kind=``):

* clips (N, T, C, H, W): each policy draws its parameters once per clip and applies them to all
  T frames (the paper's image ops on every frame with the clip's shift, cut and colour change),
  so the augmentation moves, cuts or recolours the whole clip alike and leaves its motion intact.
* voxels (N, C, D, H, W): ``translation`` shifts by up to 1/8 of each of the three sides and
  ``cutout`` zeroes a box of half of each side, the paper's two geometric policies on three
  axes; ``color`` is refused (brightness, saturation and contrast have no meaning for an
  occupancy grid), so a voxel run names ``augment.policy=translation,cutout``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from gan_lab.augment.base import LAYOUTS, Augment, per_clip
from gan_lab.kinds import SampleKind

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
# The policies that apply to each sample kind (colour has no meaning for occupancy voxels).
KIND_POLICIES = {
    SampleKind.IMAGES: POLICIES,
    SampleKind.CLIPS: POLICIES,
    SampleKind.VOXELS: ("translation", "cutout"),
}


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


def _source(x: Tensor, offset: Tensor) -> tuple[list[Tensor], torch.Size]:
    """Per spatial axis ``a`` of ``x`` (N, C, *spatial) and sample ``i``: the coordinates
    ``arange(size_a) - offset[i, a]``, each as [N, size_a] broadcast to [N, *spatial]."""
    spatial = x.shape[2:]
    offset = offset.to(device=x.device, dtype=torch.long)
    if offset.shape != (x.shape[0], len(spatial)):
        raise ValueError(f"expected one offset per sample and spatial axis, shape "
                         f"{(x.shape[0], len(spatial))}, got {tuple(offset.shape)}")
    coords = []
    for axis, size in enumerate(spatial):
        view = [x.shape[0]] + [1] * len(spatial)
        view[1 + axis] = size
        coords.append((torch.arange(size, device=x.device).unsqueeze(0)
                       - offset[:, axis : axis + 1]).view(view))
    return coords, spatial


def translate(x: Tensor, shift: Tensor) -> Tensor:
    """Move sample ``i``'s content by ``shift[i]`` pixels; uncovered pixels are 0.

    Images (N, C, H, W) with ``shift[i] = (dy, dx)``: ``out[i, :, y, x] = x[i, :, y - dy,
    x - dx]`` where that source pixel exists; voxels (N, C, D, H, W) with ``(dz, dy, dx)``
    alike on three axes (one column of ``shift`` per spatial axis). A gather, so the gradient
    reaches exactly the source pixels that were kept.
    """
    n, c = x.shape[:2]
    coords, spatial = _source(x, shift)
    valid = None
    index = None
    for src, size in zip(coords, spatial):
        inside = (src >= 0) & (src < size)
        valid = inside if valid is None else valid & inside
        src = src.clamp(0, size - 1)
        index = src if index is None else index * size + src  # row-major flat source index
    numel = index.shape[1:].numel()
    index = index.reshape(n, 1, numel).expand(n, c, numel)
    out = x.reshape(n, c, numel).gather(2, index).view(x.shape)
    return out.masked_fill(~valid.unsqueeze(1), 0)


def cutout(x: Tensor, top_left: Tensor, size: tuple[int, ...]) -> Tensor:
    """Zero rows ``[top, top + size[0])`` x columns ``[left, left + size[1])`` of sample ``i``.

    ``top_left[i] = (top, left)`` may lie partly outside the image; the rectangle is clipped.
    Voxels (N, C, D, H, W): a box, ``top_left[i] = (front, top, left)`` and a 3-entry ``size``.
    """
    coords, _ = _source(x, top_left)
    inside = None
    for src, side in zip(coords, size):
        within = (src >= 0) & (src < side)
        inside = within if inside is None else inside & within
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

    Handles images, clips (one draw per clip, for all its frames) and voxels (translation and
    cutout on three axes; ``color`` is refused for voxels): see the module docstring.

    Args:
        policy: comma-separated subset of ``color``, ``translation``, ``cutout`` (or a list of
            them); ``""`` is the identity.
    """

    kinds = (SampleKind.IMAGES, SampleKind.CLIPS, SampleKind.VOXELS)
    option = "diffaugment"

    def __init__(self, policy: str | Iterable[str] = "color,translation,cutout") -> None:
        super().__init__()
        self.policy = _parse_policy(policy)

    def extra_repr(self) -> str:
        return f"policy={','.join(self.policy)!r}"

    def check_kind(self, kind: SampleKind | str | None) -> SampleKind:
        """As :meth:`Augment.check_kind`, and refuses a policy that does not apply to ``kind``
        (``color`` on voxels) in one line naming ``augment.policy``."""
        kind = super().check_kind(kind)
        refused = [word for word in self.policy if word not in KIND_POLICIES[kind]]
        if refused:
            raise ValueError(
                f"augment.policy={','.join(self.policy)}: {', '.join(map(repr, refused))} does "
                f"not apply to {kind} {LAYOUTS[kind]} (no colour in an occupancy grid); the "
                f"policies for {kind} are {', '.join(KIND_POLICIES[kind])}"
            )
        return kind

    def transform(self, x: Tensor, frames: int = 1) -> Tensor:
        for word in self.policy:
            if word == "color":
                x = self._color(x, frames)
            elif word == "translation":
                x = self._translation(x, frames)
            else:
                x = self._cutout(x, frames)
        return x

    # Draws are float32/int64 from the global RNG of x's device, whatever x's dtype, so a run
    # replays the same augmentations under any precision setting. One draw per clip (N of
    # them, ``x`` holding N * frames samples), repeated for its frames by ``per_clip``.

    @staticmethod
    def _color(x: Tensor, frames: int = 1) -> Tensor:
        n = x.shape[0] // frames
        x = adjust_brightness(x, per_clip(torch.rand(n, device=x.device) - 0.5, frames))
        x = adjust_saturation(x, per_clip(torch.rand(n, device=x.device) * 2, frames))
        return adjust_contrast(x, per_clip(torch.rand(n, device=x.device) + 0.5, frames))

    @staticmethod
    def _translation(x: Tensor, frames: int = 1) -> Tensor:
        n = x.shape[0] // frames
        shift = torch.stack(
            [
                torch.randint(-m, m + 1, (n,), device=x.device)
                for m in (int(side * TRANSLATION_RATIO + 0.5) for side in x.shape[2:])
            ],
            dim=1,
        )
        return translate(x, per_clip(shift, frames))

    @staticmethod
    def _cutout(x: Tensor, frames: int = 1) -> Tensor:
        n = x.shape[0] // frames
        sides = x.shape[2:]
        size = tuple(int(side * CUTOUT_RATIO + 0.5) for side in sides)
        # The square's centre is uniform over the image, as in the official code: the top edge
        # runs from -(s//2) to side - s//2 - (s % 2), i.e. the centre from row 0 to the last row
        # for odd s, and from -0.5 to side - 0.5 (symmetric) for even s; clipped at the borders.
        # Voxels: the same on each of the three axes (a box).
        top_left = torch.stack(
            [
                torch.randint(-(s // 2), side - s // 2 + (1 - s % 2), (n,), device=x.device)
                for s, side in zip(size, sides)
            ],
            dim=1,
        )
        return cutout(x, per_clip(top_left, frames), size)

"""Preprocessing of translation images: the official resize, crop and flip, and their windows.

:class:`Preprocess` resizes, crops and flips float ``(C, H, W)`` images in ``[-1, 1]`` through
a :class:`CropFlip` window (drawn at random for training, the centre for evaluation);
:func:`to_unit_range` turns a decoded PIL image into such a tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

__all__ = ["PREPROCESS_MODES", "CropFlip", "Preprocess", "to_unit_range"]

PREPROCESS_MODES = ("resize_and_crop", "crop", "resize", "none")


@dataclass(frozen=True)
class CropFlip:
    """Where to crop (top-left corner in the resized image) and whether to flip."""

    top: int = 0
    left: int = 0
    flip: bool = False


class Preprocess:
    """The official training transform and its deterministic evaluation counterpart.

    Works on float ``(C, H, W)`` tensors in ``[-1, 1]``; resizing is bicubic and antialiased (PIL
    BICUBIC in the official code), clamped back to ``[-1, 1]``. With ``crop`` an image smaller
    than ``image_size`` is first scaled up (shorter side to ``image_size``), where the official
    code would fail.
    """

    def __init__(self, mode: str, load_size: int, image_size: int, flip: bool) -> None:
        self.mode = mode
        self.load_size = load_size
        self.image_size = image_size
        self.flip = flip

    @property
    def crops(self) -> bool:
        return self.mode in ("resize_and_crop", "crop")

    @property
    def random(self) -> bool:
        """Whether training items are augmented at random."""
        return self.crops or self.flip

    def describe(self) -> str:
        """The settings, for fingerprints."""
        return f"{self.mode},load={self.load_size},size={self.image_size},flip={self.flip}"

    @property
    def decode_size(self) -> int | None:
        """The smallest side that decoding must keep (JPEG draft), or None for full size."""
        return {"resize_and_crop": self.load_size, "resize": self.image_size}.get(self.mode)

    def resized(self, height: int, width: int) -> tuple[int, int]:
        """The size an image of ``height x width`` has before cropping."""
        size = self.image_size
        if self.mode == "resize_and_crop":
            return self.load_size, self.load_size
        if self.mode == "resize":
            return size, size
        if self.mode == "crop" and min(height, width) < size:
            scale = size / min(height, width)
            return max(size, round(height * scale)), max(size, round(width * scale))
        return height, width

    def draw(self, height: int, width: int, generator: torch.Generator) -> CropFlip:
        """Random crop and flip for an image of ``height x width``, from ``generator``."""
        top = left = 0
        if self.crops:
            h, w = self.resized(height, width)
            top = int(torch.randint(0, h - self.image_size + 1, (), generator=generator))
            left = int(torch.randint(0, w - self.image_size + 1, (), generator=generator))
        flip = self.flip and bool(torch.rand((), generator=generator) < 0.5)
        return CropFlip(top, left, flip)

    def centre(self, height: int, width: int) -> CropFlip:
        """The evaluation window: a centre crop, no flip."""
        if not self.crops:
            return CropFlip()
        h, w = self.resized(height, width)
        return CropFlip((h - self.image_size) // 2, (w - self.image_size) // 2, False)

    def __call__(self, image: torch.Tensor, window: CropFlip | None = None) -> torch.Tensor:
        """``image`` resized, cropped at ``window`` (default: the centre) and maybe flipped."""
        height, width = image.shape[-2:]
        window = window or self.centre(height, width)
        size = self.resized(height, width)
        if size != (height, width):
            image = _resize(image, size)
        if self.crops:
            s = self.image_size
            image = image[:, window.top : window.top + s, window.left : window.left + s]
        if window.flip:
            image = image.flip(-1)
        return image.contiguous()

    def pair(
        self, a: torch.Tensor, b: torch.Tensor, window: CropFlip | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both images of a pair through the same window (B first resized to A's size)."""
        if b.shape[-2:] != a.shape[-2:]:
            b = _resize(b, tuple(a.shape[-2:]))
        return self(a, window), self(b, window)


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    resized = TF.resize(image, list(size), interpolation=InterpolationMode.BICUBIC, antialias=True)
    return resized.clamp_(-1.0, 1.0)


def to_unit_range(image: Image.Image) -> torch.Tensor:
    """A PIL image as float32 ``(C, H, W)`` in ``[-1, 1]``."""
    return TF.pil_to_tensor(image).to(torch.float32) / 127.5 - 1.0

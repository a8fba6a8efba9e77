"""Tensor transforms shared by the in-memory image sets."""

from __future__ import annotations

from typing import Any

import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF


def resize_square(images: torch.Tensor, image_size: int) -> torch.Tensor:
    """(N, C, H, W) images in [-1, 1] resized to image_size x image_size (bilinear, antialiased).

    A no-op when they already have that size; the result is clamped back to [-1, 1] because
    antialiased bilinear filtering can overshoot slightly.
    """
    if tuple(images.shape[-2:]) != (image_size, image_size):
        images = TF.resize(
            images, [image_size, image_size], interpolation=InterpolationMode.BILINEAR,
            antialias=True,
        )
    return images.clamp_(-1.0, 1.0).contiguous()


def read_image(image: Any, channels: int, size: int | None = None) -> torch.Tensor:
    """A PIL image as a (1, channels, H, W) float tensor in [-1, 1] (grey for 1 channel, RGB for
    3), its shorter side resized to ``size`` first when given (bilinear, antialiased)."""
    pixels = TF.pil_to_tensor(image.convert("RGB" if channels == 3 else "L"))
    if size is not None:
        pixels = TF.resize(pixels, size, interpolation=InterpolationMode.BILINEAR, antialias=True)
    return pixels[None].float() / 127.5 - 1.0

"""Tensor transforms shared by the in-memory image sets."""

from __future__ import annotations

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

"""Readers of user inputs: a file a command is given, as the tensor a scheme takes.

Below models and data (it imports nothing of gan_lab), so schemes declare their readers and data
modules share them without an upward import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF


def read_image(image: Any, channels: int, size: int | None = None) -> torch.Tensor:
    """A PIL image as a (1, channels, H, W) float tensor in [-1, 1] (grey for 1 channel, RGB for
    3), its shorter side resized to ``size`` first when given (bilinear, antialiased)."""
    pixels = TF.pil_to_tensor(image.convert("RGB" if channels == 3 else "L"))
    if size is not None:
        pixels = TF.resize(pixels, size, interpolation=InterpolationMode.BILINEAR, antialias=True)
    return pixels[None].float() / 127.5 - 1.0


def read_mask(path: Any) -> torch.Tensor | None:
    """A mask image as (1, 1, H, W) in {0, 1}: 1 where it is brighter than mid-grey (the hole);
    None for none (the model's own hole). ValueError (one line) for a missing file."""
    if path is None:
        return None
    from PIL import Image

    file = Path(str(path)).expanduser()
    if not file.is_file():
        raise ValueError(f"options.mask={str(path)!r}: no such file; give an image whose white "
                         "pixels mark the region to fill, or leave it out for the model's own hole")
    with Image.open(file) as image:
        grey = torch.from_numpy(np.asarray(image.convert("L")).copy()).float()
    return (grey > 127.5).float()[None, None]

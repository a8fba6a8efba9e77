"""The photos and textures bundled in scikit-image's wheel: the offline image data of the
image-conditional models (super-resolution and inpainting crops, SinGAN's single image, the
textures that fill SPADE's label maps).

Only images that ship inside the wheel are listed; others in ``skimage.data`` download through
pooch and fail offline. All are CC0 or public domain (skimage.data's documentation).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["COLOUR_PHOTOS", "GREY_PHOTOS", "PHOTOS", "TEXTURES", "load_photo", "photo_tensor"]

# Colour photos (H, W, 3).
COLOUR_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
                 "immunohistochemistry", "retina")
# Grey-scale photos (H, W), given as RGB with the grey repeated.
GREY_PHOTOS = ("camera", "moon", "coins", "clock", "page", "text", "cell")
PHOTOS = COLOUR_PHOTOS + GREY_PHOTOS
# Grey-scale textures (512 x 512), e.g. the regions of a drawn label map.
TEXTURES = ("brick", "grass", "gravel")


def load_photo(name: str) -> np.ndarray:
    """The bundled image ``name`` as RGB uint8 (H, W, 3); ValueError naming the choices."""
    if name not in PHOTOS + TEXTURES:
        raise ValueError(f"photo {name!r}: not one of the photos bundled with scikit-image "
                         f"({', '.join(PHOTOS + TEXTURES)})")
    try:
        import skimage.data
    except ImportError as error:  # a dependency, but name it if an install lacks it
        raise ValueError("the bundled photos need scikit-image: pip install scikit-image") from error
    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3].astype(np.uint8))


def photo_tensor(name: str) -> Tensor:
    """The bundled image ``name`` as a float tensor (3, H, W) in [-1, 1]."""
    pixels = torch.from_numpy(load_photo(name)).permute(2, 0, 1).float()
    return pixels / 127.5 - 1.0

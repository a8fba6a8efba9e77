"""Content losses of super-resolution (Ledig et al. 2017, sec. 2.2.1): pixel-wise MSE and the
MSE between VGG feature maps. Pure functions of tensors and a feature net.

- ``mse`` (eq. 4): the mean squared error between the super-resolved and the HR image, on images
  in [-1, 1] (sec. 3.2: "the MSE loss was thus calculated on images of intensity range [-1, 1]").
- ``vgg22`` / ``vgg54`` (eq. 5): the mean squared error between VGG19 feature maps phi_{i,j} of
  the two images, "the j-th convolution (after activation) before the i-th maxpooling layer";
  the feature maps are rescaled by 1/12.75 "to obtain VGG losses of a scale that is comparable
  to the MSE loss" (sec. 3.2; equivalent to multiplying eq. 5 by about 0.006).

The feature net is a frozen auxiliary net: torchvision's VGG19 from
:func:`gan_lab.nets.vgg.load_vgg19`, through the provider of gan_lab.auxiliary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["CONTENT_LOSSES", "PAPER_VGG_LAYERS", "VGG_FEATURE_SCALE", "check_content",
           "mse_content_loss", "vgg_content_loss"]

# The paper's VGG_{i,j} -> the layer name of gan_lab.nets.vgg (j-th ReLU of block i).
PAPER_VGG_LAYERS = {"vgg22": "relu2_2", "vgg54": "relu5_4"}
CONTENT_LOSSES = ("mse", *PAPER_VGG_LAYERS)
VGG_FEATURE_SCALE = 1.0 / 12.75


def check_content(content: str, key: str = "model.content") -> str:
    """``content`` if it is one of CONTENT_LOSSES; one ValueError line otherwise."""
    if content not in CONTENT_LOSSES:
        raise ValueError(f"{key}={content!r}: must be one of {', '.join(CONTENT_LOSSES)} "
                         "(pixel MSE, or the MSE of VGG19 feature maps as in Ledig et al. 2017)")
    return content


def mse_content_loss(fake: Tensor, real: Tensor) -> Tensor:
    """l_MSE (eq. 4): mean over pixels and channels of (real - fake)^2."""
    return F.mse_loss(fake.float(), real.float())


def vgg_content_loss(features: Callable[[Tensor], list[Tensor]], fake: Tensor, real: Tensor,
                     scale: float = VGG_FEATURE_SCALE,
                     weights: Sequence[float] | None = None) -> Tensor:
    """l_VGG (eq. 5): mean of (scale * phi(real) - scale * phi(fake))^2 over each feature map's
    elements, summed over the maps ``features`` returns (weighted by ``weights`` if given).

    ``features`` maps images to a list of feature maps (gan_lab.nets.vgg.VGGFeatures); the real
    images' maps are taken without a graph (only the generator learns through this loss).
    """
    fake_maps = features(fake)
    with torch.no_grad():
        real_maps = features(real)
    weights = [1.0] * len(fake_maps) if weights is None else list(weights)
    if len(weights) != len(fake_maps):
        raise ValueError(f"{len(weights)} weights for {len(fake_maps)} feature maps")
    total = fake.new_zeros((), dtype=torch.float32)
    for weight, fake_map, real_map in zip(weights, fake_maps, real_maps, strict=True):
        total = total + weight * F.mse_loss(scale * fake_map.float(), scale * real_map.float())
    return total

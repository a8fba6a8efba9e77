"""``images``: (N, C, H, W) in [-1, 1] as one grid of ``nrow`` per row (torchvision's make_grid,
2-pixel white padding); grey is repeated to RGB, more than 3 channels keep the first 3."""

from __future__ import annotations

import torch
from torchvision.utils import make_grid

from gan_lab.kinds import SampleKind
from gan_lab.outputs.base import ImageOutput, register_renderer
from gan_lab.visuals import Visual


def _example() -> Visual:
    ramp = torch.linspace(-1, 1, 6 * 3 * 4 * 4).reshape(6, 3, 4, 4)
    return Visual(SampleKind.IMAGES, ramp, nrow=3)


@register_renderer(SampleKind.IMAGES, example=_example)
def render_images(visual: Visual) -> ImageOutput:
    images = visual.data.detach().float().cpu()
    if images.dim() != 4:
        raise ValueError(f"an 'images' visual needs (N, C, H, W), got {tuple(images.shape)}")
    if images.shape[1] not in (1, 3):
        images = images[:, :3] if images.shape[1] > 3 else images[:, :1]
    return ImageOutput(make_grid(images.expand(-1, 3, -1, -1), nrow=visual.nrow, normalize=True,
                                 value_range=(-1, 1), pad_value=1.0))

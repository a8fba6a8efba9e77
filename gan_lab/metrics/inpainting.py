"""Scores of inpainting models (context encoders) on held-out images, in the hole.

Pathak et al. 2016 report, for the central hole of held-out Paris StreetView images, the mean L1
loss, the mean L2 loss and the PSNR (their semantic-inpainting table: 9.37 %, 1.96 %, 18.58 dB
for the joint L2 + adversarial context encoder). The official code releases no evaluation
script, so the reading here is stated: pixels mapped to [0, 1]; ``mean_l1`` = mean |x - y| and
``mean_l2`` = mean (x - y)^2 over every hole pixel and channel of every image (the paper's
percentages are these times 100); ``psnr`` = 10 log10(1 / MSE) per image over its hole,
averaged over images (the only reading consistent with the paper's numbers: a PSNR of the mean
L2 of 1.96 % would be 17.08 dB, and a mean of per-image PSNRs exceeds it by Jensen's
inequality). ``psnr_of_mean_l2`` gives the other reading too.

Blur is what the adversarial loss is claimed to remove (the paper's fig. 5 and 6), and L1 / L2
/ PSNR reward it, so sharpness is measured as well, against the real hole: the gradient energy
(mean squared difference of horizontally and vertically adjacent pixels, both in the hole) and
the Laplacian energy (mean squared 4-neighbour Laplacian at pixels whose neighbours are all in
the hole) of the filled holes over those of the real holes, pooled over the images. 1 is the
real images' sharpness; a blurry fill scores below 1.

The hole is the central ``hole_size`` square (the paper's evaluation; null: the model's own
``hole_size``, else half the image side), filled through the translation protocol
(``sampler.translate(images, "inpaint", mask=...)``): the model replaces exactly those pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader

__all__ = ["InpaintingQuality", "gradient_energy", "hole_errors", "laplacian_energy",
           "square_hole"]

DIRECTION = "inpaint"
_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def square_hole(image_size: int, hole_size: int) -> Tensor:
    """(1, 1, S, S): 1 on the central ``hole_size`` square."""
    mask = torch.zeros(1, 1, image_size, image_size)
    start = (image_size - hole_size) // 2
    mask[..., start:start + hole_size, start:start + hole_size] = 1.0
    return mask


def hole_errors(filled: Tensor, real: Tensor, masks: Tensor) -> tuple[Tensor, Tensor]:
    """Per image: (mean |filled - real|, mean (filled - real)^2) over the hole's pixels and
    channels; images in [0, 1], masks (B or 1, 1, H, W) with 1 = hole."""
    masks = masks.expand(len(filled), 1, *filled.shape[-2:])
    count = masks.sum(dim=(1, 2, 3)) * filled.shape[1]
    difference = (filled - real) * masks
    return difference.abs().sum(dim=(1, 2, 3)) / count, difference.square().sum(dim=(1, 2, 3)) / count


def gradient_energy(images: Tensor, masks: Tensor) -> tuple[Tensor, Tensor]:
    """Per image: (sum of squared differences of adjacent pixels both in the hole, their
    count); horizontal and vertical neighbours, every channel."""
    masks = masks.expand(len(images), 1, *images.shape[-2:])
    dx = images[..., :, 1:] - images[..., :, :-1]
    dy = images[..., 1:, :] - images[..., :-1, :]
    mx = masks[..., :, 1:] * masks[..., :, :-1]
    my = masks[..., 1:, :] * masks[..., :-1, :]
    energy = (dx.square() * mx).sum(dim=(1, 2, 3)) + (dy.square() * my).sum(dim=(1, 2, 3))
    count = (mx.sum(dim=(1, 2, 3)) + my.sum(dim=(1, 2, 3))) * images.shape[1]
    return energy, count


def laplacian_energy(images: Tensor, masks: Tensor) -> tuple[Tensor, Tensor]:
    """Per image: (sum of squared 4-neighbour Laplacians at pixels whose 3x3 neighbourhood is in
    the hole, their count), every channel."""
    masks = masks.expand(len(images), 1, *images.shape[-2:])
    channels = images.shape[1]
    kernel = _LAPLACIAN.to(images).expand(channels, 1, 3, 3)
    laplacian = F.conv2d(images, kernel, groups=channels)
    inside = -F.max_pool2d(-masks, 3, stride=1)  # eroded: the whole 3x3 window in the hole
    return (laplacian.square() * inside).sum(dim=(1, 2, 3)), inside.sum(dim=(1, 2, 3)) * channels


class InpaintingQuality:
    """Evaluator of inpainting models (``eval=inpainting``); see the module docstring.

    Args:
        hole_size: side of the central square hole scored (null: the model's ``hole_size``, or
            half the image side).
        chunk: images per forward pass.
    """

    protocol = "translate"

    def __init__(self, hole_size: int | None = None, chunk: int = 64) -> None:
        if hole_size is not None and (isinstance(hole_size, bool) or not isinstance(hole_size, int)
                                      or hole_size < 1):
            raise ValueError(f"eval.metrics.inpainting.hole_size={hole_size!r}: must be null or "
                             "an integer >= 1")
        self.hole_size = hole_size
        self.chunk = int(chunk)

    def prepare(self, datamodule: Any) -> None:
        if not hasattr(datamodule, "eval_set"):
            raise ValueError("eval=inpainting scores fills of held-out images: use data="
                             "photos_inpainting, paris_streetview or inpainting_folder")

    def _hole(self, sampler: Any, image_size: int) -> int:
        size = self.hole_size
        if size is None:
            size = int(getattr(getattr(sampler, "module", None), "hole_size", 0) or image_size // 2)
        if size >= image_size:
            raise ValueError(f"eval.metrics.inpainting.hole_size={size} must be smaller than "
                             f"the {image_size}-pixel held-out images")
        return size

    def __call__(self, sampler: Callable[..., Tensor], datamodule: Any, out_dir: Path | None,
                 tag: str) -> dict[str, float]:
        self.prepare(datamodule)
        loader = DataLoader(datamodule.eval_set(), batch_size=self.chunk, shuffle=False)
        l1, l2, psnr = [], [], []
        sums = {"grad_fake": 0.0, "grad_real": 0.0, "lap_fake": 0.0, "lap_real": 0.0}
        mask = None
        for batch in loader:
            images = batch[0].float()
            if mask is None:
                mask = square_hole(images.shape[-1], self._hole(sampler, images.shape[-1]))
            filled = sampler.translate(images, DIRECTION, mask=mask).float()
            fake01, real01 = ((filled + 1) / 2).clamp(0, 1), ((images + 1) / 2).clamp(0, 1)
            batch_l1, batch_l2 = hole_errors(fake01, real01, mask)
            l1.append(batch_l1)
            l2.append(batch_l2)
            psnr.append(10 * torch.log10(1.0 / batch_l2.clamp_min(1e-10)))
            for name, energy in (("grad", gradient_energy), ("lap", laplacian_energy)):
                sums[f"{name}_fake"] += float(energy(fake01, mask)[0].sum())
                sums[f"{name}_real"] += float(energy(real01, mask)[0].sum())
        if mask is None:
            raise ValueError("eval=inpainting: the data has no held-out images")
        mean_l2 = float(torch.cat(l2).mean())
        out = {
            "inpainting/mean_l1": float(torch.cat(l1).mean()),
            "inpainting/mean_l2": mean_l2,
            "inpainting/psnr": float(torch.cat(psnr).mean()),
            "inpainting/psnr_of_mean_l2": 10 * math.log10(1.0 / max(mean_l2, 1e-10)),
        }
        for name in ("grad", "lap"):
            real = sums[f"{name}_real"]
            key = "gradient" if name == "grad" else "laplacian"
            out[f"inpainting/{key}_energy_ratio"] = (sums[f"{name}_fake"] / real if real > 0
                                                     else float("nan"))
        return out

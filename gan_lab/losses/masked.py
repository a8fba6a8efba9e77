"""The context encoder's masks and its masked reconstruction loss.

Pathak et al. 2016, "Context Encoders: Feature Learning by Inpainting", sec. 3.2.1 (eq. 1) and
sec. 3.3 (region masks), held against the official Torch code (pathak22/context-encoder,
train.lua and train_random.lua). A mask is (N, 1, H, W) float in {0, 1}, 1 = a dropped pixel
(the hole, the paper's M-hat).

- :func:`center_mask`: the central square (sec. 3.3 "central region"; train.lua: the centre
  fineSize/2 square of a fineSize crop, 64 of 128).
- :func:`random_block_masks`: several smaller, possibly overlapping squares covering up to a
  quarter of the image (sec. 3.3 "random block"; the official code has no random-block trainer).
- :func:`random_region_masks`: arbitrary blob-shaped regions, as train_random.lua draws them (the
  paper's sec. 3.3 deforms PASCAL VOC segments; the released code replaces them by a smooth random
  pattern): uniform noise on a coarse grid (``res`` 0.06 of a pixel: 7.68 cells across a 128
  crop), upsampled bicubically and thresholded at ``density`` 0.25, redrawn until 20-30 % of the
  image is hole. Here the grid is scaled with the image, so shapes keep their relative size at
  any resolution, and each sample gets its own mask (the official code shares one per batch).
- :func:`weighted_l2`: the reconstruction loss as the official code optimises it: the mean over
  every element of the prediction (Torch's MSECriterion) of w * (prediction - target)^2, with the
  per-pixel weight w of train.lua's ``wtl2Matrix`` (1 in the hole, ``overlapL2Weight`` = 10 in
  the predicted border that overlaps the context: :func:`overlap_weights`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["MASKS", "center_mask", "context_weights", "make_masks", "overlap_weights",
           "random_block_masks", "random_region_masks", "weighted_l2"]

MASKS = ("center", "random_block", "random_region")

# train_random.lua: the random pattern's resolution (noise cells per pixel at fineSize 128) and
# the share of it that is hole; a mask is accepted when 20 % < hole area < 30 %.
REGION_CELLS_AT_128 = 0.06 * 128
REGION_DENSITY = 0.25
REGION_AREA = (0.20, 0.30)
# Sec. 3.3: random blocks "covering up to 1/4 of the image".
BLOCK_COVERAGE = 0.25


def _square(size: int, start: int, side: int) -> Tensor:
    mask = torch.zeros(1, 1, size, size)
    mask[..., start:start + side, start:start + side] = 1.0
    return mask


def center_mask(image_size: int, hole_size: int, overlap: int = 0) -> Tensor:
    """(1, 1, S, S): 1 on the central ``hole_size`` square shrunk by ``overlap`` on every side.

    ``overlap`` 0 gives the hole the generator predicts; train.lua fills only the hole shrunk
    by ``overlapPred`` in the input, so the predicted border overlaps real context.
    """
    start = (image_size - hole_size) // 2 + overlap
    return _square(image_size, start, hole_size - 2 * overlap)


def overlap_weights(size: int, overlap: int, weight: float) -> Tensor:
    """(1, 1, size, size) L2 weights of a predicted centre: ``weight`` on the ``overlap``-pixel
    border (train.lua: overlapL2Weight = 10), 1 inside it."""
    weights = torch.full((1, 1, size, size), float(weight))
    weights[..., overlap:size - overlap, overlap:size - overlap] = 1.0
    return weights


def context_weights(masks: Tensor, weight: float) -> Tensor:
    """L2 weights of a whole predicted image: 1 in the hole, ``weight`` on the context.

    train_random.lua: ``useOverlapPred=0`` (the README's command) weighs every pixel alike
    (``weight`` 1); ``useOverlapPred=1`` puts 10x on the context; 0 is eq. (1), the hole only.
    """
    return masks + float(weight) * (1.0 - masks)


def weighted_l2(prediction: Tensor, target: Tensor, weights: Tensor) -> Tensor:
    """mean(weights * (prediction - target)^2) over every element of ``prediction``.

    ``weights`` broadcasts to the prediction (e.g. (1, 1, H, W) or (N, 1, H, W)). The gradient
    is 2 w (prediction - target) / numel, train.lua's ``wtl2Matrix`` times MSECriterion's.
    """
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {tuple(prediction.shape)} and target "
                         f"{tuple(target.shape)} differ in shape")
    squared = (prediction - target).square()
    return (weights.to(squared) * squared).mean()


def random_block_masks(count: int, image_size: int, block_size: int,
                       coverage: float = BLOCK_COVERAGE,
                       generator: torch.Generator | None = None) -> Tensor:
    """(count, 1, S, S): squares of ``block_size`` at uniform positions, possibly overlapping,
    added while the hole stays within ``coverage`` of the image (sec. 3.3: up to 1/4); the
    first square that would exceed it ends the mask (so each mask has at least one)."""
    if not 0 < block_size < image_size:
        raise ValueError(f"block_size={block_size}: must be in (0, {image_size})")
    limit = coverage * image_size * image_size
    masks = torch.zeros(count, 1, image_size, image_size)
    for mask in masks:
        while True:
            y, x = torch.randint(0, image_size - block_size + 1, (2,), generator=generator).tolist()
            trial = mask.clone()
            trial[:, y:y + block_size, x:x + block_size] = 1.0
            if trial.sum() > limit and mask.sum() > 0:
                break
            mask.copy_(trial)
    return masks


def random_region_masks(count: int, image_size: int, generator: torch.Generator | None = None,
                        cells: float | None = None, density: float = REGION_DENSITY,
                        area: tuple[float, float] = REGION_AREA,
                        max_tries: int = 10000) -> Tensor:
    """(count, 1, S, S) blob-shaped holes drawn as train_random.lua does (module docstring).

    ``cells``: noise cells across the image (default 7.68: the official 0.06 cells per pixel of
    a 128 crop, kept at any size). Each candidate is a window of a bicubically
    upsampled uniform grid, thresholded at ``density``; it is kept when its hole share lies
    strictly inside ``area``. RuntimeError after ``max_tries`` candidates for one mask.
    """
    cells = REGION_CELLS_AT_128 if cells is None else float(cells)
    grid = math.ceil(cells) + 2  # one spare cell each side: windows start at random offsets
    pixels_per_cell = image_size / cells
    upsampled = math.ceil(grid * pixels_per_cell)
    masks = []
    batch = 16  # candidates drawn together; most are rejected
    tries = 0
    while len(masks) < count:
        noise = torch.rand(batch, 1, grid, grid, generator=generator)
        smooth = F.interpolate(noise, size=(upsampled, upsampled), mode="bicubic",
                               align_corners=False)
        offsets = torch.randint(0, upsampled - image_size + 1, (batch, 2), generator=generator)
        for candidate, (y, x) in zip(smooth, offsets.tolist(), strict=True):
            window = (candidate[:, y:y + image_size, x:x + image_size] < density).float()
            share = float(window.mean())
            if area[0] < share < area[1] and len(masks) < count:
                masks.append(window)
        tries += batch
        if tries > max_tries * max(count, 1):
            raise RuntimeError(f"no random region with a hole share in {area} after {tries} "
                               "candidates")
    return torch.stack(masks)


def make_masks(kind: str, count: int, image_size: int, hole_size: int,
               generator: torch.Generator | None = None) -> Tensor:
    """``count`` masks of ``kind`` (one of :data:`MASKS`) for S x S images; the centre hole and
    the random blocks (of side hole_size / 2) are sized by ``hole_size``."""
    if kind == "center":
        return center_mask(image_size, hole_size).expand(count, -1, -1, -1).clone()
    if kind == "random_block":
        return random_block_masks(count, image_size, max(1, hole_size // 2), generator=generator)
    if kind == "random_region":
        return random_region_masks(count, image_size, generator=generator)
    raise ValueError(f"model.mask={kind!r}: must be one of {', '.join(MASKS)}")

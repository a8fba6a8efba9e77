"""The kinds of data batch a data module gives, named once.

Every data module declares ``batch_kind`` (one of :class:`BatchKind`); schemes (``check_data``),
evaluators and commands compare against these names, never against string literals. A
:class:`BatchKind` is a ``str`` (its value reads as before in messages and configs), so
``datamodule.batch_kind == BatchKind.SAMPLES`` holds for a module that still declares
``"samples"``. The kinds after the image families (clips, token sequences, voxels, captioned
images) are named here ahead of their data modules, so each lands as a registration.

This module imports nothing of gan_lab: data, models, metrics and commands all sit above it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class BatchKind(StrEnum):
    """What one batch holds."""

    SAMPLES = "samples"                    # (x,) or (x, labels): images or points
    TWO_DOMAINS = "two domains"            # (a, b) images of two domains, paired or not
    ATTRIBUTES = "attributes"              # (image, attribute vector)
    LABEL_MAPS = "label maps"              # (label map, image[, instance edges])
    SINGLE_IMAGE = "single image"          # one image, at the scales of a pyramid
    SUPER_RESOLUTION = "super-resolution"  # (low-resolution, high-resolution) pairs
    CLIPS = "clips"                        # (T, C, H, W) videos
    TOKEN_SEQUENCES = "token sequences"    # integer token ids over a vocabulary
    VOXELS = "voxels"                      # (C, D, H, W) occupancy grids
    CAPTIONED_IMAGES = "captioned images"  # (image, caption)


def batch_kind(datamodule: Any) -> BatchKind:
    """The kind a data module declares; ``samples`` for one that declares none (plain image or
    point sets written before the kinds were named)."""
    return BatchKind(getattr(datamodule, "batch_kind", BatchKind.SAMPLES))

"""Differentiable discriminator augmentations: DiffAugment (Zhao et al. 2020) and ADA
(Karras et al. 2020), behind the ``Augment`` protocol (forward / observe / metrics), for images,
clips (one transform per clip) and, where they apply, voxels (``augment(x, kind=...)``)."""

from gan_lab.augment.ada import AdaptiveAugment
from gan_lab.augment.base import (
    Augment,
    NoAugment,
    augment_for_critic,
    augment_input,
    augment_metrics,
)
from gan_lab.augment.diffaugment import DiffAugment

__all__ = ["AdaptiveAugment", "Augment", "DiffAugment", "NoAugment", "augment_for_critic",
           "augment_input", "augment_metrics"]

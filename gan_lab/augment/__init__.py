"""Differentiable discriminator augmentations: DiffAugment (Zhao et al. 2020) and ADA
(Karras et al. 2020), behind the ``Augment`` protocol (forward / observe / metrics)."""

from gan_lab.augment.ada import AdaptiveAugment
from gan_lab.augment.base import Augment, NoAugment
from gan_lab.augment.diffaugment import DiffAugment

__all__ = ["AdaptiveAugment", "Augment", "DiffAugment", "NoAugment"]

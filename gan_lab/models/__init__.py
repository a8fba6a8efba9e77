"""LightningModules, one per training scheme (not per architecture)."""

from gan_lab.models.base import AdversarialModule, NonFiniteLossError
from gan_lab.models.gan import GAN

__all__ = ["GAN", "AdversarialModule", "NonFiniteLossError"]

"""Adversarial objectives, discriminator regularisers and the ``AdversarialLoss`` bundle."""

from gan_lab.losses.adversarial import AdversarialLoss
from gan_lab.losses.objectives import OBJECTIVES, PAIRED_OBJECTIVES
from gan_lab.losses.regularizers import clip_weights_, gradient_penalty, r1_penalty, r2_penalty

__all__ = ["OBJECTIVES", "PAIRED_OBJECTIVES", "AdversarialLoss", "clip_weights_",
           "gradient_penalty", "r1_penalty", "r2_penalty"]

"""LightningModules, one per training scheme (not per architecture)."""

from gan_lab.models.base import AdversarialModule, NonFiniteLossError
from gan_lab.models.biggan import BigGAN
from gan_lab.models.context_encoder import ContextEncoder
from gan_lab.models.cyclegan import CycleGAN
from gan_lab.models.gan import GAN
from gan_lab.models.image_pool import ImagePool
from gan_lab.models.phases import Phase
from gan_lab.models.pix2pix import Pix2Pix
from gan_lab.models.progressive import GrowthSchedule, ProgressiveGAN
from gan_lab.models.r3gan import R3GAN
from gan_lab.models.schedules import constant_then_linear
from gan_lab.models.singan import SinGAN
from gan_lab.models.spade import SPADE
from gan_lab.models.srgan import SRGAN
from gan_lab.models.stargan import StarGAN
from gan_lab.models.stylegan2 import StyleGAN2
from gan_lab.models.translator import Translator

__all__ = [
    "GAN",
    "AdversarialModule",
    "BigGAN",
    "ContextEncoder",
    "CycleGAN",
    "GrowthSchedule",
    "ImagePool",
    "NonFiniteLossError",
    "Phase",
    "Pix2Pix",
    "ProgressiveGAN",
    "R3GAN",
    "SPADE",
    "SRGAN",
    "SinGAN",
    "StarGAN",
    "StyleGAN2",
    "Translator",
    "constant_then_linear",
]

"""Data modules and loaders (no dependency on models, callbacks, training or Hydra)."""

from gan_lab.data.digits import DigitsDataModule
from gan_lab.data.image_folder import ImageFolderDataModule
from gan_lab.data.loader import make_loader
from gan_lab.data.toy import GaussianMixture2D, ToyDataModule

__all__ = [
    "DigitsDataModule",
    "GaussianMixture2D",
    "ImageFolderDataModule",
    "ToyDataModule",
    "make_loader",
]

"""Data modules and loaders (no dependency on models, callbacks, training or Hydra)."""

from gan_lab.data.digits import DigitsDataModule
from gan_lab.data.fashion_mnist import FashionMNISTDataModule
from gan_lab.data.image_folder import ImageFolderDataModule
from gan_lab.data.loader import make_loader
from gan_lab.data.torchvision_sets import CIFAR10DataModule, MNISTDataModule
from gan_lab.data.toy import GaussianMixture2D, ToyDataModule

__all__ = [
    "CIFAR10DataModule",
    "DigitsDataModule",
    "FashionMNISTDataModule",
    "GaussianMixture2D",
    "ImageFolderDataModule",
    "MNISTDataModule",
    "ToyDataModule",
    "make_loader",
]

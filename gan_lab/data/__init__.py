"""Data modules and loaders (no dependency on models, callbacks, training or Hydra)."""

from gan_lab.data.digits import DigitsDataModule
from gan_lab.data.embedded_translation import Chalk2InkDataModule, Edges2DigitsDataModule
from gan_lab.data.fashion_mnist import FashionMNISTDataModule
from gan_lab.data.image_folder import ImageFolderDataModule
from gan_lab.data.loader import make_loader
from gan_lab.data.published_translation_sets import PublishedTranslationDataModule
from gan_lab.data.torchvision_sets import CIFAR10DataModule, MNISTDataModule
from gan_lab.data.toy import GaussianMixture2D, ToyDataModule
from gan_lab.data.translation import TranslationDataModule
from gan_lab.data.translation_folders import FolderTranslationDataModule

__all__ = [
    "CIFAR10DataModule",
    "Chalk2InkDataModule",
    "DigitsDataModule",
    "Edges2DigitsDataModule",
    "FashionMNISTDataModule",
    "FolderTranslationDataModule",
    "GaussianMixture2D",
    "ImageFolderDataModule",
    "MNISTDataModule",
    "PublishedTranslationDataModule",
    "ToyDataModule",
    "TranslationDataModule",
    "make_loader",
]

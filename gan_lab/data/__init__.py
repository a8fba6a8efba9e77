"""Data modules and loaders (no dependency on models, callbacks, training or Hydra)."""

from gan_lab.data.common.loader import make_loader
from gan_lab.data.samples.digits import DigitsDataModule
from gan_lab.data.samples.fashion_mnist import FashionMNISTDataModule
from gan_lab.data.samples.image_folder import ImageFolderDataModule
from gan_lab.data.samples.torchvision_sets import CIFAR10DataModule, MNISTDataModule
from gan_lab.data.samples.toy import GaussianMixture2D, ToyDataModule
from gan_lab.data.tokens import (
    OracleLSTMDataModule,
    PythonDocsDataModule,
    TextFolderDataModule,
)
from gan_lab.data.translation.base import TranslationDataModule
from gan_lab.data.translation.embedded import Chalk2InkDataModule, Edges2DigitsDataModule
from gan_lab.data.translation.folders import FolderTranslationDataModule
from gan_lab.data.translation.published import PublishedTranslationDataModule

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
    "OracleLSTMDataModule",
    "PublishedTranslationDataModule",
    "PythonDocsDataModule",
    "TextFolderDataModule",
    "ToyDataModule",
    "TranslationDataModule",
    "make_loader",
]

"""Evaluation of class-conditional generators: intra-class FID and the Classification Accuracy Score.

* Intra-FID, Miyato & Koyama 2018 ("cGANs with Projection Discriminator"), sec. 5 (also used by
  BigGAN): the FID between the real images of class ``k`` and the images generated for class
  ``k``, averaged over the classes. Unlike the FID of the whole set it sees a generator that draws
  good images of the wrong class, or too few kinds of images per class.
* CAS, Ravuri & Vinyals 2019 ("Classification Accuracy Score for Conditional Generative Models"),
  sec. 3: a classifier trained on generated ``(image, label)`` pairs only, tested on real images
  it never saw; beside it the same classifier trained on real images (the ceiling).

Both evaluators return ``{}`` for unconditional samplers (``sample_fn.num_classes == 0``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset, Subset, TensorDataset

from gan_lab.data.common.fingerprint import data_fingerprint
from gan_lab.metrics.cache import atomic_save, default_cache_dir
from gan_lab.metrics.classifier import _split, classifier_accuracy, train_classifier
from gan_lab.metrics.extractor import FeatureExtractor, to_uint8
from gan_lab.metrics.image_quality import _draw, fid, real_features, real_subset
from gan_lab.metrics.one_time import OneTime, count
from gan_lab.metrics.settings import check_fraction, check_int, check_positive

__all__ = ["ClassificationAccuracyScore", "IntraFID", "intra_fid", "real_labels"]

log = logging.getLogger(__name__)


def _num_classes(sample_fn: Any) -> int:
    return int(getattr(sample_fn, "num_classes", 0) or 0)


# --------------------------------------------------------------------------- intra-class FID


def intra_fid(real: Tensor, real_labels: Tensor, fake: Tensor, fake_labels: Tensor,
              num_classes: int) -> tuple[float, list[float]]:
    """Intra-class FID (Miyato & Koyama 2018, sec. 5): the mean over classes ``0..num_classes-1``
    of :func:`~gan_lab.metrics.image_quality.fid` between the real and the generated features of
    that class; returns ``(mean, per-class FIDs)``. Every class needs 2 or more of each."""
    per_class = []
    for k in range(num_classes):
        r, f = real[real_labels == k], fake[fake_labels == k]
        if len(r) < 2 or len(f) < 2:
            raise ValueError(f"intra-FID: class {k} has {len(r)} real and {len(f)} generated "
                             "images; FID needs at least 2 of each (raise num_samples/num_real)")
        per_class.append(fid(r, f))
    return sum(per_class) / len(per_class), per_class


def _labels_of(dataset: Dataset, order: Tensor) -> Tensor:
    """The labels of ``dataset[i]`` for ``i`` in ``order``, without decoding images when the set
    keeps its labels apart (a ``TensorDataset``, a ``labels`` list, a ``Subset`` of those)."""
    if isinstance(dataset, Subset):
        return _labels_of(dataset.dataset, torch.as_tensor(dataset.indices)[order])
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) > 1:
        return dataset.tensors[1][order]
    stored = getattr(dataset, "labels", None)
    if isinstance(stored, (list, tuple, Tensor)):
        return torch.as_tensor(stored)[order]
    labels = []
    for i in order.tolist():
        item = dataset[i]
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise ValueError(f"intra-FID needs labelled real images; {type(dataset).__name__} "
                             "yields no labels (image_folder: set data.labels=true)")
        labels.append(int(item[1]))
    return torch.tensor(labels)


def real_labels(datamodule: Any, num_images: int, cache_dir: Path, seed: int = 0) -> Tensor:
    """The labels of the real images that :func:`~gan_lab.metrics.image_quality.real_features`
    embeds for the same ``num_images`` and ``seed`` (so the feature cache is shared with
    :class:`~gan_lab.metrics.ImageQuality`), cached under ``cache_dir`` by data and count."""
    path = cache_dir / f"labels-{data_fingerprint(datamodule)}-{num_images}-{seed}.pt"
    if path.is_file():
        return torch.load(path, map_location="cpu", weights_only=True)["labels"]
    dataset = datamodule.reference_set
    labels = _labels_of(dataset, real_subset(len(dataset), num_images, seed)).long()
    if labels.ndim != 1:
        raise ValueError(f"intra-FID: real labels of shape {tuple(labels.shape)}; need one "
                         "class index per image")
    atomic_save({"labels": labels}, path)
    return labels


class IntraFID:
    """Evaluator: intra-class FID (Miyato & Koyama 2018, sec. 5) on any feature extractor.

    Results: ``<extractor.name>/intra_fid`` (the mean over classes) and, with ``per_class``,
    ``<extractor.name>/fid_class<k>``. Each class gets ``num_samples // num_classes`` generated
    images and its share of the ``num_real`` real ones (the same seeded subset, and the same
    cache file, as :class:`~gan_lab.metrics.ImageQuality` with that count). FID is biased upward
    at small sample counts (Binkowski et al. 2018, sec. 2.2), much more so per class: compare
    intra-FIDs only at equal counts, and never with a whole-set FID.

    Args:
        extractor: the feature extractor.
        num_samples: generated images in all (balanced over the classes).
        num_real: real images in all; ``None``: ``num_samples``.
        per_class: also report every class's FID.
        cache_dir: where real features and labels are cached; ``None``: the default cache.
        chunk: images generated per call of the sampler.
    """

    def __init__(self, extractor: FeatureExtractor, num_samples: int = 10000,
                 num_real: int | None = None, per_class: bool = False,
                 cache_dir: str | None = None, chunk: int = 500) -> None:
        num_real = num_samples if num_real is None else num_real
        for key, value in (("num_samples", num_samples), ("num_real", num_real),
                           ("chunk", chunk)):
            check_int(key, value, 2)
        self.extractor = extractor
        self.num_samples, self.num_real = num_samples, num_real
        self.per_class = bool(per_class)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.chunk = chunk

    def prepare(self, datamodule: Any) -> None:
        """Load or train the extractor. Real features wait for the first conditional sampler:
        unconditional runs on unlabelled data must not need labels."""
        self.extractor.prepare(datamodule)

    def __call__(self, sample_fn: Callable[..., Tensor], datamodule: Any,
                 out_dir: Path | None, tag: str) -> dict[str, float]:
        classes = _num_classes(sample_fn)
        if not classes:
            return {}
        per = self.num_samples // classes
        if per < 2:
            raise ValueError(f"intra_fid num_samples={self.num_samples}: under 2 images for each "
                             f"of {classes} classes")
        self.extractor.prepare(datamodule)
        real, _ = real_features(self.extractor, datamodule, self.num_real, self.cache_dir)
        labels_real = real_labels(datamodule, self.num_real, self.cache_dir)
        labels = torch.arange(per * classes) % classes
        fake, _ = _draw(sample_fn, len(labels), self.chunk, self.extractor, labels)
        mean, each = intra_fid(real, labels_real, fake, labels, classes)
        name = self.extractor.name
        results = {f"{name}/intra_fid": mean}
        if self.per_class:
            results.update({f"{name}/fid_class{k}": value for k, value in enumerate(each)})
        return results


# --------------------------------------------------------------------------- CAS


class _Quantized(Dataset):
    """``(image, label)`` pairs kept as 8-bit pixels (as if saved to PNG; a quarter of the
    memory of floats) and served in the data range ``[-1, 1]``."""

    def __init__(self, pixels: Tensor, labels: Tensor) -> None:
        self.pixels, self.labels = pixels, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.pixels[i].float() / 127.5 - 1.0, self.labels[i]


class ClassificationAccuracyScore:
    """Evaluator: Classification Accuracy Score (Ravuri & Vinyals 2019, sec. 3).

    A :class:`~gan_lab.metrics.DomainClassifier` is trained on ``num_samples`` generated images
    (labels balanced over the classes) and tested on real images: ``cas/accuracy``. The same
    architecture and training, on as many real ``(image, label)`` pairs, gives
    ``cas/real_accuracy``, the ceiling (cached per data and settings).

    The real test images are the ``holdout`` share of the reference (training) set, the same
    seeded split as :class:`~gan_lab.metrics.ClassifierExtractor` with that ``holdout`` and
    ``seed``; the real-data classifier trains on the rest, cycled to ``num_samples`` pairs when
    the rest is smaller, so both classifiers take the same number of steps. The data modules
    have no test split, so the generator itself may have trained on the test images.
    Generation and training run under a forked, seeded RNG: results are reproducible and the
    training run's random state is left untouched.

    Args:
        num_samples: generated images to train on (the paper: as many as the real training set).
        width, epochs, lr, train_batch_size: the classifier and its training.
        holdout: share of the reference set held out as the real test set.
        seed: seed of the split, the initialisation, the shuffling and the generation.
        cache_dir: where the real-data accuracy is cached; ``None``: the default cache.
        chunk: images generated per call of the sampler.
    """

    def __init__(self, num_samples: int = 5000, width: int = 32, epochs: int = 2,
                 lr: float = 1e-3, train_batch_size: int = 128, holdout: float = 0.1,
                 seed: int = 0, cache_dir: str | None = None, chunk: int = 500) -> None:
        for key, value in (("num_samples", num_samples), ("width", width), ("epochs", epochs),
                           ("train_batch_size", train_batch_size), ("chunk", chunk)):
            check_int(f"cas {key}", value)
        check_fraction("cas holdout", holdout)
        check_positive("cas lr", lr)
        self.num_samples = num_samples
        self.settings = {"width": width, "epochs": epochs, "lr": float(lr),
                         "train_batch_size": train_batch_size, "holdout": float(holdout),
                         "seed": seed}
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.chunk = chunk
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def _train(self, dataset: Dataset, channels: int, classes: int, what: str,
               once: OneTime | None = None) -> Any:
        s = self.settings
        return train_classifier(dataset, channels, classes, width=s["width"],
                                epochs=s["epochs"], lr=s["lr"], batch_size=s["train_batch_size"],
                                seed=s["seed"], device=self.device,
                                desc=f"CAS: training on {len(dataset)} {what} images", once=once)

    def real_accuracy(self, datamodule: Any, classes: int) -> float:
        """The ceiling: the accuracy of the classifier trained on real images (cached)."""
        key = hashlib.blake2b(
            f"{data_fingerprint(datamodule)}|{sorted(self.settings.items())}|"
            f"{self.num_samples}|{classes}".encode(), digest_size=8).hexdigest()
        path = self.cache_dir / f"cas-real-{key}.pt"
        if path.is_file():
            return float(torch.load(path, map_location="cpu", weights_only=True)["accuracy"])
        dataset = datamodule.reference_set
        train_idx, held_idx = _split(len(dataset), self.settings["holdout"], self.settings["seed"])
        cycled = train_idx[torch.arange(self.num_samples) % len(train_idx)]
        once = OneTime(f"training CAS's classifier of real images "
                       f"({count(self.settings['epochs'], 'epoch')} over "
                       f"{count(len(cycled), 'image')})",
                       "its accuracy, cas/real_accuracy, is the ceiling of CAS", path,
                       self.device.type)
        net = self._train(Subset(dataset, cycled.tolist()), datamodule.sample_shape[0], classes,
                          "real", once)
        accuracy = classifier_accuracy(net, Subset(dataset, held_idx.tolist()), self.device)
        atomic_save({"accuracy": accuracy, "settings": self.settings,
                     "num_samples": self.num_samples}, path)
        return accuracy

    def __call__(self, sample_fn: Callable[..., Tensor], datamodule: Any,
                 out_dir: Path | None, tag: str) -> dict[str, float]:
        classes = _num_classes(sample_fn)
        if not classes:
            return {}
        if self.num_samples < classes:
            raise ValueError(f"cas num_samples={self.num_samples}: fewer than the {classes} "
                             "classes")
        dataset = datamodule.reference_set
        _, held_idx = _split(len(dataset), self.settings["holdout"], self.settings["seed"])
        channels = datamodule.sample_shape[0]
        devices = list(range(torch.cuda.device_count()))
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.settings["seed"])
            labels = torch.arange(self.num_samples) % classes
            pixels = []
            for start in range(0, self.num_samples, self.chunk):
                chunk = labels[start:start + self.chunk]
                images = torch.as_tensor(sample_fn(len(chunk), labels=chunk)).float()
                pixels.append(to_uint8(images.clamp(-1.0, 1.0)).cpu())
            net = self._train(_Quantized(torch.cat(pixels), labels), channels, classes,
                              "generated")
            accuracy = classifier_accuracy(net, Subset(dataset, held_idx.tolist()), self.device)
            real = self.real_accuracy(datamodule, classes)
        return {"cas/accuracy": accuracy, "cas/real_accuracy": real}

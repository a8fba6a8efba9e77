"""A domain feature extractor: a small CNN classifier trained on the run's real training data.

Where the standard InceptionV3 weights cannot be had (offline machines) or do not suit the data
(28x28 grey-scale clothes), FID/KID/IS can be computed on the features of a classifier trained
on the data itself, as done for MNIST-like sets in the literature (e.g. the "MNIST FID" of
Lucic et al. 2018's appendix and of many conditional-GAN papers). Numbers are then comparable
between runs that use the same classifier, not with Inception-feature numbers in papers.

The classifier is trained once per data set and cached by the auxiliary-net provider
(gan_lab.auxiliary): the file name holds a digest of the training data
(:func:`gan_lab.data.common.fingerprint.data_fingerprint`) and of the classifier's settings, so
changed data gets a new classifier. A deterministic ``holdout`` fraction of the
training set is kept out of training; the accuracy on it is printed and stored in the file.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Subset

from gan_lab.auxiliary import AuxiliarySpec, Trained, file_identity, provide
from gan_lab.data.common.fingerprint import data_fingerprint
from gan_lab.metrics.cache import default_cache_dir
from gan_lab.metrics.extractor import FeatureExtractor
from gan_lab.metrics.one_time import OneTime, announced, count
from gan_lab.metrics.settings import check_fraction, check_int, check_positive

__all__ = ["ClassifierExtractor", "DomainClassifier", "classifier_accuracy", "train_classifier"]

log = logging.getLogger(__name__)

# Why an evaluation trains each kind of classifier (ClassifierExtractor's ``purpose``), for the
# line that announces its training.
PURPOSES = {
    "FID": "FID, KID and the evaluation's other feature scores are computed in its features",
    "class": "class_accuracy reads the class of each translation with it",
    "content": "content_accuracy reads what each translation keeps with it",
}
# The classifiers read in this process: cache file -> (its identity when read, the net, its
# held-out accuracy); see ClassifierExtractor.prepare.
_LOADED: dict[Path, tuple[str, DomainClassifier, float]] = {}


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True)]


class DomainClassifier(nn.Module):
    """Three conv stages (width, 2·width, 4·width channels; max-pooling between them), average
    pooling to 4x4, a fully connected ReLU layer giving the ``4·width`` feature vector, and a
    linear layer to the class logits.
    """

    def __init__(self, channels: int, num_classes: int, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_block(channels, width), nn.MaxPool2d(2),
            *_block(width, 2 * width), nn.MaxPool2d(2),
            *_block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),  # keeps coarse layout: where things are
            nn.Linear(4 * width * 16, 4 * width), nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features = self.features(images)
        return features, self.head(features)


def _split(n: int, holdout: float, seed: int) -> tuple[Tensor, Tensor]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_held = max(1, round(n * holdout))
    return order[n_held:], order[:n_held]


def classifier_settings(name: str, width: int, epochs: int, lr: float, train_batch_size: int,
                        holdout: float, seed: int) -> dict[str, Any]:
    """A trained feature classifier's settings, checked (one line naming ``name``), as they key
    its cache: the FID classifier's and the voxel classifier's (gan_lab.metrics.voxels)."""
    for key, value in (("width", width), ("epochs", epochs),
                       ("train_batch_size", train_batch_size)):
        check_int(f"{name} {key}", value)
    check_fraction(f"{name} holdout", holdout)
    check_positive(f"{name} lr", lr)
    return {"width": width, "epochs": epochs, "lr": float(lr),
            "train_batch_size": train_batch_size, "holdout": float(holdout), "seed": seed}


def train_classifier(dataset: Dataset, channels: int, classes: int, *, width: int, epochs: int,
                     lr: float, batch_size: int, seed: int, device: torch.device | str = "cpu",
                     desc: str = "training a classifier",
                     criterion: Callable[[Tensor, Tensor], Tensor] | None = None,
                     once: OneTime | None = None) -> DomainClassifier:
    """A :class:`DomainClassifier` with ``classes`` logits trained on ``dataset``'s ``(image,
    target)`` pairs (Adam, ``epochs`` shuffled passes; initialisation and order seeded by
    ``seed``), returned on the CPU in eval mode. ``criterion(logits, targets)``: cross-entropy
    on class indices by default (the FID classifier, CAS); binary cross-entropy per logit for
    multi-label attributes (gan_lab.metrics.attributes). ``once``: the one-time job this
    training is (a classifier that is then cached), announced before it runs
    (:func:`gan_lab.metrics.one_time.announced`); None for one trained at every evaluation.

    The global random streams are left as they were (fork_rng): a run whose classifier is
    trained before training starts draws the same noise as one that finds it in the cache."""
    criterion = nn.functional.cross_entropy if criterion is None else criterion
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        net = DomainClassifier(channels, classes, width).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(seed))
        net.train()
        batches = (batch for _ in range(epochs) for batch in loader)
        for images, targets in announced(batches, epochs * len(loader), desc, once):
            _, logits = net(images.to(device, torch.float32))
            loss = criterion(logits, targets.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return net.eval().cpu()


@torch.no_grad()
def classifier_accuracy(net: DomainClassifier, dataset: Dataset,
                        device: torch.device | str = "cpu") -> float:
    """The share of ``dataset``'s ``(image, label)`` pairs that ``net`` classifies right."""
    net = net.to(device).eval()
    correct = total = 0
    for images, labels in DataLoader(dataset, batch_size=512):
        _, logits = net(images.to(device, torch.float32))
        correct += int((logits.argmax(1).cpu() == labels).sum())
        total += len(labels)
    net.cpu()
    return correct / total


class ClassifierExtractor(FeatureExtractor):
    """Features (``4·width``-d) and logits of a :class:`DomainClassifier` for the run's data.

    :meth:`prepare` loads the cached classifier of the datamodule's data or trains one (Adam,
    cross-entropy, ``epochs`` passes over the training set minus the held-out part).

    Args:
        cache_dir: where classifiers are cached; ``None``: :func:`default_cache_dir`.
        width: channels of the first stage.
        epochs: training passes.
        lr: Adam learning rate.
        train_batch_size: images per training step.
        holdout: fraction of the training set held out to measure accuracy.
        seed: seed of the initialisation, the split and the shuffling.
        batch_size: images per forward pass when extracting.
        purpose: what it serves, for the console ("FID"; "class" and "content" where it judges
            translations).
    """

    name = "classifier"

    def __init__(self, cache_dir: str | None = None, width: int = 32, epochs: int = 2,
                 lr: float = 1e-3, train_batch_size: int = 128, holdout: float = 0.1,
                 seed: int = 0, batch_size: int = 256, purpose: str = "FID") -> None:
        super().__init__(batch_size=batch_size)
        self.purpose = purpose
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.settings = classifier_settings("classifier", width, epochs, lr, train_batch_size,
                                            holdout, seed)
        self.net: DomainClassifier | None = None
        self.accuracy: float | None = None
        self.path: Path | None = None

    # -- cache ------------------------------------------------------------------------------

    def cache_path(self, datamodule: Any) -> Path:
        """The cache file of this classifier for ``datamodule``'s data."""
        key = hashlib.blake2b(
            f"{data_fingerprint(datamodule)}|{sorted(self.settings.items())}".encode(),
            digest_size=8,
        ).hexdigest()
        return self.cache_dir / f"classifier-{key}.pt"

    def prepare(self, datamodule: Any) -> None:
        path = self.cache_path(datamodule)
        if self.net is not None and path == self.path:
            return
        classes = int(getattr(datamodule, "num_classes", 0) or 0)
        shape = tuple(getattr(datamodule, "sample_shape", ()))
        if classes < 2 or len(shape) != 3:
            raise ValueError(
                f"eval: the classifier feature extractor needs labelled images with at least "
                f"2 classes; {type(datamodule).__name__} gives shape {shape} with {classes} "
                "classes (image_folder: set data.labels=true; or use eval=inception)"
            )
        # Evaluators configured with the same classifier (${eval.classifier}) each hold an
        # instance of it: the first one loads (or trains) the net, the others share it, so that
        # it is read, and said, once.
        shared = _LOADED.get(path)
        if shared is not None and path.is_file() and shared[0] == file_identity(path):
            _, self.net, self.accuracy = shared
        else:
            trained_now: list[bool] = []
            spec = AuxiliarySpec(
                f"{self.purpose} classifier", "eval.cache_dir",
                partial(self._from_record, channels=shape[0], classes=classes),
                trained=Trained(path, partial(self._record, datamodule, classes, shape,
                                              trained_now), announce=self._announce))
            self.net = provide(spec, self.device)
            _LOADED[path] = (file_identity(path), self.net, self.accuracy)
            if not trained_now:  # a fresh one was announced before and after its training
                log.info("gan_lab: %s classifier from the cache: %s (held-out accuracy %.2f%%)",
                         self.purpose, path, 100 * self.accuracy)
        self.path = path
        self.identity = f"classifier-{path.stem}"

    def _from_record(self, record: dict, channels: int, classes: int) -> DomainClassifier:
        """The classifier of a cached record (its held-out accuracy kept in ``accuracy``)."""
        net = DomainClassifier(channels, classes, self.settings["width"])
        net.load_state_dict(record["state_dict"])
        self.accuracy = float(record["accuracy"])
        return net

    def _record(self, datamodule: Any, classes: int, shape: tuple[int, ...],
                trained_now: list[bool]) -> dict:
        """What the cache file holds: a freshly trained classifier, its accuracy and settings."""
        net, accuracy = self.train(datamodule, classes)
        trained_now.append(True)
        return {"state_dict": net.state_dict(), "accuracy": accuracy,
                "settings": self.settings, "num_classes": classes,
                "sample_shape": list(shape)}

    def _announce(self, record: dict) -> str:
        return (f"{self.purpose} classifier trained: held-out accuracy "
                f"{record['accuracy']:.2%}")

    def train(self, datamodule: Any, classes: int) -> tuple[DomainClassifier, float]:
        """A freshly trained classifier and its accuracy on the held-out part (its training
        announced with the cache file it goes to)."""
        s = self.settings
        dataset = datamodule.reference_set
        train_idx, held_idx = _split(len(dataset), s["holdout"], s["seed"])
        what = (f"training the {self.purpose} classifier ({count(s['epochs'], 'epoch')} over "
                f"{count(len(train_idx), 'image')})")
        once = OneTime(what, PURPOSES.get(self.purpose, "the evaluation scores samples with it"),
                       self.cache_path(datamodule), self.device)
        net = train_classifier(Subset(dataset, train_idx.tolist()), datamodule.sample_shape[0],
                               classes, width=s["width"], epochs=s["epochs"], lr=s["lr"],
                               batch_size=s["train_batch_size"], seed=s["seed"],
                               device=self.device, desc=f"{what}, cached for later runs",
                               once=once)
        return net, classifier_accuracy(net, Subset(dataset, held_idx.tolist()), self.device)

    # -- extraction -------------------------------------------------------------------------

    def forward_batch(self, images: Tensor) -> tuple[Tensor, Tensor]:
        if self.net is None:
            raise RuntimeError("ClassifierExtractor.prepare(datamodule) must run first")
        return self.net(images.to(self.device, torch.float32))

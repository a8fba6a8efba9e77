"""Attribute accuracy of multi-domain translations (StarGAN), scored by a classifier.

StarGAN's paper scores its translations with a classifier trained on real images: on RaFD,
the classification error of a facial-expression classifier on synthesized expressions beside its
error on real images (Choi et al. 2018, sec. 5.5, Table 3); on CelebA, people asked which model
best changes the attribute while keeping the rest (sec. 5.3, Tables 1 and 2, AMT). Here a small
CNN (gan_lab.metrics.classifier.DomainClassifier with one logit per attribute, binary
cross-entropy) is trained on the real training images with their attribute vectors, and every
test image is translated once per single-attribute transfer (the paper's Fig. 4: flip one
attribute, or choose one hair colour; gan_lab.nets.stargan.single_attribute_targets):

- ``attributes/accuracy_<name>``: the share of the translations for attribute <name> that the
  classifier reads with the target value of <name> (did the change happen?);
  ``attributes/mean_accuracy``: their mean over the attributes.
- ``attributes/all_accuracy``: the share of all translations whose every attribute the classifier
  reads as the target (the change happened and nothing else changed).
- ``attributes/real_accuracy_<name>`` and ``attributes/real_mean_accuracy``: the classifier's
  accuracy on the real test images (never trained on): the ceiling of the above.
- ``attributes/reconstruction_l1``: mean |G(G(x, c), c') - x| on [0, 1] images over the same
  translations (the cycle of eq. 4 back to the source attributes c').
- ``attributes/content_accuracy``: where the data knows what a translation must keep
  (``datamodule.class_view()`` and ``eval_labels()``: the digit of ``data=digit_attributes``), a
  second classifier (``content_classifier``, a :class:`~gan_lab.metrics.classifier.ClassifierExtractor`
  trained on the real training images of every attribute rendering with their content labels)
  reads each translation; the share it reads as the source image's label (the paper's "preserving
  the identity", sec. 3, scored as the FCN score scores pix2pix's layouts);
  ``attributes/content_accuracy_<name>``: the same over the translations for attribute <name>
  alone. Beside them
  ``attributes/real_content_accuracy``: its accuracy on the real test images, the ceiling, and
  ``attributes/reconstruction_content_accuracy``: the same read of the reconstructions
  G(G(x, c), c'), which tells a generator that hides the content in its translations (high) from
  one that loses it (low).

The classifier is cached like the FID classifier, by the auxiliary-net provider
(gan_lab.auxiliary): its file name holds a digest of the training data
(gan_lab.data.common.fingerprint), the attribute names and the settings. Training it leaves the
global random streams untouched, so a run trains the same whether the cache was warm or not.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset

from gan_lab.auxiliary import AuxiliarySpec, Trained, provide
from gan_lab.data.common.fingerprint import data_fingerprint
from gan_lab.kinds import BatchKind, batch_kind
from gan_lab.metrics.cache import default_cache_dir
from gan_lab.metrics.classifier import ClassifierExtractor, DomainClassifier, train_classifier
from gan_lab.metrics.one_time import OneTime, count
from gan_lab.metrics.settings import check_int, check_optional_int, check_positive
from gan_lab.nets.stargan import single_attribute_targets

__all__ = ["AttributeAccuracy", "train_attribute_classifier"]

log = logging.getLogger(__name__)


def train_attribute_classifier(dataset: Dataset, channels: int, attributes: int, *, width: int,
                               epochs: int, lr: float, batch_size: int, seed: int,
                               device: torch.device | str = "cpu",
                               cache: Path | None = None) -> DomainClassifier:
    """A DomainClassifier with one logit per attribute, trained on ``(image, attributes)``
    items with binary cross-entropy (gan_lab.metrics.classifier.train_classifier: Adam, seeded,
    the global random streams left as they were); returned on the CPU in eval mode. ``cache``:
    the file it will be cached in, said in the line announcing the training."""
    what = (f"training the attribute classifier ({count(epochs, 'epoch')} over "
            f"{count(len(dataset), 'image')})")
    once = None if cache is None else OneTime(
        what, "attributes/* read the attributes of each translation with it", cache,
        torch.device(device).type)
    return train_classifier(dataset, channels, attributes, width=width, epochs=epochs, lr=lr,
                            batch_size=batch_size, seed=seed, device=device,
                            desc=f"{what}, cached for later runs", criterion=_multi_label_loss,
                            once=once)


def _classifier_of(record: dict, channels: int, attributes: int, width: int) -> DomainClassifier:
    """The attribute classifier of a cached record."""
    net = DomainClassifier(channels, attributes, width)
    net.load_state_dict(record["state_dict"])
    return net


def _multi_label_loss(logits: Tensor, targets: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, targets.float())


def _batches(dataset: Dataset, chunk: int, limit: int | None) -> Iterator[tuple[Tensor, Tensor]]:
    """The first ``limit`` items (all for None) in batches of ``chunk``, read as they are used."""
    if limit is not None and limit < len(dataset):
        dataset = Subset(dataset, range(limit))
    for images, attributes in DataLoader(dataset, batch_size=chunk, shuffle=False):
        yield images, attributes.float()


class AttributeAccuracy:
    """Evaluator of attribute translators (``module.translate(images, direction,
    attributes=...)``) on attribute data (``batch_kind == "attributes"``); see the module doc.

    Args:
        cache_dir: where classifiers are cached; None: the default evaluation cache.
        width, epochs, lr, train_batch_size, seed: the classifier and its training.
        max_train_images: train on at most this many training images (a seeded random subset;
            CelebA has 200,000); None: all.
        max_test_images: score the first this many test images only; None: all.
        chunk: images per translation batch.
        content_classifier: the classifier of the content labels (trained on
            ``datamodule.class_view()``); None, or data without content labels, skips the
            content scores.
    """

    protocol = "translate"

    def __init__(self, cache_dir: str | None = None, width: int = 32, epochs: int = 10,
                 lr: float = 1e-3, train_batch_size: int = 64, seed: int = 0,
                 max_train_images: int | None = None, max_test_images: int | None = None,
                 chunk: int = 64, content_classifier: ClassifierExtractor | None = None) -> None:
        prefix = "eval.metrics.attributes"
        for key, value in (("width", width), ("epochs", epochs), ("chunk", chunk),
                           ("train_batch_size", train_batch_size)):
            check_int(f"{prefix}.{key}", value)
        for key, value in (("max_train_images", max_train_images),
                           ("max_test_images", max_test_images)):
            check_optional_int(f"{prefix}.{key}", value)
        check_positive(f"{prefix}.lr", lr)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.settings = {"width": width, "epochs": epochs, "lr": float(lr),
                         "train_batch_size": train_batch_size, "seed": int(seed),
                         "max_train_images": max_train_images}
        self.max_test_images, self.chunk = max_test_images, chunk
        self.net: DomainClassifier | None = None
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.path: Path | None = None
        self.real_accuracy: dict[str, float] = {}
        self.content_classifier = content_classifier
        self.content_labels: Tensor | None = None  # of the scored test images; None: not scored
        self.real_content_accuracy: float | None = None
        self._prepared_for: Any = None

    # -- the classifier ----------------------------------------------------------------------
    def cache_path(self, datamodule: Any) -> Path:
        key = hashlib.blake2b(f"{data_fingerprint(datamodule)}|{datamodule.attribute_names}|"
                              f"{sorted(self.settings.items())}".encode(),
                              digest_size=8).hexdigest()
        return self.cache_dir / f"attributes-{key}.pt"

    def prepare(self, datamodule: Any) -> None:
        """Train or load the classifier; measure it on the real test images."""
        if self._prepared_for is datamodule:
            return
        if batch_kind(datamodule) != BatchKind.ATTRIBUTES:
            raise ValueError("eval=attributes scores attribute translators (model=stargan) on "
                             "attribute data (data=digit_attributes, celeba); use eval=translation "
                             "for two-domain translators")
        names = tuple(datamodule.attribute_names)
        path = self.cache_path(datamodule)
        spec = AuxiliarySpec("attribute classifier", "eval.cache_dir",
                             partial(_classifier_of, channels=datamodule.channels,
                                     attributes=len(names), width=self.settings["width"]),
                             trained=Trained(path, partial(self._record, datamodule, names,
                                                           path)))
        self.net, self.path = provide(spec, self.device), path
        self.real_accuracy = self._real_accuracy(datamodule, names)
        log.info("gan_lab: attribute classifier %s: accuracy on the real test images %s", path,
                 ", ".join(f"{n} {a:.1%}" for n, a in self.real_accuracy.items()))
        self._prepare_content(datamodule)
        self._prepared_for = datamodule

    def _record(self, datamodule: Any, names: tuple[str, ...], path: Path) -> dict:
        """What the cache file holds: a freshly trained classifier, the attributes, settings."""
        s = self.settings
        dataset = datamodule.reference_set
        if s["max_train_images"] is not None and s["max_train_images"] < len(dataset):
            order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(s["seed"]))
            dataset = Subset(dataset, order[: s["max_train_images"]].tolist())
        net = train_attribute_classifier(
            dataset, datamodule.channels, len(names), width=s["width"], epochs=s["epochs"],
            lr=s["lr"], batch_size=s["train_batch_size"], seed=s["seed"], device=self.device,
            cache=path)
        return {"state_dict": net.state_dict(), "attributes": list(names), "settings": s}

    def _prepare_content(self, datamodule: Any) -> None:
        """Train or load the content classifier where the data has content labels; measure it
        on the real test images."""
        view, labels = datamodule.class_view(), datamodule.eval_labels()
        if self.content_classifier is None or view is None or labels is None:
            self.content_labels = self.real_content_accuracy = None
            return
        self.content_classifier.prepare(view)
        self.content_labels = labels[: self.max_test_images].long()
        read = torch.cat([self.read_content(images) for images, _ in
                          _batches(datamodule.test_set, self.chunk, self.max_test_images)])
        self.real_content_accuracy = float((read == self.content_labels).double().mean())
        log.info("gan_lab: content classifier %s: accuracy on the real test images %.1f%%",
                 self.content_classifier.path, 100 * self.real_content_accuracy)

    def read_content(self, images: Tensor) -> Tensor:
        """The content classifier's labels (N,) for images in [-1, 1]."""
        return self.content_classifier(images)[1].argmax(1).cpu()

    @torch.no_grad()
    def predict(self, images: Tensor) -> Tensor:
        """The classifier's attribute decisions (N, K) in {0, 1} for images in [-1, 1]."""
        return (self.net(images.to(self.device, torch.float32))[1] > 0).float().cpu()

    def _real_accuracy(self, datamodule: Any, names: tuple[str, ...]) -> dict[str, float]:
        correct, count = torch.zeros(len(names)), 0
        for images, attributes in _batches(datamodule.test_set, self.chunk, self.max_test_images):
            correct += (self.predict(images) == attributes).float().sum(0)
            count += len(images)
        return {name: float(c) / count for name, c in zip(names, correct, strict=True)}

    # -- scoring -----------------------------------------------------------------------------
    def __call__(self, sampler: Any, datamodule: Any, out_dir: Path | None,
                 tag: str) -> dict[str, float]:
        self.prepare(datamodule)
        names = tuple(datamodule.attribute_names)
        direction = (tuple(getattr(sampler, "directions", ())) or ("attributes",))[0]
        changed, content_kept = torch.zeros(len(names)), torch.zeros(len(names))
        kept, content_back = 0.0, 0.0
        l1_sum, count = 0.0, 0
        for images, source in _batches(datamodule.test_set, self.chunk, self.max_test_images):
            content = (None if self.content_labels is None
                       else self.content_labels[count: count + len(images)])
            count += len(images)
            for k, target in enumerate(single_attribute_targets(source, names)):
                fake = sampler.translate(images, direction, attributes=target)
                predicted = self.predict(fake)
                changed[k] += float((predicted[:, k] == target[:, k]).float().sum())
                kept += float((predicted == target).all(dim=1).float().sum())
                back = sampler.translate(fake, direction, attributes=source)
                if content is not None:
                    content_kept[k] += float((self.read_content(fake) == content).float().sum())
                    content_back += float((self.read_content(back) == content).float().sum())
                l1_sum += float(((back - images.float()).abs() / 2).mean(dim=(1, 2, 3)).sum())
        out = {f"attributes/accuracy_{n}": float(c) / count for n, c in zip(names, changed,
                                                                             strict=True)}
        out["attributes/mean_accuracy"] = float(changed.sum()) / (count * len(names))
        out["attributes/all_accuracy"] = kept / (count * len(names))
        out["attributes/reconstruction_l1"] = l1_sum / (count * len(names))
        for name, value in self.real_accuracy.items():
            out[f"attributes/real_accuracy_{name}"] = value
        out["attributes/real_mean_accuracy"] = sum(self.real_accuracy.values()) / len(names)
        if self.content_labels is not None:
            out["attributes/content_accuracy"] = float(content_kept.sum()) / (count * len(names))
            out.update({f"attributes/content_accuracy_{n}": float(c) / count
                        for n, c in zip(names, content_kept, strict=True)})
            out["attributes/reconstruction_content_accuracy"] = content_back / (count * len(names))
            out["attributes/real_content_accuracy"] = self.real_content_accuracy
        return out

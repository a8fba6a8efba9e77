"""Metrics of voxel generators (``eval=voxels``): a voxel-feature FID, the generated class
histogram and a memorization check.

* Features: a small 3D CNN classifier trained on the run's real training shapes (as the image
  FID's domain classifier, gan_lab/metrics/classifier.py), cached per data set (the file name
  holds a digest of the data, gan_lab.data.common.fingerprint, and of its settings); its
  penultimate layer gives the features. Its accuracy on the data's held-out ``test_set`` (or on
  a held-out share of the training set when there is none) is reported with the numbers.
* ``voxels/fid``: the Frechet distance between Gaussians fitted to the features of generated and
  training shapes (Heusel et al. 2017, eq. 6; gan_lab.metrics.image_quality.fid, i.e.
  torch-fidelity's). ``voxels/fid_test``: the same for the held-out real shapes, the value a
  generator as good as the data reaches with this many samples (FID is biased upwards for small
  sets). These numbers compare runs on the same data and classifier, not with other papers.
* The class histogram: the share of generated shapes the classifier puts in each class
  (``voxels/class_<name>``); ``voxels/class_kl`` = KL(generated || training class shares) over
  the trained classes, ``voxels/class_outside`` the share put in classes the training set does
  not hold, and ``voxels/classes_covered`` the classes that get at least half their training
  share.
* Memorization: each generated shape's nearest training shape by IoU (intersection over union
  of the voxels > 0.5); ``voxels/nn_iou`` is their mean, ``voxels/nn_iou_test`` the same for
  held-out real shapes (new shapes of the data's own law). A generator that copies its training
  set scores near 1, well above the held-out reference.

3D-GAN's own evaluation is different: it uses D's features for ModelNet classification (Wu et
al. 2016, sec. 4.2), which needs the labelled ModelNet sets and a linear SVM; these metrics judge
the samples themselves, with data that ships here.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Subset

from gan_lab.auxiliary import AuxiliarySpec, Trained, provide
from gan_lab.data.common.fingerprint import data_fingerprint
from gan_lab.metrics.cache import default_cache_dir
from gan_lab.metrics.classifier import classifier_settings
from gan_lab.metrics.extractor import FeatureExtractor
from gan_lab.metrics.image_quality import fid
from gan_lab.metrics.one_time import OneTime, announced, count
from gan_lab.metrics.settings import check_int

__all__ = ["VoxelClassifier", "VoxelFeatures", "VoxelQuality", "iou_matrix", "nearest_by_iou",
           "train_voxel_classifier"]

# Part of the classifier cache's key: a changed architecture never loads an older file.
CLASSIFIER_VERSION = "stride2-convs-v1"


# ----------------------------------------------------------------------------- IoU
def _flat(grids: Tensor) -> Tensor:
    """(N, ...) occupancy -> (N, V) float32 {0, 1} (voxels > 0.5)."""
    return (grids.reshape(len(grids), -1) > 0.5).float()


def iou_matrix(a: Tensor, b: Tensor, chunk: int = 256) -> Tensor:
    """IoU of every grid of ``a`` (N, ...) with every grid of ``b`` (M, ...), thresholded at 0.5:
    (N, M) float32; two empty grids have IoU 1. ``b`` is taken ``chunk`` at a time."""
    fa = _flat(a)
    size_a = fa.sum(1, keepdim=True)
    rows = []
    for start in range(0, len(b), chunk):
        fb = _flat(b[start:start + chunk].to(fa.device))
        inter = fa @ fb.T
        union = size_a + fb.sum(1)[None] - inter
        rows.append(torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter)))
    return torch.cat(rows, 1) if rows else torch.zeros(len(a), 0)


def nearest_by_iou(queries: Tensor, reference: Tensor | Dataset, k: int = 1,
                   chunk: int = 256) -> tuple[Tensor, Tensor]:
    """The ``k`` reference grids of highest IoU with each query: ``(ious (N, k), indices (N, k))``.
    ``reference``: a tensor (M, ...) or a data set of ``(grid, label)`` items, read ``chunk`` at a
    time (memory O(N * chunk))."""
    best_iou = torch.full((len(queries), 0), -1.0)
    best_idx = torch.zeros((len(queries), 0), dtype=torch.long)
    offset = 0
    for block in _blocks(reference, chunk):
        ious = iou_matrix(queries, block, chunk)
        idx = torch.arange(offset, offset + len(block)).expand(len(queries), -1)
        ious, idx = torch.cat([best_iou, ious], 1), torch.cat([best_idx, idx], 1)
        top = ious.topk(min(k, ious.shape[1]), dim=1)
        best_iou, best_idx = top.values, idx.gather(1, top.indices)
        offset += len(block)
    return best_iou, best_idx


def _blocks(source: Tensor | Dataset, chunk: int):
    if isinstance(source, Tensor):
        yield from source.split(chunk)
        return
    for grids, *_ in DataLoader(source, batch_size=chunk):
        yield grids


# ----------------------------------------------------------------------------- the classifier
class VoxelClassifier(nn.Module):
    """Three stride-2 4x4x4 conv + BN + ReLU stages (``width``, 2 ``width``, 4 ``width``
    channels; D's downsampling, cheaper than full-resolution convs), average pooling to 2^3, a
    fully connected ReLU layer giving the ``4 * width`` features and a linear layer to the class
    logits. Any cube side >= 16."""

    def __init__(self, num_classes: int, width: int = 16) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv3d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm3d(c_out),
                    nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(1, width), *block(width, 2 * width), *block(2 * width, 4 * width),
            nn.AdaptiveAvgPool3d(2), nn.Flatten(),
            nn.Linear(4 * width * 8, 4 * width), nn.ReLU(inplace=True))
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, voxels: Tensor) -> tuple[Tensor, Tensor]:
        features = self.features(voxels)
        return features, self.head(features)


def train_voxel_classifier(dataset: Dataset, classes: int, *, width: int, epochs: int, lr: float,
                           batch_size: int, seed: int, device: torch.device | str = "cpu",
                           cache: Path | None = None) -> VoxelClassifier:
    """A :class:`VoxelClassifier` trained on ``dataset``'s ``(grid, label)`` items (Adam,
    cross-entropy, ``epochs`` shuffled passes; initialisation and order from ``seed``), on the
    CPU in eval mode. The global random streams are left as they were (fork_rng). ``cache``:
    the file it will be cached in, said in the line announcing the training."""
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        net = VoxelClassifier(classes, width).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(seed))
        net.train()
        batches = (batch for _ in range(epochs) for batch in loader)
        what = (f"training the voxel classifier ({count(epochs, 'epoch')} over "
                f"{count(len(dataset), 'shape')})")
        once = None if cache is None else OneTime(
            what, "voxels/fid and the class histogram are measured with it", cache, device.type)
        for grids, labels in announced(batches, epochs * len(loader),
                                       f"{what}, cached for later runs", once):
            _, logits = net(grids.to(device, torch.float32))
            loss = nn.functional.cross_entropy(logits, labels.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return net.eval().cpu()


@torch.no_grad()
def _accuracy(net: VoxelClassifier, dataset: Dataset, device: torch.device) -> float:
    correct = total = 0
    for grids, labels in DataLoader(dataset, batch_size=128):
        _, logits = net(grids.to(device, torch.float32))
        correct += int((logits.argmax(1).cpu() == labels).sum())
        total += len(labels)
    return correct / max(total, 1)


class VoxelFeatures(FeatureExtractor):
    """Features (``4 * width``-d) and logits of a :class:`VoxelClassifier` trained (once, then
    cached) on the run's real training shapes. Inputs: occupancy grids (N, 1, R, R, R) in [0, 1]
    (not images in [-1, 1]).

    Args:
        cache_dir: where classifiers are cached; null: ~/.cache/gan_lab/eval.
        width: channels of the first stage.
        epochs, lr, train_batch_size: its training (Adam, cross-entropy).
        holdout: share of the training set held out to measure accuracy when the data has no
            ``test_set``.
        seed: initialisation, split and order.
        batch_size: grids per forward when extracting.
    """

    name = "voxels"

    def __init__(self, cache_dir: str | None = None, width: int = 16, epochs: int = 4,
                 lr: float = 1e-3, train_batch_size: int = 64, holdout: float = 0.1,
                 seed: int = 0, batch_size: int = 128) -> None:
        super().__init__(batch_size=batch_size)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.settings = {**classifier_settings("eval.voxel classifier", width, epochs, lr,
                                               train_batch_size, holdout, seed),
                         "architecture": CLASSIFIER_VERSION}
        self.net: VoxelClassifier | None = None
        self.accuracy: float | None = None
        self.path: Path | None = None

    def cache_path(self, datamodule: Any) -> Path:
        key = hashlib.blake2b(
            f"{data_fingerprint(datamodule)}|{sorted(self.settings.items())}".encode(),
            digest_size=8).hexdigest()
        return self.cache_dir / f"voxel-classifier-{key}.pt"

    def prepare(self, datamodule: Any) -> None:
        classes = int(getattr(datamodule, "num_classes", 0) or 0)
        shape = tuple(getattr(datamodule, "sample_shape", ()))
        if classes < 2 or len(shape) != 4:
            raise ValueError(f"eval=voxels needs labelled voxel grids of at least 2 classes; "
                             f"{type(datamodule).__name__} gives shape {shape} with {classes} "
                             "classes (data=primitives3d, or data=voxel_folder with 2+ classes)")
        path = self.cache_path(datamodule)
        if self.net is not None and path == self.path:
            return
        kept: dict[str, float] = {}

        def build(record: dict) -> VoxelClassifier:
            net = VoxelClassifier(classes, self.settings["width"])
            net.load_state_dict(record["state_dict"])
            kept["accuracy"] = float(record["accuracy"])
            return net

        def train() -> dict:
            net, accuracy = self.train(datamodule, classes)
            return {"state_dict": net.state_dict(), "accuracy": accuracy,
                    "settings": self.settings, "num_classes": classes, "sample_shape": list(shape)}

        trained = Trained(path, train, announce=lambda record: (
            f"voxel classifier trained: held-out accuracy {record['accuracy']:.2%}"))
        net = provide(AuxiliarySpec("voxel classifier", "eval.cache_dir", build, trained=trained),
                      self.device)
        self.net, self.accuracy, self.path = net, kept["accuracy"], path
        self.identity = f"voxel-classifier-{path.stem}"

    def train(self, datamodule: Any, classes: int) -> tuple[VoxelClassifier, float]:
        """A fresh classifier on the training set and its accuracy on the held-out shapes (its
        training announced with the cache file it goes to)."""
        s = self.settings
        dataset = datamodule.reference_set
        test = getattr(datamodule, "test_set", None)
        if test is None or len(test) == 0:
            order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(s["seed"]))
            held = max(1, round(len(dataset) * s["holdout"]))
            test, dataset = Subset(dataset, order[:held].tolist()), Subset(dataset, order[held:].tolist())
        net = train_voxel_classifier(dataset, classes, width=s["width"], epochs=s["epochs"],
                                     lr=s["lr"], batch_size=s["train_batch_size"], seed=s["seed"],
                                     device=self.device, cache=self.cache_path(datamodule))
        return net, _accuracy(net.to(self.device), test, self.device)

    def forward_batch(self, grids: Tensor) -> tuple[Tensor, Tensor]:
        if self.net is None:
            raise RuntimeError("VoxelFeatures.prepare(datamodule) must run first")
        return self.net(grids.to(self.device, torch.float32))


def _all_grids(dataset: Dataset, limit: int | None = None) -> tuple[Tensor, Tensor]:
    """Up to ``limit`` items of ``dataset`` (evenly spaced), as (grids float32, labels)."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    if n < len(dataset):
        dataset = Subset(dataset, torch.linspace(0, len(dataset) - 1, n).round().long().tolist())
    grids, labels = [], []
    for g, y in DataLoader(dataset, batch_size=256):
        grids.append(g.float())
        labels.append(y)
    return torch.cat(grids), torch.cat(labels)


class VoxelQuality:
    """The ``eval=voxels`` evaluator: FID on voxel-classifier features, the class histogram and
    the nearest-training-shape IoU of generated shapes (see the module's docstring).

    Args:
        extractor: a :class:`VoxelFeatures`.
        num_samples: generated shapes for the FID and the histogram (and at most as many real).
        memorization_samples: generated (and held-out) shapes whose nearest training shape is
            searched (an N x M IoU search over all M training shapes).
        sample_batch: shapes drawn from the generator at a time.
    """

    protocol = "sample"

    def __init__(self, extractor: VoxelFeatures, num_samples: int = 1000,
                 memorization_samples: int = 200, sample_batch: int = 100) -> None:
        self.extractor = extractor
        self.num_samples = check_int("eval.num_samples", num_samples, 2)
        self.memorization_samples = check_int("eval.memorization_samples",
                                              memorization_samples, 0)
        self.sample_batch = check_int("eval.sample_batch", sample_batch)
        self._real: dict[str, Any] | None = None

    def prepare(self, datamodule: Any) -> None:
        """The classifier (cached), and the real shapes' features, class shares and reference
        numbers (held-out FID and nearest-neighbour IoU)."""
        self.extractor.prepare(datamodule)
        identity = (self.extractor.identity, id(datamodule))
        if self._real is not None and self._real["identity"] == identity:
            return
        train_grids, train_labels = _all_grids(datamodule.reference_set, self.num_samples)
        features, _ = self.extractor(train_grids)
        shares = torch.bincount(train_labels, minlength=datamodule.num_classes).double()
        real = {"identity": identity, "features": features, "shares": shares / shares.sum(),
                "names": list(datamodule.class_names)}
        test = getattr(datamodule, "test_set", None)
        if test is not None and len(test) >= 2:
            test_grids, _ = _all_grids(test, self.num_samples)
            real["fid_test"] = fid(features, self.extractor(test_grids)[0])
            if self.memorization_samples:  # evenly spaced over the held-out classes
                queries, _ = _all_grids(test, self.memorization_samples)
                real["nn_iou_test"] = float(nearest_by_iou(queries, datamodule.train_set)[0].mean())
        self._real = real

    def __call__(self, sample_fn: Callable[..., Tensor], datamodule: Any, out_dir: Path | None,
                 tag: str) -> dict[str, float]:
        self.prepare(datamodule)
        real = self._real
        batches, drawn = [], 0
        while drawn < self.num_samples:
            batch = sample_fn(min(self.sample_batch, self.num_samples - drawn)).float().cpu()
            batches.append(batch)
            drawn += len(batch)
        samples = torch.cat(batches)
        features, logits = self.extractor(samples)
        results = {"voxels/fid": fid(real["features"], features),
                   "voxels/classifier_accuracy": float(self.extractor.accuracy or 0.0),
                   "voxels/occupancy": float((samples > 0.5).float().mean())}
        if "fid_test" in real:
            results["voxels/fid_test"] = real["fid_test"]
        predicted = torch.bincount(logits.argmax(1), minlength=len(real["names"])).double()
        shares = predicted / predicted.sum()
        for name, share in zip(real["names"], shares.tolist(), strict=True):
            results[f"voxels/class_{name}"] = share
        trained = real["shares"]
        kept = trained > 0
        results["voxels/class_kl"] = float(sum(
            p * math.log(p / q) for p, q in zip(shares[kept].tolist(), trained[kept].tolist(),
                                                strict=True) if p > 0))
        results["voxels/class_outside"] = float(shares[~kept].sum())  # classes never trained on
        results["voxels/classes_covered"] = float(((shares >= trained / 2) & kept).sum())
        if self.memorization_samples:
            queries = samples[:self.memorization_samples]
            results["voxels/nn_iou"] = float(nearest_by_iou(queries, datamodule.train_set)[0].mean())
            if "nn_iou_test" in real:
                results["voxels/nn_iou_test"] = real["nn_iou_test"]
        return results

"""Sample-quality metrics of image generators: FID, KID, IS, precision/recall, class accuracy.

The numbers are torch-fidelity's, computed from features of a chosen extractor
(:class:`~gan_lab.metrics.inception.InceptionExtractor` or
:class:`~gan_lab.metrics.classifier.ClassifierExtractor`):

* FID, Heusel et al. 2017, eq. (6): ``|mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))``,
  statistics in float64.
* KID, Binkowski et al. 2018, sec. 3: unbiased MMD^2 with the kernel
  ``k(x, y) = (x.y / d + 1)^3``, averaged over random subsets (mean and std reported).
* IS, Salimans et al. 2016, sec. 4: ``exp(E_x KL(p(y|x) || p(y)))`` over 10 splits.
* Precision and recall, Kynkaenniemi et al. 2019, sec. 3: the share of generated samples inside
  the real manifold (union of balls to each real point's k-th nearest real neighbour, k=3), and
  of real samples inside the generated manifold.
* Density and coverage, Naeem et al. 2020 ("Reliable Fidelity and Diversity Metrics for
  Generative Models"), sec. 3, the density and coverage equations (eqs. (3) and (4)), with the
  k-NN balls B(X_i, NND_k(X_i)) of the N real features X_i (k=5): density
  ``1/(k M) sum_j sum_i 1[Y_j in B_i]`` counts how many real balls hold each of the M generated
  samples Y_j, divided by k (1 on average for samples from the real distribution, unbounded
  above); coverage ``1/N sum_i 1[exists j: Y_j in B_i]`` is the share of real samples whose ball
  holds at least one generated sample. A generator collapsed onto a few real-looking images
  keeps precision near 1, but its coverage falls to the share of real balls it reaches.
  Computed here with chunked ``torch.cdist`` in float64 (memory O(chunk x N)); the authors'
  ``prdc`` package gives the same numbers (the tests check it) but holds full N x N matrices.

The real-data features are computed once per (extractor weights, data) and cached on disk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Subset
from torch_fidelity.metric_fid import (
    KEY_METRIC_FID,
    fid_features_to_statistics,
    fid_statistics_to_metric,
)
from torch_fidelity.metric_isc import (
    KEY_METRIC_ISC_MEAN,
    KEY_METRIC_ISC_STD,
    isc_features_to_metric,
)
from torch_fidelity.metric_kid import (
    KEY_METRIC_KID_MEAN,
    KEY_METRIC_KID_STD,
    kid_features_to_metric,
)
from torch_fidelity.metric_prc import (
    KEY_METRIC_PRECISION,
    KEY_METRIC_RECALL,
    prc_features_to_metric,
)

from gan_lab.data.common.fingerprint import data_fingerprint
from gan_lab.metrics.cache import atomic_save, default_cache_dir
from gan_lab.metrics.classifier import ClassifierExtractor
from gan_lab.metrics.extractor import FeatureExtractor
from gan_lab.metrics.one_time import OneTime, announced
from gan_lab.metrics.settings import check_int

__all__ = [
    "ClassAccuracy",
    "ImageQuality",
    "density_coverage",
    "fid",
    "inception_score",
    "kid",
    "knn_radii",
    "precision_recall",
    "real_features",
    "real_subset",
]

log = logging.getLogger(__name__)
METRICS = ("fid", "kid", "is", "pr", "dc")
IS_SPLITS = 10


def fid(real: Tensor, fake: Tensor) -> float:
    """Frechet distance between Gaussians fitted (float64) to two ``(N, d)`` feature sets."""
    stats = [fid_features_to_statistics(f.detach().cpu().double()) for f in (real, fake)]
    return float(fid_statistics_to_metric(stats[0], stats[1], verbose=False)[KEY_METRIC_FID])


def kid(real: Tensor, fake: Tensor, subsets: int = 100, subset_size: int = 1000,
        seed: int = 2020) -> tuple[float, float]:
    """Mean and std of the unbiased polynomial-kernel MMD^2 over random subsets.

    Subsets are drawn without replacement, so subsets as large as the smaller sample set would
    all hold every sample and the std would be 0 up to rounding; they are then capped at half
    of it (see :func:`used_kid_subset_size`)."""
    size = used_kid_subset_size(subset_size, min(len(real), len(fake)))
    out = kid_features_to_metric(fake.detach().cpu().double(), real.detach().cpu().double(),
                                 kid_subsets=subsets, kid_subset_size=size, rng_seed=seed,
                                 verbose=False)
    return float(out[KEY_METRIC_KID_MEAN]), float(out[KEY_METRIC_KID_STD])


def used_kid_subset_size(requested: int, available: int) -> int:
    """The KID subset size used: ``requested``, or half the samples when that is not smaller
    than their count (equal subsets would make ``kid_std`` meaningless)."""
    return requested if requested < available else max(2, available // 2)


def inception_score(logits: Tensor, splits: int = IS_SPLITS, seed: int = 2020) -> tuple[float, float]:
    """Mean and std over ``splits`` of ``exp(E KL(p(y|x) || p(y)))`` from class logits."""
    out = isc_features_to_metric(logits.detach().cpu(), splits=splits, rng_seed=seed)
    return float(out[KEY_METRIC_ISC_MEAN]), float(out[KEY_METRIC_ISC_STD])


def precision_recall(real: Tensor, fake: Tensor, neighbourhood: int = 3) -> tuple[float, float]:
    """Improved precision and recall (k-NN manifolds, ``k = neighbourhood``)."""
    out = prc_features_to_metric(fake.detach().cpu().float(), real.detach().cpu().float(),
                                 prc_neighborhood=neighbourhood, prc_batch_size=10000,
                                 save_cpu_ram=False, verbose=False)
    return float(out[KEY_METRIC_PRECISION]), float(out[KEY_METRIC_RECALL])


def knn_radii(features: Tensor, neighbourhood: int, chunk: int = 512) -> Tensor:
    """NND_k: each row's distance to its ``k = neighbourhood``-th nearest other row (the radius
    of its k-NN ball, Naeem et al. 2020, sec. 3; Kynkaanniemi et al. 2019, sec. 3), float64.
    Rows are taken ``chunk`` at a time (memory O(chunk x N)); a row's distance to itself is 0
    and counts as its 0th neighbour, as in the authors' ``prdc`` code."""
    features = features.detach().double()
    n = len(features)
    if not 0 < neighbourhood < n:
        raise ValueError(f"neighbourhood={neighbourhood}: must be in [1, {n - 1}] for {n} samples")
    radii = []
    for start in range(0, n, chunk):
        block = torch.cdist(features[start:start + chunk], features)
        rows = torch.arange(len(block), device=block.device)
        block[rows, rows + start] = 0.0
        radii.append(block.topk(neighbourhood + 1, dim=1, largest=False).values[:, -1])
    return torch.cat(radii)


def density_coverage(real: Tensor, fake: Tensor, neighbourhood: int = 5,
                     chunk: int = 512) -> tuple[float, float]:
    """Density and coverage of ``fake`` (M, d) against ``real`` (N, d) features: Naeem et al.
    2020, "Reliable Fidelity and Diversity Metrics for Generative Models", sec. 3, eqs. (3)
    and (4), with B_i = B(X_i, NND_k(X_i)) the ball round real X_i to its k-th nearest real
    neighbour, ``k = neighbourhood`` (the paper's 5)::

        density  = 1 / (k M) * sum_j sum_i 1[Y_j in B_i]
        coverage = 1 / N * sum_i 1[exists j: Y_j in B_i]

    "In" is strict (distance < radius), as in the authors' ``prdc`` code, whose numbers these
    are. Distances are float64 ``torch.cdist`` on the device of ``real``, ``chunk`` real rows at
    a time: memory O(chunk x max(N, M)), never an N x N matrix; the result does not depend on
    ``chunk``."""
    if chunk < 1:
        raise ValueError(f"chunk={chunk}: must be a positive integer")
    if not len(fake):
        raise ValueError("density_coverage: no generated samples")
    real = real.detach().double()
    fake = fake.detach().to(real.device, torch.float64)
    radii = knn_radii(real, neighbourhood, chunk)
    memberships = torch.zeros((), dtype=torch.int64, device=real.device)
    covered = torch.zeros((), dtype=torch.int64, device=real.device)
    for start in range(0, len(real), chunk):
        inside = torch.cdist(real[start:start + chunk], fake) < radii[start:start + chunk, None]
        memberships += inside.sum()
        covered += inside.any(dim=1).sum()
    density = float(memberships) / (neighbourhood * len(fake))
    coverage = float(covered) / len(real)
    return density, coverage


def real_subset(size: int, num_images: int, seed: int = 0) -> Tensor:
    """Indices of the real images :func:`real_features` uses: a seeded random subset of
    ``num_images`` of the ``size`` reference images (all of them, shuffled, when fewer)."""
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed))[:num_images]


def real_features(extractor: FeatureExtractor, datamodule: Any, num_images: int,
                  cache_dir: Path, seed: int = 0,
                  subject: str = "real images") -> tuple[Tensor, Tensor]:
    """Features and logits of ``num_images`` real training images (a seeded random subset, or
    all of them when there are fewer), cached under ``cache_dir`` by extractor and data.
    ``subject``: what the images are, in the line announcing their first embedding."""
    path = cache_dir / (f"real-{extractor.identity}-{data_fingerprint(datamodule)}"
                        f"-{num_images}-{seed}.pt")
    if path.is_file():
        stored = torch.load(path, map_location="cpu", weights_only=True)
        return stored["features"], stored["logits"]
    dataset = datamodule.reference_set
    order = real_subset(len(dataset), num_images, seed)
    features, logits = [], []
    loader = DataLoader(Subset(dataset, order.tolist()), batch_size=500)
    what = f"computing the {extractor.name} features of {len(order):,} {subject}"
    once = OneTime(what, "FID, KID and the like compare generated images with them",
                   path, getattr(extractor, "device", "cpu"))
    for batch in announced(loader, len(loader), f"{what}, cached for later runs", once):
        f, p = extractor(batch[0])
        features.append(f)
        logits.append(p)
    features, logits = torch.cat(features), torch.cat(logits)
    atomic_save({"features": features, "logits": logits}, path)
    return features, logits


def _draw(sample_fn: Callable[..., Tensor], n: int, chunk: int, extractor: FeatureExtractor,
          labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Features and logits of ``n`` generated images, generated and embedded ``chunk`` at a time
    (the images themselves are not kept). Images are clipped to the data range [-1, 1] first,
    as the official metrics code does when it quantizes to 8 bits: generators with a linear
    output (ProGAN, StyleGAN) overshoot it, and the extractor never saw such values."""
    features, logits = [], []
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        if labels is None:
            images = sample_fn(size)
        else:
            images = sample_fn(size, labels=labels[start:start + size])
        f, p = extractor(torch.as_tensor(images).float().clamp(-1.0, 1.0))
        features.append(f)
        logits.append(p)
    return torch.cat(features), torch.cat(logits)


class ImageQuality:
    """Evaluator: FID, KID, IS and precision/recall of generated images against the real data.

    Results are named ``<extractor.name>/<metric>``: ``fid``, ``kid``, ``kid_std``, ``is``,
    ``is_std``, ``precision``, ``recall``, ``density``, ``coverage`` (``metrics`` picks among
    fid, kid, is, pr, dc).

    Args:
        extractor: the feature extractor.
        num_samples: generated images per evaluation (10,000 is common; 50,000 for papers).
        num_real: real images for the statistics; ``None``: ``num_samples``.
        metrics: which of fid, kid, is, pr to compute.
        kid_subsets, kid_subset_size: KID's random subsets (capped at the sample sizes).
        pr_neighbourhood: k of the k-NN manifolds of precision/recall.
        dc_neighbourhood: k of the k-NN balls of density/coverage (Naeem et al.: 5).
        cache_dir: where real features are cached; ``None``: the default evaluation cache.
        chunk: images generated per call of the sampler.
    """

    def __init__(self, extractor: FeatureExtractor, num_samples: int = 10000,
                 num_real: int | None = None, metrics: tuple[str, ...] | list[str] = METRICS,
                 kid_subsets: int = 100, kid_subset_size: int = 1000, pr_neighbourhood: int = 3,
                 dc_neighbourhood: int = 5, cache_dir: str | None = None, chunk: int = 500) -> None:
        unknown = sorted(set(metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"metrics={list(metrics)}: unknown {unknown}; allowed {list(METRICS)}")
        if "is" in metrics and not getattr(extractor, "has_logits", True):
            raise ValueError(f"metrics={list(metrics)}: the {extractor.name} features have no "
                             "class logits, so no Inception Score; drop 'is'")
        for key, value in (("num_samples", num_samples), ("kid_subsets", kid_subsets),
                           ("kid_subset_size", kid_subset_size),
                           ("pr_neighbourhood", pr_neighbourhood),
                           ("dc_neighbourhood", dc_neighbourhood), ("chunk", chunk)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ValueError(f"{key}={value!r}: must be an integer >= 2")
        num_real = num_samples if num_real is None else num_real
        # IS splits the samples 10 ways; a k-NN radius needs more than k points.
        floor = max(IS_SPLITS if "is" in metrics else 2,
                    pr_neighbourhood + 1 if "pr" in metrics else 2,
                    dc_neighbourhood + 1 if "dc" in metrics else 2)
        for key, value in (("num_samples", num_samples), ("num_real", num_real)):
            if isinstance(value, bool) or not isinstance(value, int) or value < floor:
                raise ValueError(f"{key}={value!r}: must be an integer >= {floor} for "
                                 f"metrics {list(metrics)}")
        fewest = min(num_samples, num_real)
        used = used_kid_subset_size(kid_subset_size, fewest)
        if "kid" in metrics and used != kid_subset_size:
            log.warning("eval: KID subsets of %d images (kid_subset_size=%d is not below the %d "
                        "samples; equal subsets would give kid_std 0)", used, kid_subset_size, fewest)
        self.extractor = extractor
        self.num_samples = num_samples
        self.num_real = num_real
        self.metrics = tuple(metrics)
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
        self.pr_neighbourhood = pr_neighbourhood
        self.dc_neighbourhood = dc_neighbourhood
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.chunk = chunk
        self._real: tuple[Any, Tensor] | None = None

    def prepare(self, datamodule: Any) -> None:
        """Load or train the extractor and load or compute the real features (at fit start)."""
        self.extractor.prepare(datamodule)
        key = (self.extractor.identity, data_fingerprint(datamodule))
        if self._real is None or self._real[0] != key:
            features, _ = real_features(self.extractor, datamodule, self.num_real, self.cache_dir)
            self._real = (key, features)

    def __call__(self, sample_fn: Callable[..., Tensor], datamodule: Any,
                 out_dir: Path | None, tag: str) -> dict[str, float]:
        self.prepare(datamodule)
        real = self._real[1]
        fake, logits = _draw(sample_fn, self.num_samples, self.chunk, self.extractor)
        prefix = self.extractor.name
        results: dict[str, float] = {}
        if "fid" in self.metrics:
            results[f"{prefix}/fid"] = fid(real, fake)
        if "kid" in self.metrics:
            results[f"{prefix}/kid"], results[f"{prefix}/kid_std"] = kid(
                real, fake, self.kid_subsets, self.kid_subset_size)
        if "is" in self.metrics:
            results[f"{prefix}/is"], results[f"{prefix}/is_std"] = inception_score(logits)
        if "pr" in self.metrics:
            results[f"{prefix}/precision"], results[f"{prefix}/recall"] = precision_recall(
                real, fake, self.pr_neighbourhood)
        if "dc" in self.metrics:
            results[f"{prefix}/density"], results[f"{prefix}/coverage"] = density_coverage(
                real, fake, self.dc_neighbourhood)
        return results


class ClassAccuracy:
    """Evaluator for conditional generators: how often the domain classifier assigns a generated
    image to the class it was generated for (``classifier/class_accuracy``), over
    ``num_samples`` images with balanced labels. Unconditional samplers get ``{}``.
    The classifier's own held-out accuracy (``classifier/real_accuracy``) is the ceiling.
    """

    def __init__(self, classifier: ClassifierExtractor, num_samples: int = 10000,
                 chunk: int = 500) -> None:
        check_int("num_samples", num_samples)
        self.classifier = classifier
        self.num_samples = num_samples
        self.chunk = chunk

    def __call__(self, sample_fn: Callable[..., Tensor], datamodule: Any,
                 out_dir: Path | None, tag: str) -> dict[str, float]:
        classes = int(getattr(sample_fn, "num_classes", 0) or 0)
        if not classes:
            return {}
        self.classifier.prepare(datamodule)
        labels = torch.arange(self.num_samples) % classes
        _, logits = _draw(sample_fn, self.num_samples, self.chunk, self.classifier, labels)
        accuracy = float((logits.argmax(1) == labels).double().mean())
        return {"classifier/class_accuracy": accuracy,
                "classifier/real_accuracy": float(self.classifier.accuracy)}

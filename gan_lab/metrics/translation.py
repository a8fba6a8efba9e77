"""Scores of image-to-image translators on a translation set's test images.

For each direction the model translates (A->B, and B->A for CycleGAN), every test image of the
source domain is translated and compared with the target domain:

- FID and KID of the translations against the target domain's real test images, in the
  features of the configured extractor: the domain classifier (a small CNN trained to tell
  the two domains' training images apart; ``eval=translation``) or InceptionV3
  (``eval=translation_inception``), as FID/KID are used for CycleGAN-style translation.
- ``domain_accuracy``: the share of translations the domain classifier puts in the target
  domain (classifier extractor only).
- L1, PSNR and SSIM against the ground-truth targets, where the test images come in pairs
  (``datamodule.eval_paired``): images mapped to [0, 1]; PSNR and SSIM per image, averaged
  (torchmetrics).
- ``cycle_l1``: mean |F(G(x)) - x| on [0, 1] for models that translate both ways.
- ``class_accuracy``: for sets whose targets carry class labels (``datamodule.class_view()``),
  a classifier trained on the real target images with those labels judges each translation
  against its source's label: the analogue of the pix2pix paper's "FCN score" (Isola et al.
  2017, sec. 4.2), next to its accuracy on real held-out images (``class_real_accuracy``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from gan_lab.data.common.labelled_view import LabelledView
from gan_lab.kinds import BatchKind, batch_kind
from gan_lab.metrics.cache import default_cache_dir
from gan_lab.metrics.classifier import ClassifierExtractor
from gan_lab.metrics.extractor import FeatureExtractor
from gan_lab.metrics.image_quality import fid, kid, real_features

__all__ = ["METRICS", "TranslationQuality"]

METRICS = ("fid", "kid", "domain", "pixel", "cycle", "class")


def _batches(dataset: Dataset, chunk: int) -> list[Tensor]:
    return [batch[0] for batch in DataLoader(dataset, batch_size=chunk, shuffle=False)]


class TranslationQuality:
    """Evaluator of translators (``module.translate``); see the module docstring.

    Args:
        extractor: features for FID/KID (and the domain accuracy when it is a classifier,
            which is then trained on ``datamodule.domain_view()``: domain A = 0, B = 1).
        semantic_classifier: a classifier for ``class_accuracy`` (trained on
            ``datamodule.class_view()``); None or a set without class labels skips it.
        metrics: a subset of ``fid, kid, domain, pixel, cycle, class``.
        kid_subsets, kid_subset_size: KID's random subsets (sizes capped by the test set).
        cache_dir: where real features are cached; None: the default evaluation cache.
        chunk: images per forward pass.
    """

    protocol = "translate"

    def __init__(self, extractor: FeatureExtractor, semantic_classifier: ClassifierExtractor | None = None,
                 metrics: tuple[str, ...] | list[str] = METRICS, kid_subsets: int = 100,
                 kid_subset_size: int = 1000, cache_dir: str | None = None, chunk: int = 64) -> None:
        unknown = sorted(set(metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"eval metrics {unknown}: allowed are {', '.join(METRICS)}")
        self.extractor = extractor
        self.semantic_classifier = semantic_classifier
        self.metrics = tuple(metrics)
        self.kid_subsets, self.kid_subset_size = int(kid_subsets), int(kid_subset_size)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.chunk = int(chunk)
        self._real: dict[str, Tensor] = {}
        self._semantic_ready = False
        self._prepared_for: Any = None

    @property
    def _domain_classifier(self) -> bool:
        return isinstance(self.extractor, ClassifierExtractor)

    def prepare(self, datamodule: Any) -> None:
        """Train or load the classifiers; compute or load each domain's real test features."""
        if self._prepared_for is datamodule:
            return
        if batch_kind(datamodule) != BatchKind.TWO_DOMAINS:
            raise ValueError("eval=translation scores translators: the data must be a "
                             "translation set (e.g. data=chalk2ink, edges2digits, horse2zebra)")
        self.extractor.prepare(datamodule.domain_view())
        if {"fid", "kid"} & set(self.metrics):
            for domain in ("A", "B"):
                # the test images, dressed as a data module so their features are cached
                test_set = datamodule.eval_set(domain)
                images = LabelledView(test_set, tuple(test_set[0][0].shape), [])
                self._real[domain], _ = real_features(
                    self.extractor, images, len(test_set), self.cache_dir,
                    subject=f"real test images of domain {domain}")
        view = datamodule.class_view() if hasattr(datamodule, "class_view") else None
        self._semantic_ready = bool(
            "class" in self.metrics and self.semantic_classifier is not None and view is not None)
        if self._semantic_ready:
            self.semantic_classifier.prepare(view)
        self._prepared_for = datamodule

    def __call__(self, sampler: Callable[..., Tensor], datamodule: Any, out_dir: Path | None,
                 tag: str) -> dict[str, float]:
        self.prepare(datamodule)
        results: dict[str, float] = {}
        directions = tuple(getattr(sampler, "directions", ()))
        for direction in directions:
            results.update(self._score(sampler, datamodule, direction, directions))
        return results

    def _score(self, sampler: Any, datamodule: Any, direction: str,
               directions: tuple[str, ...]) -> dict[str, float]:
        source, target = direction[0], direction[-1]
        back = f"{target}to{source}"
        paired = bool(getattr(datamodule, "eval_paired", getattr(datamodule, "paired", False)))
        want = set(self.metrics)
        psnr = PeakSignalNoiseRatio(data_range=1.0, reduction="elementwise_mean", dim=(1, 2, 3))
        ssim = StructuralSimilarityIndexMeasure(data_range=1.0)
        features, logits, semantic = [], [], []
        l1_sum = cycle_sum = 0.0
        count = 0
        targets = _batches(datamodule.eval_set(target), self.chunk) if paired else None
        for i, images in enumerate(_batches(datamodule.eval_set(source), self.chunk)):
            fake = sampler.translate(images, direction)
            count += len(fake)
            if want & {"fid", "kid", "domain"}:
                f, p = self.extractor(fake)
                features.append(f)
                logits.append(p)
            if "pixel" in want and targets is not None:
                fake01, real01 = (fake + 1) / 2, (targets[i].float() + 1) / 2
                l1_sum += float((fake01 - real01).abs().mean(dim=(1, 2, 3)).sum())
                psnr.update(fake01.clamp(0, 1), real01)
                ssim.update(fake01.clamp(0, 1), real01)
            if "cycle" in want and back in directions:
                rec = sampler.translate(fake, back)
                cycle_sum += float(((rec - images.float()).abs() / 2).mean(dim=(1, 2, 3)).sum())
            if self._semantic_ready and target == "B":
                semantic.append(self.semantic_classifier(fake)[1].argmax(1))
        out: dict[str, float] = {}
        name = self.extractor.name
        if features:
            features_t, logits_t = torch.cat(features), torch.cat(logits)
            if "fid" in want:
                out[f"{name}/fid_{direction}"] = fid(self._real[target], features_t)
            if "kid" in want:
                mean, std = kid(self._real[target], features_t, self.kid_subsets,
                                self.kid_subset_size)
                out[f"{name}/kid_{direction}"], out[f"{name}/kid_std_{direction}"] = mean, std
            if "domain" in want and self._domain_classifier:
                label = datamodule.domain_view().classes.index(target)
                out[f"translation/domain_accuracy_{direction}"] = float(
                    (logits_t.argmax(1) == label).double().mean())
        if "pixel" in want and targets is not None:
            out[f"translation/l1_{direction}"] = l1_sum / count
            out[f"translation/psnr_{direction}"] = float(psnr.compute())
            out[f"translation/ssim_{direction}"] = float(ssim.compute())
        if "cycle" in want and back in directions:
            out[f"translation/cycle_l1_{source}"] = cycle_sum / count
        if semantic:
            labels = datamodule.eval_labels()
            predicted = torch.cat(semantic).cpu()
            out[f"translation/class_accuracy_{direction}"] = float(
                (predicted == labels[: len(predicted)]).double().mean())
            out["translation/class_real_accuracy"] = float(self.semantic_classifier.accuracy)
        return out

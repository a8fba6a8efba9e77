"""Semantic image synthesis scored as the SPADE paper's Table 1: FID and a segmenter's mIoU and
pixel accuracy on the generated images.

Park et al. 2019, sec. 4 ("Performance metrics"): "we run a semantic segmentation model on the
synthesized images and compare how well the predicted segmentation mask matches the ground truth
input", reporting the mean intersection-over-union and the pixel accuracy, plus FID. The paper
uses the published segmenters of each set (DRN-D-105 for Cityscapes, UperNet101 for ADE20K,
DeepLabV2 for COCO-Stuff); none is available offline, so here a small fully convolutional
:class:`Segmenter` is trained on the data's own real training photos and cached (as the FID
classifier of :mod:`gan_lab.metrics.classifier`); its scores on the real evaluation photos are
reported as the ceiling (``segmentation/real_miou``, ``segmentation/real_accuracy``).

Scores over the whole evaluation set, from one confusion matrix accumulated by torchmetrics (the
usual segmentation protocol; :class:`SegmentationTally`): IoU_k = TP_k / (TP_k + FP_k + FN_k)
for every class k that occurs in the ground truth or the prediction, mIoU their mean
(``MulticlassJaccardIndex(average="macro")``); pixel accuracy = correct / all pixels
(``MulticlassAccuracy(average="micro")``). The data's ``ignore_index`` (an "unlabeled" class) is
left out of both: its pixels are not scored, and its own IoU is not in the mean even where the
segmenter predicts it (a labelled pixel predicted as it still counts as a miss of its true class).

:class:`SegmentationScore` is the evaluator (``eval=segmentation``, protocol ``translate``): it
scores SPADE (label maps in, direction ``labels_to_image``) and pix2pix trained on the same label
maps presented as colour-coded images (``data=textures data.pairs=true``, direction ``AtoB``): it
feeds each model the form of the evaluation label maps its data module serves.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader
from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

from gan_lab.auxiliary import AuxiliarySpec, Trained, provide
from gan_lab.data.common.fingerprint import data_fingerprint
from gan_lab.data.common.labelled_view import LabelledView
from gan_lab.kinds import BatchKind, batch_kind
from gan_lab.metrics.cache import default_cache_dir
from gan_lab.metrics.classifier import ClassifierExtractor
from gan_lab.metrics.extractor import FeatureExtractor
from gan_lab.metrics.image_quality import fid, real_features
from gan_lab.metrics.one_time import OneTime, announced, count
from gan_lab.metrics.settings import check_int, check_positive
from gan_lab.nets.spade import one_hot_semantics

__all__ = ["METRICS", "SegmentationScore", "SegmentationTally", "Segmenter", "SegmenterTrainer",
           "miou_and_accuracy"]

log = logging.getLogger(__name__)
METRICS = ("fid", "segmentation")


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class Segmenter(nn.Module):
    """A small fully convolutional segmenter: images (B, 3, H, W) in [-1, 1] -> class logits
    (B, K, H, W). Three stages of two 3x3 conv-BN-ReLU (width, 2 width, 4 width channels; 2x2
    max-pooling between them), and an FCN-style decoder: each coarser map upsampled (bilinear)
    and concatenated with the finer one, a 3x3 conv-BN-ReLU, then a 1x1 conv to the classes.
    H and W must be multiples of 4."""

    def __init__(self, num_classes: int, width: int = 32, channels: int = 3) -> None:
        super().__init__()
        self.stage1 = _stage(channels, width)
        self.stage2 = _stage(width, 2 * width)
        self.stage3 = _stage(2 * width, 4 * width)
        self.fuse2 = nn.Sequential(nn.Conv2d(6 * width, 2 * width, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(2 * width), nn.ReLU())
        self.fuse1 = nn.Sequential(nn.Conv2d(3 * width, width, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(width), nn.ReLU())
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, images: Tensor) -> Tensor:
        f1 = self.stage1(images)
        f2 = self.stage2(F.max_pool2d(f1, 2))
        f3 = self.stage3(F.max_pool2d(f2, 2))
        up = F.interpolate(f3, size=f2.shape[-2:], mode="bilinear", align_corners=False)
        f2 = self.fuse2(torch.cat([f2, up], 1))
        up = F.interpolate(f2, size=f1.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(self.fuse1(torch.cat([f1, up], 1)))


def _segmenter_of(state: dict, classes: int, width: int) -> Segmenter:
    """The segmenter of a cached state_dict."""
    net = Segmenter(classes, width)
    net.load_state_dict(state)
    return net


class SegmentationTally:
    """mIoU and pixel accuracy of predicted class maps against ground-truth label maps,
    accumulated over batches by torchmetrics: ``MulticlassJaccardIndex(num_classes,
    ignore_index=ignore_index, average="macro")`` (the mean IoU over the classes present in the
    ground truth or the prediction, the ignored class left out) and ``MulticlassAccuracy(...,
    average="micro")`` (correct / scored pixels). Pixels whose target is ``ignore_index`` are not
    scored. With no scored pixel both are 0."""

    def __init__(self, num_classes: int, ignore_index: int | None = None) -> None:
        self.ignore_index = ignore_index
        self.jaccard = MulticlassJaccardIndex(num_classes, average="macro",
                                              ignore_index=ignore_index)
        self.accuracy = MulticlassAccuracy(num_classes, average="micro",
                                           ignore_index=ignore_index)
        self.pixels = 0

    def update(self, predicted: Tensor, target: Tensor) -> None:
        """Add a batch: ``predicted`` and ``target`` class maps of the same shape."""
        predicted, target = predicted.long().cpu(), target.long().cpu()
        self.jaccard.update(predicted, target)
        self.accuracy.update(predicted, target)
        scored = target.numel() if self.ignore_index is None \
            else int((target != self.ignore_index).sum())
        self.pixels += scored

    def compute(self) -> tuple[float, float]:
        """(mIoU, pixel accuracy) of everything added so far."""
        if not self.pixels:
            return 0.0, 0.0
        return float(self.jaccard.compute()), float(self.accuracy.compute())


def miou_and_accuracy(predicted: Tensor, target: Tensor, num_classes: int,
                      ignore_index: int | None = None) -> tuple[float, float]:
    """Mean IoU and pixel accuracy of one set of class maps (see :class:`SegmentationTally`)."""
    tally = SegmentationTally(num_classes, ignore_index)
    tally.update(predicted, target)
    return tally.compute()


def _items(dataset, chunk: int) -> DataLoader:
    return DataLoader(dataset, batch_size=chunk, shuffle=False)


class SegmenterTrainer:
    """Trains (or loads from its cache) a :class:`Segmenter` on a label-map data module's real
    training photos: Adam, pixel-wise cross-entropy (the data's ``ignore_index`` left out),
    ``epochs`` shuffled passes, seeded. The auxiliary-net provider (gan_lab.auxiliary) caches
    it; the cache file name holds a digest of the training data
    (:func:`~gan_lab.data.common.fingerprint.data_fingerprint`) and these settings.
    """

    def __init__(self, cache_dir: str | None = None, width: int = 32, epochs: int = 10,
                 lr: float = 1e-3, batch_size: int = 32, seed: int = 0) -> None:
        for key, value in (("width", width), ("epochs", epochs), ("batch_size", batch_size)):
            check_int(f"eval.segmenter.{key}", value)
        check_positive("eval.segmenter.lr", lr)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.settings = {"width": width, "epochs": epochs, "lr": float(lr),
                         "batch_size": batch_size, "seed": int(seed)}
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def cache_path(self, data: Any) -> Path:
        key = hashlib.blake2b(f"{data_fingerprint(data)}|{data.ignore_index}|"
                              f"{sorted(self.settings.items())}".encode(), digest_size=8)
        return self.cache_dir / f"segmenter-{key.hexdigest()}.pt"

    def prepare(self, data: Any) -> Segmenter:
        """The segmenter of ``data`` (a LabelMapDataModule), frozen, on the device."""
        build = partial(_segmenter_of, classes=data.num_classes, width=self.settings["width"])
        path = self.cache_path(data)
        trained = Trained(path, partial(self._record, data, path),
                          announce=lambda _: "segmenter trained on the real photos")
        return provide(AuxiliarySpec("segmenter", "eval.cache_dir", build, trained=trained),
                       self.device)

    def _record(self, data: Any, path: Path) -> dict:
        """What the cache file holds: the state_dict of a freshly trained segmenter."""
        net = Segmenter(data.num_classes, self.settings["width"])
        self.train(net, data, path)
        return net.state_dict()

    def train(self, net: Segmenter, data: Any, path: Path | None = None) -> None:
        """Train ``net`` on ``data``'s training photos; ``path``: the cache file it goes to,
        said in the line announcing the training."""
        s = self.settings
        torch.manual_seed(s["seed"])
        net.load_state_dict(Segmenter(data.num_classes, s["width"]).state_dict())
        net.to(self.device).train()
        optimizer = torch.optim.Adam(net.parameters(), lr=s["lr"])
        loader = DataLoader(data.train_set, batch_size=s["batch_size"], shuffle=True,
                            generator=torch.Generator().manual_seed(s["seed"]))
        ignore = -100 if data.ignore_index is None else data.ignore_index
        batches = (batch for _ in range(s["epochs"]) for batch in loader)
        what = (f"training the segmenter ({count(s['epochs'], 'epoch')} over "
                f"{count(len(data.train_set), 'photo')})")
        once = None if path is None else OneTime(
            what, "segmentation/miou segments the generated images with it", path,
            self.device.type)
        for batch in announced(batches, s["epochs"] * len(loader),
                               f"{what}, cached for later runs", once):
            labels, images = batch[0].to(self.device), batch[1].to(self.device, torch.float32)
            loss = F.cross_entropy(net(images), labels, ignore_index=ignore)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.cpu()


class SegmentationScore:
    """Evaluator (``eval=segmentation``): FID and the segmenter's mIoU / pixel accuracy of the
    images a model makes from the evaluation label maps; see the module docstring.

    Results: ``<extractor.name>/fid``; ``segmentation/miou``, ``segmentation/accuracy`` and the
    ceilings ``segmentation/real_miou``, ``segmentation/real_accuracy``.

    Args:
        extractor: features for FID; a classifier extractor is trained on ``fid_view()`` (the
            training photos labelled by their dominant class), InceptionV3 needs nothing.
        segmenter: the :class:`SegmenterTrainer`.
        metrics: a subset of ``fid``, ``segmentation``.
        cache_dir: where real features are cached; None: the default evaluation cache.
        chunk: label maps per translate call.
        direction: the model's direction to score; None: its first.
    """

    protocol = "translate"

    def __init__(self, extractor: FeatureExtractor, segmenter: SegmenterTrainer,
                 metrics: tuple[str, ...] | list[str] = METRICS, cache_dir: str | None = None,
                 chunk: int = 64, direction: str | None = None) -> None:
        unknown = sorted(set(metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"eval metrics {unknown}: allowed are {', '.join(METRICS)}")
        self.extractor, self.segmenter = extractor, segmenter
        self.metrics = tuple(metrics)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.chunk = int(chunk)
        self.direction = direction
        self._prepared_for: Any = None
        self._real: Tensor | None = None
        self._net: Segmenter | None = None
        self._ceiling: tuple[float, float] = (0.0, 0.0)

    @staticmethod
    def label_data(datamodule: Any) -> Any:
        data = getattr(datamodule, "label_data", None)
        if data is None:
            raise ValueError("eval=segmentation scores label map -> image models: the data must "
                             "be a label-map set (data=textures [data.pairs=true for pix2pix], "
                             "cityscapes_labels, ade20k, coco_stuff)")
        return data

    def prepare(self, datamodule: Any) -> None:
        """Train or load the FID extractor and the segmenter; real features and the ceiling."""
        if self._prepared_for is datamodule:
            return
        data = self.label_data(datamodule)
        if "fid" in self.metrics:
            # a classifier extractor learns the training photos' dominant classes
            trains = isinstance(self.extractor, ClassifierExtractor)
            self.extractor.prepare(data.fid_view() if trains else data)
            photos = data.eval_images()
            view = LabelledView(photos, tuple(data.sample_shape), [])
            self._real, _ = real_features(self.extractor, view, len(photos), self.cache_dir)
        if "segmentation" in self.metrics:
            self._net = self.segmenter.prepare(data)
            tally = SegmentationTally(data.num_classes, data.ignore_index)
            for batch in _items(data.eval_set(), self.chunk):
                tally.update(self._segment(batch[1]), batch[0])
            self._ceiling = tally.compute()
        self._prepared_for = datamodule

    @torch.no_grad()
    def _segment(self, images: Tensor) -> Tensor:
        """The segmenter's class map (B, H, W) of images (B, 3, H, W), on the CPU."""
        logits = self._net(images.to(self.segmenter.device, torch.float32))
        return logits.argmax(1).cpu()

    def model_inputs(self, datamodule: Any, batch: list[Tensor]) -> Tensor:
        """What the model reads for a batch of evaluation items: the colour-coded label maps for
        a two-domains presentation (pix2pix), else the label maps (the one-hot map with the edge
        channel when the data has instance edges)."""
        data = self.label_data(datamodule)
        labels = batch[0]
        if batch_kind(datamodule) == BatchKind.TWO_DOMAINS:
            return data.colourize(labels)
        if len(batch) > 2:
            return one_hot_semantics(labels, data.num_classes, batch[2])
        return labels

    def __call__(self, sampler: Callable[..., Tensor], datamodule: Any, out_dir: Path | None,
                 tag: str) -> dict[str, float]:
        self.prepare(datamodule)
        data = self.label_data(datamodule)
        directions = tuple(getattr(sampler, "directions", ()))
        direction = self.direction or (directions[0] if directions else None)
        if direction is None or direction not in directions:
            raise ValueError(f"eval.metrics.segmentation.direction={direction!r}: the model "
                             f"translates {', '.join(directions) or 'nothing'}")
        features = []
        tally = SegmentationTally(data.num_classes, data.ignore_index)
        for batch in _items(data.eval_set(), self.chunk):
            fake = sampler.translate(self.model_inputs(datamodule, batch), direction)
            fake = fake.float().clamp(-1.0, 1.0)
            if "fid" in self.metrics:
                features.append(self.extractor(fake)[0])
            if "segmentation" in self.metrics:
                tally.update(self._segment(fake), batch[0])
        results: dict[str, float] = {}
        if "fid" in self.metrics:
            results[f"{self.extractor.name}/fid"] = fid(self._real, torch.cat(features))
        if "segmentation" in self.metrics:
            miou, accuracy = tally.compute()
            results["segmentation/miou"], results["segmentation/accuracy"] = miou, accuracy
            results["segmentation/real_miou"], results["segmentation/real_accuracy"] = \
                self._ceiling
        return results

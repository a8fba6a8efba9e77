"""Label maps and their photos: the data of semantic image synthesis (SPADE).

The contract, :class:`LabelMapDataModule` (``batch_kind = "label maps"``): training items are
``(labels, image)``, or ``(labels, image, edges)`` with ``instance_edges``: ``labels`` a
``(H, W)`` int64 map of class indices ``0 .. num_classes - 1``, ``image`` a ``(3, H, W)`` float
in ``[-1, 1]``, ``edges`` the ``(1, H, W)`` float instance-boundary map of the official code
(:func:`instance_edges`). :meth:`~LabelMapDataModule.eval_set` gives the evaluation items the
same way (deterministic), :meth:`~LabelMapDataModule.eval_images` their photos alone (for FID),
:meth:`~LabelMapDataModule.fid_view` training photos labelled by their dominant class (for a
feature classifier), :meth:`~LabelMapDataModule.colourize` colour-codes label maps (the
PASCAL VOC colour map, as the official ``util.labelcolormap``).

:class:`LabelMapPairs` presents an in-memory label-map set as a paired translation set (the
two-domains protocol of :mod:`gan_lab.data.translation.base`): A = the colour-coded label map, B = the
photo, so ``model=pix2pix`` trains on exactly the label maps SPADE sees (how pix2pix is run on
label-to-photo tasks such as its Cityscapes labels -> photo).

The sets: :mod:`gan_lab.data.label_maps.textures` (embedded) and :mod:`gan_lab.data.label_maps.folders`
(Cityscapes, ADE20K, COCO-Stuff layouts).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, TensorDataset

from gan_lab.data.common.labelled_view import LabelledView
from gan_lab.data.common.option_checks import check_bool, check_int
from gan_lab.data.common.train_set import TrainSetDataModule
from gan_lab.data.translation.base import TranslationDataModule
from gan_lab.data.translation.embedded import Jitter, PairedTensorSet
from gan_lab.kinds import BatchKind

__all__ = [
    "LabelMapDataModule",
    "LabelMapPairs",
    "colourize",
    "dominant_classes",
    "instance_edges",
    "label_palette",
]


def label_palette(count: int) -> Tensor:
    """``(count, 3)`` uint8 colours: the PASCAL VOC colour map (bits of the class index spread
    over the high bits of R, G and B; class 0 black), as the official ``util.labelcolormap``."""
    colours = np.zeros((count, 3), dtype=np.uint8)
    for index in range(count):
        code, rgb = index, [0, 0, 0]
        for bit in range(8):
            for channel in range(3):
                rgb[channel] |= ((code >> channel) & 1) << (7 - bit)
            code >>= 3
        colours[index] = rgb
    return torch.from_numpy(colours)


def colourize(labels: Tensor, palette: Tensor) -> Tensor:
    """Label maps ``(B, H, W)`` (or one ``(H, W)``) as colour images ``(B, 3, H, W)`` in
    ``[-1, 1]`` through ``palette`` ``(classes, 3)`` uint8."""
    if labels.dim() == 2:
        labels = labels[None]
    colours = palette.to(labels.device)[labels.long()].permute(0, 3, 1, 2)
    return colours.float().contiguous() / 127.5 - 1.0


def instance_edges(instances: Tensor) -> Tensor:
    """The instance-boundary map ``(1, H, W)`` float of an instance-id map ``(H, W)``: 1 where a
    pixel's id differs from its left, right, upper or lower neighbour's (official
    ``Pix2PixModel.get_edges``)."""
    t = instances
    edge = torch.zeros(t.shape, dtype=torch.bool)
    horizontal = t[:, 1:] != t[:, :-1]
    vertical = t[1:, :] != t[:-1, :]
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    return edge.float()[None]


def dominant_classes(labels: Tensor, num_classes: int) -> Tensor:
    """``(N,)`` int64: the most frequent class of each label map ``(N, H, W)`` (the smallest
    index on ties)."""
    counts = torch.nn.functional.one_hot(labels.flatten(1).long(), num_classes).sum(1)
    return counts.argmax(1)


class _Side(Dataset):
    """One element of each item of ``dataset``, as ``(x,)`` items."""

    def __init__(self, dataset: Dataset, index: int) -> None:
        self.dataset, self.index = dataset, index

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple:
        return (self.dataset[i][self.index],)


class LabelMapDataModule(TrainSetDataModule):
    """Label maps paired with photos; see the module docstring for the items.

    Subclasses build ``train_set`` (``build_train_set``) and implement :meth:`_build_eval_set`,
    :meth:`_build_eval_images` and :meth:`_build_fid_view`.

    Attributes beyond the contract: ``num_classes`` (one-hot channels, including an "unlabeled"
    or "don't care" class where the data has one), ``class_names``, ``ignore_index`` (the class
    segmentation scores leave out, or None), ``instance_edges`` (items carry an edge map),
    ``image_size`` (width) and ``aspect_ratio`` (width / height), ``sample_shape`` (3, H, W),
    ``palette``.
    """

    batch_kind = BatchKind.LABEL_MAPS

    def __init__(self, *, num_classes: int, class_names: Sequence[str], image_size: int,
                 aspect_ratio: float, instance_edges: bool, ignore_index: int | None,
                 batch_size: int, seed: int, num_workers: int) -> None:
        super().__init__(batch_size=check_int("batch_size", batch_size, 1), seed=int(seed),
                         num_workers=check_int("num_workers", num_workers, 0))
        self.num_classes = check_int("num_classes", num_classes, 2)
        self.class_names = list(class_names)
        self.image_size = check_int("image_size", image_size, 8)
        if isinstance(aspect_ratio, bool) or not float(aspect_ratio) > 0:
            raise ValueError(f"data.aspect_ratio={aspect_ratio!r}: must be a number > 0 "
                             "(width / height)")
        self.aspect_ratio = float(aspect_ratio)
        self.instance_edges = check_bool("instance_edges", instance_edges)
        if ignore_index is not None and not 0 <= int(ignore_index) < self.num_classes:
            raise ValueError(f"data.ignore_index={ignore_index!r}: must be null or a class "
                             f"in 0..{self.num_classes - 1}")
        self.ignore_index = None if ignore_index is None else int(ignore_index)
        self.height = round(self.image_size / self.aspect_ratio)
        self.sample_shape = (3, self.height, self.image_size)
        self.palette = label_palette(self.num_classes)
        self._eval_set: Dataset | None = None
        self._eval_images: Dataset | None = None
        self._fid_view: LabelledView | None = None

    @property
    def label_data(self) -> LabelMapDataModule:
        """The label-map data behind this module (itself; :class:`LabelMapPairs` wraps one)."""
        return self

    def describe(self) -> str:
        return type(self).__name__

    def colourize(self, labels: Tensor) -> Tensor:
        """Colour-coded label maps ``(B, 3, H, W)`` in ``[-1, 1]``."""
        return colourize(labels, self.palette)

    def train_dataloader(self):
        self.setup("fit")
        if self.batch_size > len(self.train_set):
            raise ValueError(f"data.batch_size={self.batch_size} is more than the "
                             f"{len(self.train_set)} training items of {self.describe()}; lower "
                             "data.batch_size")
        return super().train_dataloader()

    def eval_set(self, domain: str | None = None) -> Dataset:
        """The evaluation items ``(labels, image[, edges])``, deterministic; with ``domain``
        one side of them as ``(x,)`` items: ``"labels"`` the label maps, ``"image"`` the photos.
        The translator protocol names a direction's source and target by its first and last
        letters (gan_lab.callbacks.health), so ``"l"`` and ``"e"`` (of ``labels_to_image``) are
        accepted for them too."""
        if self._eval_set is None:
            self._eval_set = self._build_eval_set()
        if domain is None:
            return self._eval_set
        if domain in ("labels", "l"):
            return _Side(self._eval_set, 0)
        if domain in ("image", "e"):
            return self.eval_images()
        raise ValueError(f"domain {domain!r}: a label-map set has the sides 'labels' and 'image'")

    def domain_view(self) -> LabelledView:
        """Not a two-domain set: ``eval=translation`` asks for this; say what to use instead."""
        raise ValueError("eval=translation scores translators between two image domains; label "
                         "maps -> images are scored by eval=segmentation")

    def eval_images(self) -> Dataset:
        """The evaluation photos as ``(image,)`` items (a fingerprintable set, for FID)."""
        if self._eval_images is None:
            self._eval_images = self._build_eval_images()
        return self._eval_images

    def fid_view(self) -> LabelledView:
        """Training photos labelled with their dominant class: what a feature classifier for
        FID learns from (``eval.classifier``)."""
        if self._fid_view is None:
            self._fid_view = self._build_fid_view()
        return self._fid_view

    def _build_eval_set(self) -> Dataset:
        raise NotImplementedError

    def _build_eval_images(self) -> Dataset:
        raise NotImplementedError

    def _build_fid_view(self) -> LabelledView:
        raise NotImplementedError


class LabelMapPairs(TranslationDataModule):
    """An in-memory :class:`LabelMapDataModule` as a paired translation set for pix2pix:
    A = colour-coded label maps, B = the photos (``data.pairs=true`` of ``data=textures``).

    The same training and evaluation items, in the same order, as the label-map set it wraps
    (``label_data``); ``eval_paired`` (A and B test images correspond). ``channels_a`` and
    ``channels_b`` are 3. The segmentation evaluator scores pix2pix through ``label_data``.
    """

    def __init__(self, label_data: LabelMapDataModule, flip: bool = False) -> None:
        super().__init__(paired=True, image_size=label_data.image_size, channels_a=3,
                         channels_b=3, batch_size=label_data.batch_size, seed=label_data.seed,
                         num_workers=label_data.num_workers, direction="AtoB", eval_paired=True)
        if label_data.aspect_ratio != 1.0:
            raise ValueError("data.pairs=true: pix2pix's translation sets are square; use "
                             "data.aspect_ratio=1")
        self._label_data = label_data
        labels, images = label_data.train_tensors()
        self.train_set = PairedTensorSet(label_data.colourize(labels), images,
                                         Jitter(0, flip), label_data.seed)
        self._check_batch_size()

    @property
    def label_data(self) -> LabelMapDataModule:
        return self._label_data

    def describe(self) -> str:
        return f"{self._label_data.describe()} as colour-coded pairs"

    def _build_eval_set(self, index: int) -> TensorDataset:
        labels, images = self._label_data.eval_tensors()
        return TensorDataset(self._label_data.colourize(labels) if index == 0 else images)

    def _build_domain_view(self) -> LabelledView:
        a, b = self.train_set.tensors
        labels = torch.cat([torch.zeros(len(a), dtype=torch.int64),
                            torch.ones(len(b), dtype=torch.int64)])
        return LabelledView(TensorDataset(torch.cat([a, b]), labels), tuple(a.shape[1:]),
                            ["A", "B"])

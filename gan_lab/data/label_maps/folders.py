"""The published label-map sets of semantic image synthesis, read in their own folder layouts.

As the official SPADE code reads them (``data/cityscapes_dataset.py``, ``ade20k_dataset.py``,
``coco_dataset.py``, ``pix2pix_dataset.py``):

- ``cityscapes`` (``data=cityscapes_labels``): ``gtFine/<split>/<city>/*_gtFine_labelIds.png``
  with ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` (and ``*_gtFine_instanceIds.png`` for
  the instance edges), paired by ``<city>_<seq>_<frame>``; 35 label ids; splits train / val.
  Official preprocessing ``fixed``: resized to 512 x 256 (``aspect_ratio`` 2), flips.
- ``ade20k`` (``data=ade20k``): ``ADEChallengeData2016/images/{training,validation}/*.jpg`` with
  ``annotations/{training,validation}/*.png`` of the same stem; 150 classes and 0 "unlabeled",
  151 one-hot channels (the official ``label_nc`` 150 + ``contain_dontcare_label``; its
  ``postprocess`` that would move 0 to the end assigns to a local copy, so the labels it trains
  on are the file's 0..150, as here). ``resize_and_crop``: 286 then a random 256 crop.
- ``coco_stuff`` (``data=coco_stuff``): ``{train,val}_img/*.jpg``, ``{train,val}_label/*.png``
  and ``{train,val}_inst/*.png``; 182 classes, the file's 255 ("unlabeled") becomes class 182,
  183 channels (+1 with instance edges, the official default). ``resize_and_crop`` 286 -> 256.

Images are resized bicubically and label and instance maps by nearest neighbour with PIL, as the
official ``get_transform``; training crops and flips are drawn per item from a generator keyed by
the loader's epoch indices (:mod:`gan_lab.data.translation.sampling`), evaluation images are
resized straight to the crop size (the official test settings, ``load_size = crop_size``). These
sets need a registration or a large download, so nothing is fetched: a missing folder is one line
saying what to download and where to put it (``data.root``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from gan_lab.data.common.labelled_view import LabelledView
from gan_lab.data.common.option_checks import check_bool, check_choice, check_int
from gan_lab.data.label_maps.base import LabelMapDataModule, dominant_classes, instance_edges
from gan_lab.data.translation.sampling import (
    item_generator,
    paired_epoch_indices,
    split_paired_index,
)

__all__ = ["LAYOUTS", "LabelMapFolderDataModule", "Layout", "find_items"]

PREPROCESS = ("fixed", "resize_and_crop")
Item = tuple[Path, Path, Path | None]  # label map, photo, instance map


@dataclass(frozen=True)
class Layout:
    """A published set: its classes, what 255 in a label file becomes (None: not allowed), the
    split folder names and where to get it."""

    name: str
    num_classes: int
    unlabeled: int | None
    splits: dict[str, str]
    download: str


LAYOUTS = {
    "cityscapes": Layout(
        "cityscapes", 35, None, {"train": "train", "val": "val"},
        "download gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip from "
        "https://www.cityscapes-dataset.com (free registration) and unzip both there"),
    "ade20k": Layout(
        "ade20k", 151, None, {"train": "training", "val": "validation"},
        "download ADEChallengeData2016.zip from "
        "http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip and unzip it there"),
    "coco_stuff": Layout(
        "coco_stuff", 183, 182, {"train": "train", "val": "val"},
        "build train_img/ train_label/ train_inst/ val_img/ val_label/ val_inst/ from COCO 2017 "
        "images and the COCO-Stuff stuffthingmaps (https://github.com/nightrome/cocostuff; "
        "instance maps with the official datasets/coco_generate_instance_map.py) and put them "
        "there"),
}


def _missing(layout: Layout, root: Path, what: str) -> ValueError:
    return ValueError(f"data={'cityscapes_labels' if layout.name == 'cityscapes' else layout.name}"
                      f": no {what} under {root}; {layout.download} (or set data.root=FOLDER)")


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.rglob(pattern) if not p.name.startswith("."))


def _pair(labels: list[Path], images: list[Path], instances: list[Path] | None,
          key: Callable[[Path], str], layout: Layout) -> list[Item]:
    by_key = {key(p): p for p in images}
    inst_by_key = {key(p): p for p in instances} if instances is not None else None
    items = []
    for label in labels:
        if key(label) not in by_key:
            raise ValueError(f"data={layout.name}: the label map {label} has no photo of the "
                             f"same name ({key(label)})")
        instance = None
        if inst_by_key is not None:
            if key(label) not in inst_by_key:
                raise ValueError(f"data.instance_edges=true: the label map {label} has no "
                                 "instance map; set data.instance_edges=false")
            instance = inst_by_key[key(label)]
        items.append((label, by_key[key(label)], instance))
    return items


def find_items(layout: Layout, root: Path, split: str, instances: bool) -> list[Item]:
    """The (label map, photo, instance map or None) files of ``split`` in ``root``; one-line
    ValueError when a folder is missing or a label map has no photo."""
    folder = layout.splits[split]
    if layout.name == "cityscapes":
        label_dir, image_dir = root / "gtFine" / folder, root / "leftImg8bit" / folder
        for path, what in ((label_dir, "gtFine/" + folder), (image_dir, "leftImg8bit/" + folder)):
            if not path.is_dir():
                raise _missing(layout, root, what)
        labels = _files(label_dir, "*_gtFine_labelIds.png")
        images = _files(image_dir, "*_leftImg8bit.png")
        inst = _files(label_dir, "*_gtFine_instanceIds.png") if instances else None

        def key(p: Path) -> str:
            return "_".join(p.name.split("_")[:3])
    else:
        if layout.name == "ade20k":
            base = root / "ADEChallengeData2016" if (root / "ADEChallengeData2016").is_dir() \
                else root
            label_dir, image_dir = base / "annotations" / folder, base / "images" / folder
            names = ("annotations/" + folder, "images/" + folder)
        else:
            label_dir, image_dir = root / f"{folder}_label", root / f"{folder}_img"
            names = (f"{folder}_label", f"{folder}_img")
        for path, what in zip((label_dir, image_dir), names, strict=True):
            if not path.is_dir():
                raise _missing(layout, root, what)
        labels = _files(label_dir, "*.png")
        images = [p for p in _files(image_dir, "*") if p.suffix.lower() in (".jpg", ".jpeg",
                                                                                ".png")]
        inst = None
        if instances:
            inst_dir = root / f"{folder}_inst"
            if layout.name == "ade20k" or not inst_dir.is_dir():
                raise ValueError(f"data.instance_edges=true: data={layout.name} has no instance "
                                 f"maps ({inst_dir} missing); set data.instance_edges=false")
            inst = _files(inst_dir, "*.png")

        def key(p: Path) -> str:
            return p.stem
    if not labels:
        raise _missing(layout, root, f"label maps in {label_dir.relative_to(root)}")
    return _pair(labels, images, inst, key, layout)


def read_labels(path: Path, layout: Layout, size: tuple[int, int] | None = None) -> Tensor:
    """A label file as ``(H, W)`` int64 class indices (resized by nearest neighbour to ``size``
    = (height, width) when given); 255 becomes the unlabeled class where the set has one;
    ValueError naming the file for values outside the classes."""
    with Image.open(path) as image:
        if size is not None:
            image = image.resize(size[::-1], Image.NEAREST)
        labels = torch.from_numpy(np.asarray(image).astype(np.int64))
    if labels.dim() == 3:
        labels = labels[..., 0]
    if layout.unlabeled is not None:
        labels[labels == 255] = layout.unlabeled
    if labels.numel() and (int(labels.max()) >= layout.num_classes or int(labels.min()) < 0):
        raise ValueError(f"{path}: label value {int(labels.max())} is not one of the "
                         f"{layout.num_classes} classes of data={layout.name}")
    return labels


def _read_image(path: Path, size: tuple[int, int]) -> Tensor:
    with Image.open(path) as image:
        image = image.convert("RGB").resize(size[::-1], Image.BICUBIC)
        pixels = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)
    return pixels.float() / 127.5 - 1.0


def _read_instances(path: Path, size: tuple[int, int]) -> Tensor:
    with Image.open(path) as image:
        return torch.from_numpy(np.asarray(image.resize(size[::-1], Image.NEAREST)).astype(
            np.int64))


class LabelMapFileSet(Dataset):
    """The items of one split, read from files: ``(labels, image[, edges])``.

    ``train``: random crops (``resize_and_crop``) and flips drawn per item from the loader's
    epoch indices; otherwise resized straight to the crop size. ``files`` and
    ``fingerprint_extra`` make it fingerprintable for evaluation caches.
    """

    def __init__(self, items: list[Item], layout: Layout, size: tuple[int, int],
                 load_size: int, preprocess: str, flip: bool, train: bool, seed: int) -> None:
        self.items, self.layout, self.size = items, layout, size
        self.load_size, self.preprocess = load_size, preprocess
        self.flip, self.train, self.seed = flip, train, seed
        self.files = [str(p) for item in items for p in item if p is not None]
        self.fingerprint_extra = f"{layout.name},{size},{load_size},{preprocess},{flip},{train}"

    @property
    def random(self) -> bool:
        return self.train and (self.flip or self.preprocess == "resize_and_crop")

    def __len__(self) -> int:
        return len(self.items)

    def epoch_indices(self, generator: torch.Generator) -> list:
        return paired_epoch_indices(len(self), generator, self.random)

    def __getitem__(self, index) -> tuple[Tensor, ...]:
        k, key = split_paired_index(index, len(self))
        label_path, image_path, instance_path = self.items[k]
        crop = self.train and self.preprocess == "resize_and_crop"
        size = (self.load_size, self.load_size) if crop else self.size
        labels = read_labels(label_path, self.layout, size)
        parts = [labels, _read_image(image_path, size)]
        if instance_path is not None:
            parts.append(_read_instances(instance_path, size))
        if self.random:
            generator = item_generator(self.seed, *key)
            if crop:
                top, left = (int(torch.randint(0, s - c + 1, (), generator=generator))
                             for s, c in zip(size, self.size, strict=True))
                parts = [p[..., top:top + self.size[0], left:left + self.size[1]] for p in parts]
            if self.flip and bool(torch.rand((), generator=generator) < 0.5):
                parts = [p.flip(-1) for p in parts]
        if instance_path is not None:
            parts[2] = instance_edges(parts[2])
        return tuple(p.contiguous() for p in parts)


class _Photos(Dataset):
    """The photos of a file set as ``(image,)`` or ``(image, label)`` items (fingerprintable)."""

    def __init__(self, source: LabelMapFileSet, labels: list[int] | None = None) -> None:
        self.source, self.labels = source, labels
        self.files = [str(item[1]) for item in source.items]
        self.fingerprint_extra = source.fingerprint_extra + ",photos"

    def __len__(self) -> int:
        return len(self.source.items)

    def __getitem__(self, index: int) -> tuple:
        image = _read_image(self.source.items[index][1], self.source.size)
        return (image,) if self.labels is None else (image, self.labels[index])


class LabelMapFolderDataModule(LabelMapDataModule):
    """``data=cityscapes_labels``, ``ade20k``, ``coco_stuff``: a published set in its layout.

    Args:
        layout: ``cityscapes``, ``ade20k`` or ``coco_stuff``.
        root: the folder holding the layout (``~/.cache/gan_lab/datasets/<name>`` by default).
        image_size: the crop width (official ``crop_size``).
        aspect_ratio: width / height (Cityscapes 2).
        load_size: the side images are resized to before a random crop (``resize_and_crop``).
        preprocess: ``fixed`` (resize to the crop size) or ``resize_and_crop``.
        flip: random horizontal flips in training (official default).
        instance_edges: add the instance-boundary channel (Cityscapes and COCO-Stuff).
        num_classes: one-hot channels; must match the layout's.
        ignore_index: the class segmentation scores leave out (the unlabeled one), or null.
        batch_size, seed, num_workers: the loader's.
    """

    def __init__(self, layout: str, root: str, image_size: int = 256, aspect_ratio: float = 1.0,
                 load_size: int = 286, preprocess: str = "resize_and_crop", flip: bool = True,
                 instance_edges: bool = False, num_classes: int | None = None,
                 ignore_index: int | None = None, batch_size: int = 1, seed: int = 0,
                 num_workers: int = 0) -> None:
        self.layout = LAYOUTS[check_choice("layout", layout, tuple(LAYOUTS))]
        if num_classes is not None and int(num_classes) != self.layout.num_classes:
            raise ValueError(f"data.num_classes={num_classes}: data={layout} has "
                             f"{self.layout.num_classes} label channels")
        super().__init__(num_classes=self.layout.num_classes,
                         class_names=[str(i) for i in range(self.layout.num_classes)],
                         image_size=image_size, aspect_ratio=aspect_ratio,
                         instance_edges=instance_edges, ignore_index=ignore_index,
                         batch_size=batch_size, seed=seed, num_workers=num_workers)
        self.root = Path(str(root)).expanduser()
        self.preprocess = check_choice("preprocess", preprocess, PREPROCESS)
        self.load_size = check_int("load_size", load_size, self.image_size)
        if self.preprocess == "resize_and_crop" and self.aspect_ratio != 1.0:
            raise ValueError("data.preprocess=resize_and_crop crops squares; use data.aspect_"
                             "ratio=1 or data.preprocess=fixed")
        self.flip = check_bool("flip", flip)
        size = (self.height, self.image_size)
        common = (self.layout, size, self.load_size, self.preprocess)
        self.train_set = LabelMapFileSet(
            find_items(self.layout, self.root, "train", self.instance_edges), *common, self.flip,
            True, self.seed)
        self._val_items = find_items(self.layout, self.root, "val", self.instance_edges)
        self._common = common

    def describe(self) -> str:
        return f"{self.layout.name} in {self.root}"

    def _build_eval_set(self) -> LabelMapFileSet:
        return LabelMapFileSet(self._val_items, *self._common, False, False, self.seed)

    def _build_eval_images(self) -> Dataset:
        return _Photos(self.eval_set())

    def _build_fid_view(self) -> LabelledView:
        plain = LabelMapFileSet(self.train_set.items, *self._common, False, False, self.seed)
        labels = [int(dominant_classes(read_labels(item[0], self.layout, plain.size)[None],
                                       self.num_classes)[0]) for item in plain.items]
        return LabelledView(_Photos(plain, labels), self.sample_shape, self.class_names)

"""Data for image-to-image translation (pix2pix, CycleGAN): two image domains, A and B.

Folder layouts, as the official code (junyanz/pytorch-CycleGAN-and-pix2pix) reads them:

- ``unpaired`` (CycleGAN's ``unaligned`` mode): ``trainA/ trainB/ [testA/ testB/]``, any number of
  images in each domain and no correspondence between them;
- ``aligned`` (pix2pix's ``aligned`` mode): ``train/ [val/ test/]`` of side-by-side AB images, A
  the left half and B the right half of each file (the published pix2pix sets);
- ``paired``: ``A/train/ B/train/ [A/test/ B/test/]``, a pair being the files of the same name in
  ``A/`` and ``B/`` (the input of the official ``combine_A_and_B.py``; read here as it is).

Training preprocessing follows the official ``get_transform``: ``resize_and_crop`` resizes to
``load_size`` square (bicubic) and takes a random ``image_size`` crop (286 -> 256, the papers'
jitter), ``crop`` only crops, ``resize`` resizes straight to ``image_size``, ``none`` keeps the
images as they are; ``flip`` adds random horizontal flips. The two images of a pair get the same
crop window and flip, so they stay aligned. Evaluation images get the deterministic counterpart:
the same resize, a centre crop and no flip.

Where the randomness comes from. Each training item's crop and flip are drawn from its own
``torch.Generator`` seeded with a hash of ``(data.seed, the item's index)``, never from the
global RNG: the sampler (:class:`~gan_lab.data.loader.EpochShuffleSampler`) asks the data set for
one epoch's indices with a generator that is a pure function of ``(seed, epoch)``, and those
indices differ every epoch: ``(i, nonce)`` for paired sets (``nonce`` a random number drawn with
the permutation), ``(i, j)`` for unpaired ones (A image ``i`` meets B image ``j``, re-drawn every
epoch, as CycleGAN pairs a random B with each A). So augmentation is a pure function of
``(seed, epoch, position)``: reproducible, the same after a resumed checkpoint (the sampler
regenerates its epoch), the same with any number of worker processes, and it leaves the global
RNG (the model's noise and dropout) alone.

Unreadable files are skipped as in :mod:`gan_lab.data.image_folder` (warned about once by name,
replaced by the next decodable item; for a pair, the next pair whose two files decode).

Fingerprints. The folder-backed sets have the ``files`` list that
:func:`gan_lab.data.fingerprint.data_fingerprint` hashes (path, size, mtime), plus a
``fingerprint_extra`` string with what the file list does not show: which half of an AB file a
set reads (the A and B sets of aligned data list the same files), the colour mode and the
preprocessing settings.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from gan_lab.data.image_folder import (
    IMAGE_EXTENSIONS,
    _normalise_extensions,
    decode_image,
    find_image_files,
    first_decodable,
)
from gan_lab.data.train_set import TrainSetDataModule

__all__ = [
    "DIRECTIONS",
    "LAYOUTS",
    "PREPROCESS_MODES",
    "FolderTranslationDataModule",
    "LabelledView",
    "Preprocess",
    "TranslationDataModule",
    "item_generator",
    "layout_present",
    "paired_epoch_indices",
    "unpaired_epoch_indices",
]

LAYOUTS = ("unpaired", "aligned", "paired")
PREPROCESS_MODES = ("resize_and_crop", "crop", "resize", "none")
DIRECTIONS = ("AtoB", "BtoA")
LAYOUT_HELP = {
    "unpaired": "the unpaired layout is trainA/ trainB/ [testA/ testB/] of images",
    "aligned": (
        "the aligned layout is train/ [val/ test/] of side-by-side AB images "
        "(A the left half, B the right half)"
    ),
    "paired": (
        "the paired layout is A/train/ B/train/ [A/test/ B/test/] "
        "with the same file names in A/ and B/"
    ),
}


# -- argument checks (one-line errors naming the data. key) ----------------------------------


def check_int(key: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"data.{key}={value!r}: must be an integer >= {minimum}")
    return value


def check_choice(key: str, value: object, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"data.{key}={value!r}: must be one of {', '.join(choices)}")
    return str(value)


def check_bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"data.{key}={value!r}: must be true or false")
    return value


def check_channels(key: str, value: object) -> int:
    if isinstance(value, bool) or value not in (1, 3):
        raise ValueError(f"data.{key}={value!r}: must be 1 (grayscale) or 3 (RGB)")
    return int(value)


# -- seeded randomness -----------------------------------------------------------------------


def item_generator(seed: int, *key: object) -> torch.Generator:
    """A generator seeded by a hash of ``(seed, *key)``: one item's augmentation stream."""
    digest = hashlib.blake2b(repr((int(seed), *key)).encode(), digest_size=8).digest()
    generator = torch.Generator()
    generator.manual_seed(int.from_bytes(digest, "little") & ((1 << 63) - 1))
    return generator


def paired_epoch_indices(count: int, generator: torch.Generator, random: bool) -> list:
    """One epoch of a paired set: a permutation; with ``random`` augmentation ``(i, nonce)``s.

    The nonce makes an item's augmentation differ between epochs. Without augmentation the plain
    permutation is returned, the same one the sampler would draw by itself.
    """
    order = torch.randperm(count, generator=generator).tolist()
    if not random:
        return order
    nonces = torch.randint(0, 1 << 62, (count,), generator=generator).tolist()
    return list(zip(order, nonces, strict=True))


def _cover(count: int, length: int, generator: torch.Generator) -> list[int]:
    """``length`` indices into ``count`` items: random permutations end to end, truncated."""
    rounds = -(-length // count)
    return torch.cat([torch.randperm(count, generator=generator) for _ in range(rounds)])[
        :length
    ].tolist()


def unpaired_epoch_indices(count_a: int, count_b: int, generator: torch.Generator) -> list:
    """One epoch of an unpaired set: ``max(count_a, count_b)`` pairs ``(i, j)``.

    ``i`` runs over a random permutation of A (a fresh one each time round when A is the smaller
    domain), ``j`` over an independent one of B, so every image is used about equally often and
    the pairs differ every epoch.
    """
    length = max(count_a, count_b)
    first = _cover(count_a, length, generator)
    second = _cover(count_b, length, generator)
    return list(zip(first, second, strict=True))


def split_unpaired_index(index: object, count_a: int, count_b: int) -> tuple[int, int]:
    """``(i, j)`` from an ``(i, j)`` index, or ``(k % count_a, k % count_b)`` from an int ``k``."""
    if isinstance(index, tuple | list):
        i, j = (int(v) for v in index)
    else:
        i, j = int(index), int(index)
    return i % count_a, j % count_b


def split_paired_index(index: object, count: int) -> tuple[int, tuple]:
    """``(k, augmentation key)`` from an int ``k`` or a ``(k, nonce)`` index."""
    key = tuple(int(v) for v in index) if isinstance(index, tuple | list) else (int(index),)
    k = key[0]
    if not -count <= k < count:
        raise IndexError(f"index {k} out of range for {count} pairs")
    return k % count, key


# -- preprocessing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CropFlip:
    """Where to crop (top-left corner in the resized image) and whether to flip."""

    top: int = 0
    left: int = 0
    flip: bool = False


class Preprocess:
    """The official training transform and its deterministic evaluation counterpart.

    Works on float ``(C, H, W)`` tensors in ``[-1, 1]``; resizing is bicubic and antialiased (PIL
    BICUBIC in the official code), clamped back to ``[-1, 1]``. With ``crop`` an image smaller
    than ``image_size`` is first scaled up (shorter side to ``image_size``), where the official
    code would fail.
    """

    def __init__(self, mode: str, load_size: int, image_size: int, flip: bool) -> None:
        self.mode = mode
        self.load_size = load_size
        self.image_size = image_size
        self.flip = flip

    @property
    def crops(self) -> bool:
        return self.mode in ("resize_and_crop", "crop")

    @property
    def random(self) -> bool:
        """Whether training items are augmented at random."""
        return self.crops or self.flip

    def describe(self) -> str:
        """The settings, for fingerprints."""
        return f"{self.mode},load={self.load_size},size={self.image_size},flip={self.flip}"

    @property
    def decode_size(self) -> int | None:
        """The smallest side that decoding must keep (JPEG draft), or None for full size."""
        return {"resize_and_crop": self.load_size, "resize": self.image_size}.get(self.mode)

    def resized(self, height: int, width: int) -> tuple[int, int]:
        """The size an image of ``height x width`` has before cropping."""
        size = self.image_size
        if self.mode == "resize_and_crop":
            return self.load_size, self.load_size
        if self.mode == "resize":
            return size, size
        if self.mode == "crop" and min(height, width) < size:
            scale = size / min(height, width)
            return max(size, round(height * scale)), max(size, round(width * scale))
        return height, width

    def draw(self, height: int, width: int, generator: torch.Generator) -> CropFlip:
        """Random crop and flip for an image of ``height x width``, from ``generator``."""
        top = left = 0
        if self.crops:
            h, w = self.resized(height, width)
            top = int(torch.randint(0, h - self.image_size + 1, (), generator=generator))
            left = int(torch.randint(0, w - self.image_size + 1, (), generator=generator))
        flip = self.flip and bool(torch.rand((), generator=generator) < 0.5)
        return CropFlip(top, left, flip)

    def centre(self, height: int, width: int) -> CropFlip:
        """The evaluation window: a centre crop, no flip."""
        if not self.crops:
            return CropFlip()
        h, w = self.resized(height, width)
        return CropFlip((h - self.image_size) // 2, (w - self.image_size) // 2, False)

    def __call__(self, image: torch.Tensor, window: CropFlip | None = None) -> torch.Tensor:
        """``image`` resized, cropped at ``window`` (default: the centre) and maybe flipped."""
        height, width = image.shape[-2:]
        window = window or self.centre(height, width)
        size = self.resized(height, width)
        if size != (height, width):
            image = _resize(image, size)
        if self.crops:
            s = self.image_size
            image = image[:, window.top : window.top + s, window.left : window.left + s]
        if window.flip:
            image = image.flip(-1)
        return image.contiguous()

    def pair(
        self, a: torch.Tensor, b: torch.Tensor, window: CropFlip | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both images of a pair through the same window (B first resized to A's size)."""
        if b.shape[-2:] != a.shape[-2:]:
            b = _resize(b, tuple(a.shape[-2:]))
        return self(a, window), self(b, window)


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    resized = TF.resize(image, list(size), interpolation=InterpolationMode.BICUBIC, antialias=True)
    return resized.clamp_(-1.0, 1.0)


def to_unit_range(image: Image.Image) -> torch.Tensor:
    """A PIL image as float32 ``(C, H, W)`` in ``[-1, 1]``."""
    return TF.pil_to_tensor(image).to(torch.float32) / 127.5 - 1.0


# -- views: labelled image sets for classifiers ----------------------------------------------


class LabelledView:
    """A labelled image set dressed as a tiny data module, for a classifier to train on.

    ``train_set`` yields ``(image, label)``; ``sample_shape`` is the images' shape; ``classes``
    names the labels. It is fingerprintable (:func:`gan_lab.data.fingerprint.data_fingerprint`):
    its ``train_set`` is a ``TensorDataset`` or has ``files`` and ``labels`` lists.
    """

    def __init__(
        self, train_set: Dataset, sample_shape: tuple[int, int, int], classes: Sequence[str]
    ) -> None:
        self.train_set = train_set
        self.sample_shape = tuple(sample_shape)
        self.classes = list(classes)
        self.num_classes = len(self.classes)

    def setup(self, stage: str | None = None) -> None:
        """Nothing to do: the set is built already."""


# -- the contract ----------------------------------------------------------------------------


class TranslationDataModule(TrainSetDataModule):
    """Two image domains, A (the input) and B (the target), for image-to-image translation.

    ``train_set`` items are ``(a, b)``, float32 images in ``[-1, 1]``: aligned pairs when
    ``paired``, independent draws otherwise (then ``len(train_set)`` is ``max(nA, nB)`` and its
    ``epoch_indices`` re-pairs them every epoch). :meth:`eval_set` gives one domain's evaluation
    images, ``(image,)`` items, preprocessed deterministically; when ``eval_paired`` the two
    domains' evaluation sets correspond item by item (ground truth for pixel-wise metrics).
    :meth:`domain_view` is a labelled A-vs-B set for a domain classifier; :meth:`class_view`,
    semantic labels where the data has them (else None).

    ``direction="BtoA"`` swaps the roles of the domains everywhere: what the data calls B is
    served as A. Every argument and attribute here (``channels_a``, ``eval_set("A")``, ...) refers
    to the served roles.

    Subclasses build ``train_set`` in their constructor and implement :meth:`_build_eval_set` and
    :meth:`_build_domain_view`.
    """

    domains = ("A", "B")
    num_classes = 0

    def __init__(
        self,
        *,
        paired: bool,
        image_size: int,
        channels_a: int,
        channels_b: int,
        batch_size: int,
        seed: int,
        num_workers: int,
        direction: str,
        eval_paired: bool | None = None,
    ) -> None:
        super().__init__(batch_size=check_int("batch_size", batch_size, 1), seed=int(seed),
                         num_workers=check_int("num_workers", num_workers, 0))
        self.image_size = check_int("image_size", image_size, 1)
        self.channels_a = check_channels("channels_a", channels_a)
        self.channels_b = check_channels("channels_b", channels_b)
        self.direction = check_choice("direction", direction, DIRECTIONS)
        self.paired = bool(paired)
        self.eval_paired = self.paired if eval_paired is None else bool(eval_paired)
        self.sample_shape = (self.channels_b, self.image_size, self.image_size)
        self._eval_sets: dict[str, Dataset] = {}
        self._domain_view: LabelledView | None = None

    @property
    def swapped(self) -> bool:
        return self.direction == "BtoA"

    def describe(self) -> str:
        """The data, for messages."""
        return type(self).__name__

    def setup(self, stage: str | None = None) -> None:
        """Nothing to do: the sets are built (from file names only) in the constructor."""

    def _check_batch_size(self) -> None:
        count = len(self.train_set)
        if self.batch_size > count:
            what = "pairs" if self.paired else "items (the larger domain's images)"
            raise ValueError(
                f"data.batch_size={self.batch_size} is more than the {count} training {what} "
                f"of {self.describe()}; lower data.batch_size"
            )

    def train_dataloader(self):
        self._check_batch_size()
        return super().train_dataloader()

    def domain_index(self, domain: str) -> int:
        if domain not in self.domains:
            raise ValueError(f"domain {domain!r}: must be 'A' or 'B'")
        return self.domains.index(domain)

    def eval_set(self, domain: str) -> Dataset:
        """Domain ``domain``'s evaluation images as ``(image,)`` items, deterministic."""
        index = self.domain_index(domain)
        if domain not in self._eval_sets:
            self._eval_sets[domain] = self._build_eval_set(index)
        return self._eval_sets[domain]

    def domain_view(self) -> LabelledView:
        """Training images labelled 0 (A) and 1 (B), evaluation preprocessing, one shape."""
        if self._domain_view is None:
            self._domain_view = self._build_domain_view()
        return self._domain_view

    def class_view(self) -> LabelledView | None:
        """Training images of B with semantic labels, where the data has them."""
        return None

    @property
    def view_channels(self) -> int:
        """Channels of the domain view: grey images become RGB when the domains differ."""
        return max(self.channels_a, self.channels_b)

    def _build_eval_set(self, index: int) -> Dataset:
        raise NotImplementedError

    def _build_domain_view(self) -> LabelledView:
        raise NotImplementedError


# -- folders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderDomain:
    """One domain's images on disk: sorted files, and the half of each file for AB images."""

    files: tuple[Path, ...]
    channels: int
    half: str | None = None  # None, "left" (A of an AB image) or "right" (B)
    folder: Path | None = None  # for messages

    @property
    def mode(self) -> str:
        return "RGB" if self.channels == 3 else "L"


class FolderDecoder:
    """Decodes item ``k`` of one or more corresponding domains, skipping unreadable items.

    An item is readable when all its files decode; otherwise it is replaced by the next readable
    item (see :func:`gan_lab.data.image_folder.first_decodable`). A file shared by several domains
    (an AB image) is decoded once.
    """

    def __init__(self, domains: Sequence[FolderDomain], decode_size: int | None) -> None:
        self.domains = tuple(domains)
        self.count = len(self.domains[0].files)
        self.mode = "RGB" if any(d.channels == 3 for d in self.domains) else "L"
        draft = None
        if decode_size is not None:
            width = 2 * decode_size if self.domains[0].half else decode_size
            draft = (width, decode_size)
        self.draft = draft
        self.bad: set[int] = set()

    def _paths(self, k: int) -> list[Path]:
        return list(dict.fromkeys(domain.files[k] for domain in self.domains))

    def describe(self) -> str:
        """Which part of the files each domain reads and how, for fingerprints."""
        return ";".join(f"half={d.half},mode={d.mode}" for d in self.domains)

    def _decode(self, path: Path) -> Image.Image:
        return decode_image(path, self.mode, self.draft)

    def load(self, index: int) -> list[torch.Tensor]:
        """The images (float ``(C, H, W)`` in ``[-1, 1]``) of item ``index`` or its stand-in."""
        found = first_decodable(index % self.count, self.count, self.bad, self._paths, self._decode)
        if found is None:
            folders = sorted({str(d.folder) for d in self.domains if d.folder is not None})
            raise RuntimeError(
                f"none of the {self.count} image files in {' and '.join(folders)} could be decoded"
            )
        k, images = found
        decoded = dict(zip(self._paths(k), images, strict=True))
        return [to_unit_range(_take(decoded[d.files[k]], d)) for d in self.domains]


def _take(image: Image.Image, domain: FolderDomain) -> Image.Image:
    """The domain's part of a decoded file (an AB image's half), in the domain's mode."""
    if domain.half is not None:
        middle = image.width // 2  # the official split of an AB image
        box = (
            (0, 0, middle, image.height)
            if domain.half == "left"
            else (middle, 0, image.width, image.height)
        )
        image = image.crop(box)
    return image if image.mode == domain.mode else image.convert(domain.mode)


def _folder(files: Sequence[Path]) -> Path:
    """The folder that holds all of ``files`` (sorted), for messages."""
    if len(files) == 1:
        return files[0].parent
    return Path(os.path.commonpath([files[0], files[-1]]))


def _unique_files(*domains: FolderDomain) -> list[Path]:
    return list(dict.fromkeys(path for domain in domains for path in domain.files))


class FolderPairSet(Dataset):
    """Training pairs ``(a, b)`` read from corresponding files, the same crop and flip for both."""

    def __init__(self, a: FolderDomain, b: FolderDomain, preprocess: Preprocess, seed: int) -> None:
        self.decoder = FolderDecoder([a, b], preprocess.decode_size)
        self.preprocess = preprocess
        self.seed = seed
        self.files = _unique_files(a, b)
        self.fingerprint_extra = f"pairs|{self.decoder.describe()}|{preprocess.describe()}"

    def __len__(self) -> int:
        return self.decoder.count

    def epoch_indices(self, generator: torch.Generator) -> list:
        return paired_epoch_indices(len(self), generator, self.preprocess.random)

    def __getitem__(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        k, key = split_paired_index(index, len(self))
        a, b = self.decoder.load(k)
        window = self.preprocess.draw(*a.shape[-2:], item_generator(self.seed, *key))
        return self.preprocess.pair(a, b, window)


class FolderUnpairedSet(Dataset):
    """Training items ``(A[i], B[j])`` of two independent folders; ``len = max(nA, nB)``."""

    def __init__(self, a: FolderDomain, b: FolderDomain, preprocess: Preprocess, seed: int) -> None:
        self.decoders = (
            FolderDecoder([a], preprocess.decode_size),
            FolderDecoder([b], preprocess.decode_size),
        )
        self.preprocess = preprocess
        self.seed = seed
        self.files = _unique_files(a, b)
        self.fingerprint_extra = (
            f"unpaired|{len(a.files)}+{len(b.files)}|{self.decoders[0].describe()}|"
            f"{self.decoders[1].describe()}|{preprocess.describe()}"
        )

    def __len__(self) -> int:
        return max(decoder.count for decoder in self.decoders)

    def epoch_indices(self, generator: torch.Generator) -> list:
        return unpaired_epoch_indices(*(d.count for d in self.decoders), generator)

    def __getitem__(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        i, j = split_unpaired_index(index, *(d.count for d in self.decoders))
        generator = item_generator(self.seed, i, j)
        images = []
        for decoder, k in zip(self.decoders, (i, j), strict=True):
            (image,) = decoder.load(k)
            window = self.preprocess.draw(*image.shape[-2:], generator)
            images.append(self.preprocess(image, window))
        return images[0], images[1]


class FolderImageSet(Dataset):
    """One domain's images with the deterministic preprocessing: ``(image,)`` items.

    ``decoder`` may hold several corresponding domains (then a pair is skipped together when one
    of its files is unreadable, so two such sets stay paired); ``which`` picks this set's domain.
    ``channels``: repeat grey images to this many channels (the domain view's common shape).
    """

    def __init__(
        self,
        decoder: FolderDecoder,
        which: int,
        preprocess: Preprocess,
        channels: int | None = None,
    ) -> None:
        self.decoder = decoder
        self.which = which
        self.preprocess = preprocess
        self.channels = channels
        domain = decoder.domains[which]
        self.files = list(domain.files)
        self.half = domain.half
        self.fingerprint_extra = (
            f"images|half={domain.half},mode={domain.mode},channels={channels}|"
            f"{preprocess.describe()}"
        )

    def __len__(self) -> int:
        return self.decoder.count

    def __getitem__(self, index: int) -> tuple[torch.Tensor]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} images")
        image = self.preprocess(self.decoder.load(index % n)[self.which])
        if self.channels is not None and image.shape[0] != self.channels:
            image = image.expand(self.channels, -1, -1).contiguous()
        return (image,)


class LabelledFolderImages(Dataset):
    """Several :class:`FolderImageSet` end to end, item ``(image, label of its set)``."""

    def __init__(self, sets: Sequence[FolderImageSet]) -> None:
        self.sets = list(sets)
        self.files = [path for s in self.sets for path in s.files]
        self.labels = [label for label, s in enumerate(self.sets) for _ in range(len(s))]
        self.fingerprint_extra = "+".join(s.fingerprint_extra for s in self.sets)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} images")
        index %= n
        for label, subset in enumerate(self.sets):
            if index < len(subset):
                return subset[index][0], label
            index -= len(subset)
        raise AssertionError("unreachable")


# -- finding the layouts ---------------------------------------------------------------------


def layout_present(root: Path, layout: str) -> bool:
    """Whether ``root`` has the training folders of ``layout`` (names only, not their files)."""
    needed = {
        "unpaired": ("trainA", "trainB"),
        "aligned": ("train",),
        "paired": ("A/train", "B/train"),
    }
    return all((root / name).is_dir() for name in needed[layout])


@dataclass
class _Found:
    """What a layout scan found: (A, B) file lists and halves, for training and evaluation."""

    train: tuple[list[Path], list[Path]]
    evaluation: tuple[list[Path], list[Path]]
    halves: tuple[str | None, str | None] = (None, None)


class FolderLayout:
    """Scans ``root`` for one layout; errors are one line starting with ``where``."""

    def __init__(self, root: Path, layout: str, extensions: Sequence[str], where: str) -> None:
        self.root = root
        self.layout = layout
        self.extensions = tuple(extensions)
        self.where = where

    def fail(self, problem: str) -> ValueError:
        return ValueError(f"{self.where}{problem}: {LAYOUT_HELP[self.layout]}")

    def require(self, *names: str) -> None:
        missing = [f"{name}/" for name in names if not (self.root / name).is_dir()]
        if missing:
            folders = "folder" if len(missing) == 1 else "folders"
            raise self.fail(f" has no {' and '.join(missing)} {folders}")

    def images(self, name: str) -> list[Path]:
        files = find_image_files(self.root / name, self.extensions)
        if not files:
            raise self.fail(
                f": no image files in {self.root / name} "
                f"(searched recursively for {', '.join(self.extensions)})"
            )
        return files

    def optional(self, name: str) -> list[Path] | None:
        folder = self.root / name
        if not folder.is_dir():
            return None
        return find_image_files(folder, self.extensions) or None

    def fallback(self, missing: str, training: str) -> None:
        warnings.warn(
            f"{self.where}: no {missing} with images, so evaluation uses the training images "
            f"of {training} instead ({LAYOUT_HELP[self.layout]})",
            UserWarning,
            stacklevel=4,
        )

    def scan(self) -> _Found:
        return getattr(self, f"_scan_{self.layout}")()

    def _scan_unpaired(self) -> _Found:
        self.require("trainA", "trainB")
        train = (self.images("trainA"), self.images("trainB"))
        evaluation = []
        for files, name in zip(train, ("A", "B"), strict=True):
            test = self.optional(f"test{name}")
            if test is None:
                self.fallback(f"test{name}/ folder", f"train{name}/")
                test = files
            evaluation.append(test)
        return _Found(train, (evaluation[0], evaluation[1]))

    def _scan_aligned(self) -> _Found:
        self.require("train")
        train = self.images("train")
        test = self.optional("test") or self.optional("val")
        if test is None:
            self.fallback("test/ or val/ folder", "train/")
            test = train
        return _Found((train, train), (test, test), ("left", "right"))

    def _pairs(self, split: str, required: bool) -> tuple[list[Path], list[Path]] | None:
        folders = (self.root / "A" / split, self.root / "B" / split)
        if required:
            files = [self.images(f"{domain}/{split}") for domain in ("A", "B")]
        else:
            found = [self.optional(f"{domain}/{split}") for domain in ("A", "B")]
            if found[0] is None or found[1] is None:
                return None
            files = found
        names = [
            {f.relative_to(folder).as_posix(): f for f in fs}
            for fs, folder in zip(files, folders, strict=True)
        ]
        for this, other, side, other_side in ((0, 1, "A", "B"), (1, 0, "B", "A")):
            unmatched = sorted(set(names[this]) - set(names[other]))
            if unmatched:
                more = f" (and {len(unmatched) - 1} more)" if len(unmatched) > 1 else ""
                raise self.fail(
                    f": {side}/{split}/{unmatched[0]} has no counterpart "
                    f"{other_side}/{split}/{unmatched[0]}{more}"
                )
        order = sorted(names[0])
        return [names[0][n] for n in order], [names[1][n] for n in order]

    def _scan_paired(self) -> _Found:
        self.require("A/train", "B/train")
        train = self._pairs("train", required=True)
        test = self._pairs("test", required=False) or self._pairs("val", required=False)
        if test is None:
            self.fallback(
                "A/test/ and B/test/ (or A/val/ and B/val/) folders", "A/train/ and B/train/"
            )
            test = train
        return _Found(train, test)


class FolderTranslationDataModule(TranslationDataModule):
    """Two image domains from a folder in one of the official layouts (see the module docstring).

    The folder is scanned (names only) in the constructor, so a missing folder, an empty domain
    or an unmatched pair is a one-line ``ValueError`` naming the ``data.`` key, the folder and the
    expected layout before anything is trained; images are decoded lazily.

    Args:
        path: the data set's folder.
        layout: ``"unpaired"``, ``"aligned"`` or ``"paired"``.
        image_size: side of the square training and evaluation images (the crop size).
        load_size: side images are resized to before cropping (``resize_and_crop``).
        preprocess: ``"resize_and_crop"``, ``"crop"``, ``"resize"`` or ``"none"`` (images as
            they are: they must then share one size to be batched).
        flip: random horizontal flips of training images (the same for both images of a pair).
        direction: ``"AtoB"``, or ``"BtoA"`` to serve the data's B as A.
        channels_a, channels_b: 3 (RGB) or 1 (grey-scale) for the served domains.
        batch_size: items per training batch; at most the number of training items.
        seed: seed of the shuffling and of the augmentation.
        num_workers: loader worker processes.
        extensions: file name endings that count as images (case-insensitive).
        download: unused (for published sets); accepted so that configs can share options.
    """

    def __init__(
        self,
        path: str,
        layout: str,
        image_size: int = 256,
        load_size: int = 286,
        preprocess: str = "resize_and_crop",
        flip: bool = True,
        direction: str = "AtoB",
        channels_a: int = 3,
        channels_b: int = 3,
        batch_size: int = 1,
        seed: int = 0,
        num_workers: int = 0,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        download: bool | None = None,
    ) -> None:
        layout = check_choice("layout", layout, LAYOUTS)
        if path is None or str(path).strip() == "":
            raise ValueError(
                f"data.path={path!r}: point data.path at a data set folder; {LAYOUT_HELP[layout]}"
            )
        root = Path(os.path.expanduser(str(path))).absolute()
        where = self._where(path, root)
        if not root.is_dir():
            problem = "is a file, not a folder" if root.exists() else "does not exist"
            raise ValueError(f"{where} {problem}: {LAYOUT_HELP[layout]}")
        super().__init__(
            paired=layout != "unpaired",
            image_size=image_size,
            channels_a=channels_a,
            channels_b=channels_b,
            batch_size=batch_size,
            seed=seed,
            num_workers=num_workers,
            direction=direction,
        )
        self.preprocess_mode = check_choice("preprocess", preprocess, PREPROCESS_MODES)
        self.load_size = check_int("load_size", load_size, 1)
        if preprocess == "resize_and_crop" and load_size < image_size:
            raise ValueError(
                f"data.load_size={load_size} is smaller than data.image_size={image_size}: "
                "resize_and_crop resizes to load_size and then crops image_size"
            )
        self.flip = check_bool("flip", flip)
        exts = _normalise_extensions(extensions)
        if not exts:
            raise ValueError(
                f"data.extensions={list(extensions)!r}: name at least one file ending, e.g. .png"
            )
        self.path = root
        self.layout = layout
        self.extensions = exts
        self.preprocess = Preprocess(self.preprocess_mode, self.load_size, self.image_size, flip)

        found = FolderLayout(root, layout, exts, where).scan()
        order = (1, 0) if self.swapped else (0, 1)  # BtoA: the data's B is served as A
        channels = (self.channels_a, self.channels_b)

        def domains(files: tuple[list[Path], list[Path]]) -> list[FolderDomain]:
            return [
                FolderDomain(tuple(files[k]), channels[served], found.halves[k], _folder(files[k]))
                for served, k in enumerate(order)
            ]

        self.train_domains = domains(found.train)
        self.eval_domains = domains(found.evaluation)
        make = FolderPairSet if self.paired else FolderUnpairedSet
        self.train_set = make(*self.train_domains, self.preprocess, self.seed)
        self._check_batch_size()

    def _where(self, path: str, root: Path) -> str:
        """How messages name the folder (the ``data.`` key that chose it)."""
        return f"data.path={str(path)!r}"

    def describe(self) -> str:
        return f"{self.path} ({self.layout} layout)"

    def _build_eval_set(self, index: int) -> Dataset:
        if self.paired:
            # One decoder for both domains, so an unreadable file skips the pair in both sets.
            shared = getattr(self, "_eval_decoder", None)
            if shared is None:
                shared = self._eval_decoder = FolderDecoder(
                    self.eval_domains, self.preprocess.decode_size
                )
            return FolderImageSet(shared, index, self.preprocess)
        decoder = FolderDecoder([self.eval_domains[index]], self.preprocess.decode_size)
        return FolderImageSet(decoder, 0, self.preprocess)

    def _build_domain_view(self) -> LabelledView:
        channels = self.view_channels
        sets = [
            FolderImageSet(
                FolderDecoder([domain], self.preprocess.decode_size), 0, self.preprocess, channels
            )
            for domain in self.train_domains
        ]
        shape = (channels, self.image_size, self.image_size)
        return LabelledView(LabelledFolderImages(sets), shape, ["A", "B"])

"""The data sets of translation images read from folders, decoded lazily.

:class:`FolderDomain` is one domain's files, :class:`FolderDecoder` decodes an item of one or more
corresponding domains (skipping unreadable files), :class:`FolderPairSet` and
:class:`FolderUnpairedSet` are training sets, :class:`FolderImageSet` one domain's evaluation
images and :class:`LabelledFolderImages` several of those labelled by set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from gan_lab.data.samples.image_folder import decode_image, first_decodable
from gan_lab.data.translation.preprocess import Preprocess, to_unit_range
from gan_lab.data.translation.sampling import (
    item_generator,
    paired_epoch_indices,
    split_paired_index,
    split_unpaired_index,
    unpaired_epoch_indices,
)

__all__ = [
    "FolderDecoder",
    "FolderDomain",
    "FolderImageSet",
    "FolderPairSet",
    "FolderUnpairedSet",
    "LabelledFolderImages",
]


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
    item (see :func:`gan_lab.data.samples.image_folder.first_decodable`). A file shared by several domains
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

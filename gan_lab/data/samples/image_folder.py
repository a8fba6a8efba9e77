"""Any folder tree of image files as a training set (``data=image_folder data.path=...``).

The folder is scanned once, recursively, when the data module is built: only file names are read
(cheap even for large trees), sorted for determinism, so a missing, wrong or empty folder is
reported before anything else is built. Images are decoded lazily, one per ``__getitem__``, with
PIL; converted to RGB or grey-scale (``channels`` 3 or 1); their shorter side resized to
``image_size`` (bilinear, antialiased), centre-cropped to a square and scaled to ``[-1, 1]``.
Grey-scale images of more than 8 bits are rescaled, not clipped: 16/32-bit integer ones (PIL modes
``I;16``, ``I``) from 0..65535, floating-point ones (``F``) from 0..1.

Unreadable files. Checking every file up front would read (and decode) the whole data set before
training starts, so files are checked when they are used instead: a file that PIL cannot decode
(not an image, truncated, corrupt) is reported once with a :class:`UnreadableImageWarning` naming
it, remembered, and replaced by the next decodable file in sorted order (wrapping round). The
replacement is a pure function of the files on disk, not of which bad files were already seen, so
seeded runs and resumed runs see the same items; a bad file only duplicates its successor in the
epoch. If no file at all can be decoded, :class:`ImageFolderDataset` raises a ``RuntimeError``
naming the folder. With ``num_workers > 0`` each worker process keeps its own record, so a bad
file may be reported once per worker.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from omegaconf import ListConfig
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from gan_lab.data.common.train_set import TrainSetDataModule

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageFolderDataModule",
    "ImageFolderDataset",
    "UnreadableImageWarning",
    "decode_image",
    "find_image_files",
    "first_decodable",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


class UnreadableImageWarning(UserWarning):
    """An image file that could not be decoded and is skipped (the message names the file)."""


def _normalise_extensions(extensions: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(extensions, str):
        extensions = (extensions,)
    normalised = []
    for extension in extensions:
        extension = str(extension).strip().lower()
        if extension and not extension.startswith("."):
            extension = "." + extension
        if extension and extension not in normalised:
            normalised.append(extension)
    return tuple(normalised)


def find_image_files(root: Path, extensions: Sequence[str]) -> list[Path]:
    """Files under ``root`` (recursively) whose suffix is one of ``extensions``, case-insensitively.

    Sorted by their path relative to ``root``. Hidden files and folders (names starting with a
    dot, e.g. macOS ``._x.jpg`` resource forks) are skipped; symbolic links to folders are
    followed, each real folder visited once.
    """
    wanted = {e.lower() for e in extensions}
    found: list[tuple[str, Path]] = []
    seen: set[str] = set()
    for folder, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link loop or a second link to the same folder
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in wanted:
                continue
            path = Path(folder, name)
            found.append((path.relative_to(root).as_posix(), path))
    found.sort(key=lambda item: item[0])
    return [path for _, path in found]


# Single-channel modes that PIL's convert() would clip at 255 instead of rescaling.
_HIGH_DEPTH_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")


def _to_8bit(image: Image.Image) -> Image.Image:
    """A 16/32-bit integer (read as 0..65535) or float (0..1) grey image as 8-bit ``L``."""
    values = np.asarray(image, dtype=np.float64)
    values = values * 255.0 if image.mode == "F" else values / 257.0
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))


def decode_image(path: Path, mode: str, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """The image in ``path``, fully decoded and converted to PIL ``mode`` (``"RGB"`` or ``"L"``).

    Raises whatever PIL raises for a file it cannot decode. ``draft_size`` (JPEG only): decode at
    a reduced DCT scale that keeps the width and height at least ``draft_size`` (much faster for
    large photos that are shrunk anyway). High-depth grey images are rescaled to 8 bits.
    """
    with Image.open(path) as image:
        if draft_size is not None:
            image.draft(mode, draft_size)
        if image.mode in _HIGH_DEPTH_MODES:
            return _to_8bit(image).convert(mode)
        return image.convert(mode)  # reads the whole file; errors surface here


Decoded = TypeVar("Decoded")


def first_decodable(
    index: int,
    count: int,
    bad: set[int],
    paths: Callable[[int], Sequence[Path]],
    decode: Callable[[Path], Decoded],
) -> tuple[int, list[Decoded]] | None:
    """The first item from ``index`` on (wrapping round ``count`` items) whose files all decode.

    ``paths(k)`` names the files of item ``k`` (one image, or the two of a pair); ``decode`` reads
    one. An item with a file that fails is added to ``bad`` (skipped from then on) after a single
    :class:`UnreadableImageWarning` naming that file. Returns ``(k, decoded files)``, or ``None``
    when no item decodes. The item used depends only on the files, not on what was seen before.
    """
    for offset in range(count):
        candidate = (index + offset) % count
        if candidate in bad:
            continue
        decoded = []
        for path in paths(candidate):
            try:
                decoded.append(decode(path))
            except Exception as error:  # PIL raises OSError, ValueError, SyntaxError, ...
                bad.add(candidate)
                reason = " ".join(f"{type(error).__name__}: {error}".split())
                warnings.warn(
                    f"skipping unreadable image {path} ({reason})",
                    UnreadableImageWarning,
                    stacklevel=1,
                )
                break
        else:
            return candidate, decoded
    return None


def _other_endings(root: Path, shown: int = 5) -> str:
    """``"; found .txt, .csv"``: the endings of the files that are there, to explain a miss."""
    endings = sorted({p.suffix.lower() or "(none)" for p in root.rglob("*") if p.is_file()})
    return f"; found only {', '.join(endings[:shown])}" if endings else "; the folder is empty"


def _check_some_decode(path: str, files: Sequence[Path], mode: str, probes: int = 16) -> None:
    """Decode up to ``probes`` files spread over the set; if none is an image, say so now, not
    after training has started (a folder of mislabelled files would fail there)."""
    step = max(1, len(files) // probes)
    failures = []
    for candidate in files[::step][:probes]:
        try:
            decode_image(candidate, mode)
            return
        except Exception as error:  # PIL raises OSError, ValueError, SyntaxError, ...
            failures.append((candidate, " ".join(f"{type(error).__name__}: {error}".split())))
    example, reason = failures[0]
    raise ValueError(
        f"data.path={str(path)!r}: none of the {len(failures)} files tried is a readable image "
        f"(e.g. {example.name}: {reason[:120]}); point data.path at a folder of images"
    )


def image_sides(image_size: object) -> tuple[int, int]:
    """(height, width) of ``data.image_size``: a side, or [height, width]; ValueError else."""
    sides = [image_size] * 2 if not isinstance(image_size, Sequence | ListConfig) else list(image_size)
    if len(sides) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in sides):
        raise ValueError(f"data.image_size={image_size!r}: must be an integer >= 1 or "
                         "[height, width] of such integers")
    return sides[0], sides[1]


class ImageFolderDataset(Dataset):
    """Decodes ``files[i]`` on access; items are ``(image,)`` or ``(image, label)``.

    ``image`` is float32 ``(channels, height, width)`` in ``[-1, 1]``; ``label`` an int.
    A file that cannot be decoded is warned about once and replaced by the next decodable one
    (see the module docstring).

    Args:
        files: the image files, in a fixed order.
        image_size: side of the square output, or [height, width] (resized to cover, then
            centre-cropped).
        channels: 3 (RGB) or 1 (grey-scale); every image is converted.
        labels: one class index per file, or None for unlabelled items.
        root: the folder the files came from (named in error messages).
    """

    def __init__(
        self,
        files: Sequence[Path],
        image_size: int | Sequence[int],
        channels: int,
        labels: Sequence[int] | None = None,
        root: Path | str | None = None,
    ) -> None:
        if labels is not None and len(labels) != len(files):
            raise ValueError(f"{len(labels)} labels for {len(files)} files")
        self.files = list(files)
        self.image_size = image_size
        self.height, self.width = image_sides(image_size)
        self.channels = channels
        self.mode = "RGB" if channels == 3 else "L"
        self.labels = list(labels) if labels is not None else None
        self.root = root
        self.bad_files: set[int] = set()

    def __len__(self) -> int:
        return len(self.files)

    def _decode(self, path: Path) -> Image.Image:
        # JPEG only: decode at a reduced DCT scale that keeps both sides >= image_size.
        return decode_image(path, self.mode, (self.width, self.height))

    def _transform(self, image: Image.Image) -> torch.Tensor:
        pixels = TF.pil_to_tensor(image)  # uint8 (C, H, W)
        if self.height == self.width:
            size: int | list[int] = self.height  # shorter side -> image_size
        else:  # the smallest scaling that covers height x width
            scale = max(self.height / pixels.shape[1], self.width / pixels.shape[2])
            size = [max(self.height, math.ceil(pixels.shape[1] * scale)),
                    max(self.width, math.ceil(pixels.shape[2] * scale))]
        pixels = TF.resize(pixels, size, interpolation=InterpolationMode.BILINEAR, antialias=True)
        pixels = TF.center_crop(pixels, [self.height, self.width])
        return (pixels.to(torch.float32) / 127.5 - 1.0).clamp_(-1.0, 1.0).contiguous()

    def __getitem__(self, index: int) -> tuple[torch.Tensor] | tuple[torch.Tensor, int]:
        n = len(self.files)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} images")
        index %= n
        found = first_decodable(index, n, self.bad_files, lambda k: (self.files[k],), self._decode)
        if found is None:
            where = f" under {self.root}" if self.root is not None else ""
            raise RuntimeError(f"none of the {n} image files{where} could be decoded")
        candidate, (image,) = found
        pixels = self._transform(image)
        if self.labels is None:
            return (pixels,)
        return (pixels, self.labels[candidate])


class ImageFolderDataModule(TrainSetDataModule):
    """Every image file under ``path`` (recursively), decoded lazily.

    Batches are tuples: ``(images,)``, or ``(images, labels)`` with ``labels=True``; images are
    float32 ``(B, channels, image_size, image_size)`` in ``[-1, 1]``. Only a training loader is
    provided (shuffled with ``seed``, incomplete final batch dropped, resumable).

    With ``labels=True`` the class of a file is its first-level sub-folder under ``path``
    (``path/cat/x.png`` and ``path/cat/2024/y.png`` are both ``cat``); ``classes`` lists the
    sub-folders that hold at least one image, sorted, and a file's label is its class's index
    there (like torchvision's ``ImageFolder``). Files directly in ``path`` are then an error.

    Bad arguments raise a one-line ``ValueError`` naming the ``data.`` key. The folder is scanned
    (names only) in the constructor, so these fire before training starts; unreadable files are
    skipped during training with a warning (see the module docstring).

    Args:
        path: the folder; searched recursively (hidden entries skipped, folder links followed).
        image_size: side ``S`` of the square images produced (shorter side resized, centre crop).
        channels: 3 (RGB) or 1 (grey-scale).
        batch_size: images per batch; at most the number of image files.
        labels: also give class indices from the first-level sub-folders.
        seed: seed of the loader's shuffling.
        num_workers: loader worker processes.
        extensions: file name endings that count as images (case-insensitive).
    """

    def __init__(
        self,
        path: str,
        image_size: int = 64,
        channels: int = 3,
        batch_size: int = 64,
        labels: bool = False,
        seed: int = 0,
        num_workers: int = 0,
        extensions: tuple = IMAGE_EXTENSIONS,
    ) -> None:
        if path is None or str(path).strip() == "":
            raise ValueError(
                f"data.path={path!r}: point data.path at a folder of images (searched recursively)"
            )
        root = Path(os.path.expanduser(str(path))).absolute()
        if not root.exists():
            raise ValueError(
                f"data.path={str(path)!r} does not exist: "
                "point data.path at a folder of images (searched recursively)"
            )
        if not root.is_dir():
            raise ValueError(
                f"data.path={str(path)!r} is a file, not a folder: "
                "point data.path at a folder of images (searched recursively)"
            )
        if isinstance(channels, bool) or channels not in (1, 3):
            raise ValueError(f"data.channels={channels!r}: must be 1 (grayscale) or 3 (RGB)")
        height, width = image_sides(image_size)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"data.batch_size={batch_size!r}: must be an integer >= 1")
        exts = _normalise_extensions(extensions)
        if not exts:
            raise ValueError(
                f"data.extensions={list(extensions)!r}: name at least one file ending, e.g. .png"
            )

        files = find_image_files(root, exts)
        if not files:
            raise ValueError(
                f"data.path={str(path)!r}: no image files in {root} "
                f"(searched recursively for {', '.join(exts)}{_other_endings(root)})"
            )
        _check_some_decode(path, files, "RGB" if channels == 3 else "L")

        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        self.path = root
        self.image_size = image_size
        self.channels = channels
        self.labels = bool(labels)
        self.extensions = exts
        self.files: list[Path] = files
        self.sample_shape = (channels, height, width)

        targets: list[int] | None = None
        if self.labels:
            loose = [f for f in files if f.parent == root]
            if loose:
                raise ValueError(
                    f"data.labels=true: {len(loose)} image file(s) lie directly in {root} "
                    f"(e.g. {loose[0].name}); with labels each image must be in a class "
                    "sub-folder, path/<class>/..."
                )
            names = [f.relative_to(root).parts[0] for f in files]
            self.classes: list[str] = sorted(set(names))
            index = {name: i for i, name in enumerate(self.classes)}
            targets = [index[name] for name in names]
        else:
            self.classes = []
        self.num_classes = len(self.classes)
        self.train_set = ImageFolderDataset(
            files, image_size=image_size, channels=channels, labels=targets, root=root
        )
        self._check_batch_size()

    def _check_batch_size(self) -> None:
        if len(self.files) < self.batch_size:
            raise ValueError(
                f"data.batch_size={self.batch_size} is more than the {len(self.files)} images "
                f"in {self.path}; lower data.batch_size or add images"
            )

    def train_dataloader(self):
        self._check_batch_size()
        return super().train_dataloader()

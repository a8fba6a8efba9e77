"""The standard small image sets: MNIST and CIFAR-10 (and the machinery Fashion-MNIST shares).

Each is held in memory as one ``TensorDataset`` of ``(images, labels)``: images float32
``(N, C, S, S)`` in ``[-1, 1]`` (resized once, bilinear and antialiased, when ``S`` differs from
the native size), labels int64 in 0..9.

Where the files come from. ``root`` (``data.root``) if given, else a per-data-set folder under
``~/.cache/gan_lab`` (``$XDG_CACHE_HOME/gan_lab`` when that is set). The files are looked for in
the constructor (existence checks and, for IDX files, their 16-byte headers only), so a missing or
malformed file is reported as a one-line ``ValueError`` before training starts. When they are not
there and ``download`` is true, torchvision downloads them into ``root`` in its own layout
(``<root>/MNIST/raw/``, ``<root>/cifar-10-batches-py/``); when that fails too (no internet) the
error names the folders searched, the files expected there and why the download failed.

The files themselves are read here, not by torchvision's dataset classes: MNIST's IDX files are
read gzipped or not (torchvision reads only the decompressed ones), and CIFAR-10's pickled batches
without torchvision's MD5 check, so that a copy placed by hand loads too. A truncated or corrupt
file raises a ``ValueError`` naming it.
"""

from __future__ import annotations

import gzip
import os
import pickle
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch.utils.data import Subset, TensorDataset
from torchvision.transforms.v2 import functional as TF

from gan_lab.data.common.train_set import TrainSetDataModule
from gan_lab.data.common.transforms import resize_square

__all__ = [
    "CIFAR10DataModule",
    "IdxDataModule",
    "MNISTDataModule",
    "StandardImageDataModule",
    "default_root",
    "read_idx",
    "read_idx_header",
    "to_image_dataset",
]

SPLITS = ("train", "test")
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Errors that torchvision's download raises on a machine without internet (checked: MNIST raises
# RuntimeError("Error downloading ..."), CIFAR-10 urllib's URLError, an OSError) or with a partial
# download.
DOWNLOAD_ERRORS = (OSError, RuntimeError, EOFError, tarfile.TarError, zlib.error)


def default_root(name: str) -> Path:
    """``$XDG_CACHE_HOME/gan_lab/<name>``, by default ``~/.cache/gan_lab/<name>``."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(cache).expanduser() / "gan_lab" / name


def one_line(text: object, limit: int = 300) -> str:
    """``text`` with its white space (newlines included) collapsed, cut at ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def to_image_dataset(
    pixels: np.ndarray,
    labels: np.ndarray | Sequence[int],
    image_size: int,
    channels: int,
) -> TensorDataset:
    """uint8 ``pixels`` ``(N, C, H, W)`` (or ``(N, H, W)``) as a ``TensorDataset(images, labels)``.

    Images are scaled from 0..255 to ``[-1, 1]``, converted to grey-scale (ITU-R 601 luma) when
    ``channels`` is 1 and the pixels have 3 channels, and resized to ``image_size`` square
    (bilinear, antialiased) when that differs from their size; labels become int64.
    """
    images = torch.from_numpy(np.array(pixels, dtype=np.uint8))  # a writable copy
    if images.ndim == 3:
        images = images.unsqueeze(1)
    images = images.to(torch.float32) / 255.0
    if channels == 1 and images.shape[1] == 3:
        images = TF.rgb_to_grayscale(images, num_output_channels=1)
    images = resize_square(images * 2.0 - 1.0, image_size)
    targets = torch.from_numpy(np.array(labels, dtype=np.int64)).reshape(-1)
    return TensorDataset(images, targets)


def torchvision_download(dataset: str, root: Path) -> str | None:
    """Let ``torchvision.datasets.<dataset>`` download into ``root``; the failure, or ``None``."""
    from torchvision import datasets  # only here: the dataset classes are slow to import

    try:
        getattr(datasets, dataset)(root=str(root), train=True, download=True)
    except DOWNLOAD_ERRORS as error:
        return one_line(f"{type(error).__name__}: {error}")
    return None


class StandardImageDataModule(TrainSetDataModule):
    """A labelled image set read from files found (or downloaded) in the constructor.

    Subclasses describe the data set (class attributes) and implement :meth:`folders_in`,
    :meth:`read`, and optionally :meth:`check_files`.

    Args:
        root: folder holding the files (``data.root``); ``None``: the subclass's default places.
        image_size: side ``S`` of the square images produced; ``None``: the native size.
        channels: channels of the images produced (see ``allowed_channels``); ``None``: the
            first allowed (the native number).
        batch_size: images per batch; at most the number of images of the split.
        seed: seed of the loader's shuffling.
        num_workers: loader worker processes.
        split: ``"train"`` or ``"test"``: which part of the data set to train on.
        download: when the files are not found, download them with torchvision.
        subset: train on this many images only, drawn at random (seed 0, whatever the run's
            seed, so every run of a limited-data study sees the same images); None: all.
    """

    title: ClassVar[str]  # the name in messages, e.g. "MNIST"
    cache_name: ClassVar[str]  # folder under ~/.cache/gan_lab
    torchvision_name: ClassVar[str]  # the torchvision.datasets class that downloads it
    native_size: ClassVar[int]
    allowed_channels: ClassVar[dict[int, str]]  # channels -> what it means
    split_files: ClassVar[dict[str, tuple[str, ...]]]  # split -> file names it needs
    suffixes: ClassVar[tuple[str, ...]] = ("",)  # accepted endings of those names
    expected: ClassVar[str]  # the files to provide, for messages; {folder}: the first searched
    source: ClassVar[str]  # where to get them by hand, for messages

    def __init__(
        self,
        root: str | None = None,
        image_size: int | None = None,
        channels: int | None = None,
        batch_size: int = 64,
        seed: int = 0,
        num_workers: int = 0,
        split: str = "train",
        download: bool = True,
        subset: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        if subset is not None and (isinstance(subset, bool) or not isinstance(subset, int)
                                   or subset < 1):
            raise ValueError(f"data.subset={subset!r}: must be null or an integer >= 1")
        self.subset = subset
        image_size = self.native_size if image_size is None else image_size
        channels = next(iter(self.allowed_channels)) if channels is None else channels
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
            raise ValueError(
                f"data.image_size={image_size!r}: must be an integer >= 1 "
                f"({self.title} is {self.native_size}x{self.native_size})"
            )
        if isinstance(channels, bool) or channels not in self.allowed_channels:
            allowed = " or ".join(f"{c} ({what})" for c, what in self.allowed_channels.items())
            raise ValueError(f"data.channels={channels!r}: {self.title} allows {allowed}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"data.batch_size={batch_size!r}: must be an integer >= 1")
        if split not in SPLITS:
            raise ValueError(f"data.split={split!r}: must be 'train' or 'test'")
        if not isinstance(download, bool):
            raise ValueError(f"data.download={download!r}: must be true or false")
        self.root = Path(str(root)).expanduser().absolute() if root not in (None, "") else None
        self.image_size = image_size
        self.channels = channels
        self.num_classes = 10
        self.sample_shape = (channels, image_size, image_size)
        self.split = split
        self.download = download
        self.files = self._locate()
        count = self.check_files(self.files)
        if count is not None:
            self._check_batch_size(count)

    # -- what subclasses provide -------------------------------------------------------------

    def folders_in(self, base: Path) -> list[Path]:
        """The folders under ``base`` where the files may lie, in order of preference."""
        return [base]

    def default_folders(self) -> list[Path]:
        """Where to look when no ``root`` is given (before the download cache)."""
        return []

    def check_files(self, files: list[Path]) -> int | None:
        """Cheap checks of the found files; the number of images if known cheaply."""
        return None

    def read(self, files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
        """uint8 pixels ``(N, C, H, W)`` or ``(N, H, W)`` and labels ``(N,)`` from ``files``."""
        raise NotImplementedError

    # -- shared machinery --------------------------------------------------------------------

    def search_folders(self, base: Path | None) -> list[Path]:
        if base is not None:
            return self.folders_in(base)
        return [*self.default_folders(), *self.folders_in(default_root(self.cache_name))]

    def find_in(self, folder: Path) -> list[Path] | None:
        """The split's files in ``folder`` (each under any accepted suffix), or ``None``."""
        found = []
        for name in self.split_files[self.split]:
            matches = [folder / (name + s) for s in self.suffixes if (folder / (name + s)).is_file()]
            if not matches:
                return None
            found.append(matches[0])
        return found

    def _locate(self) -> list[Path]:
        folders = self.search_folders(self.root)
        for folder in folders:
            found = self.find_in(folder)
            if found is not None:
                return found
        if not self.download:
            why = "data.download=false, so nothing was downloaded"
        else:
            target = self.root or default_root(self.cache_name)
            failure = torchvision_download(self.torchvision_name, target)
            for folder in self.folders_in(target):
                found = self.find_in(folder)
                if found is not None:
                    return found
            why = f"downloading them failed ({failure or 'the download left no files'})"
        root = "null" if self.root is None else str(self.root)
        raise ValueError(
            f"data.root={root}: no {self.title} {self.split} files in "
            f"{' or '.join(str(f) for f in folders)}; expected "
            f"{self.expected.format(folder=folders[0])} ({self.source}); {why}"
        )

    def _check_batch_size(self, count: int) -> None:
        if self.batch_size > count:
            raise ValueError(
                f"data.batch_size={self.batch_size} is more than the {count} images of the "
                f"{self.title} {self.split} split"
            )

    def build_train_set(self) -> TensorDataset:
        pixels, labels = self.read(self.files)
        if len(pixels) != len(labels):
            raise ValueError(
                f"{self.files[0]}: {len(pixels)} images but {len(labels)} labels "
                f"in {self.files[-1]}"
            )
        if len(labels) and not 0 <= int(np.min(labels)) <= int(np.max(labels)) <= 9:
            raise ValueError(f"{self.files[-1]}: labels outside 0..9")
        full = to_image_dataset(pixels, labels, self.image_size, self.channels)
        if self.subset is None:
            self._check_batch_size(len(pixels))
            return full
        if self.subset > len(pixels):
            raise ValueError(f"data.subset={self.subset}: the {self.split} split has only "
                             f"{len(pixels)} images")
        self._check_batch_size(self.subset)
        self._reference_set = full
        keep = np.sort(np.random.default_rng(0).permutation(len(pixels))[:self.subset])
        return Subset(full, keep.tolist())


# -- IDX files (MNIST, Fashion-MNIST) --------------------------------------------------------

IDX_UBYTE = 0x08


def _open_maybe_gzipped(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _parse_idx_header(path: Path, head: bytes) -> tuple[int, ...]:
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] != IDX_UBYTE or head[3] == 0:
        raise ValueError(
            f"{path}: not an IDX file of unsigned bytes (magic number {head[:4].hex() or 'missing'}, "
            "expected 0000080N)"
        )
    ndim = head[3]
    if len(head) < 4 + 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header")
    return tuple(int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))


def read_idx_header(path: Path) -> tuple[int, ...]:
    """The dimensions stated in the header of the (optionally gzipped) IDX file ``path``."""
    path = Path(path)
    try:
        with _open_maybe_gzipped(path) as f:
            head = f.read(4)
            if len(head) == 4:
                head += f.read(4 * head[3])
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: unreadable ({one_line(error)})") from error
    return _parse_idx_header(path, head)


def read_idx(path: Path) -> np.ndarray:
    """The uint8 array stored in the (optionally gzipped) IDX file ``path``.

    The magic number must say unsigned bytes (``0x0000080N`` for ``N`` dimensions) and the data
    must be exactly as long as the stated dimensions; otherwise a ``ValueError`` names the file.
    """
    path = Path(path)
    try:
        with _open_maybe_gzipped(path) as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as error:  # bad gzip, truncated stream
        raise ValueError(f"{path}: unreadable ({one_line(error)})") from error
    dims = _parse_idx_header(path, data[:1024])
    offset = 4 + 4 * len(dims)
    size = int(np.prod(dims, dtype=np.int64))
    if len(data) - offset != size:
        raise ValueError(
            f"{path}: holds {len(data) - offset} bytes of data but its header "
            f"{'x'.join(map(str, dims))} needs {size} (truncated or corrupt)"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


class IdxDataModule(StandardImageDataModule):
    """MNIST-style data: 28x28 grey-scale images and labels in four IDX files (gzipped or not)."""

    native_size = 28
    allowed_channels = {1: "grayscale"}
    split_files = IDX_FILES
    suffixes = ("", ".gz")
    expected = (
        "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
        "t10k-labels-idx1-ubyte.gz (gzipped or not) in one of them"
    )
    raw_folder: ClassVar[str]  # torchvision's folder: <root>/<raw_folder>/raw

    def folders_in(self, base: Path) -> list[Path]:
        return [base, base / self.raw_folder / "raw"]

    def check_files(self, files: list[Path]) -> int:
        images, labels = files
        image_dims, label_dims = read_idx_header(images), read_idx_header(labels)
        if len(image_dims) != 3 or image_dims[1:] != (28, 28):
            raise ValueError(f"{images}: images of shape {image_dims}, expected (N, 28, 28)")
        if label_dims != image_dims[:1]:
            raise ValueError(
                f"{labels}: labels of shape {label_dims}, expected ({image_dims[0]},) "
                f"to match {images.name}"
            )
        return image_dims[0]

    def read(self, files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
        self.check_files(files)
        images, labels = (read_idx(path) for path in files)
        return images, labels


class MNISTDataModule(IdxDataModule):
    """MNIST (LeCun et al. 1998): 60,000 + 10,000 handwritten digits, 28x28 grey-scale.

    Files: the four IDX files directly in ``root`` or in ``<root>/MNIST/raw/`` (torchvision's
    layout, where a download puts them); default root ``~/.cache/gan_lab/mnist``.
    """

    title = "MNIST"
    cache_name = "mnist"
    torchvision_name = "MNIST"
    raw_folder = "MNIST"
    source = "https://ossci-datasets.s3.amazonaws.com/mnist/ has them"


# -- CIFAR-10 --------------------------------------------------------------------------------

CIFAR10_FOLDER = "cifar-10-batches-py"


class CIFAR10DataModule(StandardImageDataModule):
    """CIFAR-10 (Krizhevsky 2009): 50,000 + 10,000 32x32 colour images of 10 classes.

    Files: the pickled batches ``data_batch_1`` .. ``data_batch_5`` (train) and ``test_batch``
    (test) in ``<root>/cifar-10-batches-py/`` (the extracted python tarball; torchvision's
    layout) or directly in ``root``; default root ``~/.cache/gan_lab/cifar10``. ``channels=1``
    converts to grey-scale.
    """

    title = "CIFAR-10"
    cache_name = "cifar10"
    torchvision_name = "CIFAR10"
    native_size = 32
    allowed_channels = {3: "RGB", 1: "grayscale, converted"}
    split_files = {
        "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
        "test": ("test_batch",),
    }
    expected = "{folder}/data_batch_1..5 and test_batch"
    source = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, extracted"

    def folders_in(self, base: Path) -> list[Path]:
        return [base / CIFAR10_FOLDER, base]

    def read(self, files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
        pixels, labels = [], []
        for path in files:
            try:
                with open(path, "rb") as f:
                    batch = pickle.load(f, encoding="latin1")
                data = np.asarray(batch["data"], dtype=np.uint8)
                targets = np.asarray(batch["labels"], dtype=np.int64)
            except Exception as error:  # pickle raises many kinds on corrupt input
                raise ValueError(
                    f"{path}: not a CIFAR-10 batch ({type(error).__name__}: {one_line(error)})"
                ) from error
            if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(targets) != len(data):
                raise ValueError(
                    f"{path}: data of shape {data.shape} with {len(targets)} labels, "
                    "expected (N, 3072) and N labels"
                )
            pixels.append(data.reshape(-1, 3, 32, 32))
            labels.append(targets)
        return np.concatenate(pixels), np.concatenate(labels)

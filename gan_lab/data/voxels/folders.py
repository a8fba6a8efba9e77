"""A folder of voxelized shapes (``data=voxel_folder data.path=DIR``): ModelNet10/40 or ShapeNet
voxelized by the user, in the layout of 3DShapeNets' ``volumetric_data``.

Layout: ``<path>/<class>/train/*`` and ``<path>/<class>/test/*``, or with one level between
(``<path>/<class>/30/train/*``, as 3DShapeNets ships it). Classes are the sub-folders (sorted;
``classes`` keeps some). Files, read when a batch needs them:

* ``.npy``: a 3-d array (nonzero = filled); ``.npz``: its ``voxels`` array, or its only one;
* ``.binvox``: Min's binvox format (``#binvox 1`` header, ``dim``, ``translate``, ``scale``,
  ``data``, then run-length (value, count) byte pairs, y running fastest, then z, then x), read
  as an (x, y, z) array like binvox_rw's ``read_as_3d_array``;
* ``.mat``: 3DShapeNets' ``volumetric_data`` files (30^3, key ``instance``), through
  ``scipy.io.loadmat`` (scipy comes with scikit-image).

Each grid is resampled to ``resolution`` (gan_lab.data.voxels.base.resample_voxels: 30^3 padded
to 32^3 as the 3D-GAN reimplementations, 32^3 -> 64^3 by repetition), and its vertical axis made
the last one by a cyclic permutation of the axes (a rotation, never a mirror): ``up_axis`` is the
vertical axis of the files as read, by default 1 (y) for binvox (its viewer's convention) and 2 (z)
otherwise.

Where to get the data: ModelNet10/40 meshes (https://modelnet.cs.princeton.edu/; voxelize them
with binvox, https://www.patrickmin.com/binvox/) or the voxelized ``volumetric_data`` inside
3DShapeNets' code archive (http://3dshapenets.cs.princeton.edu/3DShapeNetsCode.zip).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from gan_lab.data.voxels.base import VoxelDataModule, check_classes, resample_voxels

__all__ = ["VOXEL_EXTENSIONS", "VoxelFileDataset", "VoxelFolderDataModule", "find_voxel_files",
           "read_binvox", "read_voxel_file"]

VOXEL_EXTENSIONS = (".npy", ".npz", ".binvox", ".mat")
LAYOUT = ("<path>/<class>/{train,test}/*.{npy,npz,binvox,mat} (or <path>/<class>/30/train/..., "
          "3DShapeNets' volumetric_data); ModelNet: https://modelnet.cs.princeton.edu/ (voxelize "
          "with binvox), voxelized: http://3dshapenets.cs.princeton.edu/3DShapeNetsCode.zip")


def read_binvox(path: str | Path) -> np.ndarray:
    """A ``.binvox`` file as a bool array indexed (x, y, z) (binvox_rw's ``read_as_3d_array``
    order; the file runs y fastest, then z, then x). ValueError naming the file when it is not
    one."""
    raw = Path(path).read_bytes()
    lines, offset = [], 0
    while True:
        end = raw.find(b"\n", offset)
        if end < 0:
            raise ValueError(f"{path}: not a binvox file (no 'data' line)")
        line = raw[offset:end].strip()
        offset = end + 1
        lines.append(line)
        if line == b"data":
            break
    if not lines[0].startswith(b"#binvox"):
        raise ValueError(f"{path}: not a binvox file (first line {lines[0][:20]!r})")
    dims = next((line.split()[1:] for line in lines if line.startswith(b"dim")), None)
    if dims is None or len(dims) != 3:
        raise ValueError(f"{path}: binvox header without 'dim d h w'")
    shape = tuple(int(d) for d in dims)
    pairs = np.frombuffer(raw[offset:offset + (len(raw) - offset) // 2 * 2], dtype=np.uint8)
    values, counts = pairs[0::2], pairs[1::2].astype(np.int64)
    flat = np.repeat(values != 0, counts)
    if flat.size != int(np.prod(shape)):
        raise ValueError(f"{path}: binvox data holds {flat.size} voxels, dim says "
                         f"{'x'.join(map(str, shape))}")
    return flat.reshape(shape).transpose(0, 2, 1)  # stored [x][z][y] -> [x][y][z]


def read_voxel_file(path: str | Path) -> np.ndarray:
    """The 3-d occupancy array of a ``.npy``, ``.npz``, ``.binvox`` or ``.mat`` file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".binvox":
        return read_binvox(path)
    if suffix == ".npy":
        array = np.load(path, allow_pickle=False)
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if "voxels" not in keys and len(keys) != 1:
                raise ValueError(f"{path}: an .npz needs a 'voxels' array or exactly one array "
                                 f"(has {', '.join(keys)})")
            array = archive["voxels" if "voxels" in keys else keys[0]]
    elif suffix == ".mat":
        try:
            from scipy.io import loadmat
        except ImportError as error:  # scipy comes with scikit-image; say so if it is missing
            raise ValueError(f"{path}: reading .mat files needs scipy (pip install scipy)") from error
        content = loadmat(path)
        if "instance" not in content:
            raise ValueError(f"{path}: no 'instance' array (3DShapeNets' volumetric_data layout)")
        array = content["instance"]
    else:
        raise ValueError(f"{path}: not a voxel file ({', '.join(VOXEL_EXTENSIONS)})")
    array = np.squeeze(np.asarray(array))
    if array.ndim != 3:
        raise ValueError(f"{path}: a voxel grid must be 3-d, got shape {array.shape}")
    return array


def up_last(array: np.ndarray, up_axis: int) -> np.ndarray:
    """``array`` with its axis ``up_axis`` last, by a cyclic permutation (a rotation)."""
    return np.transpose(array, [(up_axis + 1) % 3, (up_axis + 2) % 3, up_axis])


def _split_folder(class_dir: Path, split: str) -> Path | None:
    direct = class_dir / split
    if direct.is_dir():
        return direct
    nested = sorted(p / split for p in class_dir.iterdir() if (p / split).is_dir())
    return nested[0] if nested else None


def find_voxel_files(root: Path, split: str, classes: Sequence[str]) -> list[tuple[Path, int]]:
    """(file, class index) of every voxel file of ``split`` under each class folder, sorted."""
    found = []
    for index, name in enumerate(classes):
        folder = _split_folder(root / name, split)
        if folder is None:
            continue
        files = sorted(p for p in folder.iterdir()
                       if p.is_file() and p.suffix.lower() in VOXEL_EXTENSIONS)
        found += [(path, index) for path in files]
    return found


class VoxelFileDataset(Dataset):
    """Voxel files read lazily, one per item: ``(float32 (1, R, R, R), int64 label)``. Has the
    ``files`` list (and ``fingerprint_extra``) by which evaluation caches fingerprint it."""

    def __init__(self, entries: Sequence[tuple[Path, int]], resolution: int,
                 up_axis: int | None) -> None:
        self.files = [str(path) for path, _ in entries]
        self.labels = [int(label) for _, label in entries]
        self.resolution = resolution
        self.up_axis = up_axis
        self.fingerprint_extra = (resolution, up_axis)

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> Tensor:
        """The uint8 grid (R, R, R) of item ``index``."""
        path = self.files[index]
        array = read_voxel_file(path)
        up = self.up_axis if self.up_axis is not None else (1 if path.endswith(".binvox") else 2)
        return resample_voxels(up_last(array, up), self.resolution)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.load(index)[None].float(), torch.tensor(self.labels[index])


class VoxelFolderDataModule(VoxelDataModule):
    """Voxelized shapes from a class/split folder tree (see the module's docstring).

    Args:
        path: the root folder (``<path>/<class>/train/...``).
        resolution: R, the side the grids are resampled to (32; 3D-GAN's is 64).
        classes: the class folders to use (e.g. ``[chair]``, as 3D-GAN trains one category per
            model); null: every class folder that has a ``train`` folder.
        up_axis: the files' vertical axis (0, 1, 2), null: binvox 1, others 2.
        max_per_class: at most this many training files per class (the first, sorted); null: all.
        batch_size, seed, num_workers: as every data module (3D-GAN's batch: 100).
    """

    def __init__(self, path: str, resolution: int = 32, classes: Sequence[str] | None = None,
                 up_axis: int | None = None, max_per_class: int | None = None,
                 batch_size: int = 100, seed: int = 0, num_workers: int = 0) -> None:
        super().__init__(resolution, batch_size, seed=seed, num_workers=num_workers)
        self.path = Path(str(path)).expanduser()
        if not self.path.is_dir():
            raise ValueError(f"data.path={str(path)!r} is not a folder; expected {LAYOUT}")
        if up_axis is not None and up_axis not in (0, 1, 2):
            raise ValueError(f"data.up_axis={up_axis!r}: must be 0, 1, 2 or null")
        if max_per_class is not None and (isinstance(max_per_class, bool)
                                          or not isinstance(max_per_class, int)
                                          or max_per_class < 1):
            raise ValueError(f"data.max_per_class={max_per_class!r}: must be null or an integer >= 1")
        self.up_axis, self.max_per_class = up_axis, max_per_class
        found = sorted(p.name for p in self.path.iterdir()
                       if p.is_dir() and _split_folder(p, "train") is not None)
        if not found:
            raise ValueError(f"data.path={str(path)!r} has no class folder with a train folder; "
                             f"expected {LAYOUT}")
        kept = check_classes(classes, found) or found
        self.class_names = tuple(kept)
        self.num_classes = len(kept)
        self.classes = list(kept)
        self._entries = {split: find_voxel_files(self.path, split, kept)
                         for split in ("train", "test")}
        if max_per_class is not None:
            self._entries["train"] = [
                entry for index in range(len(kept))
                for entry in [e for e in self._entries["train"] if e[1] == index][:max_per_class]]
        empty = [name for index, name in enumerate(kept)
                 if not any(label == index for _, label in self._entries["train"])]
        if empty:
            raise ValueError(f"data.path={str(path)!r}: class {empty[0]!r} has no "
                             f"{'/'.join(VOXEL_EXTENSIONS)} file in its train folder; expected "
                             f"{LAYOUT}")
        self.check_batch_size(len(self._entries["train"]))

    def build_train_set(self) -> VoxelFileDataset:
        return VoxelFileDataset(self._entries["train"], self.resolution, self.up_axis)

    def build_test_set(self) -> VoxelFileDataset:
        return VoxelFileDataset(self._entries["test"], self.resolution, self.up_axis)

"""What the voxel data modules share: the batch kind, the in-memory occupancy set, resampling.

A voxel sample is an occupancy grid ``(1, R, R, R)`` float32 in {0, 1}, indexed ``[x, y, z]`` with
z (the last axis) vertical: the renderers draw the last axis up, and the primitives rotate about
it. Batches are ``(voxels, labels)``; labels index the data module's ``class_names``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from omegaconf import ListConfig
from torch import Tensor
from torch.utils.data import Dataset, TensorDataset

from gan_lab.data.common.train_set import TrainSetDataModule
from gan_lab.kinds import BatchKind, SampleKind, SampleSpec

__all__ = ["VoxelDataModule", "VoxelTensorDataset", "check_classes", "check_resolution",
           "resample_voxels"]


def check_resolution(value: object, key: str = "resolution") -> int:
    """A cube side of 4 * 2^k voxels, at least 16 (what 3D-GAN's nets make); one-line
    ValueError naming ``data.<key>`` otherwise."""
    ok = (isinstance(value, int) and not isinstance(value, bool) and value >= 16
          and (value // 4) & (value // 4 - 1) == 0 and value % 4 == 0)
    if not ok:
        raise ValueError(f"data.{key}={value!r}: must be 16, 32, 64 or 128 (a cube of 4 * 2^k "
                         "voxels a side, as 3D-GAN's nets make; the paper's is 64)")
    return int(value)


def check_classes(value: object, known: Sequence[str], key: str = "classes") -> list[str] | None:
    """None (all classes), or a non-empty list of distinct names out of ``known``; one-line
    ValueError naming ``data.<key>`` otherwise."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence | ListConfig):
        raise ValueError(f"data.{key}={value!r}: must be a list of class names (or null: all), "
                         f"out of {', '.join(known)}")
    names = [str(v) for v in value]
    unknown = [n for n in names if n not in known]
    if unknown or not names or len(set(names)) != len(names):
        why = (f"unknown class {unknown[0]!r}" if unknown else
               "empty" if not names else "a class is named twice")
        raise ValueError(f"data.{key}={names}: {why}; choose among {', '.join(known)}")
    return names


class VoxelTensorDataset(TensorDataset):
    """Occupancy grids held as uint8 (a quarter of float32's memory) with their labels; items
    are ``(float32 voxels (1, R, R, R), int64 label)``. A ``TensorDataset``, so the evaluation
    caches fingerprint its bytes (gan_lab.data.common.fingerprint)."""

    def __init__(self, voxels: Tensor, labels: Tensor) -> None:
        if voxels.dim() != 5 or voxels.shape[1] != 1:
            raise ValueError(f"voxels must be (N, 1, D, H, W), got {tuple(voxels.shape)}")
        super().__init__(voxels.to(torch.uint8), labels.to(torch.int64))

    @property
    def voxels(self) -> Tensor:
        """All grids, uint8 (N, 1, R, R, R)."""
        return self.tensors[0]

    @property
    def labels(self) -> Tensor:
        return self.tensors[1]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.tensors[0][index].float(), self.tensors[1][index]


def resample_voxels(grid: np.ndarray | Tensor, resolution: int) -> Tensor:
    """A 3-d occupancy array (any side, any dtype; nonzero = filled) as a uint8 ``(R, R, R)``
    cube. A box that is not a cube is zero-padded to one, centred. A side of R' - 2 for a power of
    two R' (3DShapeNets' 30^3 volumetric data) gets a one-voxel empty border first, as the
    3D-GAN reimplementations pad 30^3 to 32^3 (rimchang/3DGAN-Pytorch ``getVoxelFromMat``). Then:
    the same side is kept; a larger one is area-averaged down and thresholded at 0.5; a smaller
    one is repeated up with nearest-neighbour sampling (scipy's order-0 zoom in the
    reimplementations: 32^3 -> 64^3)."""
    array = torch.as_tensor(np.asarray(grid) != 0 if not isinstance(grid, Tensor) else grid != 0)
    if array.dim() != 3 or min(array.shape) < 1:
        raise ValueError(f"a voxel grid must be a 3-d array, got shape {tuple(array.shape)}")
    side = max(array.shape)
    pads = []
    for size in reversed(array.shape):  # F.pad lists the last axis first
        before = (side - size) // 2
        pads += [before, side - size - before]
    if (side + 2) & (side + 1) == 0:  # 30 -> 32, 62 -> 64
        pads = [p + 1 for p in pads]
        side += 2
    cube = torch.nn.functional.pad(array.float()[None, None], pads)
    if side > resolution:
        cube = torch.nn.functional.adaptive_avg_pool3d(cube, resolution) >= 0.5
    elif side < resolution:
        cube = torch.nn.functional.interpolate(cube, size=(resolution,) * 3, mode="nearest")
    return cube[0, 0].to(torch.uint8)


class VoxelDataModule(TrainSetDataModule):
    """A voxel data set: batches ``(voxels (B, 1, R, R, R) float32 in {0, 1}, labels (B,))``.

    Declares the batch kind (``voxels``), the sample spec (voxels, ``(1, R, R, R)``), the
    classes (``class_names``: label k is ``class_names[k]``, ``num_classes`` of them) and a
    held-out ``test_set`` (shapes of the same classes that are not trained on).
    """

    batch_kind = BatchKind.VOXELS

    def __init__(self, resolution: int, batch_size: int, seed: int = 0,
                 num_workers: int = 0) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"data.batch_size={batch_size!r}: must be an integer >= 1")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"data.num_workers={num_workers!r}: must be an integer >= 0")
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        self.resolution = check_resolution(resolution)
        self.channels = 1
        self.sample_shape = (1, self.resolution, self.resolution, self.resolution)
        self.sample_spec = SampleSpec(SampleKind.VOXELS, self.sample_shape, dtype="float32")
        self.class_names: tuple[str, ...] = ()
        self.num_classes = 0
        self._test_set: Dataset | None = None

    def build_test_set(self) -> Dataset:
        raise NotImplementedError

    @property
    def test_set(self) -> Dataset:
        """Shapes of the trained classes kept out of training (evaluation, memorization checks,
        the nearest-training-shape panels' counterpart)."""
        if self._test_set is None:
            self._test_set = self.build_test_set()
        return self._test_set

    def check_batch_size(self, train_size: int) -> None:
        """ValueError unless one full batch fits the training set (the loader drops the last,
        incomplete one)."""
        if self.batch_size > train_size:
            raise ValueError(f"data.batch_size={self.batch_size}: larger than the training set "
                             f"({train_size} shapes); lower it or train on more shapes")

    def describe(self) -> dict[str, Any]:
        """A plain summary (classes, sizes) for logs and experiment tables."""
        self.setup("fit")
        return {"classes": list(self.class_names), "resolution": self.resolution,
                "train": len(self.train_set), "test": len(self.test_set)}

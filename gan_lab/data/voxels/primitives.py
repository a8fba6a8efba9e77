"""Procedural voxel shapes in ten classes (``data=primitives3d``): an offline stand-in for the
ShapeNet / ModelNet categories 3D-GAN trains on (Wu et al. 2016, sec. 4).

Each shape is an implicit function (inside or not) evaluated at the voxel centres of an R^3 grid
spanning [-1, 1]^3, z vertical. Ten classes: sphere, box, cylinder, cone, torus, pyramid,
capsule (lying), tube (a standing open pipe), table (a top on four legs) and chair (a seat on
four legs with a back). Each shape draws a size (a common scale in [0.7, 1]), per-class aspect
ratios, a rotation about the vertical axis (uniform; the sphere and the round solids are
unchanged by it) and a jitter of its centre (up to 0.08 per axis): all of it from numpy's PCG64
seeded by (``shape_seed``, split, class), so a seed gives the same shapes on every machine, and
the held-out split (``test_set``) comes from a stream of its own. The grids are evaluated in
float32 with torch, chunk by chunk (a few seconds for the default 2,560 shapes at 32^3 on one
core).

Thin parts (slabs, legs, pipe walls) are at least 0.1 wide: two voxels at 32^3, one at 16^3
(where they may break up), so 32^3 (the default) or 64^3 (the paper's) is the intended size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from gan_lab.data.voxels.base import (
    VoxelDataModule,
    VoxelTensorDataset,
    check_classes,
)

__all__ = ["CLASS_NAMES", "Primitives3DDataModule", "draw_parameters", "primitive_voxels",
           "voxel_centres"]

CLASS_NAMES: tuple[str, ...] = ("sphere", "box", "cylinder", "cone", "torus", "pyramid",
                                "capsule", "tube", "table", "chair")
SPLITS = {"train": 0, "test": 1}
JITTER = 0.08          # the largest shift of a shape's centre, per axis
SCALE = (0.7, 1.0)     # the common size factor s


def voxel_centres(resolution: int) -> tuple[Tensor, Tensor, Tensor]:
    """x, y, z of the voxel centres of an R^3 grid over [-1, 1]^3, each (1, R, R, R) float32,
    indexed [x, y, z]."""
    axis = (torch.arange(resolution, dtype=torch.float32) * 2 + 1) / resolution - 1
    x, y, z = torch.meshgrid(axis, axis, axis, indexing="ij")
    return x[None], y[None], z[None]


def _u(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    return rng.uniform(low, high, n)


# Per class: the parameters it draws (besides scale s, angle and jitter, which all share) ...
def _sphere(rng, n, s):
    return {"r": 0.75 * s}


def _box(rng, n, s):
    return {"a": 0.55 * s * _u(rng, n, 0.6, 1), "b": 0.55 * s * _u(rng, n, 0.6, 1),
            "c": 0.6 * s * _u(rng, n, 0.6, 1)}


def _cylinder(rng, n, s):
    return {"r": 0.5 * s * _u(rng, n, 0.6, 1), "h": 0.75 * s * _u(rng, n, 0.6, 1)}


def _cone(rng, n, s):
    return {"r": 0.6 * s * _u(rng, n, 0.7, 1), "h": 0.75 * s * _u(rng, n, 0.7, 1)}


def _torus(rng, n, s):
    major = 0.55 * s
    return {"R": major, "r": major * _u(rng, n, 0.3, 0.45), "e": _u(rng, n, 0.75, 1)}


def _pyramid(rng, n, s):
    return {"a": 0.6 * s * _u(rng, n, 0.7, 1), "h": 0.7 * s * _u(rng, n, 0.7, 1)}


def _capsule(rng, n, s):
    return {"L": 0.45 * s * _u(rng, n, 0.6, 1), "r": 0.35 * s * _u(rng, n, 0.7, 1)}


def _tube(rng, n, s):
    outer = 0.6 * s * _u(rng, n, 0.8, 1)
    return {"ro": outer, "ri": outer * _u(rng, n, 0.5, 0.7), "h": 0.75 * s * _u(rng, n, 0.6, 1)}


def _table(rng, n, s):
    return {"a": 0.65 * s * _u(rng, n, 0.8, 1), "b": 0.5 * s * _u(rng, n, 0.7, 1),
            "h": 0.6 * s * _u(rng, n, 0.7, 1), "t": 0.15 * s, "leg": 0.1 * s}


def _chair(rng, n, s):
    return {"a": 0.45 * s * _u(rng, n, 0.8, 1), "b": 0.45 * s * _u(rng, n, 0.8, 1),
            "floor": -0.8 * s, "seat": -0.15 * s, "t": 0.15 * s, "top": 0.8 * s * _u(rng, n, 0.8, 1),
            "leg": 0.09 * s}


# ... and its inside test on local coordinates (u, v horizontal, w vertical), all (n, R, R, R).
def _legs(u, v, w, a, b, leg, bottom, top):
    """Four square legs of half-width ``leg`` under the corners of a [-a, a] x [-b, b] top."""
    return (((u.abs() - (a - leg)).abs() <= leg) & ((v.abs() - (b - leg)).abs() <= leg)
            & (w >= bottom) & (w <= top))


INSIDE: dict[str, Callable[..., Tensor]] = {
    "sphere": lambda u, v, w, p: u * u + v * v + w * w <= p["r"] ** 2,
    "box": lambda u, v, w, p: (u.abs() <= p["a"]) & (v.abs() <= p["b"]) & (w.abs() <= p["c"]),
    "cylinder": lambda u, v, w, p: (u * u + v * v <= p["r"] ** 2) & (w.abs() <= p["h"]),
    "cone": lambda u, v, w, p: ((w.abs() <= p["h"])
                                & ((u * u + v * v).sqrt() <= p["r"] * (p["h"] - w) / (2 * p["h"]))),
    "torus": lambda u, v, w, p: (((u / p["e"]) ** 2 + v * v).sqrt() - p["R"]) ** 2 + w * w
    <= p["r"] ** 2,
    "pyramid": lambda u, v, w, p: ((w.abs() <= p["h"])
                                   & (torch.maximum(u.abs(), v.abs())
                                      <= p["a"] * (p["h"] - w) / (2 * p["h"]))),
    "capsule": lambda u, v, w, p: (u.abs() - p["L"]).clamp(min=0) ** 2 + v * v + w * w
    <= p["r"] ** 2,
    "tube": lambda u, v, w, p: ((u * u + v * v <= p["ro"] ** 2) & (u * u + v * v >= p["ri"] ** 2)
                                & (w.abs() <= p["h"])),
    "table": lambda u, v, w, p: (((u.abs() <= p["a"]) & (v.abs() <= p["b"])
                                  & (w >= p["h"] - p["t"]) & (w <= p["h"]))
                                 | _legs(u, v, w, p["a"], p["b"], p["leg"], -p["h"], p["h"] - p["t"])),
    "chair": lambda u, v, w, p: (
        ((u.abs() <= p["a"]) & (v.abs() <= p["b"]) & (w >= p["seat"]) & (w <= p["seat"] + p["t"]))
        | _legs(u, v, w, p["a"], p["b"], p["leg"], p["floor"], p["seat"])
        | ((u.abs() <= p["a"]) & (v >= p["b"] - p["t"]) & (v <= p["b"])
           & (w >= p["seat"] + p["t"]) & (w <= p["top"]))),
}
DRAW: dict[str, Callable[..., dict]] = {
    "sphere": _sphere, "box": _box, "cylinder": _cylinder, "cone": _cone, "torus": _torus,
    "pyramid": _pyramid, "capsule": _capsule, "tube": _tube, "table": _table, "chair": _chair,
}


def draw_parameters(name: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` draws of class ``name``'s parameters (float64 arrays of length n): its own sizes,
    plus ``scale``, ``angle`` (about z) and ``shift`` (n, 3)."""
    if name not in DRAW:
        raise ValueError(f"unknown primitive {name!r}; one of {', '.join(CLASS_NAMES)}")
    s = rng.uniform(*SCALE, n)
    params = {key: np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
              for key, value in DRAW[name](rng, n, s).items()}
    params["scale"] = s
    params["angle"] = rng.uniform(0.0, 2 * math.pi, n)
    params["shift"] = rng.uniform(-JITTER, JITTER, (n, 3))
    return params


def _column(values: np.ndarray) -> Tensor:
    """Per-shape values (n,) as float32 (n, 1, 1, 1), to broadcast over the grid."""
    return torch.as_tensor(values, dtype=torch.float32).view(-1, 1, 1, 1)


def primitive_voxels(name: str, params: dict[str, np.ndarray], resolution: int,
                     chunk: int | None = None) -> Tensor:
    """The shapes of class ``name`` with these parameters (:func:`draw_parameters`) as uint8
    occupancy grids (n, 1, R, R, R), a chunk of shapes at a time (memory ~ chunk * R^3)."""
    n = len(params["angle"])
    chunk = chunk or max(1, 2 ** 23 // resolution ** 3)
    x, y, z = voxel_centres(resolution)
    out = torch.empty(n, 1, resolution, resolution, resolution, dtype=torch.uint8)
    for start in range(0, n, chunk):
        part = slice(start, min(n, start + chunk))
        shift = params["shift"][part]
        dx, dy, w = (axis - _column(shift[:, i]) for i, axis in enumerate((x, y, z)))
        cos, sin = _column(np.cos(params["angle"][part])), _column(np.sin(params["angle"][part]))
        u = cos * dx + sin * dy          # the shape's own axes: rotated by -angle
        v = cos * dy - sin * dx
        local = {key: _column(value[part]) for key, value in params.items()
                 if key not in ("angle", "shift")}
        out[part, 0] = INSIDE[name](u, v, w, local).to(torch.uint8)
    return out


def _check_count(key: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"data.{key}={value!r}: must be an integer >= {minimum} (shapes per class)")
    return value


class Primitives3DDataModule(VoxelDataModule):
    """Ten classes of procedural voxel shapes, made in memory when the module is set up.

    Batches are ``(voxels (B, 1, R, R, R) float32 in {0, 1}, labels (B,) int64)``; label k is
    ``class_names[k]`` of all ten (``num_classes`` = 10), whichever ``classes`` are kept, so runs
    on different subsets share one labelling.

    Args:
        resolution: R, the cube's side (16, 32, 64 or 128; 3D-GAN's is 64).
        num_samples: training shapes per kept class.
        num_test: held-out shapes per kept class (``test_set``; another seed stream).
        classes: the class names to keep (e.g. seven of the ten); null: all ten.
        shape_seed: seed of the shapes (the data), apart from ``seed``.
        batch_size: shapes per batch (3D-GAN: 100).
        seed: seed of the loader's shuffling (the run's seed).
        num_workers: loader worker processes.
    """

    def __init__(self, resolution: int = 32, num_samples: int = 256, num_test: int = 64,
                 classes: Sequence[str] | None = None, shape_seed: int = 0,
                 batch_size: int = 100, seed: int = 0, num_workers: int = 0) -> None:
        super().__init__(resolution, batch_size, seed=seed, num_workers=num_workers)
        self.num_samples = _check_count("num_samples", num_samples, 1)
        self.num_test = _check_count("num_test", num_test, 0)
        if isinstance(shape_seed, bool) or not isinstance(shape_seed, int) or shape_seed < 0:
            raise ValueError(f"data.shape_seed={shape_seed!r}: must be an integer >= 0")
        self.shape_seed = shape_seed
        self.class_names = CLASS_NAMES
        self.num_classes = len(CLASS_NAMES)
        self.classes = check_classes(classes, CLASS_NAMES) or list(CLASS_NAMES)
        self.check_batch_size(self.num_samples * len(self.classes))

    def shapes(self, names: Sequence[str], split: str, per_class: int) -> VoxelTensorDataset:
        """``per_class`` shapes of each class in ``names`` from the ``split`` stream ("train" or
        "test"), class by class; the same for the same (shape_seed, split, class, count)."""
        grids, labels = [], []
        for name in names:
            index = CLASS_NAMES.index(name)
            rng = np.random.default_rng([self.shape_seed, SPLITS[split], index])
            grids.append(primitive_voxels(name, draw_parameters(name, per_class, rng),
                                          self.resolution))
            labels.append(torch.full((per_class,), index, dtype=torch.int64))
        empty = torch.zeros(0, *self.sample_shape, dtype=torch.uint8)
        return VoxelTensorDataset(torch.cat(grids) if grids else empty,
                                  torch.cat(labels) if labels else torch.zeros(0, dtype=torch.int64))

    def build_train_set(self) -> VoxelTensorDataset:
        return self.shapes(self.classes, "train", self.num_samples)

    def build_test_set(self) -> VoxelTensorDataset:
        return self.shapes(self.classes, "test", self.num_test)

    @property
    def excluded_classes(self) -> list[str]:
        """The classes ``classes`` leaves out (none when all ten are kept)."""
        return [name for name in CLASS_NAMES if name not in self.classes]

    def excluded_set(self, per_class: int | None = None) -> VoxelTensorDataset:
        """Held-out-stream shapes of the classes not trained on (``num_test`` each by default):
        what a model of the kept classes has never seen."""
        count = self.num_test if per_class is None else per_class
        return self.shapes(self.excluded_classes, "test", count)

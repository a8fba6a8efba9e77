"""A template data module: copy this file to add a data set (junyanz's template_dataset).

It is a complete, working module: samples saved with ``torch.save`` as one tensor (N, ...) (and
optionally their labels) in a ``.pt`` file, served through the resumable loader. What a new data
module fills in:

1. ``__init__``: check every option and fail in one line naming ``data.<key>`` (before training).
2. ``batch_kind`` (gan_lab.kinds.BatchKind: what one batch holds, for the schemes'
   ``check_data``) and the sample spec: ``sample_kind`` and ``sample_shape`` (gan_lab.kinds;
   renderers, writers and the commands read it; a checkpoint keeps it).
3. ``build_train_set()``: the training set as a map-style Dataset of tuples (x[, label]);
   TrainSetDataModule serves it through gan_lab's resumable loader (exact resume mid-epoch).
4. ``num_classes`` (0: unconditional) and, when there is one, a held-out ``test_set``.

Then a yaml in conf/data/ with ``_target_: gan_lab.data.<package>.<Class>`` and the options.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset, TensorDataset

from gan_lab.data.common.train_set import TrainSetDataModule
from gan_lab.kinds import BatchKind, SampleKind

__all__ = ["TensorFileDataModule"]


class TensorFileDataModule(TrainSetDataModule):
    """Samples from a ``torch.save``d file: a tensor (N, ...), or a dict with ``samples`` (N, ...)
    and ``labels`` (N,) integer classes.

    Args:
        path: the ``.pt`` file.
        kind: the sample kind (images (C, H, W) in [-1, 1], points (D,), clips, voxels).
        batch_size, seed, num_workers: the loader's.
    """

    batch_kind = BatchKind.SAMPLES

    def __init__(self, path: str, kind: str = "images", batch_size: int = 64, seed: int = 0,
                 num_workers: int = 0) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        file = Path(str(path)).expanduser()
        if not file.is_file():
            raise ValueError(f"data.path={path}: no such file (a tensor saved with torch.save)")
        try:
            self.sample_kind = SampleKind(kind)
        except ValueError:
            raise ValueError(f"data.kind={kind!r}: one of "
                             f"{', '.join(k.value for k in SampleKind)}") from None
        content = torch.load(file, map_location="cpu", weights_only=True)
        samples = content.get("samples") if isinstance(content, dict) else content
        labels = content.get("labels") if isinstance(content, dict) else None
        if not isinstance(samples, torch.Tensor) or samples.dim() < 2:
            raise ValueError(f"data.path={path}: holds no tensor of samples (N, ...)")
        if labels is not None and (labels.shape != (len(samples),) or labels.is_floating_point()):
            raise ValueError(f"data.path={path}: labels must be {len(samples)} integer classes")
        if len(samples) < batch_size:
            raise ValueError(f"data.batch_size={batch_size}: the file has only {len(samples)} "
                             "samples")
        self.samples, self.labels = samples.float(), labels
        self.sample_shape = tuple(samples.shape[1:])
        self.num_classes = 0 if labels is None else int(labels.max()) + 1
        if self.sample_kind is SampleKind.IMAGES:
            self.channels, self.image_size = self.sample_shape[0], self.sample_shape[-1]

    def build_train_set(self) -> Dataset:
        if self.labels is None:
            return TensorDataset(self.samples)
        return TensorDataset(self.samples, self.labels.long())

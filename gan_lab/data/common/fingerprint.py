"""A digest that changes whenever a datamodule's training data changes.

Evaluation caches (the domain classifier, the real-image features) are keyed by it, so a
changed file, a different image size or another folder never reuses stale statistics.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import torch
from torch.utils.data import Dataset, TensorDataset

__all__ = ["data_fingerprint"]


def _update_with_tensor(digest: Any, tensor: torch.Tensor) -> None:
    tensor = tensor.detach().cpu().contiguous()
    digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
    digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")


def _update_with_dataset(digest: Any, dataset: Dataset) -> None:
    if isinstance(dataset, TensorDataset):
        # In-memory sets (digits, MNIST, Fashion-MNIST, CIFAR-10): the pixels themselves.
        for tensor in dataset.tensors:
            _update_with_tensor(digest, tensor)
    elif hasattr(dataset, "files"):
        # File-backed sets (image_folder): every file's path, size and modification time, the
        # way make decides what changed, so no image has to be decoded to check the cache.
        for path in dataset.files:
            stat = os.stat(path)
            digest.update(f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
        digest.update(repr(getattr(dataset, "labels", None)).encode())
        # What else decides the pixels: preprocessing, crop, which half of an AB image, ...
        digest.update(repr(getattr(dataset, "fingerprint_extra", None)).encode())
    else:
        raise TypeError(
            f"cannot fingerprint a {type(dataset).__name__}: a data set for evaluation caches "
            "must be a TensorDataset or have a `files` list"
        )


def data_fingerprint(datamodule: Any) -> str:
    """A 16-hex-digit digest of ``datamodule``'s reference set (its training set, all of it when
    ``subset`` trains on a part) and the shape it serves.

    Covers the datamodule class, ``sample_shape``, ``num_classes`` and the data (tensor bytes of
    a ``TensorDataset``; path, size and mtime of each file of a file-backed set).
    """
    datamodule.setup("fit")
    memo = getattr(datamodule, "_gan_lab_fingerprint", None)
    reference = getattr(datamodule, "reference_set", datamodule.train_set)
    if memo is not None and memo[0] is reference:
        return memo[1]  # hashing 60,000 images takes a moment; the set does not change in a run
    digest = hashlib.blake2b(digest_size=8)
    kind = type(datamodule)
    shape = tuple(getattr(datamodule, "sample_shape", ()))
    classes = getattr(datamodule, "num_classes", 0)
    digest.update(f"{kind.__module__}.{kind.__qualname__}|{shape}|{classes}\n".encode())
    _update_with_dataset(digest, reference)
    datamodule._gan_lab_fingerprint = (reference, digest.hexdigest())
    return digest.hexdigest()

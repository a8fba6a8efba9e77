"""A fixed batch of ``n`` items spread evenly over a data set: the same real images at every
measurement, for probes that compare a model's outputs with real data while training (the
health callback's diversity and r_v, the schemes' ``diversity_probe``)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["spaced_batch"]


def spaced_batch(dataset: Dataset, n: int) -> tuple[Tensor, Tensor]:
    """``(images, labels)`` of ``n`` items at evenly spaced indices (all of them when the set is
    shorter); items without a label get label 0."""
    size = len(dataset)
    indices = torch.linspace(0, size - 1, min(n, size)).round().long().unique().tolist()
    items = [dataset[i] for i in indices]
    images = torch.stack([torch.as_tensor(item[0]) for item in items])
    labels = torch.stack([torch.as_tensor(item[1]) if len(item) > 1 else torch.tensor(0)
                          for item in items])
    return images, labels

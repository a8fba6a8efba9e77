"""What a feature extractor for FID/KID/IS/precision-recall is, and the shared batching."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gan_lab.metrics.settings import check_int

__all__ = ["FeatureExtractor", "to_uint8"]


def to_uint8(images: Tensor) -> Tensor:
    """Generator-range images (float, ``[-1, 1]``) as uint8 0..255, rounded to nearest."""
    return ((images.float() + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)


class FeatureExtractor:
    """Maps images in ``[-1, 1]``, ``(N, C, H, W)``, to ``(features (N, d), logits (N, K))``.

    ``features`` feed FID, KID and precision/recall; ``logits`` feed IS (and class accuracy).
    Subclasses set ``name`` (the prefix of metric names, e.g. ``inception/fid``), set
    ``identity`` (a string that changes whenever the weights change; caches of real features
    are keyed by it) by the end of :meth:`prepare`, and implement :meth:`forward_batch`.
    """

    name: str = "features"
    identity: str = ""
    has_logits: bool = True  # False: ``logits`` are ``(N, 0)`` (no IS from these features)

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = check_int("batch_size", batch_size)
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def prepare(self, datamodule: Any) -> None:
        """Called once with the run's datamodule before the first extraction."""

    def forward_batch(self, images: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Features and logits of ``images`` as float64 CPU tensors, in batches."""
        features, logits = [], []
        # Metrics are computed in full precision whatever the training precision.
        with torch.autocast(self.device.type, enabled=False):
            for chunk in images.split(self.batch_size):
                f, p = self.forward_batch(chunk)
                features.append(f.detach().to("cpu", torch.float64))
                logits.append(p.detach().to("cpu", torch.float64))
        return torch.cat(features), torch.cat(logits)

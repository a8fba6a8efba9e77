"""Published weights files: fetching one, and the one error line for one that does not load.

Shared by the nets that load published weights (VGG19, :mod:`gan_lab.nets.vgg`) and the metrics'
feature extractors (InceptionV3, DINOv2, SIFID's Inception stem); it lives with the nets because
metrics may import nets but not the other way round."""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["download_weights", "unreadable_weights"]


def download_weights(url: str, path: Path) -> None:
    """Fetch ``url`` to ``path`` (torch.hub's downloader). Offline, or on any other failure,
    nothing is left at ``path``: the caller reports the missing file in one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(path), progress=False)
    except Exception:  # offline: urllib's URLError, an OSError, a partial file...
        path.unlink(missing_ok=True)


def unreadable_weights(key: str, path: object, what: str, error: Exception | str) -> ValueError:
    """``key: PATH is not a WHAT (why)`` as a ValueError: ``key`` is the config key that names the
    file, ``error`` the exception that loading raised or a sentence saying what is wrong."""
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    reason = " ".join(reason.split())[:200]
    return ValueError(f"{key}: {path} is not a {what} ({reason})")

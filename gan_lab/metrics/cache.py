"""Where evaluation caches live (classifiers, real-image features) and how files get there."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from gan_lab.data.torchvision_sets import default_root

__all__ = ["atomic_save", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``~/.cache/gan_lab/eval`` (``$XDG_CACHE_HOME/gan_lab/eval`` when that is set)."""
    return default_root("eval")


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename: parallel runs never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(obj, partial)
    os.replace(partial, path)

"""Where evaluation caches live (classifiers, segmenters, real-image features) and how files get
there (:func:`gan_lab.auxiliary.atomic_save`, shared with the auxiliary-net provider that caches
the trained nets)."""

from __future__ import annotations

from pathlib import Path

from gan_lab.auxiliary import atomic_save
from gan_lab.data.samples.torchvision_sets import default_root

__all__ = ["atomic_save", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``~/.cache/gan_lab/eval`` (``$XDG_CACHE_HOME/gan_lab/eval`` when that is set)."""
    return default_root("eval")

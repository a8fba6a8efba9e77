"""Progress for long phases outside the training loop (classifier training, real features)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

Item = TypeVar("Item")


def phase(items: Iterable[Item], total: int, desc: str) -> Iterator[Item]:
    """``items`` with a bar on stderr naming the phase (rate and ETA); on a terminal it is
    redrawn every half second, in a log file every 30 s, and it is cleared when done."""
    interactive = sys.stderr.isatty()
    yield from tqdm(items, total=total, desc=desc, leave=False, file=sys.stderr, unit="batch",
                    mininterval=0.5 if interactive else 30.0, dynamic_ncols=True)

"""What a scheme shows: named visuals, each of a sample kind (gan_lab.kinds.SampleKind).

A module's ``visuals(inputs)`` returns ``{name: Visual}``; gan_lab.outputs renders each one with
the renderer registered for its kind (an image grid, frames, text) and writes it and sends it to
the loggers. A new kind is a new renderer module in gan_lab/outputs/renderers/, not a branch in a
callback; a kind without a renderer is an error, never a silent skip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from gan_lab.kinds import SampleKind

__all__ = ["Visual"]


@dataclass
class Visual:
    """``data`` of one sample kind, for its renderer (gan_lab/outputs/renderers/<kind>.py):

    - ``images``: (N, C, H, W) in [-1, 1], a grid of ``nrow`` per row (grey repeated to RGB);
    - ``points``: (N, 2) samples as a scatter plot, or (R, N, 2): one panel per replica;
    - ``clips``: (N, T, C, H, W) in [-1, 1]: frames, each a grid of the N clips at that time;
    - ``tokens``: (N, L) integer ids: one line of text per sequence;
    - ``voxels``: (N, C, D, H, W) occupancy in [0, 1].

    ``kind`` is a :class:`SampleKind` (a ``str``, so ``Visual("images", x)`` reads as before; a
    name that is no kind yet stays a plain string, and rendering it says there is no renderer).
    ``options`` are the renderer's own settings, e.g. ``vocabulary`` (a list of words, index =
    token id) for tokens, ``fps`` for clips.
    """

    kind: SampleKind | str
    data: Tensor
    nrow: int = 8
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.kind = SampleKind(self.kind)
        except ValueError:
            self.kind = str(self.kind)  # gan_lab.outputs.render names the kinds it knows

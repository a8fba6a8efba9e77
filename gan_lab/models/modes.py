"""Train/eval mode switches the schemes share."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn

__all__ = ["eval_mode"]


@contextlib.contextmanager
def eval_mode(*nets: nn.Module) -> Iterator[None]:
    """The nets in eval mode for the block (batch norm on its running statistics, dropout off),
    each one's own mode restored after."""
    modes = [net.training for net in nets]
    for net in nets:
        net.eval()
    try:
        yield
    finally:
        for net, mode in zip(nets, modes, strict=True):
            net.train(mode)

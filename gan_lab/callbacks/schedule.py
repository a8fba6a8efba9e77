"""Callbacks that fire on the generator-iteration schedule (the one user-facing counter)."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl


class EveryIterations(pl.Callback):
    """Calls `run(trainer, module, tag)` whenever `module.iteration` reaches a multiple of `every`.

    Lightning calls batch hooks once per discriminator step; the G iteration advances only
    every `batches_per_iteration` batches, so the callback fires once per qualifying iteration.
    """

    def __init__(self, every: int, at_end: bool = True) -> None:
        self.every = int(every)
        self.at_end = at_end
        self.last_run: int | None = None

    def run(self, trainer: pl.Trainer, module: pl.LightningModule, tag: str) -> None:
        raise NotImplementedError

    def _maybe_run(self, trainer: pl.Trainer, module: pl.LightningModule, tag: str) -> None:
        if self.last_run == module.iteration:
            return
        self.last_run = module.iteration
        self.run(trainer, module, tag)

    def on_train_batch_end(self, trainer: pl.Trainer, module: pl.LightningModule, *args: Any) -> None:
        if module.iteration and module.iteration % self.every == 0:
            self._maybe_run(trainer, module, f"iter_{module.iteration:07d}")

    def on_train_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        # Not after a crash or a signalled stop (that must be quick: SLURM gives seconds).
        if self.at_end and not trainer.interrupted and module.stop_reason is None:
            self._maybe_run(trainer, module, f"iter_{module.iteration:07d}")

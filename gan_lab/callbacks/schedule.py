"""Callbacks that fire on the generator-iteration schedule (the one user-facing counter)."""

from __future__ import annotations

import time
from typing import Any

import lightning.pytorch as pl


class EveryIterations(pl.Callback):
    """Calls `run(trainer, module, tag)` whenever `module.iteration` reaches a multiple of `every`.

    Lightning calls batch hooks once per discriminator step; the G iteration advances only
    every `batches_per_iteration` batches, so the callback fires once per qualifying iteration.

    ``at_end``: also at the end of training. ``at_stop_seconds``: also when a signal stopped the
    run, if its last run took at most this long (or it has not run yet); the stop's checkpoint is
    already on disk then, so a kill that comes meanwhile loses nothing. None: never at a stop.
    """

    def __init__(self, every: int, at_end: bool = True,
                 at_stop_seconds: float | None = None) -> None:
        self.every = int(every)
        self.at_end = at_end
        self.at_stop_seconds = None if at_stop_seconds is None else float(at_stop_seconds)
        self.last_run: int | None = None
        self.last_seconds: float | None = None

    def run(self, trainer: pl.Trainer, module: pl.LightningModule, tag: str) -> None:
        raise NotImplementedError

    def _maybe_run(self, trainer: pl.Trainer, module: pl.LightningModule, tag: str) -> None:
        if self.last_run == module.iteration:
            return
        self.last_run = module.iteration
        started = time.monotonic()
        self.run(trainer, module, tag)
        self.last_seconds = time.monotonic() - started

    def on_train_batch_end(self, trainer: pl.Trainer, module: pl.LightningModule, *args: Any) -> None:
        if module.iteration and module.iteration % self.every == 0:
            self._maybe_run(trainer, module, f"iter_{module.iteration:07d}")

    def on_train_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.interrupted:  # a crash: nothing more
            return
        if module.stop_reason is None:
            due = self.at_end
        else:  # a signalled stop must stay quick (SLURM gives seconds before its kill)
            due = self.at_stop_seconds is not None and (
                self.last_seconds is None or self.last_seconds <= self.at_stop_seconds)
        if due:
            self._maybe_run(trainer, module, f"iter_{module.iteration:07d}")

"""Checkpoints on the generator-iteration schedule, through Lightning's ModelCheckpoint."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint


class IterationCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose cadence and file names count generator iterations.

    A checkpoint is written at the end of every ``every_n_iterations``-th iteration (after its
    last optimizer step, so it resumes exactly), at the end of training, and on request
    (:meth:`save_now`, used by the interruption handler). Files are ``iter_0001000.ckpt`` (the
    latest scheduled one is kept) and ``last.ckpt``, overwritten in place rather than versioned
    (``last-v1.ckpt``), so a resumed run in its own folder still has one ``last.ckpt`` that is
    the latest. Lightning writes them atomically (temporary file, then rename), so a crash or a
    kill leaves the previous checkpoint intact.
    """

    def __init__(self, every_n_iterations: int = 1000, **kwargs: Any) -> None:
        kwargs.setdefault("filename", "iter_{iteration:07d}")
        kwargs.setdefault("auto_insert_metric_name", False)
        kwargs.setdefault("save_last", True)
        kwargs.setdefault("save_top_k", 1)
        kwargs.setdefault("enable_version_counter", False)
        # Lightning's step trigger is off (its global_step counts optimizer steps, and its
        # manual-optimization path warns on every save); the iteration trigger is below.
        super().__init__(every_n_train_steps=0, every_n_epochs=0, **kwargs)
        self.every_n_iterations = int(every_n_iterations)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           *args: Any) -> None:
        if (pl_module.iteration and pl_module.iteration % self.every_n_iterations == 0
                and pl_module.at_iteration_boundary):
            self.save_now(trainer)

    def save_now(self, trainer: pl.Trainer) -> None:
        """Write the scheduled file and ``last.ckpt`` for the current state (once per step)."""
        if self._should_skip_saving_checkpoint(trainer):
            return
        candidates = self._monitor_candidates(trainer)
        self._save_topk_checkpoint(trainer, candidates)
        self._save_last_checkpoint(trainer, candidates)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # The final iteration must always be on disk (it is what `sample`, `evaluate` and a
        # resume start from).
        if not trainer.interrupted:
            self.save_now(trainer)

    def _monitor_candidates(self, trainer: pl.Trainer) -> dict[str, torch.Tensor]:
        candidates = super()._monitor_candidates(trainer)
        candidates["iteration"] = torch.tensor(trainer.lightning_module.iteration)
        return candidates

"""Checkpoints on the generator-iteration schedule, through Lightning's ModelCheckpoint."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint


class IterationCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose cadence and file names count generator iterations.

    A checkpoint is written at the end of every ``every_n_iterations``-th iteration (after its
    last optimizer step, so it resumes exactly), at the end of the budget's last iteration (in
    that batch, so extending a finished run continues exactly as an uninterrupted longer run
    would), at the end of training when that has not been saved yet, and on request
    (:meth:`save_now`, used by the interruption handler).

    Files: ``iter_0001000.ckpt``, the ``keep`` latest (-1: all), and ``last.ckpt``, the latest
    state, which is a hard link to the newest ``iter_*`` file rather than a second copy of its
    bytes (a copy where the file system has no hard links). ``last.ckpt`` is replaced in place
    rather than versioned (``last-v1.ckpt``), so a resumed run in its own folder still has one
    ``last.ckpt`` that is the latest. Lightning writes each file atomically (temporary file, then
    rename) and the link is swapped in by a rename too, so a crash or a kill leaves the previous
    checkpoint intact. ``export``: at the end of training, also ``generator.pt``, the sampling
    generator's weights alone (gan_lab.export), for sharing and for ``gan_lab.sample``.
    """

    def __init__(self, every_n_iterations: int = 1000, keep: int = 1, export: bool = True,
                 **kwargs: Any) -> None:
        kwargs.setdefault("filename", "iter_{iteration:07d}")
        kwargs.setdefault("auto_insert_metric_name", False)
        kwargs.setdefault("save_last", "link")
        # The newest `keep` by iteration (Lightning keeps more than one only for a monitor).
        kwargs.setdefault("monitor", "iteration")
        kwargs.setdefault("mode", "max")
        kwargs.setdefault("save_top_k", int(keep))
        kwargs.setdefault("enable_version_counter", False)
        # Lightning's step trigger is off (its global_step counts optimizer steps, and its
        # manual-optimization path warns on every save); the iteration trigger is below.
        super().__init__(every_n_train_steps=0, every_n_epochs=0, **kwargs)
        self.every_n_iterations = int(every_n_iterations)
        self.export = bool(export)
        # The iteration whose state is on disk: a resumed run's own, then each one saved.
        self._saved_iteration: int | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._saved_iteration = pl_module.iteration if trainer.ckpt_path else None

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           *args: Any) -> None:
        if not pl_module.at_iteration_boundary:
            return
        scheduled = pl_module.iteration and pl_module.iteration % self.every_n_iterations == 0
        if scheduled or pl_module.budget_reached:
            self.save_now(trainer)

    def save_now(self, trainer: pl.Trainer) -> None:
        """Write the scheduled file and ``last.ckpt`` for the current state (once per step)."""
        if self._should_skip_saving_checkpoint(trainer):
            return
        candidates = self._monitor_candidates(trainer)
        self._save_topk_checkpoint(trainer, candidates)
        self._save_last_checkpoint(trainer, candidates)
        self._saved_iteration = trainer.lightning_module.iteration

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # The final iteration must always be on disk (it is what `sample`, `evaluate` and a
        # resume start from); usually the batch that ended the budget has saved it already,
        # and a finished run resumed with nothing left to train keeps its file untouched.
        if not trainer.interrupted and self._saved_iteration != pl_module.iteration:
            self.save_now(trainer)
        if self.export and not trainer.interrupted and self.dirpath and trainer.is_global_zero:
            from gan_lab.export import export_generator

            export_generator(pl_module, Path(self.dirpath) / "generator.pt")

    @staticmethod
    def _link_checkpoint(trainer: pl.Trainer, filepath: str, linkpath: str) -> None:
        """``linkpath`` (last.ckpt) made the same file as ``filepath`` (the newest iter_*.ckpt):
        a hard link swapped in by an atomic rename, so last.ckpt is never missing or partial and
        survives the removal of an older iter_* file (Lightning's own links are symbolic)."""
        if trainer.is_global_zero and os.path.abspath(filepath) != os.path.abspath(linkpath):
            temporary = f"{linkpath}.tmp"
            if os.path.lexists(temporary):
                os.remove(temporary)
            try:
                os.link(filepath, temporary)
            except OSError:  # no hard links on this file system: a copy
                shutil.copyfile(filepath, temporary)
            os.replace(temporary, linkpath)
        trainer.strategy.barrier()

    def _monitor_candidates(self, trainer: pl.Trainer) -> dict[str, torch.Tensor]:
        candidates = super()._monitor_candidates(trainer)
        candidates["iteration"] = torch.tensor(trainer.lightning_module.iteration)
        return candidates

"""Checkpoints on the generator-iteration schedule, through Lightning's ModelCheckpoint."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint


class IterationCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose cadence and file names count generator iterations.

    Lightning's `global_step` counts optimizer steps (`n_critic + 1` per iteration); the
    mapping is done once here from `module.optimizer_steps_per_iteration`. Files are named
    `iter_0001000.ckpt`, plus `last.ckpt`; Lightning writes them atomically, so a crash or a
    kill leaves the previous checkpoint intact.
    """

    def __init__(self, every_n_iterations: int = 1000, **kwargs) -> None:
        kwargs.setdefault("filename", "iter_{iteration:07d}")
        kwargs.setdefault("auto_insert_metric_name", False)
        kwargs.setdefault("save_last", True)
        kwargs.setdefault("save_top_k", 1)
        super().__init__(every_n_train_steps=1, **kwargs)
        self.every_n_iterations = int(every_n_iterations)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        self._every_n_train_steps = self.every_n_iterations * pl_module.optimizer_steps_per_iteration

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # ModelCheckpoint saves at train end only if it never saved; the final iteration must
        # always be on disk (it is what `sample`, `evaluate` and a resume start from).
        if self._last_global_step_saved != trainer.global_step and not trainer.interrupted:
            candidates = self._monitor_candidates(trainer)
            self._save_topk_checkpoint(trainer, candidates)
            self._save_last_checkpoint(trainer, candidates)
        super().on_train_end(trainer, pl_module)

    def _monitor_candidates(self, trainer: pl.Trainer) -> dict[str, torch.Tensor]:
        candidates = super()._monitor_candidates(trainer)
        candidates["iteration"] = torch.tensor(trainer.lightning_module.iteration)
        return candidates

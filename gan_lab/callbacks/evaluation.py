"""Periodic and final evaluation through the sampling protocol."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_only

from gan_lab.callbacks.schedule import EveryIterations


class Evaluator(Protocol):
    """What an `eval.metrics` entry is: samples + the datamodule -> named numbers."""

    def __call__(self, sample_fn: Callable[[int], torch.Tensor], datamodule: Any,
                 out_dir: Path | None, tag: str) -> dict[str, float]: ...


class Evaluation(EveryIterations):
    """Runs every evaluator in `metrics` every `every` generator iterations.

    Results go to the loggers (step = iteration) and to `latest`; `objective` names the
    number a sweep optimises (train.run returns it).
    """

    def __init__(self, metrics: Mapping[str, Evaluator], out_dir: str, every: int = 1000,
                 objective: str | None = None) -> None:
        super().__init__(every, at_end=False)  # train.run does the final evaluation
        self.metrics = dict(metrics)
        self.out_dir = Path(out_dir)
        self.objective = objective
        self.latest: dict[str, float] = {}

    @rank_zero_only
    def run(self, trainer: pl.Trainer, module: pl.LightningModule, tag: str) -> None:
        self.evaluate(module, trainer.datamodule, tag)

    def evaluate(self, module: pl.LightningModule, datamodule: Any, tag: str) -> dict[str, float]:
        def sample_fn(n: int) -> torch.Tensor:
            return module.sample(n).float().cpu()

        self.out_dir.mkdir(parents=True, exist_ok=True)
        results: dict[str, float] = {}
        for evaluator in self.metrics.values():
            results.update(evaluator(sample_fn, datamodule, self.out_dir, tag))
        self.latest = results
        if results:
            module.log_metrics(results)
        return results

    def objective_value(self) -> float | None:
        if self.objective is None:
            return None
        if self.objective not in self.latest:
            raise KeyError(f"objective={self.objective!r} is not among the evaluated metrics "
                           f"{sorted(self.latest)}")
        return float(self.latest[self.objective])

"""The run's own record (metrics.csv, written for every run) and what every logger is sent.

``metrics.csv`` does not depend on the dashboards chosen with ``logger=``: the composition root
always adds :class:`RunCSVLogger`. It continues the history of a resumed run instead of
deleting it (Lightning's CSVLogger starts the file afresh).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

__all__ = ["RunCSVLogger", "WandbRunLogger", "finish_loggers", "log_config", "log_image"]


class _ContinuingWriter(ExperimentWriter):
    """Lightning's CSV writer, but an existing metrics.csv is continued, not deleted.

    ``keep_until`` (the resumed checkpoint's iteration) keeps the rows up to it; the rows after
    it belong to iterations that are trained again. None starts a fresh file.
    """

    def __init__(self, log_dir: str, keep_until: int | None) -> None:
        self._keep_until = keep_until
        super().__init__(log_dir=log_dir)

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if not path.is_file():
            return
        if self._keep_until is None:
            path.unlink()  # a new run in a used folder starts its own history
            return
        from gan_lab.resume import truncate_csv

        truncate_csv(path, "step", self._keep_until)
        with path.open(newline="") as f:
            self.metrics_keys = sorted(csv.DictReader(f).fieldnames or [])


class RunCSVLogger(CSVLogger):
    """``<run_dir>/metrics.csv`` (``step`` = generator iteration), flushed at every log call so
    it can be read while the run goes on, and continued across resumes."""

    def __init__(self, save_dir: str, resume_iteration: int | None = None) -> None:
        super().__init__(save_dir=save_dir, name="", version="", flush_logs_every_n_steps=1)
        self.resume_iteration = resume_iteration

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuingWriter(self.log_dir, self.resume_iteration)
        return self._experiment


class WandbRunLogger(WandbLogger):
    """Lightning's WandbLogger without its ``anonymous=None`` init argument, which makes every
    run print a deprecation warning of wandb's that says nothing about the run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._wandb_init.get("anonymous") is None:
            self._wandb_init.pop("anonymous", None)


@rank_zero_only
def finish_loggers(loggers: list[Logger]) -> None:
    """End each W&B run once the run (final evaluation included) is over: its files are
    complete on disk, and the next job of a multirun in this process starts a run of its own."""
    for logger in loggers:
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger.experiment.finish()


@rank_zero_only
def log_config(loggers: list[Logger], config: dict[str, Any]) -> None:
    """The resolved run config to every logger (W&B run config, TensorBoard hparams,
    hparams.yaml beside metrics.csv), so that runs of a sweep can be told apart."""
    for logger in loggers:
        logger.log_hyperparams(config)


def _uint8_hwc(image: torch.Tensor) -> np.ndarray:
    """A CHW float image in [0, 1] as an HWC uint8 array: W&B reads that unambiguously."""
    array = (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    return array.permute(1, 2, 0).numpy()


def log_image(loggers: list[Logger], key: str, image: torch.Tensor, step: int) -> None:
    """Send a CHW image with values in [0, 1] to every logger in the range it expects."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, image.clamp(0, 1), global_step=step)  # float 0..1
        elif isinstance(logger, WandbLogger):
            logger.log_image(key, images=[_uint8_hwc(image)], step=step)  # uint8 0..255

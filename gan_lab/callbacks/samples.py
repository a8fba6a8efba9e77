"""Fixed-input samples, rendered by kind, written (PNG, GIF/MP4, text) and sent to the loggers."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import rank_zero_only

from gan_lab.callbacks.schedule import EveryIterations
from gan_lab.loggers import log_output
from gan_lab.outputs import VIDEO_FORMATS, render, write


class SampleGrid(EveryIterations):
    """Every `every` iterations, the module's visuals of fixed inputs, written and logged.

    The inputs come once from ``module.visual_inputs(datamodule, num_samples, nrow, generator)``
    (fixed codes, the first test images, ...); each time, ``module.visuals(inputs)`` returns
    named visuals (gan_lab.visuals) that are rendered by kind (gan_lab.outputs): a grid of images
    or a scatter plot as PNG, clips as GIF (``video_format=mp4``: MP4), token sequences as text.
    The first is written to ``samples/<iteration>.<suffix>``, any others to
    ``samples/<name>_<iteration>.<suffix>``; each goes to the loggers under ``samples/<name>``.
    A run stopped by a signal still gets its final grid when a grid costs at most
    ``at_stop_seconds`` (after the stop's checkpoint is written).
    """

    def __init__(self, out_dir: str, every: int = 500, num_samples: int = 64, nrow: int = 8,
                 seed: int = 1234, video_format: str = "gif", at_stop_seconds: float = 10.0) -> None:
        super().__init__(every, at_stop_seconds=at_stop_seconds)
        if video_format not in VIDEO_FORMATS:
            raise ValueError(f"callbacks.samples.video_format={video_format!r}: must be one of "
                             f"{', '.join(VIDEO_FORMATS)}")
        self.out_dir = Path(out_dir)
        self.num_samples, self.nrow, self.seed = int(num_samples), int(nrow), int(seed)
        self.video_format = video_format
        self._inputs = None

    @rank_zero_only
    def run(self, trainer: pl.Trainer, module: pl.LightningModule, tag: str) -> None:
        if self._inputs is None:
            generator = torch.Generator().manual_seed(self.seed)
            self._inputs = module.visual_inputs(trainer.datamodule, self.num_samples, self.nrow,
                                                generator)
        for index, (name, visual) in enumerate(module.visuals(self._inputs).items()):
            output = render(visual)
            write(output, self.out_dir / (tag if index == 0 else f"{name}_{tag}"),
                  self.video_format)
            log_output(trainer.loggers, f"samples/{name}" if index else "samples", output,
                       module.iteration)

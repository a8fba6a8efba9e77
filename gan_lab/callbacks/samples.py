"""Fixed-input sample grids, written as PNG and sent to the loggers."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import rank_zero_only
from torchvision.utils import save_image

from gan_lab.callbacks.schedule import EveryIterations
from gan_lab.loggers import log_image
from gan_lab.visuals import render


class SampleGrid(EveryIterations):
    """Every `every` iterations, the module's visuals of fixed inputs, as PNG and to the loggers.

    The inputs come once from ``module.visual_inputs(datamodule, num_samples, nrow, generator)``
    (fixed codes, the first test images, ...); each time, ``module.visuals(inputs)`` returns
    named visuals (gan_lab.visuals) that are rendered by kind. The first is written to
    ``samples/<iteration>.png``, any others to ``samples/<name>_<iteration>.png``; each goes to
    the loggers under ``samples/<name>``.
    """

    def __init__(self, out_dir: str, every: int = 500, num_samples: int = 64, nrow: int = 8,
                 seed: int = 1234) -> None:
        super().__init__(every)
        self.out_dir = Path(out_dir)
        self.num_samples, self.nrow, self.seed = int(num_samples), int(nrow), int(seed)
        self._inputs = None

    @rank_zero_only
    def run(self, trainer: pl.Trainer, module: pl.LightningModule, tag: str) -> None:
        if self._inputs is None:
            generator = torch.Generator().manual_seed(self.seed)
            self._inputs = module.visual_inputs(trainer.datamodule, self.num_samples, self.nrow,
                                                generator)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for index, (name, visual) in enumerate(module.visuals(self._inputs).items()):
            image = render(visual)
            save_image(image, self.out_dir / (f"{tag}.png" if index == 0 else f"{name}_{tag}.png"))
            log_image(trainer.loggers, f"samples/{name}" if index else "samples", image,
                      module.iteration)

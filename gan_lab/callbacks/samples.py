"""Fixed-noise sample grids, written as PNG and sent to the loggers."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from pytorch_lightning.utilities import rank_zero_only
from torchvision.utils import make_grid, save_image

from gan_lab.callbacks.schedule import EveryIterations


class SampleGrid(EveryIterations):
    """Every `every` iterations, G (EMA when present) draws the same `num_samples` codes.

    Uses the sampling protocol only (`module.noise`, `module.sample`), so it serves every
    generator. A conditional model (``module.num_classes`` > 0) draws one row per class, `nrow`
    samples each. Non-image samples (toy 2-D points) are skipped: the toy evaluator plots them.
    """

    def __init__(self, out_dir: str, every: int = 500, num_samples: int = 64, nrow: int = 8,
                 seed: int = 1234) -> None:
        super().__init__(every)
        self.out_dir = Path(out_dir)
        self.num_samples, self.nrow, self.seed = int(num_samples), int(nrow), int(seed)
        self._noise: torch.Tensor | None = None

    @rank_zero_only
    def run(self, trainer: pl.Trainer, module: pl.LightningModule, tag: str) -> None:
        classes = getattr(module, "num_classes", 0)
        labels = torch.arange(classes).repeat_interleave(self.nrow) if classes else None
        if self._noise is None:
            count = len(labels) if classes else self.num_samples
            self._noise = module.noise(count, generator=torch.Generator().manual_seed(self.seed))
        images = module.sample(noise=self._noise, labels=labels).float().cpu()
        if images.dim() != 4:
            return
        grid = make_grid(images, nrow=self.nrow, normalize=True, value_range=(-1, 1), pad_value=1.0)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.out_dir / f"{tag}.png")
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", grid, global_step=module.iteration)
            elif isinstance(logger, WandbLogger):
                logger.log_image("samples", images=[grid], step=module.iteration)

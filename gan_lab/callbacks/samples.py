"""Fixed-noise sample grids, written as PNG and sent to the loggers."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_only
from torchvision.utils import make_grid, save_image

from gan_lab.callbacks.schedule import EveryIterations
from gan_lab.loggers import log_image


class SampleGrid(EveryIterations):
    """Every `every` iterations, a grid of samples from fixed inputs, as PNG and to the loggers.

    Generators (the sampling protocol: `module.noise`, `module.sample`) draw the same
    `num_samples` codes each time, from the EMA generator when present; a conditional model
    (``module.num_classes`` > 0) draws one row per class, `nrow` samples each. Non-image samples
    (toy 2-D points) are skipped: the toy evaluator plots them.

    Translators (the translation protocol: `module.visuals(real_a, real_b)`) translate the
    first `nrow` test images of each domain (``datamodule.eval_set("A")`` / ``("B")``); the
    grid has one row per entry of ``module.visual_names`` (input | translation |
    reconstruction or target), one column per image.
    """

    def __init__(self, out_dir: str, every: int = 500, num_samples: int = 64, nrow: int = 8,
                 seed: int = 1234) -> None:
        super().__init__(every)
        self.out_dir = Path(out_dir)
        self.num_samples, self.nrow, self.seed = int(num_samples), int(nrow), int(seed)
        self._noise: torch.Tensor | None = None
        self._inputs: tuple[torch.Tensor, torch.Tensor] | None = None

    @rank_zero_only
    def run(self, trainer: pl.Trainer, module: pl.LightningModule, tag: str) -> None:
        if hasattr(module, "visuals"):
            images = self.translations(module, trainer.datamodule)
        else:
            images = self.samples(module)
        if images is None:
            return
        nrow = len(self._inputs[0]) if hasattr(module, "visuals") else self.nrow
        grid = make_grid(images, nrow=nrow, normalize=True, value_range=(-1, 1), pad_value=1.0)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.out_dir / f"{tag}.png")
        log_image(trainer.loggers, "samples", grid, module.iteration)

    def samples(self, module: pl.LightningModule) -> torch.Tensor | None:
        classes = getattr(module, "num_classes", 0)
        labels = torch.arange(classes).repeat_interleave(self.nrow) if classes else None
        if self._noise is None:
            count = len(labels) if classes else self.num_samples
            self._noise = module.noise(count, generator=torch.Generator().manual_seed(self.seed))
        images = module.sample(noise=self._noise, labels=labels).float().cpu()
        return images if images.dim() == 4 else None

    def translations(self, module: pl.LightningModule, datamodule) -> torch.Tensor:
        if self._inputs is None:
            sets = [datamodule.eval_set(domain) for domain in ("A", "B")]
            n = min(self.nrow, *(len(s) for s in sets))  # equal rows, even for short test sets
            self._inputs = tuple(_first_images(s, n) for s in sets)
        rows = module.visuals(*(x.to(module.device) for x in self._inputs))
        rows = [rows[name].float().cpu() for name in module.visual_names]
        channels = max(row.shape[1] for row in rows)
        # A grey domain beside a colour one: repeat its channel so all rows share one grid.
        return torch.cat([row.expand(-1, channels, -1, -1) for row in rows])


def _first_images(dataset, n: int) -> torch.Tensor:
    """The first `n` images of a data set of ``(image, ...)`` items, stacked."""
    return torch.stack([dataset[i][0] for i in range(min(n, len(dataset)))])

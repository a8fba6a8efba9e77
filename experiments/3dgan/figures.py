"""The figures of experiments/3dgan/README.md from one trained 3D-GAN: the real shapes of the ten
classes, samples, latent interpolations, each sample beside its nearest training shapes (IoU),
and a turntable GIF.

    python experiments/3dgan/figures.py experiments/3dgan/runs_<date>/gan_seed0   # writes here
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from gan_lab.data.voxels.primitives import CLASS_NAMES, Primitives3DDataModule
from gan_lab.loading import load_module
from gan_lab.outputs import ImageOutput, write
from gan_lab.outputs.renderers.voxels import (
    interpolation_strip,
    nearest_panels,
    turntable,
    voxel_grid_image,
)
from gan_lab.resolvers import register_resolvers

HERE = Path(__file__).resolve().parent


def main(run: Path) -> None:
    register_resolvers()
    module, cfg = load_module(run / "checkpoints" / "last.ckpt")
    data = Primitives3DDataModule(resolution=32, num_samples=64, batch_size=8)
    reals = data.shapes(CLASS_NAMES, "train", 1).tensors[0].float()
    write(ImageOutput(voxel_grid_image(reals, 5, titles=list(CLASS_NAMES))), HERE / "real_shapes")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        samples = module.sample(noise=module.noise(16, generator=generator)).float()
        ends = module.noise(4, generator=generator)
        t = torch.linspace(0, 1, 6)[None, :, None]
        path = (ends[:2, None] * (1 - t) + ends[2:, None] * t).reshape(12, -1)
        strip = module.sample(noise=path).float()
    write(ImageOutput(voxel_grid_image(samples, 8)), HERE / "samples")
    write(interpolation_strip(strip, rows=2), HERE / "interpolation")
    trained = Primitives3DDataModule(resolution=32, classes=list(cfg.data.classes),
                                     num_samples=int(cfg.data.num_samples), batch_size=8)
    write(nearest_panels(samples[:4], trained.build_train_set().tensors[0].float(), k=3),
          HERE / "nearest")
    write(turntable(samples[:1]), HERE / "turntable")
    print(f"wrote the figures to {HERE}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

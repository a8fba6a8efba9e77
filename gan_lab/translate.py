"""`python -m gan_lab.translate ckpt=FILE input=FOLDER out=FOLDER [direction=...] [options]`:
run an image-conditional checkpoint over a folder of inputs, no dataset needed.

One command serves every scheme that has ``translate(images, direction, **options)``: pix2pix
and CycleGAN (a direction), and the schemes whose inputs carry more: target attributes, a mask,
a scale to inject at. A scheme names the options of conf/translate.yaml it takes in
``translate_options``; giving it another is one clear line. Inputs are read one at a time so each
keeps its own size (models pad the sides their generator cannot take and crop back), by the
scheme's ``translation_input(image, direction, size)``: an image with the channels its
generator reads, or for label-map schemes class indices.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import Tensor

from gan_lab.cli import command, model_options
from gan_lab.config import ConfigError

__all__ = ["TRANSLATE_OPTIONS", "main", "translation_options"]

# The keys of conf/translate.yaml that a scheme may take (its ``translate_options``).
TRANSLATE_OPTIONS = ("attributes", "mask", "scale")


def read_mask(path: str) -> Tensor:
    """A mask image as (1, 1, H, W) in {0, 1}: 1 where it is brighter than mid-grey (the hole)."""
    from PIL import Image

    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"mask={path!r}: no such file; give an image whose white pixels mark "
                          "the region to fill, or null for the model's own hole")
    with Image.open(file) as image:
        grey = torch.from_numpy(np.asarray(image.convert("L")).copy()).float()
    return (grey > 127.5).float()[None, None]


def translation_options(module: Any, cfg: DictConfig) -> dict[str, Any]:
    """The options of ``cfg`` the module takes (its ``translate_options``); a mask given as a
    file is read into a tensor."""
    options = model_options(module, cfg, TRANSLATE_OPTIONS, "translate_options")
    if options.get("mask") is not None:
        options["mask"] = read_mask(str(options["mask"]))
    return options


@command("translate")
def main(cfg: DictConfig) -> str:
    from PIL import Image
    from torchvision.utils import save_image

    from gan_lab.data.image_folder import find_image_files
    from gan_lab.loading import load_module
    from gan_lab.sample import resolve_device

    source = Path(str(cfg.input)).expanduser()
    if not source.is_dir():
        raise ConfigError(f"input={cfg.input!r}: not a folder; point input at a folder of images")
    files = find_image_files(source, list(cfg.extensions))
    if not files:
        raise ConfigError(f"input={cfg.input!r}: no images there (searched recursively for "
                          f"{', '.join(cfg.extensions)})")
    size = cfg.size
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ConfigError(f"size={size!r}: must be null (keep each image's size) or an integer >= 1")
    module, _ = load_module(cfg.ckpt, resolve_device(cfg.device))
    if not module.speaks("translate"):
        raise ConfigError(f"ckpt={cfg.ckpt}: a {type(module).__name__} generates images, it does "
                          "not translate them; use python -m gan_lab.sample")
    directions = tuple(getattr(module, "directions", ()))
    direction = directions[0] if cfg.direction is None else cfg.direction
    if direction not in directions:
        raise ConfigError(f"direction={cfg.direction!r}: this {type(module).__name__} translates "
                          f"{', '.join(directions)}")
    options = translation_options(module, cfg)
    out = Path(str(cfg.out)).expanduser()
    for path in files:
        try:  # an input the model cannot take: one line that says which file
            with Image.open(path) as image:
                inputs = module.translation_input(image, direction, size)
            with torch.no_grad():
                translated = module.translate(inputs, direction, **options).float().cpu()
        except ValueError as error:
            raise ConfigError(f"input {path}: {error}") from error
        target = out / path.relative_to(source).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        save_image(translated, target, normalize=True, value_range=(-1, 1))
    print(f"gan_lab: translated {len(files)} images {direction} from {source} to {out} "
          f"with {cfg.ckpt} (iteration {module.iteration})")
    return str(out)


if __name__ == "__main__":
    main()

"""`python -m gan_lab.translate ckpt=FILE input=FOLDER out=FOLDER direction=AtoB`: translate a
folder of images with a pix2pix or CycleGAN checkpoint.

Images are read with PIL in the channels the generator takes (its first convolution says how
many), one at a time so that each keeps its own size; the model pads sides that its generator
cannot take (e.g. a U-Net needs multiples of 2^depth) and crops the result back.
"""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import nn

from gan_lab.cli import command
from gan_lab.config import ConfigError

__all__ = ["input_channels", "main"]


def input_channels(net: nn.Module) -> int:
    """Channels a generator takes: those of its first convolution."""
    for layer in net.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            return int(layer.in_channels)
    raise ValueError(f"{type(net).__name__} has no convolution to read its input channels from")


@command("translate")
def main(cfg: DictConfig) -> str:
    from PIL import Image
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF
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
    directions = getattr(module, "directions", ())
    if not hasattr(module, "translate"):
        raise ConfigError(f"ckpt={cfg.ckpt}: a {type(module).__name__} generates images, it does "
                          "not translate them; use python -m gan_lab.sample")
    if cfg.direction not in directions:
        raise ConfigError(f"direction={cfg.direction!r}: this {type(module).__name__} translates "
                          f"{', '.join(directions)}")
    mode = "RGB" if input_channels(module.generator[cfg.direction]) == 3 else "L"
    out = Path(str(cfg.out)).expanduser()
    for path in files:
        with Image.open(path) as image:
            pixels = TF.pil_to_tensor(image.convert(mode))
        if size is not None:
            pixels = TF.resize(pixels, size, interpolation=InterpolationMode.BILINEAR,
                               antialias=True)
        images = pixels[None].float() / 127.5 - 1.0
        with torch.no_grad():
            translated = module.translate(images, cfg.direction).float().cpu()
        target = out / path.relative_to(source).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        save_image(translated, target, normalize=True, value_range=(-1, 1))
    print(f"gan_lab: translated {len(files)} images {cfg.direction} from {source} to {out} "
          f"with {cfg.ckpt} (iteration {module.iteration})")
    return str(out)


if __name__ == "__main__":
    main()

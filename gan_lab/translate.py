"""`python -m gan_lab.translate ckpt=FILE input=FOLDER out=FOLDER [direction=...] [options.NAME=...]`:
run a conditional checkpoint over a folder of inputs, no dataset needed.

One command serves every scheme that has ``translate(inputs, direction, **options)``: pix2pix
and CycleGAN (a direction), and the schemes whose inputs carry more: target attributes, a mask,
a scale to inject at. The model's own options come as one mapping, ``options.<name>=value``,
checked against what the scheme takes (its ``translate_options``; gan_lab.cli.model_options);
an option may have a reader that turns the value given into what ``translate`` takes (the
scheme's ``translate_option_readers``: a context encoder reads its ``mask`` from an image file).

Inputs are read one file at a time, so each keeps its own size (models pad the sides their
generator cannot take and crop back), by the scheme's input reader: ``module.input_reader``, an
object with ``extensions`` (the file suffixes it reads) and ``read(path, direction, size)``; by
default :class:`ImageReader`, which opens images and hands them to the scheme's
``translation_input(image, direction, size)`` (an image with the channels its generator reads,
or for label-map schemes class indices). Outputs are rendered by the kind the generator makes
(``module.sample_spec``; images by default) and written at the inputs' relative paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from omegaconf import DictConfig

from gan_lab.cli import command, model_options
from gan_lab.config import ConfigError, config_errors

__all__ = ["IMAGE_EXTENSIONS", "ImageReader", "InputReader",
           "input_reader", "main", "translate_files", "translation_options"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


class InputReader(Protocol):
    """How a scheme reads the files it translates (``module.input_reader``)."""

    extensions: Sequence[str]  # the file suffixes it reads, e.g. (".png", ".jpg")

    def read(self, path: Path, direction: str, size: int | None) -> Any:
        """The file as the input ``module.translate`` takes for ``direction``; ValueError (one
        line) for a file the scheme cannot take."""
        ...


class ImageReader:
    """The default reader: an image file (Pillow) through ``module.translation_input(image,
    direction, size)``."""

    extensions: Sequence[str] = IMAGE_EXTENSIONS

    def __init__(self, module: Any) -> None:
        self.module = module

    def read(self, path: Path, direction: str, size: int | None) -> Any:
        from PIL import Image

        try:
            with Image.open(path) as image:
                return self.module.translation_input(image, direction, size)
        except OSError as error:  # not an image Pillow can read
            raise ValueError(f"not a readable image ({error})") from error


def input_reader(module: Any) -> InputReader:
    """The reader the module declares (``module.input_reader``), else :class:`ImageReader`."""
    reader = getattr(module, "input_reader", None)
    if reader is None:
        return ImageReader(module)
    if not callable(getattr(reader, "read", None)) or not getattr(reader, "extensions", None):
        raise ConfigError(f"a {type(module).__name__}'s input_reader has no read(path, direction, "
                          "size) or no extensions")
    return reader


def translation_options(module: Any, cfg: DictConfig) -> dict[str, Any]:
    """``cfg.options`` checked against what the module takes (gan_lab.cli.model_options), each
    value passed through the reader the module declares for it (``translate_option_readers``:
    a context encoder's mask file, gan_lab.readers.read_mask)."""
    options = model_options(module, cfg.get("options"), "translate")
    readers = dict(getattr(module, "translate_option_readers", None) or {})
    with config_errors():
        return {key: readers[key](value) if key in readers else value
                for key, value in options.items()}


@command("translate", open_mappings=("options",))
def main(cfg: DictConfig) -> str:
    from gan_lab.loading import load_module
    from gan_lab.outputs import VIDEO_FORMATS
    from gan_lab.sample import resolve_device

    source = Path(str(cfg.input)).expanduser()
    if not source.is_dir():
        raise ConfigError(f"input={cfg.input!r}: not a folder; point input at a folder of inputs")
    size = cfg.size
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ConfigError(f"size={size!r}: must be null (keep each image's size) or an integer >= 1")
    if cfg.video_format not in VIDEO_FORMATS:
        raise ConfigError(f"video_format={cfg.video_format!r}: must be one of "
                          f"{', '.join(VIDEO_FORMATS)}")
    module, _ = load_module(cfg.ckpt, resolve_device(cfg.device))
    if not module.speaks("translate"):
        raise ConfigError(f"ckpt={cfg.ckpt}: a {type(module).__name__} generates images, it does "
                          "not translate them; use python -m gan_lab.sample")
    out = Path(str(cfg.out)).expanduser()
    count, direction = translate_files(module, cfg, source, out)
    print(f"gan_lab: translated {count} inputs {direction} from {source} to {out} "
          f"with {cfg.ckpt} (iteration {module.iteration})")
    return str(out)


def translate_files(module: Any, cfg: DictConfig, source: Path, out: Path) -> tuple[int, str]:
    """Every input under ``source`` (the module's reader's extensions, or ``cfg.extensions``)
    translated by the loaded ``module`` (``cfg``: conf/translate.yaml's keys) and written at
    its relative path under ``out``; the number of inputs and the direction."""
    from gan_lab.callbacks.evaluation import to_cpu
    from gan_lab.data.samples.image_folder import find_image_files
    from gan_lab.outputs import render, write
    from gan_lab.sample import sample_spec_of
    from gan_lab.visuals import Visual

    directions = tuple(getattr(module, "directions", ()))
    direction = directions[0] if cfg.direction is None else cfg.direction
    if direction not in directions:
        raise ConfigError(f"direction={cfg.direction!r}: this {type(module).__name__} translates "
                          f"{', '.join(directions)}")
    reader = input_reader(module)
    extensions = list(cfg.extensions) if cfg.extensions else list(reader.extensions)
    files = find_image_files(source, extensions)
    if not files:
        raise ConfigError(f"input={cfg.input!r}: no inputs there (searched recursively for "
                          f"{', '.join(extensions)})")
    options = translation_options(module, cfg)
    spec = sample_spec_of(module)  # what the generator makes, and its renderer's settings
    for path in files:
        try:  # an input the model cannot take: one line that says which file
            inputs = reader.read(path, direction, cfg.size)
            with torch.no_grad():
                translated = to_cpu(module.translate(inputs, direction, **options))
            output = render(Visual(spec.kind, translated, options=dict(spec.extras)))
        except ValueError as error:
            raise ConfigError(f"input {path}: {error}") from error
        with config_errors():
            write(output, out / path.relative_to(source).with_suffix(""), cfg.video_format)
    return len(files), direction


if __name__ == "__main__":
    main()

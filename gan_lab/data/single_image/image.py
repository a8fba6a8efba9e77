"""One image as a training set: SinGAN's data (``data=single_image``).

Any image file (``data.path=FILE``), or one of the photos bundled with scikit-image
(``data.photo=NAME``, gan_lab.data.common.photos; the default when ``data.path`` is null). The image is
read once, when the data module is built (a missing or unreadable file is one line then), scaled
so that its long side is at most ``data.max_size`` (the official ``scale1 = min(max_size / long
side, 1)``, sides rounded up, bicubic with antialiasing) and scaled to ``[-1, 1]``. Every batch
is that image, ``(1, C, H, W)``: SinGAN learns from one image, and each scale of the model
resizes it to its own size.

:func:`source_size` reads only the source's size. The model config calls it (the pyramid's
scales follow from the source size, as the official ``adjust_scales2image``), so the nets are
built with the model; a trained checkpoint holds the size too and needs no image.
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from gan_lab.data.common.loader import make_loader
from gan_lab.data.common.option_checks import check_channels, check_int
from gan_lab.data.common.photos import PHOTOS, TEXTURES, load_photo
from gan_lab.data.common.sample_spec import DeclaresSample
from gan_lab.kinds import BatchKind
from gan_lab.nets.singan import fit_to_max_size, resize

__all__ = ["RepeatedImage", "SingleImageDataModule", "read_single_image", "source_size"]


def _image_file(path: str) -> Path:
    file = Path(str(path)).expanduser()
    if file.is_dir():
        raise ValueError(f"data.path={str(path)!r}: is a folder; SinGAN trains on one image "
                         "file (data.path=FILE.png/jpg/...)")
    if not file.is_file():
        raise ValueError(f"data.path={str(path)!r}: no such file; give an image file, or "
                         f"data.path=null with data.photo=NAME ({', '.join(PHOTOS)})")
    return file


def _unreadable(path: str, error: Exception) -> ValueError:
    reason = " ".join(f"{type(error).__name__}: {error}".split())[:160]
    return ValueError(f"data.path={str(path)!r}: not an image PIL can read ({reason})")


def _check_source(path: str | None, photo: str | None) -> None:
    if path is None and photo is None:
        raise ValueError("data.path and data.photo are both null: SinGAN trains on one image, "
                         "data=single_image with data.path=FILE or a bundled photo "
                         "(data.photo=rocket, chelsea, ...)")
    if path is None and photo not in PHOTOS + TEXTURES:
        raise ValueError(f"data.photo={photo!r}: not one of the photos bundled with "
                         f"scikit-image ({', '.join(PHOTOS + TEXTURES)})")


def source_size(path: str | None = None, photo: str | None = None) -> tuple[int, int] | None:
    """``(height, width)`` of the source image (``path`` if given, else the bundled ``photo``),
    read from the file's header only; None when the file is missing or unreadable (training
    reports that from the data module; a checkpoint carries its own size)."""
    from PIL import Image

    _check_source(path, photo)
    if path is None:
        height, width = load_photo(str(photo)).shape[:2]
        return int(height), int(width)
    try:
        with Image.open(_image_file(path)) as image:
            width, height = image.size
    except Exception:  # a missing file, or one PIL cannot read (OSError, ValueError, ...)
        return None
    return int(height), int(width)


def read_single_image(path: str | None = None, photo: str | None = None,
                      channels: int = 3) -> Tensor:
    """The source image as float ``(channels, H, W)`` in ``[-1, 1]`` (grey repeated to RGB, or
    RGB converted to grey, as ``channels`` asks)."""
    from PIL import Image

    _check_source(path, photo)
    if path is None:
        pixels = load_photo(str(photo))
        if channels == 1:
            pixels = np.asarray(Image.fromarray(pixels).convert("L"))[..., None]
    else:
        file = _image_file(path)
        try:
            with Image.open(file) as image:
                pixels = np.asarray(image.convert("RGB" if channels == 3 else "L"))
        except Exception as error:
            raise _unreadable(path, error) from error
        pixels = pixels if pixels.ndim == 3 else pixels[..., None]
    image = torch.from_numpy(np.array(pixels, copy=True)).permute(2, 0, 1).float()
    return image / 127.5 - 1.0


class RepeatedImage(Dataset):
    """``length`` items, each ``(image,)``: the one training image (an "epoch" is bookkeeping)."""

    def __init__(self, image: Tensor, length: int) -> None:
        self.image, self.length = image, int(length)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[Tensor]:
        if not -self.length <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} items")
        return (self.image,)


class SingleImageDataModule(DeclaresSample, pl.LightningDataModule):
    """One image, every batch: ``(image,)`` with image ``(1, C, H, W)`` in ``[-1, 1]``.

    Args:
        path: an image file; null for the bundled ``photo``.
        photo: a scikit-image photo (gan_lab.data.common.photos), used when ``path`` is null.
        max_size: the long side is scaled down to at most this (the official 250).
        channels: 3 (RGB) or 1 (grey).
        epoch_length: batches per loader epoch (bookkeeping only: each is the same image).
        seed: the loader's seed (its order does not matter here; kept for exact resume).
        num_workers: loader workers.

    Attributes: ``image`` (C, H, W), ``image_shape`` (H, W), ``source_size`` (the file's
    (H, W)), ``sample_shape``, ``channels``; ``batch_kind`` "single image" for the schemes'
    ``check_data``.
    """

    batch_kind = BatchKind.SINGLE_IMAGE

    def __init__(self, path: str | None = None, photo: str | None = "rocket", max_size: int = 250,
                 channels: int = 3, epoch_length: int = 1000, seed: int = 0,
                 num_workers: int = 0) -> None:
        super().__init__()
        self.max_size = check_int("max_size", max_size, 1)
        self.channels = check_channels("channels", channels)
        self.epoch_length = check_int("epoch_length", epoch_length, 1)
        self.num_workers = check_int("num_workers", num_workers, 0)
        self.seed, self.path, self.photo = int(seed), path, photo
        source = read_single_image(path, photo, self.channels)
        self.source_size = (int(source.shape[1]), int(source.shape[2]))
        self.image_shape = fit_to_max_size(*self.source_size, self.max_size)
        self.image = resize(source[None], self.image_shape)[0].clamp(-1.0, 1.0).contiguous()
        self.sample_shape = (self.channels, *self.image_shape)
        self.batch_size = 1
        self.train_set = RepeatedImage(self.image, self.epoch_length)

    @property
    def name(self) -> str:
        """What the image is, for messages and tables: the file name or the photo's name."""
        return Path(str(self.path)).name if self.path is not None else str(self.photo)

    def train_dataloader(self):
        return make_loader(self.train_set, batch_size=1, shuffle=True, seed=self.seed,
                           drop_last=True, num_workers=self.num_workers)

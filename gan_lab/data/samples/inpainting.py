"""Images for inpainting (context encoders): training crops and held-out evaluation crops.

Preprocessing follows the official context-encoder loader (pathak22/context-encoder,
data/donkey_folder.lua): each image's shorter side is resized to ``load_size`` (350 for 128
crops: "loadSize=350 fineSize=128" in its README; 0 keeps the size), a random ``image_size``
crop is taken and flipped horizontally with probability 0.5, values scaled to [-1, 1].
Held-out images get the deterministic counterpart: resized to ``eval_load_size`` and
centre-cropped. ``load_size`` null means image_size * 350 / 128 (the official ratio at any size:
175 for 64 crops). Masks are drawn by the model (model.mask), not here.

Three sources:

- :class:`InpaintingFolderDataModule` (``data=inpainting_folder``): any folder of images
  (searched recursively, as gan_lab.data.samples.image_folder reads them; unreadable files skipped with a
  warning), held-out images from ``eval_path`` or a fixed share of the files.
- :class:`ParisStreetViewDataModule` (``data=paris_streetview``): the Paris StreetView layout the
  paper's inpainting results use, ``<root>/paris_train_original/`` (14,900 training images) and
  ``<root>/paris_eval_gt/`` (100 held-out images). The set is not downloadable: its authors
  send it on request; a missing folder is one line naming the layout.
- :class:`PhotoCropsDataModule` (``data=photos_inpainting``, the embedded default): crops of the
  photos bundled with scikit-image (gan_lab.data.common.photos). Each photo, resized to ``load_size``,
  is split along its longer side: the last ``eval_share`` of it (at least one crop wide) gives
  the held-out crops, the rest the training crops, so no held-out pixel is ever trained on; the
  held-out crops are a fixed grid over that band (half a crop apart).

Training crops and flips are drawn from a generator per item keyed by the loader's epoch indices
(gan_lab.data.translation.sampling), never from the global RNG: reproducible, the same after a
resume, different every epoch. ``eval_set()`` gives the held-out ``(image,)`` items (its
argument is ignored: inpainting has one domain, and callers of the translation protocol ask by a
direction's letters).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset, TensorDataset
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from gan_lab.data.common.option_checks import check_bool, check_channels, check_int
from gan_lab.data.common.photos import PHOTOS, load_photo
from gan_lab.data.common.train_set import TrainSetDataModule
from gan_lab.data.samples.image_folder import (
    IMAGE_EXTENSIONS,
    decode_image,
    find_image_files,
    first_decodable,
)
from gan_lab.data.translation.sampling import (
    item_generator,
    paired_epoch_indices,
    split_paired_index,
)

__all__ = ["InpaintingDataModule", "InpaintingFolderDataModule", "ParisStreetViewDataModule",
           "PhotoCropsDataModule", "default_load_size"]

# donkey_folder.lua with the README's training command: shorter side 350, crops of 128.
OFFICIAL_LOAD, OFFICIAL_CROP = 350, 128
HOLDOUT_SEED = 2016  # fixed: which files a folder holds out never depends on data.seed
PARIS_TRAIN, PARIS_EVAL = "paris_train_original", "paris_eval_gt"


def default_load_size(image_size: int) -> int:
    """The official 350 / 128 ratio at ``image_size``: 350 for 128 crops, 175 for 64."""
    return round(image_size * OFFICIAL_LOAD / OFFICIAL_CROP)


def resize_shorter(pixels: Tensor, side: int, at_least: int) -> Tensor:
    """(C, H, W) with its shorter side resized to ``side`` (0: kept), but never below
    ``at_least`` (a crop of that size must fit); bilinear, antialiased."""
    target = max(side, at_least) if side else at_least
    if side == 0 and min(pixels.shape[-2:]) >= at_least:
        return pixels
    return TF.resize(pixels, target, interpolation=InterpolationMode.BILINEAR, antialias=True)


def crop(pixels: Tensor, size: int, generator: torch.Generator | None, flip: bool) -> Tensor:
    """A ``size`` crop: random (and flipped with p = 0.5 when ``flip``) from ``generator``,
    else the centre crop."""
    height, width = pixels.shape[-2:]
    if generator is None:
        return TF.center_crop(pixels, [size, size])
    y = int(torch.randint(0, height - size + 1, (), generator=generator))
    x = int(torch.randint(0, width - size + 1, (), generator=generator))
    out = pixels[..., y:y + size, x:x + size]
    if flip and bool(torch.rand((), generator=generator) < 0.5):
        out = out.flip(-1)
    return out


def _to_unit_range(pixels: Tensor) -> Tensor:
    return (pixels.to(torch.float32) / 127.5 - 1.0).clamp_(-1.0, 1.0).contiguous()


class FileCrops(Dataset):
    """``(image,)`` crops of image files: random crops and flips for training (``train``), centre
    crops otherwise; a file that cannot be decoded is warned about once and replaced by the next
    decodable one (gan_lab.data.samples.image_folder)."""

    def __init__(self, files: Sequence[Path], image_size: int, load_size: int, channels: int,
                 train: bool, flip: bool, seed: int, root: Path) -> None:
        self.files = list(files)
        self.image_size, self.load_size = image_size, load_size
        self.mode = "RGB" if channels == 3 else "L"
        self.train, self.flip, self.seed, self.root = train, flip, seed, root
        self.bad_files: set[int] = set()

    def __len__(self) -> int:
        return len(self.files)

    def epoch_indices(self, generator: torch.Generator) -> list:
        return paired_epoch_indices(len(self), generator, self.train)

    def __getitem__(self, index) -> tuple[Tensor]:
        k, key = split_paired_index(index, len(self))
        found = first_decodable(k, len(self), self.bad_files, lambda i: (self.files[i],),
                                lambda path: decode_image(path, self.mode))
        if found is None:
            raise RuntimeError(f"none of the {len(self)} image files under {self.root} could be "
                               "decoded")
        _, (image,) = found
        pixels = resize_shorter(TF.pil_to_tensor(image), self.load_size, self.image_size)
        generator = item_generator(self.seed, *key) if self.train else None
        return (_to_unit_range(crop(pixels, self.image_size, generator, self.flip)),)


class InpaintingDataModule(TrainSetDataModule):
    """The contract of inpainting data: ``(images,)`` training batches (float32 (B, C, S, S) in
    [-1, 1], ``batch_kind`` "samples"), ``sample_shape``, ``image_size`` and :meth:`eval_set`.

    Subclasses set ``train_set`` and ``_eval`` in their constructors.
    """

    def __init__(self, image_size: int, channels: int, batch_size: int, seed: int,
                 num_workers: int) -> None:
        check_int("image_size", image_size, 16)
        channels = check_channels("channels", channels)
        check_int("batch_size", batch_size, 1)
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        self.image_size, self.channels = image_size, channels
        self.sample_shape = (channels, image_size, image_size)
        self._eval: Dataset | None = None

    def eval_set(self, domain: str | None = None) -> Dataset:
        """The held-out ``(image,)`` items, in a fixed order (``domain`` is ignored)."""
        return self._eval

    def _check_batch_size(self) -> None:
        if len(self.train_set) < self.batch_size:
            raise ValueError(f"data.batch_size={self.batch_size} is more than the "
                             f"{len(self.train_set)} training images; lower data.batch_size")


def _load_sizes(image_size: int, load_size: int | None,
                eval_load_size: int | None) -> tuple[int, int]:
    load = default_load_size(image_size) if load_size is None else load_size
    if isinstance(load, bool) or not isinstance(load, int) or (load and load < image_size):
        raise ValueError(f"data.load_size={load_size!r}: must be null (image_size * 350 / 128), "
                         f"0 (keep each image's size) or an integer >= data.image_size="
                         f"{image_size}")
    evaluation = load if eval_load_size is None else eval_load_size
    if isinstance(evaluation, bool) or not isinstance(evaluation, int) or (
            evaluation and evaluation < image_size):
        raise ValueError(f"data.eval_load_size={eval_load_size!r}: must be null (as load_size), 0 "
                         f"or an integer >= data.image_size={image_size}")
    return load, evaluation


def _image_files(key: str, path: str | Path, extensions: Sequence[str], mode: str) -> list[Path]:
    """The image files under ``path`` (one ValueError line naming ``data.<key>`` otherwise),
    after checking that one of the first few decodes."""
    folder = Path(os.path.expanduser(str(path))).absolute()
    if not folder.is_dir():
        raise ValueError(f"data.{key}={str(path)!r}: no such folder; point it at a folder of "
                         "images (searched recursively)")
    files = find_image_files(folder, extensions)
    if not files:
        raise ValueError(f"data.{key}={str(path)!r}: no image files there (searched recursively "
                         f"for {', '.join(extensions)})")
    errors = []
    for candidate in files[:: max(1, len(files) // 8)][:8]:
        try:
            decode_image(candidate, mode)
            return files
        except Exception as error:  # PIL raises OSError, ValueError, SyntaxError, ...
            errors.append(f"{candidate.name}: {type(error).__name__}")
    raise ValueError(f"data.{key}={str(path)!r}: none of the files tried is a readable image "
                     f"({errors[0]})")


class InpaintingFolderDataModule(InpaintingDataModule):
    """``data=inpainting_folder``: any folder of images (see the module docstring).

    Args:
        path: the training images (searched recursively).
        eval_path: the held-out images; null: a fixed ``holdout`` share of ``path``'s files
            (chosen with a fixed seed, the same for every data.seed) is held out instead.
        holdout: the share held out when ``eval_path`` is null, in (0, 1).
        image_size: side of the square crops (the paper: 128).
        load_size: training images' shorter side before cropping (null: image_size * 350 / 128).
        eval_load_size: held-out images' shorter side before the centre crop (null: load_size).
        channels: 3 (RGB) or 1 (grey).
        flip: random horizontal flips of training crops (the official loader's).
        batch_size, seed, num_workers: the loader's.
        extensions: file endings that count as images.
    """

    def __init__(self, path: str, eval_path: str | None = None, holdout: float = 0.1,
                 image_size: int = 128, load_size: int | None = None,
                 eval_load_size: int | None = None, channels: int = 3, flip: bool = True,
                 batch_size: int = 64, seed: int = 0, num_workers: int = 0,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS) -> None:
        super().__init__(image_size, channels, batch_size, seed, num_workers)
        if path is None or not str(path).strip():
            raise ValueError("data.path=null: point data.path at a folder of training images")
        self.flip = check_bool("flip", flip)
        self.load_size, self.eval_load_size = _load_sizes(image_size, load_size, eval_load_size)
        mode = "RGB" if self.channels == 3 else "L"
        extensions = tuple(str(e).lower() for e in extensions)
        files = _image_files("path", path, extensions, mode)
        if eval_path is not None:
            held = _image_files("eval_path", eval_path, extensions, mode)
        else:
            if isinstance(holdout, bool) or not isinstance(holdout, int | float) \
                    or not 0 < holdout < 1:
                raise ValueError(f"data.holdout={holdout!r}: must be in (0, 1) (the share of "
                                 "data.path held out), or give data.eval_path")
            if len(files) < 2:
                raise ValueError(f"data.path={str(path)!r}: one image cannot be split into "
                                 "training and held-out images; add images or data.eval_path")
            order = torch.randperm(len(files), generator=torch.Generator().manual_seed(
                HOLDOUT_SEED)).tolist()
            count = max(1, math.floor(holdout * len(files)))
            chosen = set(order[:count])
            held = [f for i, f in enumerate(files) if i in chosen]
            files = [f for i, f in enumerate(files) if i not in chosen]
        self.path = Path(str(path))
        self.files, self.eval_files = files, held
        self.train_set = FileCrops(files, image_size, self.load_size, self.channels, True,
                                   self.flip, self.seed, self.path)
        self._eval = FileCrops(held, image_size, self.eval_load_size, self.channels, False,
                               False, self.seed, Path(str(eval_path or path)))
        self._check_batch_size()


class ParisStreetViewDataModule(InpaintingFolderDataModule):
    """``data=paris_streetview``: ``<root>/paris_train_original/`` and ``<root>/paris_eval_gt/``.

    The Paris StreetView images (Doersch et al. 2012) the context-encoder paper trains and
    evaluates its inpainting on (its Table on semantic inpainting; the official README's
    models). They are not downloadable: the authors send them on request. Training crops as
    the official loader (shorter side 350, random 128 crops, flips); the held-out images are
    resized whole to ``eval_load_size`` (null here: image_size, so the crop is the whole image,
    as the README's "test_full" command, loadSize=129).
    """

    def __init__(self, root: str, image_size: int = 128, load_size: int | None = None,
                 eval_load_size: int | None = None, channels: int = 3, flip: bool = True,
                 batch_size: int = 64, seed: int = 0, num_workers: int = 0,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS) -> None:
        base = Path(os.path.expanduser(str(root)))
        missing = [name for name in (PARIS_TRAIN, PARIS_EVAL)
                   if not (base / name).is_dir() or not find_image_files(base / name, extensions)]
        if missing:
            raise ValueError(
                f"data.root={str(root)!r}: no images in {', '.join(str(base / m) for m in missing)}"
                f"; the Paris StreetView layout is <root>/{PARIS_TRAIN}/ (14,900 training images) "
                f"and <root>/{PARIS_EVAL}/ (100 held-out images), as its authors distribute it on "
                "request (it cannot be downloaded)")
        super().__init__(str(base / PARIS_TRAIN), eval_path=str(base / PARIS_EVAL),
                         image_size=image_size, load_size=load_size,
                         eval_load_size=image_size if eval_load_size is None else eval_load_size,
                         channels=channels, flip=flip, batch_size=batch_size, seed=seed,
                         num_workers=num_workers, extensions=extensions)
        self.root = base


class PhotoBands(Dataset):
    """Random training crops from the training bands of resized photos (module docstring).

    ``length`` items an epoch; item i comes from photo i % len(bands), at a position (and flip)
    drawn from its own generator.
    """

    def __init__(self, bands: Sequence[Tensor], image_size: int, length: int, flip: bool,
                 seed: int) -> None:
        self.bands = list(bands)
        self.image_size, self.length, self.flip, self.seed = image_size, length, flip, seed

    def __len__(self) -> int:
        return self.length

    def epoch_indices(self, generator: torch.Generator) -> list:
        return paired_epoch_indices(self.length, generator, True)

    def __getitem__(self, index) -> tuple[Tensor]:
        k, key = split_paired_index(index, self.length)
        band = self.bands[k % len(self.bands)]
        return (crop(band, self.image_size, item_generator(self.seed, *key), self.flip).clone(),)


def split_photo(pixels: Tensor, image_size: int, eval_share: float) -> tuple[Tensor, Tensor]:
    """(training band, held-out band) of a (C, H, W) photo, split across its longer side: the
    held-out band is the last max(image_size, ceil(eval_share * side)) pixels of it."""
    along = -1 if pixels.shape[-1] >= pixels.shape[-2] else -2
    side = pixels.shape[along]
    held = max(image_size, math.ceil(eval_share * side))
    if side - held < image_size:
        raise ValueError(f"a photo of {pixels.shape[-2]}x{pixels.shape[-1]} (after data.load_size) "
                         f"has no room for both a training and a held-out {image_size} crop; "
                         "raise data.load_size or lower data.eval_share")
    return pixels.narrow(along, 0, side - held), pixels.narrow(along, side - held, held)


def grid_crops(band: Tensor, image_size: int) -> list[Tensor]:
    """Crops of ``band`` on a grid half a crop apart (the last flush with each edge)."""
    def starts(length: int) -> list[int]:
        step = max(1, image_size // 2)
        return sorted({*range(0, length - image_size + 1, step), length - image_size})

    return [band[:, y:y + image_size, x:x + image_size]
            for y in starts(band.shape[-2]) for x in starts(band.shape[-1])]


class PhotoCropsDataModule(InpaintingDataModule):
    """``data=photos_inpainting``: crops of the scikit-image photos (module docstring).

    Args:
        photos: names from gan_lab.data.common.photos.PHOTOS (null: all 14, colour and grey).
        image_size: side of the crops (64 for the CPU demo; the paper's 128).
        load_size: each photo's shorter side before cropping (null: image_size * 350 / 128).
        eval_share: the share of each photo's longer side held out (at least one crop wide).
        train_crops: training crops per epoch (drawn afresh every epoch).
        channels: 3 (RGB; grey photos repeat their grey) or 1 (grey).
        flip: random horizontal flips of training crops.
        batch_size, seed, num_workers: the loader's.
    """

    def __init__(self, photos: Sequence[str] | None = None, image_size: int = 64,
                 load_size: int | None = None, eval_share: float = 0.25,
                 train_crops: int = 2048, channels: int = 3, flip: bool = True,
                 batch_size: int = 64, seed: int = 0, num_workers: int = 0) -> None:
        super().__init__(image_size, channels, batch_size, seed, num_workers)
        self.flip = check_bool("flip", flip)
        self.train_crops = check_int("train_crops", train_crops, 1)
        self.load_size, _ = _load_sizes(image_size, load_size, None)
        if self.load_size == 0:
            raise ValueError("data.load_size=0: the photos are of different sizes; give a "
                             "shorter side (null: image_size * 350 / 128)")
        if isinstance(eval_share, bool) or not isinstance(eval_share, int | float) \
                or not 0 < eval_share < 1:
            raise ValueError(f"data.eval_share={eval_share!r}: must be in (0, 1)")
        names = list(PHOTOS if photos is None else photos)
        unknown = [name for name in names if name not in PHOTOS]
        if unknown or not names:
            raise ValueError(f"data.photos={names!r}: name photos among {', '.join(PHOTOS)}")
        self.photos = names
        train_bands, held = [], []
        for name in names:
            pixels = torch.from_numpy(load_photo(name)).permute(2, 0, 1).contiguous()
            if self.channels == 1:
                pixels = TF.rgb_to_grayscale(pixels, num_output_channels=1)
            pixels = _to_unit_range(resize_shorter(pixels, self.load_size, image_size))
            train, evaluation = split_photo(pixels, image_size, float(eval_share))
            train_bands.append(train.contiguous())
            held += grid_crops(evaluation, image_size)
        self.train_set = PhotoBands(train_bands, image_size, self.train_crops, self.flip,
                                    self.seed)
        self._eval = TensorDataset(torch.stack(held).contiguous())
        self._check_batch_size()


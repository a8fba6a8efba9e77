"""Super-resolution data: HR images, and LR images made from them by bicubic downscaling.

A training batch is ``(lr, hr)``: ``hr`` (B, 3, S, S) random ``crop_size`` crops of HR images
(Ledig et al. 2017, sec. 3.2: 16 random 96x96 HR sub-images), ``lr`` (B, 3, S/s, S/s) the same
crops downscaled by ``scale`` s. Evaluation pairs are whole images, cropped to a multiple of the
scale (the convention's "modcrop": the right and bottom remainder), one pair at a time since their
sizes differ. Images are float32 in [-1, 1]. The LR images are made as the benchmarks make them:
bicubic downscaling of the 8-bit HR image (PIL's bicubic filter, which widens its kernel by the
scale when it shrinks, i.e. antialiases like MATLAB's ``imresize``), rounded to 8 bits.

Sources (:class:`HRImages`): the photos bundled with scikit-image (the embedded default,
:class:`PhotosSRDataModule`), or folders of HR images (:class:`SRFolderDataModule`): DIV2K
(``DIV2K_train_HR/``, ``DIV2K_valid_HR/``; downloaded when online, :class:`DIV2KDataModule`)
and the benchmark sets Set5 / Set14 / BSD100 (a folder of HR images each). Folders are searched
recursively; where a folder names some files ``*_HR.*`` (the SelfExSR packaging of the
benchmarks, ``image_SRF_4/img_001_SRF_4_HR.png`` beside ``*_LR.*`` and other methods' results),
only those are read.

Randomness: as :mod:`gan_lab.data.translation.base`, each epoch's indices ``(k, nonce)`` come from the
sampler's ``(seed, epoch)`` generator and each crop (and flip) from a generator seeded by
``(seed, k, nonce)``: reproducible, identical after a resume, independent of the global RNG.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from gan_lab.data.common.option_checks import check_bool, check_int
from gan_lab.data.common.photos import PHOTOS, TEXTURES, load_photo
from gan_lab.data.common.train_set import TrainSetDataModule
from gan_lab.data.samples.image_folder import (
    IMAGE_EXTENSIONS,
    UnreadableImageWarning,
    decode_image,
    find_image_files,
    first_decodable,
)
from gan_lab.data.samples.torchvision_sets import default_root, one_line
from gan_lab.data.translation.sampling import (
    item_generator,
    paired_epoch_indices,
    split_paired_index,
)
from gan_lab.kinds import BatchKind

__all__ = [
    "BENCHMARKS",
    "DIV2KDataModule",
    "DIV2K_URL",
    "EVAL_PHOTOS",
    "HRImages",
    "PhotosSRDataModule",
    "SRCrops",
    "SREvalPairs",
    "SRFolderDataModule",
    "SUPER_RESOLUTION",
    "SuperResolutionDataModule",
    "TRAIN_PHOTOS",
    "bicubic_downscale",
    "download_archive",
]

SUPER_RESOLUTION = BatchKind.SUPER_RESOLUTION  # the batch kind: (lr, hr) pairs
# The embedded default's split of scikit-image's photos: three everyday photos (a cat, a cup of
# coffee, a photographer) are held out for evaluation; training crops come from all the others.
EVAL_PHOTOS = ("chelsea", "coffee", "camera")
TRAIN_PHOTOS = tuple(name for name in PHOTOS + TEXTURES if name not in EVAL_PHOTOS)
DIV2K_URL = "http://data.vision.ee.ethz.ch/cvl/DIV2K/{name}.zip"
DIV2K_FOLDERS = {"train": "DIV2K_train_HR", "valid": "DIV2K_valid_HR"}
BENCHMARKS = ("Set5", "Set14", "BSD100")


# -- pixels ------------------------------------------------------------------------------------


def bicubic_downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """uint8 (H, W, 3) -> uint8 (H // scale, W // scale, 3) by PIL's (antialiased) bicubic."""
    height, width = hr.shape[0] // scale, hr.shape[1] // scale
    image = Image.fromarray(np.ascontiguousarray(hr))
    return np.asarray(image.resize((width, height), Image.Resampling.BICUBIC))


def _tensor(pixels: np.ndarray) -> Tensor:
    """uint8 (H, W, 3) -> float32 (3, H, W) in [-1, 1]."""
    return torch.from_numpy(np.array(pixels, dtype=np.uint8)).permute(2, 0, 1).float() / 127.5 - 1.0


class HRImages:
    """Named RGB uint8 HR images, their sizes known up front: held in memory (the bundled
    photos) or decoded from files when used.

    A file that fails to decode is warned about once (UnreadableImageWarning) and replaced by the
    next decodable one (gan_lab.data.samples.image_folder's rule).
    """

    def __init__(self, names: Sequence[str], sizes: Sequence[tuple[int, int]],
                 pixels: Sequence[np.ndarray] | None = None, files: Sequence[Path] = ()) -> None:
        self.names, self.sizes = list(names), [tuple(s) for s in sizes]
        self.pixels = None if pixels is None else list(pixels)
        self.files = list(files)
        self._bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def from_photos(cls, names: Sequence[str], key: str) -> HRImages:
        pixels = []
        for name in names:
            try:
                pixels.append(load_photo(name))
            except ValueError as error:
                raise ValueError(f"data.{key}: {error}") from error
        return cls(names, [p.shape[:2] for p in pixels], pixels=pixels)

    @classmethod
    def from_files(cls, files: Sequence[Path]) -> HRImages:
        """The images in ``files`` whose header PIL can read (sizes from headers only)."""
        kept, sizes = [], []
        for path in files:
            try:
                with Image.open(path) as image:
                    sizes.append((image.height, image.width))
                kept.append(path)
            except Exception as error:  # PIL raises OSError, ValueError, SyntaxError, ...
                reason = one_line(f"{type(error).__name__}: {error}", 160)
                warnings.warn(f"skipping unreadable image {path} ({reason})",
                              UnreadableImageWarning, stacklevel=2)
        return cls([p.name for p in kept], sizes, files=kept)

    def load(self, index: int) -> np.ndarray:
        if self.pixels is not None:
            return self.pixels[index]
        found = first_decodable(index, len(self.files), self._bad, lambda k: [self.files[k]],
                                lambda path: np.asarray(decode_image(path, "RGB")))
        if found is None:
            raise RuntimeError(f"none of the {len(self.files)} images in "
                               f"{self.files[0].parent} can be decoded")
        return found[1][0]

    def subset(self, keep: Sequence[int]) -> HRImages:
        return HRImages([self.names[i] for i in keep], [self.sizes[i] for i in keep],
                        None if self.pixels is None else [self.pixels[i] for i in keep],
                        [self.files[i] for i in keep] if self.files else [])


# -- data sets -----------------------------------------------------------------------------------


class SRCrops(Dataset):
    """Training items ``(lr, hr)``: a random ``crop_size`` crop of HR image ``k % N`` and its
    bicubic downscaling; ``repeats`` crops per image and epoch."""

    def __init__(self, images: HRImages, scale: int, crop_size: int, repeats: int, flip: bool,
                 seed: int) -> None:
        self.images, self.scale, self.crop_size = images, scale, crop_size
        self.repeats, self.flip, self.seed = repeats, flip, seed
        self.files = images.files  # fingerprints of file-backed sets (path, size, mtime)
        self.fingerprint_extra = (images.names, scale, crop_size, repeats, flip)

    def __len__(self) -> int:
        return len(self.images) * self.repeats

    def epoch_indices(self, generator: torch.Generator) -> list:
        return paired_epoch_indices(len(self), generator, random=True)

    def __getitem__(self, index) -> tuple[Tensor, Tensor]:
        k, key = split_paired_index(index, len(self))
        generator = item_generator(self.seed, *key)
        pixels = self.images.load(k % len(self.images))
        height, width = pixels.shape[:2]
        top, left = (int(torch.randint(0, side - self.crop_size + 1, (), generator=generator))
                     for side in (height, width))
        hr = pixels[top:top + self.crop_size, left:left + self.crop_size]
        if self.flip and bool(torch.rand((), generator=generator) < 0.5):
            hr = hr[:, ::-1]
        return _tensor(bicubic_downscale(hr, self.scale)), _tensor(hr)


class SREvalPairs(Dataset):
    """Evaluation items ``(lr, hr)``: whole images (or their centre ``crop`` x ``crop``), cropped
    to a multiple of ``scale``, and their bicubic downscaling. ``names[i]`` names item i."""

    def __init__(self, images: HRImages, scale: int, crop: int | None = None) -> None:
        self.images, self.scale, self.crop = images, scale, crop
        self.names = images.names

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        pixels = self.images.load(index)
        height, width = pixels.shape[:2]
        if self.crop is not None:
            top, left = max(0, (height - self.crop) // 2), max(0, (width - self.crop) // 2)
            pixels = pixels[top:top + self.crop, left:left + self.crop]
            height, width = pixels.shape[:2]
        hr = pixels[: height - height % self.scale, : width - width % self.scale]
        return _tensor(bicubic_downscale(hr, self.scale)), _tensor(hr)


# -- data modules ----------------------------------------------------------------------------------


class SuperResolutionDataModule(TrainSetDataModule):
    """``(lr, hr)`` training batches and whole-image evaluation pairs (:meth:`eval_pairs`).

    Subclasses find their HR images and call :meth:`_use`. ``sample_shape`` is what a
    super-resolution generator makes from a training batch, an HR crop (3, S, S); ``lr_shape``
    is its input (3, S/scale, S/scale).

    Args:
        scale: the downscaling factor s (4 in the paper).
        crop_size: side S of the HR training crops, a multiple of ``scale`` (96 in the paper).
        batch_size: crops per batch (16 in the paper).
        seed: seed of the shuffling and of the crops.
        num_workers: loader worker processes.
        repeats: crops per training image in one epoch (small sets repeat their images).
        flip: random horizontal flips of the training crops (the paper mentions none).
        eval_crop: evaluate on the centre ``eval_crop`` x ``eval_crop`` of each image (cheaper
            on a CPU); None: whole images.
    """

    batch_kind = SUPER_RESOLUTION

    def __init__(self, *, scale: int, crop_size: int, batch_size: int, seed: int,
                 num_workers: int, repeats: int, flip: bool, eval_crop: int | None) -> None:
        super().__init__(batch_size=check_int("batch_size", batch_size, 1), seed=int(seed),
                         num_workers=check_int("num_workers", num_workers, 0))
        self.scale = check_int("scale", scale, 2)
        self.crop_size = check_int("crop_size", crop_size, self.scale)
        if self.crop_size % self.scale:
            raise ValueError(f"data.crop_size={crop_size}: must be a multiple of data.scale="
                             f"{scale}, so that the LR crop is crop_size / scale pixels")
        self.repeats = check_int("repeats", repeats, 1)
        self.flip = check_bool("flip", flip)
        if eval_crop is not None:
            check_int("eval_crop", eval_crop, self.scale)
        self.eval_crop = eval_crop
        self.channels = 3
        self.sample_shape = (3, self.crop_size, self.crop_size)
        self.lr_shape = (3, self.crop_size // self.scale, self.crop_size // self.scale)
        self._eval: SREvalPairs | None = None

    def _use(self, train: HRImages, evaluation: HRImages, where: str) -> None:
        """Keep the training images a crop fits in, and the evaluation images."""
        fits = [i for i, (h, w) in enumerate(train.sizes) if min(h, w) >= self.crop_size]
        if len(fits) < len(train):
            small = [train.names[i] for i in range(len(train)) if i not in set(fits)]
            warnings.warn(f"{where}: skipping {len(small)} training images smaller than "
                          f"data.crop_size={self.crop_size} (e.g. {small[0]})", stacklevel=3)
        if not fits:
            raise ValueError(f"data.crop_size={self.crop_size}: no training image of {where} is "
                             "that large; lower data.crop_size")
        tiny = [evaluation.names[i] for i, (h, w) in enumerate(evaluation.sizes)
                if min(h, w) < 2 * self.scale]
        if tiny:
            raise ValueError(f"{where}: evaluation image {tiny[0]} is smaller than 2 x data.scale "
                             f"= {2 * self.scale} pixels; it has no LR image to speak of")
        self.train_set = SRCrops(train.subset(fits), self.scale, self.crop_size, self.repeats,
                                 self.flip, self.seed)
        self.eval_images = evaluation
        if self.batch_size > len(self.train_set):
            raise ValueError(f"data.batch_size={self.batch_size} is more than the "
                             f"{len(self.train_set)} crops of one epoch of {where}; lower "
                             "data.batch_size or raise data.repeats")

    def setup(self, stage: str | None = None) -> None:
        """Nothing to do: the sets are built (from names and sizes only) in the constructor."""

    def eval_pairs(self) -> SREvalPairs:
        """The evaluation pairs ``(lr, hr)``, whole images of different sizes."""
        if self._eval is None:
            self._eval = SREvalPairs(self.eval_images, self.scale, self.eval_crop)
        return self._eval

    def describe(self) -> str:
        return type(self).__name__


class PhotosSRDataModule(SuperResolutionDataModule):
    """``data=photos_sr``: scikit-image's bundled photos and textures, no download.

    Training crops come from ``train_photos`` (by default all bundled photos and textures but
    the evaluation ones: astronaut, rocket, hubble_deep_field, immunohistochemistry, retina,
    moon, coins, clock, page, text, cell, brick, grass, gravel); evaluation is on the whole
    ``eval_photos`` (chelsea 300x451, coffee 400x600, camera 512x512). Arguments as for
    :class:`SuperResolutionDataModule`.
    """

    def __init__(self, scale: int = 4, crop_size: int = 96, batch_size: int = 16, seed: int = 0,
                 num_workers: int = 0, repeats: int = 64, flip: bool = False,
                 eval_crop: int | None = None, train_photos: Sequence[str] = TRAIN_PHOTOS,
                 eval_photos: Sequence[str] = EVAL_PHOTOS) -> None:
        super().__init__(scale=scale, crop_size=crop_size, batch_size=batch_size, seed=seed,
                         num_workers=num_workers, repeats=repeats, flip=flip, eval_crop=eval_crop)
        train_photos, eval_photos = list(train_photos), list(eval_photos)
        if not train_photos or not eval_photos:
            raise ValueError("data.train_photos and data.eval_photos must each name a photo")
        shared = sorted(set(train_photos) & set(eval_photos))
        if shared:
            raise ValueError(f"data.eval_photos: {shared[0]} is also a training photo; evaluate "
                             "on photos the model has not seen")
        self._use(HRImages.from_photos(train_photos, "train_photos"),
                  HRImages.from_photos(eval_photos, "eval_photos"), "the bundled photos")

    def describe(self) -> str:
        return "the scikit-image photos"


def _scan(path: str, key: str, extensions: Sequence[str], hint: str) -> list[Path]:
    """The HR image files under ``path`` (only ``*_HR.*`` where some are so named)."""
    folder = Path(os.path.expanduser(str(path)))
    if not folder.is_dir():
        raise ValueError(f"data.{key}={str(path)!r}: no such folder; {hint}")
    files = find_image_files(folder, extensions)
    marked = [f for f in files if f.stem.upper().endswith("_HR")]
    files = marked or files
    if not files:
        raise ValueError(f"data.{key}={str(path)!r}: no images there (searched recursively for "
                         f"{', '.join(extensions)}); {hint}")
    return files


class SRFolderDataModule(SuperResolutionDataModule):
    """``data=sr_folder``: HR images in ``train_path`` (random crops) and ``eval_path`` (whole
    images), each a folder searched recursively. Arguments as for
    :class:`SuperResolutionDataModule`, plus the image ``extensions`` to read."""

    def __init__(self, train_path: str, eval_path: str, scale: int = 4, crop_size: int = 96,
                 batch_size: int = 16, seed: int = 0, num_workers: int = 0, repeats: int = 1,
                 flip: bool = False, eval_crop: int | None = None,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS) -> None:
        super().__init__(scale=scale, crop_size=crop_size, batch_size=batch_size, seed=seed,
                         num_workers=num_workers, repeats=repeats, flip=flip, eval_crop=eval_crop)
        self.extensions = tuple(extensions)
        hint = "point it at a folder of HR images"
        self.train_path, self.eval_path = str(train_path), str(eval_path)
        train = HRImages.from_files(_scan(train_path, "train_path", self.extensions, hint))
        evaluation = HRImages.from_files(_scan(eval_path, "eval_path", self.extensions, hint))
        self._use(train, evaluation, f"data.train_path={self.train_path!r}")

    def describe(self) -> str:
        return f"HR images in {self.train_path}"


def download_archive(url: str, root: Path) -> None:
    """Download the zip at ``url`` into ``root`` and extract it there (then delete it)."""
    from torchvision.datasets.utils import download_and_extract_archive

    root.mkdir(parents=True, exist_ok=True)
    download_and_extract_archive(url, download_root=str(root), remove_finished=True)


class DIV2KDataModule(SRFolderDataModule):
    """``data=div2k`` (and ``set5``, ``set14``, ``bsd100``): DIV2K's 800 training images, and
    for evaluation DIV2K's 100 validation images or a benchmark set.

    Agustsson & Timofte, "NTIRE 2017 Challenge on Single Image Super-Resolution: Dataset and
    Study": ``<root>/DIV2K/DIV2K_train_HR/0001.png ...`` and ``DIV2K_valid_HR/``, as the
    official zips ``DIV2K_train_HR.zip`` / ``DIV2K_valid_HR.zip`` extract. A missing folder is
    downloaded from the official site when ``download`` is true; when that fails (offline) one
    line names the zip, its URL and where to extract it. The benchmarks are not downloaded (they
    have no official archive): ``eval_set=Set5`` reads ``<root>/Set5`` (any folder of its HR
    images), and a missing folder is one line saying where to put it.

    Args:
        root: the folder holding ``DIV2K/`` and the benchmark folders; None:
            ``$XDG_CACHE_HOME/gan_lab/datasets`` (by default ``~/.cache/gan_lab/datasets``).
        download: download a missing DIV2K folder.
        train_path: train on this folder of HR images instead of DIV2K's (e.g. an ImageNet
            subset, as the paper's 350k images).
        eval_set: ``valid`` (DIV2K's validation images), ``Set5``, ``Set14`` or ``BSD100``.
        eval_path: evaluate on this folder instead of ``eval_set``.
        The rest as for :class:`SRFolderDataModule`.
    """

    def __init__(self, root: str | None = None, download: bool = True,
                 train_path: str | None = None, eval_set: str = "valid",
                 eval_path: str | None = None, scale: int = 4, crop_size: int = 96,
                 batch_size: int = 16, seed: int = 0, num_workers: int = 0, repeats: int = 1,
                 flip: bool = False, eval_crop: int | None = None,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS) -> None:
        check_bool("download", download)
        if eval_set not in ("valid", *BENCHMARKS):
            raise ValueError(f"data.eval_set={eval_set!r}: must be valid (DIV2K's validation "
                             f"images) or one of {', '.join(BENCHMARKS)}")
        base = default_root("datasets") if root in (None, "") else Path(str(root))
        base = Path(os.path.expanduser(str(base))).absolute()
        if train_path in (None, ""):
            train_path = str(self._div2k(base, "train", download))
        if eval_path in (None, ""):
            if eval_set == "valid":
                eval_path = str(self._div2k(base, "valid", download))
            else:
                eval_path = str(base / eval_set)
                if not Path(eval_path).is_dir():
                    raise ValueError(
                        f"data.eval_set={eval_set}: no folder {eval_path}; put the {eval_set} HR "
                        "images there (any folder of them; in the SelfExSR package's "
                        "image_SRF_<scale>/ folders the *_HR files are read), or set "
                        "data.eval_path=FOLDER")
        self.root = base
        super().__init__(train_path=train_path, eval_path=eval_path, scale=scale,
                         crop_size=crop_size, batch_size=batch_size, seed=seed,
                         num_workers=num_workers, repeats=repeats, flip=flip, eval_crop=eval_crop,
                         extensions=extensions)

    @staticmethod
    def _div2k(base: Path, split: str, download: bool) -> Path:
        name = DIV2K_FOLDERS[split]
        folder = base / "DIV2K" / name
        if folder.is_dir():
            return folder
        url = DIV2K_URL.format(name=name)
        if not download:
            why = "data.download=false, so nothing was downloaded"
        else:
            try:
                download_archive(url, base / "DIV2K")
            except Exception as error:  # urllib, HTTP, archive and disk errors alike
                why = f"downloading {url} failed ({one_line(f'{type(error).__name__}: {error}')})"
            else:
                if folder.is_dir():
                    return folder
                why = f"the archive {url} did not hold {name}/"
        raise ValueError(
            f"data: no DIV2K {split} images in {folder}; {why}; download {name}.zip from {url} "
            f"and extract it into {base / 'DIV2K'}, or set data.root=... (the folder holding "
            "DIV2K/) or data.train_path / data.eval_path to folders of HR images")

    def describe(self) -> str:
        return f"DIV2K in {self.root}"

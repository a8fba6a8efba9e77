"""``data=celeba``: CelebA's aligned faces with chosen binary attributes, as StarGAN reads them.

The layout (the one CelebA ships and torchvision's ``CelebA`` downloads into ``<root>/celeba``)::

    <root>/img_align_celeba/000001.jpg ...   (202,599 aligned 178x218 JPEGs)
    <root>/list_attr_celeba.txt

``list_attr_celeba.txt``: the first line is the number of images, the second the 40 attribute
names, then one line per image: the file name and 40 values, 1 (present) or -1 (absent). Read as
the official code (yunjey/stargan, data_loader.py): the chosen ``attributes`` become a {0, 1}
vector (1 where the file says 1); the image lines are shuffled with Python's ``random`` seeded
1234 and the first ``num_test`` (the official ``(i+1) < 2000``: 1,999) are the test set, the rest
the training set. Preprocessing as the official ``get_loader``: a random horizontal flip (training
only), a centre crop of ``crop_size`` (178) and a resize to ``image_size`` (128), pixels scaled to
[-1, 1]. Flips are drawn per item from a generator keyed by the loader's epoch indices, as the
translation sets do (gan_lab.data.translation.base), so a resumed run sees the same images.

``<root>`` is ``data.root``, or ``~/.cache/gan_lab/celeba``; both it and its ``celeba/`` subfolder
are searched. When the files are not there and ``data.download`` is true, torchvision's CelebA
downloads them (from Google Drive, through gdown); when that fails, one line names the files and
where to put them.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from gan_lab.data.attributes.base import AttributeDataModule, select_attributes
from gan_lab.data.common.option_checks import check_bool, check_int
from gan_lab.data.samples.image_folder import decode_image, first_decodable
from gan_lab.data.samples.torchvision_sets import default_root, one_line
from gan_lab.data.translation.sampling import (
    item_generator,
    paired_epoch_indices,
    split_paired_index,
)

__all__ = ["CELEBA_ATTRIBUTES", "CelebADataModule", "CelebAImages", "celeba_split",
           "read_attribute_file"]

# The 40 attributes of list_attr_celeba.txt, in the file's order.
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup",
    "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard",
    "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns",
    "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)
STARGAN_ATTRIBUTES = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
IMAGE_FOLDER, ATTRIBUTE_FILE = "img_align_celeba", "list_attr_celeba.txt"
SPLIT_SEED = 1234  # the official data_loader's random.seed(1234)
SOURCE = ("from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html: Img/img_align_celeba.zip "
          "unzipped and Anno/list_attr_celeba.txt")


def read_attribute_file(path: Path) -> tuple[list[str], list[str], torch.Tensor]:
    """(attribute names, image file names, values (N, K) int8 in {-1, 1}) of a CelebA attribute
    file; one ValueError line naming the file and line for a malformed one."""
    lines = [line.rstrip() for line in path.read_text(errors="replace").splitlines()]
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise ValueError(f"{path}: not a CelebA attribute file (its first line must be the number "
                         "of images, its second the attribute names)")
    names = lines[1].split()
    files, rows = [], []
    for number, line in enumerate(lines[2:], start=3):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != len(names) + 1 or any(v not in ("1", "-1") for v in parts[1:]):
            raise ValueError(f"{path}, line {number}: expected a file name and {len(names)} "
                             f"values of 1 or -1, got {one_line(line, 80)!r}")
        files.append(parts[0])
        rows.append([int(v) for v in parts[1:]])
    if len(files) != int(lines[0]):
        raise ValueError(f"{path}: its first line says {int(lines[0])} images but it lists "
                         f"{len(files)}")
    values = torch.tensor(rows, dtype=torch.int8).reshape(len(files), len(names))
    return names, files, values


def celeba_split(count: int, num_test: int) -> tuple[list[int], list[int]]:
    """(training, test) line indices: the official shuffle of the image lines (Python's
    ``random`` seeded 1234), the first ``num_test`` for testing."""
    order = list(range(count))
    random.Random(SPLIT_SEED).shuffle(order)  # the same permutation as random.seed(1234); shuffle
    return order[num_test:], order[:num_test]


class CelebAImages(Dataset):
    """``(image, attributes)`` items of CelebA files: optional flip, centre crop, resize.

    ``files`` and ``fingerprint_extra`` make it fingerprintable for the evaluation caches.
    Unreadable files are skipped (warned about once by name) for the next decodable item, whose
    attributes come with it.
    """

    def __init__(self, files: Sequence[Path], attributes: torch.Tensor, names: Sequence[str],
                 crop_size: int, image_size: int, flip: bool, seed: int) -> None:
        self.files = list(files)
        self.attributes = attributes
        self.crop_size, self.image_size = crop_size, image_size
        self.flip, self.seed = flip, seed
        digest = hashlib.blake2b(attributes.numpy().tobytes(), digest_size=8).hexdigest()
        self.fingerprint_extra = (tuple(names), crop_size, image_size, flip, digest)
        self._bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.files)

    def epoch_indices(self, generator: torch.Generator) -> list:
        return paired_epoch_indices(len(self), generator, self.flip)

    def __getitem__(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        k, key = split_paired_index(index, len(self))
        found = first_decodable(k % len(self), len(self), self._bad, lambda i: [self.files[i]],
                                lambda path: decode_image(path, "RGB"))
        if found is None:
            raise ValueError(f"none of the {len(self)} CelebA images decodes (e.g. {self.files[0]})")
        k, (image,) = found
        pixels = TF.center_crop(TF.pil_to_tensor(image), [self.crop_size, self.crop_size])
        pixels = TF.resize(pixels, [self.image_size, self.image_size],
                           interpolation=InterpolationMode.BILINEAR, antialias=True)
        if self.flip and bool(torch.rand((), generator=item_generator(self.seed, *key)) < 0.5):
            pixels = pixels.flip(-1)
        return pixels.float() / 127.5 - 1.0, self.attributes[k].clone()


class CelebADataModule(AttributeDataModule):
    """CelebA with the chosen attributes; see the module docstring.

    Args:
        root: the folder with ``img_align_celeba/`` and ``list_attr_celeba.txt`` (or with a
            ``celeba/`` folder holding them); None: ``~/.cache/gan_lab/celeba``.
        attributes: the attribute names to condition on (StarGAN's default: Black_Hair,
            Blond_Hair, Brown_Hair, Male, Young).
        image_size: side of the images after the crop (128).
        crop_size: side of the centre crop taken first (178).
        batch_size: images per training batch (16).
        seed: seed of the shuffling and the flips.
        num_workers: loader worker processes.
        flip: random horizontal flips of training images (the official code's).
        num_test: images of the shuffled list held out as the test set (1,999 as the official
            code's ``(i+1) < 2000``).
        download: when the files are not found, download them with torchvision.
    """

    def __init__(self, root: str | None = None, attributes: Sequence[str] = STARGAN_ATTRIBUTES,
                 image_size: int = 128, crop_size: int = 178, batch_size: int = 16,
                 seed: int = 0, num_workers: int = 0, flip: bool = True, num_test: int = 1999,
                 download: bool = True) -> None:
        check_int("crop_size", crop_size, 1)
        check_int("num_test", num_test, 1)
        check_bool("flip", flip)
        check_bool("download", download)
        self.root = Path(str(root)).expanduser().absolute() if root not in (None, "") else None
        folder = self._locate(download, attributes)
        all_names, file_names, values = read_attribute_file(folder / ATTRIBUTE_FILE)
        names = select_attributes(attributes, all_names, f"{folder / ATTRIBUTE_FILE}")
        super().__init__(attribute_names=names, image_size=image_size, channels=3,
                         batch_size=batch_size, seed=seed, num_workers=num_workers)
        if num_test >= len(file_names):
            raise ValueError(f"data.num_test={num_test}: {folder / ATTRIBUTE_FILE} lists only "
                             f"{len(file_names)} images; hold out fewer")
        chosen = (values[:, [all_names.index(n) for n in names]] == 1).float()
        files = [folder / IMAGE_FOLDER / name for name in file_names]
        self._check_files(folder, files)
        train, test = celeba_split(len(files), num_test)
        self.folder, self.crop_size, self.flip = folder, crop_size, flip

        def images(indices: list[int], flips: bool) -> CelebAImages:
            return CelebAImages([files[i] for i in indices], chosen[indices], names, crop_size,
                                self.image_size, flips, self.seed)

        self.train_set, self.test_set = images(train, flip), images(test, False)
        self._check_batch_size()

    def describe(self) -> str:
        return f"CelebA in {self.folder}"

    # -- finding the files -------------------------------------------------------------------
    def _candidates(self) -> list[Path]:
        base = self.root if self.root is not None else default_root("celeba")
        return [base, base / "celeba"]

    def _find(self) -> Path | None:
        for folder in self._candidates():
            if (folder / ATTRIBUTE_FILE).is_file() and (folder / IMAGE_FOLDER).is_dir():
                return folder
        return None

    def _locate(self, download: bool, attributes: Sequence[str]) -> Path:
        found = self._find()
        if found is not None:
            return found
        # A misspelt name fails now, against the standard names, not after a download.
        select_attributes(attributes, CELEBA_ATTRIBUTES, "CelebA")
        if not download:
            why = "data.download=false, so nothing was downloaded"
        else:
            why = f"downloading them failed ({_torchvision_download(self._candidates()[0])})"
            found = self._find()
            if found is not None:
                return found
        places = " or ".join(str(folder) for folder in self._candidates())
        root = "null" if self.root is None else str(self.root)
        raise ValueError(f"data.root={root}: no CelebA files in {places}; expected {IMAGE_FOLDER}/ "
                         f"(the aligned JPEGs) and {ATTRIBUTE_FILE} there ({SOURCE}); {why}")

    @staticmethod
    def _check_files(folder: Path, files: list[Path], probes: int = 16) -> None:
        """ValueError unless some of the listed images are there (a spread of ``probes``)."""
        step = max(1, len(files) // probes)
        if not any(path.is_file() for path in files[::step][:probes]):
            raise ValueError(f"{folder / IMAGE_FOLDER}: none of the images {ATTRIBUTE_FILE} lists "
                             f"is there (e.g. {files[0].name}); unzip img_align_celeba.zip into "
                             f"{folder}")


def _torchvision_download(root: Path) -> str:
    """Let torchvision's CelebA download into ``root/celeba``; why it failed, else 'no files'."""
    try:
        from torchvision.datasets import CelebA

        CelebA(root=str(root), split="all", target_type="attr", download=True)
    except Exception as error:  # noqa: BLE001 - network, gdown, quota or integrity: one line
        return one_line(f"{type(error).__name__}: {error}", 200)
    return "it left no files"

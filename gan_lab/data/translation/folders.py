"""The translation data module of a folder in one of the official layouts (``data.path=...``).

:class:`FolderTranslationDataModule` checks its options, scans the folder for its layout and
builds the folder-backed training set, evaluation sets and domain view from it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from torch.utils.data import Dataset

from gan_lab.data.common.labelled_view import LabelledView
from gan_lab.data.common.option_checks import check_bool, check_choice, check_int
from gan_lab.data.samples.image_folder import IMAGE_EXTENSIONS, _normalise_extensions
from gan_lab.data.translation.base import TranslationDataModule
from gan_lab.data.translation.folder_sets import (
    FolderDecoder,
    FolderDomain,
    FolderImageSet,
    FolderPairSet,
    FolderUnpairedSet,
    LabelledFolderImages,
)
from gan_lab.data.translation.layouts import LAYOUT_HELP, LAYOUTS, FolderLayout
from gan_lab.data.translation.preprocess import PREPROCESS_MODES, Preprocess

__all__ = ["FolderTranslationDataModule"]


def _folder(files: Sequence[Path]) -> Path:
    """The folder that holds all of ``files`` (sorted), for messages."""
    if len(files) == 1:
        return files[0].parent
    return Path(os.path.commonpath([files[0], files[-1]]))


class FolderTranslationDataModule(TranslationDataModule):
    """Two image domains from a folder in one of the official layouts.

    The layouts are described in :mod:`gan_lab.data.translation.base`.

    The folder is scanned (names only) in the constructor, so a missing folder, an empty domain
    or an unmatched pair is a one-line ``ValueError`` naming the ``data.`` key, the folder and the
    expected layout before anything is trained; images are decoded lazily.

    Args:
        path: the data set's folder.
        layout: ``"unpaired"``, ``"aligned"`` or ``"paired"``.
        image_size: side of the square training and evaluation images (the crop size).
        load_size: side images are resized to before cropping (``resize_and_crop``).
        preprocess: ``"resize_and_crop"``, ``"crop"``, ``"resize"`` or ``"none"`` (images as
            they are: they must then share one size to be batched).
        flip: random horizontal flips of training images (the same for both images of a pair).
        direction: ``"AtoB"``, or ``"BtoA"`` to serve the data's B as A.
        channels_a, channels_b: 3 (RGB) or 1 (grey-scale) for the served domains.
        batch_size: items per training batch; at most the number of training items.
        seed: seed of the shuffling and of the augmentation.
        num_workers: loader worker processes.
        extensions: file name endings that count as images (case-insensitive).
        download: unused (for published sets); accepted so that configs can share options.
    """

    def __init__(
        self,
        path: str,
        layout: str,
        image_size: int = 256,
        load_size: int = 286,
        preprocess: str = "resize_and_crop",
        flip: bool = True,
        direction: str = "AtoB",
        channels_a: int = 3,
        channels_b: int = 3,
        batch_size: int = 1,
        seed: int = 0,
        num_workers: int = 0,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        download: bool | None = None,
    ) -> None:
        layout = check_choice("layout", layout, LAYOUTS)
        if path is None or str(path).strip() == "":
            raise ValueError(
                f"data.path={path!r}: point data.path at a data set folder; {LAYOUT_HELP[layout]}"
            )
        root = Path(os.path.expanduser(str(path))).absolute()
        where = self._where(path, root)
        if not root.is_dir():
            problem = "is a file, not a folder" if root.exists() else "does not exist"
            raise ValueError(f"{where} {problem}: {LAYOUT_HELP[layout]}")
        super().__init__(
            paired=layout != "unpaired",
            image_size=image_size,
            channels_a=channels_a,
            channels_b=channels_b,
            batch_size=batch_size,
            seed=seed,
            num_workers=num_workers,
            direction=direction,
        )
        self.preprocess_mode = check_choice("preprocess", preprocess, PREPROCESS_MODES)
        self.load_size = check_int("load_size", load_size, 1)
        if preprocess == "resize_and_crop" and load_size < image_size:
            raise ValueError(
                f"data.load_size={load_size} is smaller than data.image_size={image_size}: "
                "resize_and_crop resizes to load_size and then crops image_size"
            )
        self.flip = check_bool("flip", flip)
        exts = _normalise_extensions(extensions)
        if not exts:
            raise ValueError(
                f"data.extensions={list(extensions)!r}: name at least one file ending, e.g. .png"
            )
        self.path = root
        self.layout = layout
        self.extensions = exts
        self.preprocess = Preprocess(self.preprocess_mode, self.load_size, self.image_size, flip)

        found = FolderLayout(root, layout, exts, where).scan()
        order = (1, 0) if self.swapped else (0, 1)  # BtoA: the data's B is served as A
        channels = (self.channels_a, self.channels_b)

        def domains(files: tuple[list[Path], list[Path]]) -> list[FolderDomain]:
            return [
                FolderDomain(tuple(files[k]), channels[served], found.halves[k], _folder(files[k]))
                for served, k in enumerate(order)
            ]

        self.train_domains = domains(found.train)
        self.eval_domains = domains(found.evaluation)
        make = FolderPairSet if self.paired else FolderUnpairedSet
        self.train_set = make(*self.train_domains, self.preprocess, self.seed)
        self._check_batch_size()

    def _where(self, path: str, root: Path) -> str:
        """How messages name the folder (the ``data.`` key that chose it)."""
        return f"data.path={str(path)!r}"

    def describe(self) -> str:
        return f"{self.path} ({self.layout} layout)"

    def _build_eval_set(self, index: int) -> Dataset:
        if self.paired:
            # One decoder for both domains, so an unreadable file skips the pair in both sets.
            shared = getattr(self, "_eval_decoder", None)
            if shared is None:
                shared = self._eval_decoder = FolderDecoder(
                    self.eval_domains, self.preprocess.decode_size
                )
            return FolderImageSet(shared, index, self.preprocess)
        decoder = FolderDecoder([self.eval_domains[index]], self.preprocess.decode_size)
        return FolderImageSet(decoder, 0, self.preprocess)

    def _build_domain_view(self) -> LabelledView:
        channels = self.view_channels
        sets = [
            FolderImageSet(
                FolderDecoder([domain], self.preprocess.decode_size), 0, self.preprocess, channels
            )
            for domain in self.train_domains
        ]
        shape = (channels, self.image_size, self.image_size)
        return LabelledView(LabelledFolderImages(sets), shape, ["A", "B"])

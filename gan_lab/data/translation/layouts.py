"""The folder layouts of translation data sets, and the scan that finds their files.

``LAYOUTS`` names them (``unpaired``, ``aligned``, ``paired``; see :mod:`gan_lab.data.translation.base`),
``LAYOUT_HELP`` describes each for messages, :func:`layout_present` tells whether a folder has
one, and :class:`FolderLayout` scans a folder (names only) for its training and evaluation files.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gan_lab.data.samples.image_folder import find_image_files

__all__ = ["LAYOUTS", "LAYOUT_HELP", "FolderLayout", "layout_present"]

LAYOUTS = ("unpaired", "aligned", "paired")
LAYOUT_HELP = {
    "unpaired": "the unpaired layout is trainA/ trainB/ [testA/ testB/] of images",
    "aligned": (
        "the aligned layout is train/ [val/ test/] of side-by-side AB images "
        "(A the left half, B the right half)"
    ),
    "paired": (
        "the paired layout is A/train/ B/train/ [A/test/ B/test/] "
        "with the same file names in A/ and B/"
    ),
}


def layout_present(root: Path, layout: str) -> bool:
    """Whether ``root`` has the training folders of ``layout`` (names only, not their files)."""
    needed = {
        "unpaired": ("trainA", "trainB"),
        "aligned": ("train",),
        "paired": ("A/train", "B/train"),
    }
    return all((root / name).is_dir() for name in needed[layout])


@dataclass
class _Found:
    """What a layout scan found: (A, B) file lists and halves, for training and evaluation."""

    train: tuple[list[Path], list[Path]]
    evaluation: tuple[list[Path], list[Path]]
    halves: tuple[str | None, str | None] = (None, None)


class FolderLayout:
    """Scans ``root`` for one layout; errors are one line starting with ``where``."""

    def __init__(self, root: Path, layout: str, extensions: Sequence[str], where: str) -> None:
        self.root = root
        self.layout = layout
        self.extensions = tuple(extensions)
        self.where = where

    def fail(self, problem: str) -> ValueError:
        return ValueError(f"{self.where}{problem}: {LAYOUT_HELP[self.layout]}")

    def require(self, *names: str) -> None:
        missing = [f"{name}/" for name in names if not (self.root / name).is_dir()]
        if missing:
            folders = "folder" if len(missing) == 1 else "folders"
            raise self.fail(f" has no {' and '.join(missing)} {folders}")

    def images(self, name: str) -> list[Path]:
        files = find_image_files(self.root / name, self.extensions)
        if not files:
            raise self.fail(
                f": no image files in {self.root / name} "
                f"(searched recursively for {', '.join(self.extensions)})"
            )
        return files

    def optional(self, name: str) -> list[Path] | None:
        folder = self.root / name
        if not folder.is_dir():
            return None
        return find_image_files(folder, self.extensions) or None

    def fallback(self, missing: str, training: str) -> None:
        warnings.warn(
            f"{self.where}: no {missing} with images, so evaluation uses the training images "
            f"of {training} instead ({LAYOUT_HELP[self.layout]})",
            UserWarning,
            stacklevel=4,
        )

    def scan(self) -> _Found:
        return getattr(self, f"_scan_{self.layout}")()

    def _scan_unpaired(self) -> _Found:
        self.require("trainA", "trainB")
        train = (self.images("trainA"), self.images("trainB"))
        evaluation = []
        for files, name in zip(train, ("A", "B"), strict=True):
            test = self.optional(f"test{name}")
            if test is None:
                self.fallback(f"test{name}/ folder", f"train{name}/")
                test = files
            evaluation.append(test)
        return _Found(train, (evaluation[0], evaluation[1]))

    def _scan_aligned(self) -> _Found:
        self.require("train")
        train = self.images("train")
        test = self.optional("test") or self.optional("val")
        if test is None:
            self.fallback("test/ or val/ folder", "train/")
            test = train
        return _Found((train, train), (test, test), ("left", "right"))

    def _pairs(self, split: str, required: bool) -> tuple[list[Path], list[Path]] | None:
        folders = (self.root / "A" / split, self.root / "B" / split)
        if required:
            files = [self.images(f"{domain}/{split}") for domain in ("A", "B")]
        else:
            found = [self.optional(f"{domain}/{split}") for domain in ("A", "B")]
            if found[0] is None or found[1] is None:
                return None
            files = found
        names = [
            {f.relative_to(folder).as_posix(): f for f in fs}
            for fs, folder in zip(files, folders, strict=True)
        ]
        for this, other, side, other_side in ((0, 1, "A", "B"), (1, 0, "B", "A")):
            unmatched = sorted(set(names[this]) - set(names[other]))
            if unmatched:
                more = f" (and {len(unmatched) - 1} more)" if len(unmatched) > 1 else ""
                raise self.fail(
                    f": {side}/{split}/{unmatched[0]} has no counterpart "
                    f"{other_side}/{split}/{unmatched[0]}{more}"
                )
        order = sorted(names[0])
        return [names[0][n] for n in order], [names[1][n] for n in order]

    def _scan_paired(self) -> _Found:
        self.require("A/train", "B/train")
        train = self._pairs("train", required=True)
        test = self._pairs("test", required=False) or self._pairs("val", required=False)
        if test is None:
            self.fallback(
                "A/test/ and B/test/ (or A/val/ and B/val/) folders", "A/train/ and B/train/"
            )
            test = train
        return _Found(train, test)

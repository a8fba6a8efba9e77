"""The published pix2pix and CycleGAN data sets, downloaded on first use.

The official code (junyanz/pytorch-CycleGAN-and-pix2pix, ``datasets/download_*_dataset.sh``)
fetches each set as one archive from the authors' server and extracts it next to the others: the
CycleGAN ``<name>.zip`` archives hold ``<name>/trainA trainB testA testB`` (the unpaired layout),
the pix2pix ``<name>.tar.gz`` archives ``<name>/train val [test]`` of side-by-side AB images (the
aligned layout). Here they are looked for in ``<root>/<name>`` (``data.root``, by default
``~/.cache/gan_lab/datasets``), downloaded and extracted there with torchvision when missing, and
then read by :class:`~gan_lab.data.translation.folders.FolderTranslationDataModule`. When the
download fails (no internet), one line says which set, where it was looked for, the layout
expected, the URL, and that ``data.path`` may point at a copy placed by hand.

``facades``, ``maps`` and ``cityscapes`` exist in both collections; they default to the pix2pix
(aligned, paired) version, and ``layout="unpaired"`` picks the CycleGAN one (both can live in the
same folder: their sub-folders differ). The official scripts refuse to download pix2pix's
``cityscapes`` for license reasons; it can be built from cityscapes-dataset.com with the official
``datasets/prepare_cityscapes_dataset.py``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from gan_lab.data.common.option_checks import check_bool
from gan_lab.data.samples.image_folder import IMAGE_EXTENSIONS
from gan_lab.data.samples.torchvision_sets import default_root, one_line
from gan_lab.data.translation.folders import FolderTranslationDataModule
from gan_lab.data.translation.layouts import LAYOUT_HELP, layout_present

__all__ = [
    "CYCLEGAN_SETS",
    "DEFAULT_ROOT",
    "PIX2PIX_SETS",
    "PublishedTranslationDataModule",
    "archive_url",
    "download_archive",
]

CYCLEGAN_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
CYCLEGAN_SETS = (
    "apple2orange",
    "summer2winter_yosemite",
    "horse2zebra",
    "monet2photo",
    "cezanne2photo",
    "ukiyoe2photo",
    "vangogh2photo",
    "maps",
    "cityscapes",
    "facades",
    "iphone2dslr_flower",
)
PIX2PIX_SETS = ("cityscapes", "edges2handbags", "edges2shoes", "facades", "maps", "night2day")
DEFAULT_ROOT = "~/.cache/gan_lab/datasets"
NOTES = {
    ("cityscapes", "aligned"): (
        " (the official scripts do not download it for license reasons: build it from "
        "cityscapes-dataset.com with their datasets/prepare_cityscapes_dataset.py)"
    ),
}


def archive_url(name: str, layout: str | None = None) -> tuple[str, str]:
    """``(layout, url)`` of the published set ``name``; ``layout`` None: aligned if published so.

    Raises a one-line ``ValueError`` for an unknown name or a layout the set is not published in.
    """
    published = {"aligned": PIX2PIX_SETS, "unpaired": CYCLEGAN_SETS}
    if name not in CYCLEGAN_SETS and name not in PIX2PIX_SETS:
        raise ValueError(
            f"data.name={name!r}: not a published translation set; known: CycleGAN (unpaired) "
            f"{', '.join(CYCLEGAN_SETS)}; pix2pix (aligned) {', '.join(PIX2PIX_SETS)}"
        )
    if layout is None:
        layout = "aligned" if name in PIX2PIX_SETS else "unpaired"
    if layout not in published or name not in published[layout]:
        offered = " and ".join(k for k, names in published.items() if name in names)
        raise ValueError(
            f"data.layout={layout!r}: data.name={name!r} is published in the {offered} layout only"
        )
    template = PIX2PIX_URL if layout == "aligned" else CYCLEGAN_URL
    return layout, template.format(name=name)


def download_archive(url: str, root: Path) -> None:
    """Download the archive at ``url`` into ``root`` and extract it there (then delete it)."""
    # Imported here: torchvision.datasets is slow to import and only needed for a download.
    from torchvision.datasets.utils import download_and_extract_archive

    root.mkdir(parents=True, exist_ok=True)
    download_and_extract_archive(url, download_root=str(root), remove_finished=True)


class PublishedTranslationDataModule(FolderTranslationDataModule):
    """A published pix2pix / CycleGAN set from ``<root>/<name>``, downloaded when missing.

    Args:
        name: the set, e.g. ``"horse2zebra"`` or ``"facades"`` (see ``CYCLEGAN_SETS``,
            ``PIX2PIX_SETS``).
        root: the folder that holds the sets (each in ``<root>/<name>``); None:
            ``$XDG_CACHE_HOME/gan_lab/datasets`` (by default ``~/.cache/gan_lab/datasets``).
        download: download and extract the archive when ``<root>/<name>`` lacks the layout.
        path: a folder in the set's layout to read instead (no download).
        layout: ``"aligned"`` (pix2pix) or ``"unpaired"`` (CycleGAN); None: aligned when the set
            is published so.
        The rest as for :class:`~gan_lab.data.translation.folders.FolderTranslationDataModule`.
    """

    def __init__(
        self,
        name: str,
        root: str | None = DEFAULT_ROOT,
        download: bool = True,
        path: str | None = None,
        layout: str | None = None,
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
    ) -> None:
        layout, url = archive_url(name, layout)
        check_bool("download", download)
        self.name = name
        self.url = url
        self.from_path = path not in (None, "")
        if not self.from_path:
            base = default_root("datasets") if root in (None, "") else Path(str(root))
            base = Path(os.path.expanduser(str(base))).absolute()
            path = str(base / name)
            self._fetch(base, layout, download)
        super().__init__(
            path=path,
            layout=layout,
            image_size=image_size,
            load_size=load_size,
            preprocess=preprocess,
            flip=flip,
            direction=direction,
            channels_a=channels_a,
            channels_b=channels_b,
            batch_size=batch_size,
            seed=seed,
            num_workers=num_workers,
            extensions=extensions,
        )

    def _fetch(self, base: Path, layout: str, download: bool) -> None:
        folder = base / self.name
        if layout_present(folder, layout):
            return
        if not download:
            why = "data.download=false, so nothing was downloaded"
        else:
            try:
                download_archive(self.url, base)
            except Exception as error:  # urllib, HTTP, archive and disk errors alike
                reason = one_line(f"{type(error).__name__}: {error}")
                why = f"downloading {self.url} failed ({reason})"
            else:
                if layout_present(folder, layout):
                    return
                why = f"the archive {self.url} did not hold these folders"
        raise ValueError(
            f"data.name={self.name!r}: no {layout} data set in {folder} "
            f"({LAYOUT_HELP[layout]}); {why}{NOTES.get((self.name, layout), '')}; download "
            f"{self.url} and extract it into {base}, or set data.path=... to a folder in that "
            "layout"
        )

    def _where(self, path: str, root: Path) -> str:
        if self.from_path:
            return super()._where(path, root)
        return f"data.name={self.name!r} (in {root})"

    def describe(self) -> str:
        return f"{self.name} in {self.path}"

"""Data for image-to-image translation (pix2pix, CycleGAN): two image domains, A and B.

Folder layouts, as the official code (junyanz/pytorch-CycleGAN-and-pix2pix) reads them:

- ``unpaired`` (CycleGAN's ``unaligned`` mode): ``trainA/ trainB/ [testA/ testB/]``, any number of
  images in each domain and no correspondence between them;
- ``aligned`` (pix2pix's ``aligned`` mode): ``train/ [val/ test/]`` of side-by-side AB images, A
  the left half and B the right half of each file (the published pix2pix sets);
- ``paired``: ``A/train/ B/train/ [A/test/ B/test/]``, a pair being the files of the same name in
  ``A/`` and ``B/`` (the input of the official ``combine_A_and_B.py``; read here as it is).

Training preprocessing follows the official ``get_transform``: ``resize_and_crop`` resizes to
``load_size`` square (bicubic) and takes a random ``image_size`` crop (286 -> 256, the papers'
jitter), ``crop`` only crops, ``resize`` resizes straight to ``image_size``, ``none`` keeps the
images as they are; ``flip`` adds random horizontal flips. The two images of a pair get the same
crop window and flip, so they stay aligned. Evaluation images get the deterministic counterpart:
the same resize, a centre crop and no flip.

Where the randomness comes from. Each training item's crop and flip are drawn from its own
``torch.Generator`` seeded with a hash of ``(data.seed, the item's index)``, never from the
global RNG: the sampler (:class:`~gan_lab.data.common.loader.EpochShuffleSampler`) asks the data set for
one epoch's indices with a generator that is a pure function of ``(seed, epoch)``, and those
indices differ every epoch: ``(i, nonce)`` for paired sets (``nonce`` a random number drawn with
the permutation), ``(i, j)`` for unpaired ones (A image ``i`` meets B image ``j``, re-drawn every
epoch, as CycleGAN pairs a random B with each A). So augmentation is a pure function of
``(seed, epoch, position)``: reproducible, the same after a resumed checkpoint (the sampler
regenerates its epoch), the same with any number of worker processes, and it leaves the global
RNG (the model's noise and dropout) alone.

Unreadable files are skipped as in :mod:`gan_lab.data.samples.image_folder` (warned about once by name,
replaced by the next decodable item; for a pair, the next pair whose two files decode).

Fingerprints. The folder-backed sets have the ``files`` list that
:func:`gan_lab.data.common.fingerprint.data_fingerprint` hashes (path, size, mtime), plus a
``fingerprint_extra`` string with what the file list does not show: which half of an AB file a
set reads (the A and B sets of aligned data list the same files), the colour mode and the
preprocessing settings.

Where the parts live: this module holds the contract, :class:`TranslationDataModule`;
:mod:`~gan_lab.data.translation.sampling` the epoch indices and item generators,
:mod:`~gan_lab.data.translation.preprocess` the preprocessing, :mod:`~gan_lab.data.common.labelled_view`
the classifier views, :mod:`~gan_lab.data.translation.layouts` the folder layouts,
:mod:`~gan_lab.data.translation.folder_sets` the folder-backed data sets and
:mod:`~gan_lab.data.translation.folders` their data module.
"""

from __future__ import annotations

from torch.utils.data import Dataset

from gan_lab.data.common.labelled_view import LabelledView
from gan_lab.data.common.option_checks import check_channels, check_choice, check_int
from gan_lab.data.common.train_set import TrainSetDataModule
from gan_lab.kinds import BatchKind

__all__ = ["DIRECTIONS", "TranslationDataModule"]

DIRECTIONS = ("AtoB", "BtoA")


class TranslationDataModule(TrainSetDataModule):
    """Two image domains, A (the input) and B (the target), for image-to-image translation.

    ``train_set`` items are ``(a, b)``, float32 images in ``[-1, 1]``: aligned pairs when
    ``paired``, independent draws otherwise (then ``len(train_set)`` is ``max(nA, nB)`` and its
    ``epoch_indices`` re-pairs them every epoch). :meth:`eval_set` gives one domain's evaluation
    images, ``(image,)`` items, preprocessed deterministically; when ``eval_paired`` the two
    domains' evaluation sets correspond item by item (ground truth for pixel-wise metrics).
    :meth:`domain_view` is a labelled A-vs-B set for a domain classifier; :meth:`class_view`,
    semantic labels where the data has them (else None).

    ``direction="BtoA"`` swaps the roles of the domains everywhere: what the data calls B is
    served as A. Every argument and attribute here (``channels_a``, ``eval_set("A")``, ...) refers
    to the served roles.

    Subclasses build ``train_set`` in their constructor and implement :meth:`_build_eval_set` and
    :meth:`_build_domain_view`.
    """

    batch_kind = BatchKind.TWO_DOMAINS
    domains = ("A", "B")
    num_classes = 0

    def __init__(
        self,
        *,
        paired: bool,
        image_size: int,
        channels_a: int,
        channels_b: int,
        batch_size: int,
        seed: int,
        num_workers: int,
        direction: str,
        eval_paired: bool | None = None,
    ) -> None:
        super().__init__(batch_size=check_int("batch_size", batch_size, 1), seed=int(seed),
                         num_workers=check_int("num_workers", num_workers, 0))
        self.image_size = check_int("image_size", image_size, 1)
        self.channels_a = check_channels("channels_a", channels_a)
        self.channels_b = check_channels("channels_b", channels_b)
        self.direction = check_choice("direction", direction, DIRECTIONS)
        self.paired = bool(paired)
        self.eval_paired = self.paired if eval_paired is None else bool(eval_paired)
        self.sample_shape = (self.channels_b, self.image_size, self.image_size)
        self._eval_sets: dict[str, Dataset] = {}
        self._domain_view: LabelledView | None = None

    @property
    def swapped(self) -> bool:
        return self.direction == "BtoA"

    def describe(self) -> str:
        """The data, for messages."""
        return type(self).__name__

    def setup(self, stage: str | None = None) -> None:
        """Nothing to do: the sets are built (from file names only) in the constructor."""

    def _check_batch_size(self) -> None:
        count = len(self.train_set)
        if self.batch_size > count:
            what = "pairs" if self.paired else "items (the larger domain's images)"
            raise ValueError(
                f"data.batch_size={self.batch_size} is more than the {count} training {what} "
                f"of {self.describe()}; lower data.batch_size"
            )

    def train_dataloader(self):
        self._check_batch_size()
        return super().train_dataloader()

    def domain_index(self, domain: str) -> int:
        if domain not in self.domains:
            raise ValueError(f"domain {domain!r}: must be 'A' or 'B'")
        return self.domains.index(domain)

    def eval_set(self, domain: str) -> Dataset:
        """Domain ``domain``'s evaluation images as ``(image,)`` items, deterministic."""
        index = self.domain_index(domain)
        if domain not in self._eval_sets:
            self._eval_sets[domain] = self._build_eval_set(index)
        return self._eval_sets[domain]

    def domain_view(self) -> LabelledView:
        """Training images labelled 0 (A) and 1 (B), evaluation preprocessing, one shape."""
        if self._domain_view is None:
            self._domain_view = self._build_domain_view()
        return self._domain_view

    def class_view(self) -> LabelledView | None:
        """Training images of B with semantic labels, where the data has them."""
        return None

    @property
    def view_channels(self) -> int:
        """Channels of the domain view: grey images become RGB when the domains differ."""
        return max(self.channels_a, self.channels_b)

    def _build_eval_set(self, index: int) -> Dataset:
        raise NotImplementedError

    def _build_domain_view(self) -> LabelledView:
        raise NotImplementedError

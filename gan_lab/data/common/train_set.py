"""The base of datamodules that serve one training set through the resumable loader."""

from __future__ import annotations

import lightning.pytorch as pl
from torch.utils.data import Dataset, Subset

from gan_lab.data.common.loader import make_loader
from gan_lab.data.common.sample_spec import DeclaresSample
from gan_lab.kinds import BatchKind


class TrainSetDataModule(DeclaresSample, pl.LightningDataModule):
    """Builds the training set once (`build_train_set`) and serves it through a resumable loader.

    The loader shuffles with its own seeded sampler and drops the incomplete final batch, so
    a checkpoint resumes on exactly the batches an uninterrupted run would have seen.

    ``batch_kind`` names what a batch holds, for the schemes' ``check_data``: "samples" are
    ``(x[, y])`` (images or points, labels when the set has classes); "two domains" are the
    ``(a, b)`` images of a translation set. ``sample_spec`` (gan_lab.kinds.SampleSpec) says what
    one sample of what a generator learns is: ``sample_kind`` (images unless a module says
    otherwise) and ``sample_shape``.
    """

    batch_kind = BatchKind.SAMPLES

    def __init__(self, batch_size: int, seed: int = 0, num_workers: int = 0) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.seed = seed
        self.num_workers = num_workers
        self.train_set: Dataset | None = None
        self._reference_set: Dataset | None = None

    def build_train_set(self) -> Dataset:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = self.build_train_set()

    @property
    def reference_set(self) -> Dataset:
        """The real images evaluation compares with and its feature classifier learns from: the
        training set, or all of it when ``subset`` trains on a part (limited-data studies score
        against the whole distribution)."""
        self.setup("fit")
        return self.train_set if self._reference_set is None else self._reference_set

    @property
    def heldout_set(self) -> Dataset | None:
        """The real images not trained on: the rest of the reference set when ``subset`` trains
        on a part of it (ADA's r_v compares D's scores on them with the trained ones); else
        None."""
        reference = self.reference_set  # sets the training set up
        train = self.train_set
        if not isinstance(train, Subset) or train.dataset is not reference:
            return None
        kept = set(int(i) for i in train.indices)
        rest = [i for i in range(len(reference)) if i not in kept]
        return Subset(reference, rest) if rest else None

    def train_dataloader(self):
        self.setup("fit")
        return make_loader(
            self.train_set,
            batch_size=self.batch_size,
            shuffle=True,
            seed=self.seed,
            drop_last=True,
            num_workers=self.num_workers,
        )

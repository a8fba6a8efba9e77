"""Resumable data loading.

Every data module in gan_lab builds its training loader with :func:`make_loader`: a ``torchdata``
:class:`~torchdata.stateful_dataloader.StatefulDataLoader` whose shuffling comes from
:class:`EpochShuffleSampler`, a sampler whose permutation of epoch ``e`` is a pure function of
``(seed, e)`` (it never touches the global RNG). Lightning recognises loaders that have
``state_dict``/``load_state_dict`` and stores their position in every checkpoint, so a run resumed
from a mid-epoch checkpoint continues on exactly the batches the uninterrupted run would have seen,
in that epoch and in the epochs after it.

Why not ``StatefulDataLoader(shuffle=True, generator=g)``: in torchdata 0.11 the loader draws each
epoch's worker base seed from the same generator as the shuffling, and a restored loader does not
replay that draw; the epoch it resumes in is right but every later permutation differs from the
uninterrupted run's. Checked in tests/test_toy_data_metrics.py, also through Lightning's own
checkpoints (mid-epoch, and on an epoch's last batch).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler
from torchdata.stateful_dataloader import StatefulDataLoader

__all__ = ["EpochShuffleSampler", "make_loader"]


def _epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit seed that depends on both ``seed`` and ``epoch`` (no collisions in practice)."""
    digest = hashlib.blake2b(f"gan_lab:{seed}:{epoch}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


class _EpochShuffleIterator(Iterator[int]):
    """Indices of one epoch; its state is ``{"epoch", "yielded"}`` (torchdata's Stateful).

    The epoch is read from the sampler when the iterator is created but committed (the sampler
    moves on to the next epoch) only when the first index is drawn: loaders create and discard
    sampler iterators (torch's multi-process iterator makes two on start-up), and those must not
    skip epochs.
    """

    def __init__(self, sampler: EpochShuffleSampler, epoch: int) -> None:
        self.sampler = sampler
        self._start(epoch, 0)

    def _start(self, epoch: int, yielded: int) -> None:
        self.epoch = epoch
        self.perm = self.sampler.permutation(epoch)
        self.yielded = min(yielded, len(self.perm))

    def __iter__(self) -> _EpochShuffleIterator:
        return self

    def __next__(self) -> int:
        if self.yielded == 0:
            self.sampler.set_epoch(self.epoch + 1)
        if self.yielded >= len(self.perm):
            raise StopIteration
        index = self.perm[self.yielded]
        self.yielded += 1
        return index

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "yielded": self.yielded}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        epoch, yielded = int(state_dict["epoch"]), int(state_dict["yielded"])
        if yielded >= len(self.sampler):
            # Saved after the last index of its epoch: become the next epoch, not yet started.
            # Lightning saves that state (not flagged finished) on an epoch's last batch and, on
            # resuming, already counts the next epoch, which must not come out empty; torchdata
            # discards a restored iterator flagged finished and asks the sampler for a new one,
            # which then is this same next epoch.
            self._start(epoch + 1, 0)
            self.sampler.set_epoch(epoch + 1)
        else:
            self._start(epoch, yielded)
            self.sampler.set_epoch(epoch + 1)


class EpochShuffleSampler(Sampler[int]):
    """Random permutations, one per epoch, each a pure function of ``(seed, epoch)``.

    With ``batch_size`` and ``drop_last`` given, each epoch yields only the
    ``len(data_source) - len(data_source) % batch_size`` indices that make full batches, so that
    an iterator saved after the last full batch is recognisably finished.

    Each ``iter()`` gives the current epoch (the count starts at 0), which moves on once that
    iterator yields its first index; :meth:`set_epoch` (which Lightning calls at the start of
    every epoch, with its own epoch counter, so reloaded loaders keep shuffling differently) sets
    the epoch the next ``iter()`` uses. Its iterators are resumable: ``state_dict()`` gives the epoch and the
    number of indices yielded, and ``load_state_dict()`` regenerates that epoch's permutation and
    skips them.
    """

    def __init__(
        self,
        data_source: Sized,
        seed: int = 0,
        batch_size: int | None = None,
        drop_last: bool = False,
    ) -> None:
        self.data_source = data_source
        self.seed = int(seed)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self._next_epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self._next_epoch = int(epoch)

    def permutation(self, epoch: int) -> list:
        """The indices of ``epoch``, in order (truncated to full batches if ``drop_last``).

        A data set may say how one of its epochs is shuffled by defining
        ``epoch_indices(generator) -> list`` (``len(data_source)`` indices of any kind it accepts,
        e.g. the ``(i, j)`` pairs of an unpaired translation set); otherwise an epoch is a
        random permutation of ``range(len(data_source))``.
        """
        generator = torch.Generator()
        generator.manual_seed(_epoch_seed(self.seed, epoch))
        shuffle = getattr(self.data_source, "epoch_indices", None)
        if shuffle is not None:
            return list(shuffle(generator))[: len(self)]
        return torch.randperm(len(self.data_source), generator=generator)[: len(self)].tolist()

    def __iter__(self) -> _EpochShuffleIterator:
        return _EpochShuffleIterator(self, self._next_epoch)

    def __len__(self) -> int:
        n = len(self.data_source)
        if self.drop_last and self.batch_size:
            n -= n % self.batch_size
        return n


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    drop_last: bool = True,
    num_workers: int = 0,
) -> StatefulDataLoader:
    """Build a checkpointable loader over ``dataset``.

    Args:
        dataset: a map-style dataset (e.g. a ``TensorDataset``).
        batch_size: samples per batch.
        shuffle: a new permutation every epoch, from :class:`EpochShuffleSampler` with ``seed``.
        seed: the same seed gives the same sequence of batches; it also seeds the loader's own
            generator (the worker base seeds), never the global RNG.
        drop_last: drop the final incomplete batch of each epoch.
        num_workers: worker processes; when positive the workers persist across epochs.

    Returns:
        A :class:`StatefulDataLoader`; ``state_dict()`` captures its position and
        ``load_state_dict()`` on a freshly built loader resumes from it.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be at least 1")
    if num_workers < 0:
        raise ValueError(f"num_workers={num_workers} must be non-negative")
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    sampler = None
    if shuffle:
        sampler = EpochShuffleSampler(
            dataset, seed=seed, batch_size=batch_size, drop_last=drop_last
        )
    with warnings.catch_warnings():
        # torchdata 0.11 calls the deprecated torch.set_vital in its constructor; that warning
        # says nothing about the caller's code.
        warnings.filterwarnings("ignore", message=".*set_vital.*", category=UserWarning)
        return StatefulDataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            drop_last=drop_last,
            num_workers=num_workers,
            generator=generator,
            persistent_workers=num_workers > 0,
        )

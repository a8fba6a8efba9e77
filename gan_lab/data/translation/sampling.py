"""Per-epoch index sampling of translation training sets, and each item's seeded generator.

A set's ``epoch_indices`` draws one epoch's indices from the sampler's ``(seed, epoch)``
generator (``(i, nonce)`` for paired sets, ``(i, j)`` for unpaired ones), ``split_*_index``
reads such an index back, and :func:`item_generator` seeds an item's augmentation from it; see
:mod:`gan_lab.data.translation.base` for why.
"""

from __future__ import annotations

import hashlib

import torch

__all__ = [
    "item_generator",
    "paired_epoch_indices",
    "split_paired_index",
    "split_unpaired_index",
    "unpaired_epoch_indices",
]


def item_generator(seed: int, *key: object) -> torch.Generator:
    """A generator seeded by a hash of ``(seed, *key)``: one item's augmentation stream."""
    digest = hashlib.blake2b(repr((int(seed), *key)).encode(), digest_size=8).digest()
    generator = torch.Generator()
    generator.manual_seed(int.from_bytes(digest, "little") & ((1 << 63) - 1))
    return generator


def paired_epoch_indices(count: int, generator: torch.Generator, random: bool) -> list:
    """One epoch of a paired set: a permutation; with ``random`` augmentation ``(i, nonce)``s.

    The nonce makes an item's augmentation differ between epochs. Without augmentation the plain
    permutation is returned, the same one the sampler would draw by itself.
    """
    order = torch.randperm(count, generator=generator).tolist()
    if not random:
        return order
    nonces = torch.randint(0, 1 << 62, (count,), generator=generator).tolist()
    return list(zip(order, nonces, strict=True))


def _cover(count: int, length: int, generator: torch.Generator) -> list[int]:
    """``length`` indices into ``count`` items: random permutations end to end, truncated."""
    rounds = -(-length // count)
    return torch.cat([torch.randperm(count, generator=generator) for _ in range(rounds)])[
        :length
    ].tolist()


def unpaired_epoch_indices(count_a: int, count_b: int, generator: torch.Generator) -> list:
    """One epoch of an unpaired set: ``max(count_a, count_b)`` pairs ``(i, j)``.

    ``i`` runs over a random permutation of A (a fresh one each time round when A is the smaller
    domain), ``j`` over an independent one of B, so every image is used about equally often and
    the pairs differ every epoch.
    """
    length = max(count_a, count_b)
    first = _cover(count_a, length, generator)
    second = _cover(count_b, length, generator)
    return list(zip(first, second, strict=True))


def split_unpaired_index(index: object, count_a: int, count_b: int) -> tuple[int, int]:
    """``(i, j)`` from an ``(i, j)`` index, or ``(k % count_a, k % count_b)`` from an int ``k``."""
    if isinstance(index, tuple | list):
        i, j = (int(v) for v in index)
    else:
        i, j = int(index), int(index)
    return i % count_a, j % count_b


def split_paired_index(index: object, count: int) -> tuple[int, tuple]:
    """``(k, augmentation key)`` from an int ``k`` or a ``(k, nonce)`` index."""
    key = tuple(int(v) for v in index) if isinstance(index, tuple | list) else (int(index),)
    k = key[0]
    if not -count <= k < count:
        raise IndexError(f"index {k} out of range for {count} pairs")
    return k % count, key

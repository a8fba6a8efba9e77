"""What the token data modules share: the batch kind, the held-out split, the vocabulary.

A token sample is a sequence of ``seq_len`` integer ids over ``vocab_size`` (int64); batches are
1-tuples ``(tokens (B, seq_len),)`` from a ``TensorDataset`` (so the evaluation caches fingerprint
the ids, gan_lab.data.common.fingerprint). Every module also holds ``test_tokens``: sequences of
the same law kept out of training (SeqGAN's NLL_test, BLEU's references), and a ``vocabulary``
(one word per id) that the sample spec carries in ``extras["vocabulary"]``, so that samples
render as words (gan_lab/outputs/renderers/tokens.py) without the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from gan_lab.data.common.train_set import TrainSetDataModule
from gan_lab.kinds import BatchKind, SampleKind, SampleSpec

__all__ = ["TokenDataModule", "check_count", "pseudo_words"]

# Syllables of the oracle's pseudo-words: consonant + vowel, 20 x 5 = 100 of them.
CONSONANTS = "bdfghjklmnprstvwyzcq"
VOWELS = "aeiou"


def check_count(key: str, value: object, minimum: int = 1) -> int:
    """An integer (not a bool) >= ``minimum``; one-line ValueError naming ``data.<key>``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"data.{key}={value!r}: must be an integer >= {minimum}")
    return int(value)


def pseudo_words(count: int) -> list[str]:
    """``count`` distinct pronounceable pseudo-words, a deterministic function of the id: id k
    written in base 100 with as many digits as ``count`` needs (at least two), each digit one
    consonant-vowel syllable (``0 -> "baba"``, ``1 -> "babe"``, ``4999 -> "nuqu"`` for 5,000
    ids). The synthetic oracle's ids mean nothing; these only make its samples readable."""
    syllables = [c + v for c in CONSONANTS for v in VOWELS]
    base = len(syllables)
    digits = 2
    while base ** digits < count:
        digits += 1
    words = []
    for k in range(count):
        parts = []
        for _ in range(digits):
            k, digit = divmod(k, base)
            parts.append(syllables[digit])
        words.append("".join(reversed(parts)))
    return words


class TokenDataModule(TrainSetDataModule):
    """Sequences of token ids: batches ``(tokens (B, seq_len) int64,)``.

    Declares the batch kind (``token sequences``), the sample spec (tokens, ``(seq_len,)``,
    int64, ``vocab_size``, ``extras["vocabulary"]``), the number of training sequences
    (``num_train``) and the held-out ones (``test_tokens``, ``test_set``). Subclasses give
    :meth:`make_tokens` (both splits) and :attr:`vocabulary`.

    ``end_token``: the id that ends a sequence and pads it (text); None where sequences have no
    end (the oracle). ``natural_text``: the ids are words of real text (BLEU is meaningful).
    """

    batch_kind = BatchKind.TOKEN_SEQUENCES
    sample_kind = SampleKind.TOKENS
    sample_dtype = "int64"
    end_token: int | None = None
    natural_text = False

    def __init__(self, seq_len: int, vocab_size: int, batch_size: int, seed: int = 0,
                 num_workers: int = 0) -> None:
        check_count("batch_size", batch_size)
        check_count("num_workers", num_workers, 0)
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        self.seq_len = check_count("seq_len", seq_len)
        self.vocab_size = check_count("vocab_size", vocab_size, 2)
        self.sample_shape = (self.seq_len,)
        self.num_classes = 0
        self._splits: tuple[Tensor, Tensor] | None = None

    # -------------------------------------------------------------- what subclasses give
    def make_tokens(self) -> tuple[Tensor, Tensor]:
        """(training ids (N, seq_len), held-out ids (M, seq_len)), int64."""
        raise NotImplementedError

    @property
    def vocabulary(self) -> list[str]:
        """One word per id (``vocab_size`` of them)."""
        raise NotImplementedError

    # -------------------------------------------------------------- the splits
    def splits(self) -> tuple[Tensor, Tensor]:
        """Both splits, made once (:meth:`make_tokens`) and checked."""
        if self._splits is None:
            train, test = self.make_tokens()
            for name, ids in (("training", train), ("held-out", test)):
                if ids.dtype != torch.int64 or ids.dim() != 2 or ids.shape[1] != self.seq_len:
                    raise ValueError(f"{type(self).__name__}: {name} ids must be int64 (N, "
                                     f"{self.seq_len}), got {ids.dtype} {tuple(ids.shape)}")
                if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size):
                    raise ValueError(f"{type(self).__name__}: {name} ids outside [0, "
                                     f"{self.vocab_size})")
            if self.batch_size > len(train):
                raise ValueError(f"data.batch_size={self.batch_size}: larger than the training "
                                 f"set ({len(train)} sequences); lower it")
            self._splits = (train, test)
        return self._splits

    def build_train_set(self) -> TensorDataset:
        return TensorDataset(self.splits()[0])

    @property
    def num_train(self) -> int:
        """Training sequences (an epoch of SeqGAN's MLE and D stages)."""
        return len(self.splits()[0])

    @property
    def train_tokens(self) -> Tensor:
        """All training ids, (N, seq_len) int64."""
        return self.splits()[0]

    @property
    def test_tokens(self) -> Tensor:
        """The held-out ids, (M, seq_len) int64: never trained on."""
        return self.splits()[1]

    @property
    def test_set(self) -> TensorDataset:
        """The held-out sequences as a data set of ``(tokens,)`` items."""
        return TensorDataset(self.test_tokens)

    # -------------------------------------------------------------- the sample spec, decoding
    @property
    def sample_spec(self) -> SampleSpec:
        extras: dict[str, Any] = {"vocabulary": list(self.vocabulary)}
        if self.end_token is not None:
            extras["end_token"] = int(self.end_token)
        return SampleSpec(SampleKind.TOKENS, (self.seq_len,), dtype="int64",
                          vocab_size=self.vocab_size, extras=extras)

    def decode(self, ids: Tensor | Sequence[Sequence[int]]) -> list[list[str]]:
        """Each sequence of ids as its words, cut before the first ``end_token`` (text)."""
        vocabulary = self.vocabulary
        rows = ids.tolist() if isinstance(ids, Tensor) else [list(row) for row in ids]
        words = []
        for row in rows:
            if self.end_token is not None and self.end_token in row:
                row = row[:row.index(self.end_token)]
            words.append([vocabulary[i] for i in row])
        return words

    def describe(self) -> dict[str, Any]:
        """A plain summary (sizes) for logs and experiment tables."""
        return {"train": self.num_train, "test": len(self.test_tokens),
                "seq_len": self.seq_len, "vocab_size": self.vocab_size}

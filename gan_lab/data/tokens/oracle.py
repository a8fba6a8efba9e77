"""SeqGAN's synthetic data (``data=oracle_lstm``): sequences sampled from a random LSTM, the
oracle (Yu et al. 2017, sec. 5 "Synthetic Data Experiments"; official ``target_lstm.py`` and
``sequence_gan.py``).

The oracle is an LSTM of the generator's shape (gan_lab.nets.SequenceGenerator: vocabulary
5,000, embedding and hidden 32, length 20, start token 0) whose parameters are ALL drawn from
N(0, 1) (the paper: "we randomly initialize the parameters of an LSTM network following the
normal distribution N(0, 1) as the oracle"; the official ``init_matrix`` of TARGET_LSTM has
stddev 1.0), from ``oracle_seed``, and frozen. 10,000 sequences sampled from it are the
training set (the official ``generated_num``) and 10,000 more the held-out set. Both are drawn
from ``data_seed`` on two streams of their own (train and test), by inverse transform sampling
from uniforms drawn up front, so a seed gives the same sequences whatever the chunk size, and
the run's ``seed`` only shuffles the batches.

The official oracle is a fixed pickle (``save/target_params_py3.pkl``): ``oracle_params=PATH``
loads it (gan_lab/data/tokens/target_params.py: a restricted unpickler, the mapping into the
net). Without it the oracle is a fresh N(0, 1) draw: the same law of oracles, not the same
oracle, so NLL_oracle values compare with the paper's only in kind (its Table 1: MLE 9.038,
SeqGAN 8.736 on the official oracle).
"""

from __future__ import annotations

import hashlib

import torch
from torch import Tensor

from gan_lab.data.tokens.base import TokenDataModule, check_count, pseudo_words
from gan_lab.data.tokens.target_params import generator_state, load_target_params
from gan_lab.nets.seqgan import SequenceGenerator

__all__ = ["OracleLSTMDataModule", "make_oracle", "stream_seed"]

CHUNK = 256  # sequences sampled at a time (small chunks stay in the CPU caches: faster)


def stream_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for one named stream (oracle, train, test) of ``seed``: the streams do not
    overlap in practice, and none is the plain ``torch.manual_seed(seed)`` stream."""
    digest = hashlib.blake2b(f"gan_lab.oracle:{int(seed)}:{stream}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "little") & ((1 << 63) - 1)


def make_oracle(vocab_size: int = 5000, embed_dim: int = 32, hidden_dim: int = 32,
                seq_len: int = 20, start_token: int = 0, oracle_seed: int = 0,
                oracle_params: str | None = None) -> SequenceGenerator:
    """The frozen oracle LSTM in eval mode on the CPU: every parameter N(0, 1) from its own
    generator seeded by ``oracle_seed`` (the global random streams are left as they were), or
    the official arrays of ``oracle_params`` (their shapes must be the configured ones)."""
    with torch.random.fork_rng(devices=[]):  # the net's own init draws from the global RNG
        net = SequenceGenerator(vocab_size=vocab_size, embed_dim=embed_dim,
                                hidden_dim=hidden_dim, seq_len=seq_len, start_token=start_token,
                                init_std=1.0)
    if oracle_params is None:
        generator = torch.Generator().manual_seed(stream_seed(oracle_seed, "oracle"))
        with torch.no_grad():
            for parameter in net.parameters():  # registration order: embedding ... b_out
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
    else:
        state = generator_state(load_target_params(oracle_params))
        have = {name: tuple(p.shape) for name, p in net.state_dict().items()}
        given = {name: tuple(t.shape) for name, t in state.items()}
        if have != given:
            raise ValueError(f"data.oracle_params={oracle_params!r}: its arrays make an oracle of "
                             f"vocabulary {given['embedding'][0]}, embedding {given['embedding'][1]}, "
                             f"hidden {given['w_hidden'][0]}; set data.vocab_size, data.embed_dim "
                             "and data.hidden_dim to those")
        net.load_state_dict(state)
    return net.requires_grad_(False).eval()


class OracleLSTMDataModule(TokenDataModule):
    """Sequences sampled from a frozen random LSTM (SeqGAN's synthetic experiment).

    Batches are ``(tokens (B, seq_len) int64,)``; ``oracle`` is the frozen
    SequenceGenerator (its ``nll`` gives NLL_oracle, gan_lab/metrics/tokens.py), ``test_tokens``
    the held-out sequences (NLL_test). The vocabulary the sample spec carries is pseudo-words,
    one per id (:func:`gan_lab.data.tokens.base.pseudo_words`), so samples read as text.

    Args:
        num_train: training sequences (official: 10,000).
        num_test: held-out sequences (10,000), from a stream of their own.
        vocab_size, seq_len: the oracle's vocabulary and sequence length (5,000, 20).
        embed_dim, hidden_dim, start_token: the rest of its shape (32, 32, 0).
        oracle_seed: the oracle's parameters (N(0, 1)).
        data_seed: the sequences drawn from it (both splits), apart from ``seed``.
        oracle_params: the official ``target_params_py3.pkl`` instead of a random oracle.
        batch_size: sequences per batch (64); seed: the loader's shuffling (the run's seed);
        num_workers: loader worker processes.
    """

    def __init__(self, num_train: int = 10_000, num_test: int = 10_000, vocab_size: int = 5000,
                 seq_len: int = 20, embed_dim: int = 32, hidden_dim: int = 32,
                 start_token: int = 0, oracle_seed: int = 0, data_seed: int = 0,
                 oracle_params: str | None = None, batch_size: int = 64, seed: int = 0,
                 num_workers: int = 0) -> None:
        super().__init__(seq_len=seq_len, vocab_size=vocab_size, batch_size=batch_size,
                         seed=seed, num_workers=num_workers)
        self._num_train = check_count("num_train", num_train)
        self.num_test = check_count("num_test", num_test, 0)
        self.embed_dim = check_count("embed_dim", embed_dim)
        self.hidden_dim = check_count("hidden_dim", hidden_dim)
        self.start_token = check_count("start_token", start_token, 0)
        if self.start_token >= self.vocab_size:
            raise ValueError(f"data.start_token={start_token}: must be an id below "
                             f"data.vocab_size={vocab_size}")
        self.oracle_seed = check_count("oracle_seed", oracle_seed, 0)
        self.data_seed = check_count("data_seed", data_seed, 0)
        self.oracle_params = None if oracle_params is None else str(oracle_params)
        if self.batch_size > self._num_train:
            raise ValueError(f"data.batch_size={batch_size}: larger than data.num_train="
                             f"{num_train}; lower it")
        self._oracle: SequenceGenerator | None = None
        self._vocabulary: list[str] | None = None

    @property
    def oracle(self) -> SequenceGenerator:
        """The frozen oracle (CPU, eval mode, no gradients)."""
        if self._oracle is None:
            self._oracle = make_oracle(self.vocab_size, self.embed_dim, self.hidden_dim,
                                       self.seq_len, self.start_token, self.oracle_seed,
                                       self.oracle_params)
        return self._oracle

    @property
    def vocabulary(self) -> list[str]:
        if self._vocabulary is None:
            self._vocabulary = pseudo_words(self.vocab_size)
        return self._vocabulary

    def sample_oracle(self, count: int, stream: str) -> Tensor:
        """``count`` sequences of the oracle from the named stream of ``data_seed``: the
        uniforms of all of them drawn first, then sampled CHUNK at a time."""
        generator = torch.Generator().manual_seed(stream_seed(self.data_seed, stream))
        uniforms = torch.rand(count, self.seq_len, generator=generator)
        parts = [self.oracle.sample(len(u), uniforms=u) for u in uniforms.split(CHUNK)]
        return torch.cat(parts) if parts else torch.zeros(0, self.seq_len, dtype=torch.int64)

    def make_tokens(self) -> tuple[Tensor, Tensor]:
        return self.sample_oracle(self._num_train, "train"), self.sample_oracle(self.num_test, "test")

    @property
    def num_train(self) -> int:
        return self._num_train

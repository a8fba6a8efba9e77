"""Metrics of token generators (issue 23, eval=tokens): NLL_oracle, NLL_test, BLEU and
self-BLEU, and the evaluator's refusals."""

from __future__ import annotations

import math
import random

import pytest
import torch
from hydra.utils import instantiate
from torchmetrics.functional.text import bleu_score

from gan_lab.callbacks.evaluation import Sampler
from gan_lab.data import DigitsDataModule, OracleLSTMDataModule, TextFolderDataModule
from gan_lab.metrics.tokens import TokenQuality, corpus_bleu, mean_nll, self_bleu
from gan_lab.nets.seqgan import SequenceGenerator
from tests.conftest import make_cfg
from tests.test_token_data import write_corpus

V, T = 40, 6


class Module:
    """What the evaluator reads of a SeqGAN module: sample(n) and its generator."""

    def __init__(self, generator: SequenceGenerator) -> None:
        self.generator = generator

    def sample(self, n: int) -> torch.Tensor:
        return self.generator.sample(n, generator=torch.Generator().manual_seed(n))


def oracle_data(**changes) -> OracleLSTMDataModule:
    settings = {"num_train": 256, "num_test": 128, "vocab_size": V, "seq_len": T,
                "embed_dim": 5, "hidden_dim": 6, "batch_size": 32}
    return OracleLSTMDataModule(**{**settings, **changes})


def test_nll_oracle_ranks_the_oracles_own_samples_above_uniform_ids():
    data = oracle_data()
    evaluator = TokenQuality(num_samples=300, sample_batch=128, nll_batch=64, examples=0)
    own = evaluator(Sampler(Module(data.oracle)), data, None, "own")
    uniform = SequenceGenerator(vocab_size=V, seq_len=T, init_std=0.0)  # all logits 0
    flat = evaluator(Sampler(Module(uniform)), data, None, "flat")
    assert set(own) == {"tokens/nll_oracle", "tokens/nll_oracle_data", "tokens/nll_test"}
    assert own["tokens/nll_oracle"] < flat["tokens/nll_oracle"] - 0.5
    # the oracle's own samples score about its held-out data; the uniform G scores log V on it
    assert own["tokens/nll_oracle"] == pytest.approx(own["tokens/nll_oracle_data"], abs=0.3)
    assert flat["tokens/nll_test"] == pytest.approx(math.log(V), abs=1e-5)
    with torch.no_grad():
        assert own["tokens/nll_oracle_data"] == pytest.approx(
            float(data.oracle.nll(data.test_tokens)), rel=1e-5)


def test_nll_test_is_the_generators_mean_nll_per_token_by_hand():
    data = oracle_data(num_test=10)
    generator = SequenceGenerator(vocab_size=V, embed_dim=4, hidden_dim=3, seq_len=T,
                                  init_std=0.5)
    result = TokenQuality(num_samples=4, nll_batch=3, examples=0)(Sampler(Module(generator)),
                                                                  data, None, "t")
    # by hand: the official cell step by step, softmax, -log p of each held-out token
    g = generator
    total = 0.0
    with torch.no_grad():
        for row in data.test_tokens.tolist():
            h, c, previous = torch.zeros(3), torch.zeros(3), g.start_token
            for token in row:
                gates = g.embedding[previous] @ g.w_input + h @ g.w_hidden + g.bias
                i, f, o, cand = gates.split(3)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(cand)
                h = torch.sigmoid(o) * torch.tanh(c)
                logits = h @ g.w_out + g.b_out
                total -= float(logits.log_softmax(-1)[token])
                previous = token
    assert result["tokens/nll_test"] == pytest.approx(total / (10 * T), rel=1e-5)
    # batches of any size give the same mean per token
    assert mean_nll(generator, data.test_tokens, 1) == pytest.approx(total / (10 * T), rel=1e-5)


def test_bleu_by_hand_and_as_torchmetrics():
    # BLEU-2 of "a b c" against "a b d": p1 = 2/3, p2 = 1/2, equal lengths (BP = 1)
    assert corpus_bleu([["a", "b", "c"]], [["a", "b", "d"]], 2) == pytest.approx(math.sqrt(1 / 3))
    assert corpus_bleu([["the", "cat"]], [["the", "cat"], ["a", "dog"]], 2) == pytest.approx(1.0)
    # a hypothesis shorter than its closest reference pays the brevity penalty exp(1 - r / c)
    assert corpus_bleu([["a", "b"]], [["a", "b", "c", "d"]], 1) == pytest.approx(math.exp(-1))
    assert corpus_bleu([["x", "y"]], [["a", "b"]], 1) == 0.0
    rng = random.Random(0)
    words = "the a cat dog sat on mat ran".split()

    def sentence():
        return [rng.choice(words) for _ in range(rng.randint(0, 9))]

    for _ in range(20):
        hypotheses = [sentence() for _ in range(rng.randint(1, 6))]
        references = [sentence() for _ in range(rng.randint(1, 5))]
        for n in (1, 2, 4):
            for smooth in (False, True):
                expected = float(bleu_score([" ".join(h) for h in hypotheses],
                                            [[" ".join(r) for r in references]] * len(hypotheses),
                                            n_gram=n, smooth=smooth))
                assert corpus_bleu(hypotheses, references, n, smooth) == pytest.approx(
                    expected, abs=1e-6)
        group = [sentence() for _ in range(rng.randint(2, 7))]
        for n in (2, 3):
            others = [[" ".join(r) for j, r in enumerate(group) if j != i]
                      for i in range(len(group))]
            expected = float(bleu_score([" ".join(s) for s in group], others, n_gram=n))
            assert self_bleu(group, n) == pytest.approx(expected, abs=1e-6)


def test_self_bleu_sees_repetition():
    same = [["the", "cat", "sat", "down"]] * 5
    assert self_bleu(same, 4) == pytest.approx(1.0)
    varied = [["the", "cat", "sat"], ["a", "dog", "ran"], ["my", "fish", "swam"]]
    assert self_bleu(varied, 2) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        self_bleu(same[:1], 2)


def text_data(tmp_path) -> TextFolderDataModule:
    write_corpus(tmp_path / "corpus")
    return TextFolderDataModule(str(tmp_path / "corpus"), seq_len=8, vocab_size=12,
                                batch_size=8, test_fraction=0.25)


def test_text_gets_bleu_and_self_bleu_and_examples(tmp_path):
    data = text_data(tmp_path)
    generator = SequenceGenerator(vocab_size=12, seq_len=8)
    evaluator = TokenQuality(num_samples=50, bleu_orders=[2, 3], bleu_samples=40, examples=5)
    results = evaluator(Sampler(Module(generator)), data, tmp_path / "eval", "final")
    assert set(results) == {"tokens/nll_test", "tokens/bleu2", "tokens/bleu3",
                            "tokens/bleu2_real", "tokens/bleu3_real", "tokens/self_bleu2",
                            "tokens/self_bleu3", "tokens/self_bleu2_real",
                            "tokens/self_bleu3_real"}
    samples = Module(generator).sample(50)[:40]
    decoded = data.decode(samples)
    references = data.decode(data.test_tokens)
    expected = float(bleu_score([" ".join(s) for s in decoded],
                                [[" ".join(r) for r in references]] * len(decoded), n_gram=2))
    assert results["tokens/bleu2"] == pytest.approx(expected, abs=1e-6)
    assert results["tokens/self_bleu3"] == pytest.approx(self_bleu(decoded, 3))
    train = data.decode(data.train_tokens[:40])
    assert results["tokens/bleu2_real"] == pytest.approx(corpus_bleu(train, references, 2))
    # real sentences of the same law overlap the held-out ones more than random words do
    assert results["tokens/bleu2_real"] > results["tokens/bleu2"]
    lines = (tmp_path / "eval" / "samples_final.txt").read_text().splitlines()
    # each example ends before its first <eos> (the renderer's end_token): no padding written
    assert len(lines) == 5 and all(len(line.split()) <= 8 for line in lines)
    assert all("<eos>" not in line.split() for line in lines)
    assert set(" ".join(lines).split()) <= set(data.vocabulary)


def test_the_evaluator_refuses_what_the_data_cannot_give(tmp_path):
    text = text_data(tmp_path)
    module = Sampler(Module(SequenceGenerator(vocab_size=12, seq_len=8)))
    with pytest.raises(ValueError, match=r"^eval.metrics.tokens.nll_oracle=true: "
                                         r"TextFolderDataModule has no oracle"):
        TokenQuality(num_samples=8, nll_oracle=True)(module, text, None, "t")
    assert "tokens/nll_oracle" not in TokenQuality(num_samples=8, examples=0)(module, text, None,
                                                                              "t")
    no_test = oracle_data(num_test=0)
    with pytest.raises(ValueError, match=r"^eval.metrics.tokens.nll_test=true: "
                                         r"OracleLSTMDataModule has no held-out"):
        TokenQuality(num_samples=8, nll_test=True).prepare(no_test)
    # the oracle gets no BLEU unless asked (its words are pseudo-words)
    oracle = oracle_data()
    sampler = Sampler(Module(oracle.oracle))
    plain = TokenQuality(num_samples=20, examples=0)(sampler, oracle, None, "t")
    assert not any("bleu" in key for key in plain)
    asked = TokenQuality(num_samples=20, bleu=True, bleu_orders=[2], examples=0)(
        sampler, oracle, None, "t")
    assert "tokens/bleu2" in asked and "tokens/self_bleu2" not in asked
    with pytest.raises(ValueError, match=r"^eval=tokens scores token sequences; "
                                         r"DigitsDataModule gives samples"):
        TokenQuality().prepare(DigitsDataModule(batch_size=4, image_size=8))
    with pytest.raises(ValueError, match=r"^eval.metrics.tokens.bleu='yes': must be auto, true "
                                         r"or false$"):
        TokenQuality(bleu="yes")
    with pytest.raises(ValueError, match=r"^eval.metrics.tokens.bleu_orders=\[0\]: must be a list"):
        TokenQuality(bleu_orders=[0])
    # a sampler that gives something else than ids in the vocabulary
    wide = Sampler(Module(SequenceGenerator(vocab_size=50, seq_len=T)))
    with pytest.raises(ValueError, match=r"generated ids outside the data's vocabulary \[0, 40\)"):
        TokenQuality(num_samples=8, examples=0)(wide, oracle, None, "t")


def test_eval_tokens_config():
    cfg = make_cfg("/tmp/run", "eval=tokens", "data=oracle_lstm")
    assert cfg.eval.objective == "tokens/nll_oracle" and cfg.eval.num_samples == 10000
    evaluator = instantiate(cfg.eval.metrics.tokens)
    assert isinstance(evaluator, TokenQuality) and evaluator.num_samples == 10000
    assert evaluator.bleu_orders == [2, 3, 4, 5] and evaluator.protocol == "sample"
    # text has no oracle: its yaml names NLL_test the objective
    assert make_cfg("/tmp/run", "eval=tokens", "data=python_docs").eval.objective == "tokens/nll_test"
    assert make_cfg("/tmp/run", "eval=tokens", "data=text_folder",
                    "data.path=/tmp").eval.objective == "tokens/nll_test"

"""Metrics of token-sequence generators (``eval=tokens``): SeqGAN's NLL_oracle and NLL_test,
BLEU against held-out text and self-BLEU of the samples.

* ``tokens/nll_oracle``: the oracle's mean NLL per token of ``num_samples`` (10,000) generated
  sequences, -1/(N T) sum log G_oracle(y_t | y_<t) (Yu et al. 2017, sec. 5; the official
  ``target_loss``: the oracle's ``pretrain_loss`` on the generator's samples, mean over
  batches of 64 equal sequences, i.e. the mean per token). Needs data with an ``oracle``
  (``data=oracle_lstm``). Lower is better: the paper's objective. ``tokens/nll_oracle_data``
  beside it is the oracle's NLL of its own held-out sequences, the entropy rate a perfect
  generator reaches.
* ``tokens/nll_test``: the generator's mean NLL per token of the data's held-out sequences
  (``test_tokens``), teacher-forced (``module.generator.nll``): how well G covers data it was
  not trained on (the "NLL-test" of later text-GAN papers; Texygen, Zhu et al. 2018).
* ``tokens/bleu<n>``: corpus BLEU-n (Papineni et al. 2002) of ``bleu_samples`` generated
  sentences, each against ALL held-out sentences as references (the Texygen protocol), on
  words decoded up to the first ``<eos>``; ``tokens/bleu<n>_real`` the same for as many training
  sentences, the value real text of this law scores. ``tokens/self_bleu<n>``: each generated
  sentence against all the OTHER generated ones (Zhu et al. 2018): high means the samples
  repeat each other (mode collapse); ``tokens/self_bleu<n>_real`` that of training sentences.
  Texygen averages nltk's smoothed sentence BLEU; here BLEU is torchmetrics' ``BLEUScore``
  (corpus counts, no smoothing unless ``smooth``), computed by :func:`corpus_bleu` and
  :func:`self_bleu`, which give exactly ``torchmetrics.functional.bleu_score`` with those
  references but count each reference n-gram once instead of once per hypothesis.

The evaluator draws its samples through the sampling protocol (``sampler(n)`` -> Long (n, T))
and reads ``sampler.module.generator`` for NLL_test; every switch is ``auto`` (computed where
the data and model allow), ``true`` (refused in one line where they do not) or ``false``.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gan_lab.metrics.settings import check_int

__all__ = ["TokenQuality", "corpus_bleu", "mean_nll", "ngram_counts", "self_bleu"]

Sentence = Sequence[str]


# ----------------------------------------------------------------------------- NLL
@torch.no_grad()
def mean_nll(net: nn.Module, tokens: Tensor, batch: int = 500) -> float:
    """``net``'s mean NLL per token of ``tokens`` (N, T) (``net.nll``: the mean over a batch),
    ``batch`` sequences at a time on ``net``'s device; all sequences have T tokens, so the
    size-weighted mean of the batches' means is the mean per token."""
    if len(tokens) == 0:
        raise ValueError("mean_nll: no sequences to score")
    device = next(net.parameters()).device
    total = 0.0
    for part in tokens.split(batch):
        total += float(net.nll(part.to(device))) * len(part)
    return total / len(tokens)


# ----------------------------------------------------------------------------- BLEU
def ngram_counts(words: Sentence, n: int) -> Counter:
    """Counts of the 1- to n-grams of ``words`` (tuples)."""
    words = tuple(words)
    return Counter(words[i:i + k] for k in range(1, n + 1) for i in range(len(words) - k + 1))


def _closest_length(length: int, firsts: dict[int, int]) -> int:
    """The reference length closest to ``length``; among two as close, the one whose first
    reference comes first (torchmetrics takes the first closest reference in order)."""
    return min(firsts, key=lambda ref: (abs(ref - length), firsts[ref]))


def _score(numerator: list[int], denominator: list[int], hyp_len: int, ref_len: int,
           smooth: bool) -> float:
    """torchmetrics' ``_bleu_score_compute`` with uniform weights over the n orders."""
    n = len(numerator)
    if min(numerator) == 0:
        return 0.0
    if smooth:
        precisions = [(numerator[k] + 1) / (denominator[k] + 1) for k in range(n)]
        precisions[0] = numerator[0] / denominator[0]
    else:
        precisions = [numerator[k] / denominator[k] for k in range(n)]
    geometric = math.exp(sum(math.log(p) / n for p in precisions))
    brevity = 1.0 if hyp_len > ref_len else math.exp(1.0 - ref_len / hyp_len)
    return brevity * geometric


def _add_clipped(hypothesis: Counter, allowed: Callable[[tuple], int], numerator: list[int],
                 denominator: list[int]) -> None:
    for gram, count in hypothesis.items():
        numerator[len(gram) - 1] += min(count, allowed(gram))
        denominator[len(gram) - 1] += count


def corpus_bleu(hypotheses: Sequence[Sentence], references: Sequence[Sentence], n: int = 4,
                smooth: bool = False) -> float:
    """Corpus BLEU-n of ``hypotheses`` (word lists), every one against ALL ``references``:
    ``torchmetrics.functional.bleu_score([" ".join(h) ...], [[" ".join(r) ...]] * len)``, the
    clipping counts (the largest count of each n-gram in any reference) made once."""
    if not hypotheses or not references:
        raise ValueError("corpus_bleu needs hypotheses and references")
    most: Counter = Counter()
    for reference in references:
        most |= ngram_counts(reference, n)
    firsts: dict[int, int] = {}
    for index, reference in enumerate(references):
        firsts.setdefault(len(reference), index)
    numerator, denominator = [0] * n, [0] * n
    hyp_len = ref_len = 0
    for hypothesis in hypotheses:
        hyp_len += len(hypothesis)
        ref_len += _closest_length(len(hypothesis), firsts)
        _add_clipped(ngram_counts(hypothesis, n), most.__getitem__, numerator, denominator)
    return _score(numerator, denominator, hyp_len, ref_len, smooth)


def self_bleu(sentences: Sequence[Sentence], n: int = 4, smooth: bool = False) -> float:
    """Self-BLEU-n: corpus BLEU of each sentence against all the OTHER sentences (Zhu et al.
    2018) as torchmetrics computes it with those references. The largest and second largest
    count of each n-gram over the sentences give the largest over the others in O(1)."""
    if len(sentences) < 2:
        raise ValueError("self_bleu needs at least 2 sentences")
    counts = [ngram_counts(sentence, n) for sentence in sentences]
    top: dict[tuple, list[int]] = {}  # n-gram -> [largest count, second largest]
    for counter in counts:
        for gram, count in counter.items():
            best = top.setdefault(gram, [0, 0])
            if count >= best[0]:
                best[0], best[1] = count, best[0]
            elif count > best[1]:
                best[1] = count
    firsts: dict[int, list[int]] = {}  # length -> the first two sentences of that length
    for index, sentence in enumerate(sentences):
        seen = firsts.setdefault(len(sentence), [])
        if len(seen) < 2:
            seen.append(index)
    numerator, denominator = [0] * n, [0] * n
    hyp_len = ref_len = 0
    for index, counter in enumerate(counts):
        hyp_len += len(sentences[index])
        others = {length: next(i for i in seen if i != index)
                  for length, seen in firsts.items() if any(i != index for i in seen)}
        ref_len += _closest_length(len(sentences[index]), others)

        def allowed(gram: tuple, counter: Counter = counter) -> int:
            best, second = top[gram]
            return second if counter[gram] == best else best

        _add_clipped(counter, allowed, numerator, denominator)
    return _score(numerator, denominator, hyp_len, ref_len, smooth)


# ----------------------------------------------------------------------------- the evaluator
def _switch(key: str, value: Any) -> bool | None:
    """``auto`` -> None, booleans as they are; one-line ValueError otherwise."""
    if value == "auto" or value is None:
        return None
    if isinstance(value, bool):
        return value
    raise ValueError(f"{key}={value!r}: must be auto, true or false")


def _orders(key: str, value: Any) -> list[int]:
    orders = [value] if isinstance(value, int) and not isinstance(value, bool) else list(value or [])
    if any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in orders):
        raise ValueError(f"{key}={value!r}: must be a list of n-gram orders >= 1 (e.g. [2, 3, 4, 5])")
    return sorted(set(orders))


class TokenQuality:
    """The ``eval=tokens`` evaluator (see the module's docstring for the numbers).

    Args:
        num_samples: generated sequences per evaluation (SeqGAN: 10,000); NLL_oracle scores all.
        sample_batch: sequences asked of the sampler at a time.
        nll_batch: sequences per forward of the oracle or the generator.
        nll_oracle, nll_test, bleu, self_bleu: ``auto`` (where the data and model allow: BLEU
            on real text only), ``true`` (refused in one line otherwise) or ``false``.
        bleu_orders: the n of BLEU-n and self-BLEU-n (Texygen: 2 to 5).
        bleu_samples: generated sentences scored by BLEU and self-BLEU (the first of the
            ``num_samples``; self-BLEU compares them with each other).
        smooth: torchmetrics' BLEU smoothing (add one to the counts of orders 2 and up).
        examples: generated sequences written as text to ``out_dir/samples_<tag>.txt`` (0: none).
    """

    protocol = "sample"

    def __init__(self, num_samples: int = 10_000, sample_batch: int = 1000, nll_batch: int = 500,
                 nll_oracle: Any = "auto", nll_test: Any = "auto", bleu: Any = "auto",
                 self_bleu: Any = "auto", bleu_orders: Sequence[int] = (2, 3, 4, 5),
                 bleu_samples: int = 1000, smooth: bool = False, examples: int = 20) -> None:
        self.num_samples = check_int("eval.num_samples", num_samples)
        self.sample_batch = check_int("eval.metrics.tokens.sample_batch", sample_batch)
        self.nll_batch = check_int("eval.metrics.tokens.nll_batch", nll_batch)
        self.nll_oracle = _switch("eval.metrics.tokens.nll_oracle", nll_oracle)
        self.nll_test = _switch("eval.metrics.tokens.nll_test", nll_test)
        self.bleu = _switch("eval.metrics.tokens.bleu", bleu)
        self.self_bleu = _switch("eval.metrics.tokens.self_bleu", self_bleu)
        self.bleu_orders = _orders("eval.metrics.tokens.bleu_orders", bleu_orders)
        self.bleu_samples = check_int("eval.metrics.tokens.bleu_samples", bleu_samples, 2)
        if not isinstance(smooth, bool):
            raise ValueError(f"eval.metrics.tokens.smooth={smooth!r}: must be true or false")
        self.smooth = smooth
        self.examples = check_int("eval.metrics.tokens.examples", examples, 0)
        self._real: dict[str, Any] | None = None
        self._oracle_source: nn.Module | None = None
        self._oracles: dict[str, nn.Module] = {}  # the oracle's copies on other devices

    # ------------------------------------------------------------------ what the data allows
    def _wants(self, switch: bool | None, possible: bool, refusal: str) -> bool:
        if switch is True and not possible:
            raise ValueError(refusal)
        return possible if switch is None else switch

    def plan(self, datamodule: Any) -> dict[str, bool]:
        """Which numbers this data gets; one-line ValueError for one asked for (``true``) that
        it cannot give."""
        name = type(datamodule).__name__
        has_test = len(getattr(datamodule, "test_tokens", ())) > 0
        text = bool(getattr(datamodule, "natural_text", False))
        decodes = callable(getattr(datamodule, "decode", None))
        bleu_refusal = (f"eval.metrics.tokens.bleu=true: {name} has no held-out sequences to "
                        "decode (test_tokens and decode); use data=python_docs or text_folder")
        return {
            "nll_oracle": self._wants(
                self.nll_oracle, getattr(datamodule, "oracle", None) is not None,
                f"eval.metrics.tokens.nll_oracle=true: {name} has no oracle to score samples "
                "with (NLL_oracle is for synthetic data: data=oracle_lstm); set it to auto"),
            "nll_test": self._wants(
                self.nll_test, has_test,
                f"eval.metrics.tokens.nll_test=true: {name} has no held-out sequences "
                "(test_tokens); set data.num_test above 0 or nll_test to auto"),
            "bleu": self._wants(self.bleu, has_test and decodes and (text or self.bleu is True),
                                bleu_refusal),
            "self_bleu": self._wants(self.self_bleu, decodes and (text or self.self_bleu is True),
                                     f"eval.metrics.tokens.self_bleu=true: {name} cannot decode "
                                     "its ids into words (decode)"),
        }

    def prepare(self, datamodule: Any) -> None:
        """Check the data against the switches, then the real data's reference numbers (the
        oracle's NLL of its held-out data, BLEU and self-BLEU of training sentences), once per
        data module."""
        kind = getattr(datamodule, "batch_kind", None)
        spec = getattr(datamodule, "sample_spec", None)
        if getattr(spec, "vocab_size", None) is None:
            raise ValueError(f"eval=tokens scores token sequences; {type(datamodule).__name__} "
                             f"gives {kind or 'samples'} (use data=oracle_lstm, python_docs or "
                             "text_folder)")
        plan = self.plan(datamodule)
        if self._real is not None and self._real["data"] is datamodule:
            return
        real: dict[str, Any] = {"data": datamodule, "plan": plan}
        if plan["nll_oracle"] and len(datamodule.test_tokens):
            real["tokens/nll_oracle_data"] = mean_nll(datamodule.oracle, datamodule.test_tokens,
                                                      self.nll_batch)
        if plan["bleu"] or plan["self_bleu"]:
            train = datamodule.decode(datamodule.train_tokens[:self.bleu_samples])
            if plan["bleu"]:
                real["references"] = datamodule.decode(datamodule.test_tokens)
                for n in self.bleu_orders:
                    real[f"tokens/bleu{n}_real"] = corpus_bleu(train, real["references"], n,
                                                               self.smooth)
            if plan["self_bleu"]:
                for n in self.bleu_orders:
                    real[f"tokens/self_bleu{n}_real"] = self_bleu(train, n, self.smooth)
        self._real = real

    # ------------------------------------------------------------------ one evaluation
    def draw(self, sampler: Callable[[int], Tensor], vocab_size: int) -> Tensor:
        """``num_samples`` sequences, ``sample_batch`` at a time, checked: Long (N, T) ids."""
        parts, drawn = [], 0
        while drawn < self.num_samples:
            count = min(self.sample_batch, self.num_samples - drawn)
            part = torch.as_tensor(sampler(count)).cpu()
            if part.dim() != 2 or len(part) != count or part.is_floating_point():
                raise ValueError(f"eval=tokens: sample({count}) gave {part.dtype} "
                                 f"{tuple(part.shape)}; expected token ids ({count}, T)")
            parts.append(part.long())
            drawn += count
        samples = torch.cat(parts)
        if int(samples.min()) < 0 or int(samples.max()) >= vocab_size:
            raise ValueError(f"eval=tokens: generated ids outside the data's vocabulary "
                             f"[0, {vocab_size})")
        return samples

    def _oracle_on(self, oracle: nn.Module, device: torch.device) -> nn.Module:
        """The oracle on ``device``: the data's own on the CPU, else a copy made once."""
        if self._oracle_source is not oracle:
            self._oracle_source, self._oracles = oracle, {}
        if device.type == "cpu":
            return oracle
        if str(device) not in self._oracles:
            self._oracles[str(device)] = copy.deepcopy(oracle).to(device)
        return self._oracles[str(device)]

    def __call__(self, sampler: Any, datamodule: Any, out_dir: Path | None,
                 tag: str) -> dict[str, float]:
        self.prepare(datamodule)
        real, plan = self._real, self._real["plan"]
        module = getattr(sampler, "module", None)
        generator = getattr(module, "generator", None)
        device = _device_of(generator)
        samples = self.draw(sampler, datamodule.sample_spec.vocab_size)
        results: dict[str, float] = {}
        if plan["nll_oracle"]:
            oracle = self._oracle_on(datamodule.oracle, device)
            results["tokens/nll_oracle"] = mean_nll(oracle, samples, self.nll_batch)
            if "tokens/nll_oracle_data" in real:
                results["tokens/nll_oracle_data"] = real["tokens/nll_oracle_data"]
        if plan["nll_test"]:
            if generator is None or not callable(getattr(generator, "nll", None)):
                if self.nll_test is True:
                    raise ValueError(f"eval.metrics.tokens.nll_test=true: {type(module).__name__}"
                                     " has no generator with nll(tokens) to score the held-out "
                                     "sequences")
            else:
                results["tokens/nll_test"] = mean_nll(generator, datamodule.test_tokens,
                                                      self.nll_batch)
        if plan["bleu"] or plan["self_bleu"]:
            sentences = datamodule.decode(samples[:self.bleu_samples])
            for n in self.bleu_orders:
                if plan["bleu"]:
                    results[f"tokens/bleu{n}"] = corpus_bleu(sentences, real["references"], n,
                                                             self.smooth)
                    results[f"tokens/bleu{n}_real"] = real[f"tokens/bleu{n}_real"]
                if plan["self_bleu"] and len(sentences) >= 2:
                    results[f"tokens/self_bleu{n}"] = self_bleu(sentences, n, self.smooth)
                    results[f"tokens/self_bleu{n}_real"] = real[f"tokens/self_bleu{n}_real"]
        if self.examples and out_dir is not None:
            self.write_examples(samples[:self.examples], datamodule, Path(out_dir), tag)
        return results

    @staticmethod
    def write_examples(samples: Tensor, datamodule: Any, out_dir: Path, tag: str) -> Path:
        """The sequences as text, one per line, through the data's vocabulary (the tokens
        renderer): ``out_dir/samples_<tag>.txt``."""
        from gan_lab.kinds import SampleKind
        from gan_lab.outputs import render, write
        from gan_lab.visuals import Visual

        options = dict(datamodule.sample_spec.extras)
        return write(render(Visual(SampleKind.TOKENS, samples, options=options)),
                     out_dir / f"samples_{tag}")

    def __repr__(self) -> str:
        return (f"TokenQuality(num_samples={self.num_samples}, bleu_orders={self.bleu_orders}, "
                f"bleu_samples={self.bleu_samples})")


def _device_of(net: Any) -> torch.device:
    """Where ``net``'s parameters are (the CPU for none)."""
    try:
        return next(net.parameters()).device
    except (AttributeError, StopIteration, TypeError):
        return torch.device("cpu")

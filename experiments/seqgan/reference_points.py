"""The reference points of SeqGAN's Table 1 for this repository's oracle (``data=oracle_lstm``):
NLL_oracle (the oracle's mean NLL per token) of 10,000 sequences drawn by

* the oracle itself (the floor: the oracle's entropy rate on its own samples),
* uniform tokens,
* an untrained generator (the official init, N(0, 0.1)),
* a unigram sampler fitted on the 10,000 training sequences (the paper's "random" row is at this
  level on the official oracle: about 10.3),

and NLL_test (the model's NLL of the 10,000 held-out oracle sequences) where the sampler is a
model. On the official oracle these are about 5.76, 11.44, 11.43 and 10.29 (issue 23).

    python experiments/seqgan/reference_points.py          # writes reference_points.md here
    ORACLE_SEEDS=0,1,2 python experiments/seqgan/reference_points.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from gan_lab.data.tokens.oracle import OracleLSTMDataModule
from gan_lab.metrics.tokens import mean_nll
from gan_lab.nets import SequenceGenerator

HERE = Path(__file__).resolve().parent
SAMPLES = 10_000


def unigram_log_probs(tokens: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """log p(token) from training counts, add-one smoothed (no id has probability 0)."""
    counts = torch.bincount(tokens.flatten(), minlength=vocab_size).double() + 1.0
    return (counts / counts.sum()).log()


def rows_for(oracle_seed: int) -> list[tuple[str, float, float | None]]:
    data = OracleLSTMDataModule(oracle_seed=oracle_seed)
    oracle, train, test = data.oracle, data.train_tokens, data.test_tokens
    draw = torch.Generator().manual_seed(1000 + oracle_seed)
    rows = []
    own = oracle.sample(SAMPLES, generator=draw)
    rows.append(("oracle's own samples", mean_nll(oracle, own), mean_nll(oracle, test)))
    uniform = torch.randint(data.vocab_size, (SAMPLES, data.seq_len), generator=draw)
    rows.append(("uniform tokens", mean_nll(oracle, uniform), float(torch.log(
        torch.tensor(float(data.vocab_size))))))
    torch.manual_seed(2000 + oracle_seed)
    untrained = SequenceGenerator().eval().requires_grad_(False)
    rows.append(("untrained G (N(0, 0.1) init)",
                 mean_nll(oracle, untrained.sample(SAMPLES, generator=draw)),
                 mean_nll(untrained, test)))
    log_p = unigram_log_probs(train, data.vocab_size)
    unigram = torch.multinomial(log_p.exp(), SAMPLES * data.seq_len, replacement=True,
                                generator=draw).view(SAMPLES, data.seq_len)
    rows.append(("unigram of the training data", mean_nll(oracle, unigram),
                 float(-log_p[test.flatten()].mean())))
    return rows


def main() -> None:
    seeds = [int(s) for s in os.environ.get("ORACLE_SEEDS", "0").split(",")]
    started = time.monotonic()
    lines = ["# SeqGAN's reference points on `data=oracle_lstm`", "",
             "NLL per token; NLL_oracle of 10,000 sequences of each sampler, NLL_test the "
             "sampler's NLL of the 10,000 held-out oracle sequences (uniform: log 5000).", "",
             "| sampler | oracle seed | NLL_oracle | NLL_test |", "|---|---|---|---|"]
    for seed in seeds:
        for name, nll_oracle, nll_test in rows_for(seed):
            test = "" if nll_test is None else f"{nll_test:.3f}"
            lines.append(f"| {name} | {seed} | {nll_oracle:.3f} | {test} |")
    lines += ["", f"Made by `ORACLE_SEEDS={','.join(map(str, seeds))} python "
              f"experiments/seqgan/reference_points.py` in {time.monotonic() - started:.0f} s "
              "(CPU)."]
    (HERE / "reference_points.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

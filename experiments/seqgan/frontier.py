"""The verdict of experiments/seqgan: each arm's last NLL_oracle and NLL_test, the MLE model's
temperature frontier with SeqGAN's point on the same axes, and the learning curves with the
stage boundaries marked.

For the ``mle`` arm's final generator at temperature tau (0.6 ... 1.2): NLL_oracle of 10,000
samples of softmax(logits / tau), and NLL_test of the held-out sequences under that same
tempered model. Lowering tau trades NLL_test (diversity, coverage) for NLL_oracle (quality), so
a GAN that lowers NLL_oracle only by sharpening sits on this frontier; one that beats MLE lies
below it.

    python experiments/seqgan/frontier.py [RUNS]     # default: the newest runs_* folder here
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from gan_lab.data.tokens.oracle import OracleLSTMDataModule  # noqa: E402
from gan_lab.loading import load_module  # noqa: E402
from gan_lab.metrics.tokens import mean_nll  # noqa: E402

HERE = Path(__file__).resolve().parent
TEMPERATURES = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]
SAMPLES = 10_000


class Tempered(torch.nn.Module):
    """A generator whose logits are divided by tau (for NLL_test of the tempered model)."""

    def __init__(self, net: torch.nn.Module, tau: float) -> None:
        super().__init__()
        self.net, self.tau = net, tau

    def nll(self, tokens: torch.Tensor) -> torch.Tensor:
        logp = torch.log_softmax(self.net(tokens) / self.tau, -1)
        return -logp.gather(-1, tokens.unsqueeze(-1)).mean()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def final(run: Path) -> dict[str, float]:
    rows = [r for r in _rows(run / "eval" / "metrics.csv") if r.get("tokens/nll_oracle")]
    last = rows[-1]
    return {"iteration": int(float(last["iteration"])),
            "nll_oracle": float(last["tokens/nll_oracle"]),
            "nll_test": float(last["tokens/nll_test"])}


def frontier(run: Path, data: OracleLSTMDataModule) -> list[tuple[float, float, float]]:
    module, _ = load_module(run / "checkpoints" / "last.ckpt")
    net = module.generator.eval().requires_grad_(False)
    points = []
    for tau in TEMPERATURES:
        draw = torch.Generator().manual_seed(int(tau * 1000))
        samples = torch.cat([net.sample(len(u), uniforms=u, temperature=tau)
                             for u in torch.rand(SAMPLES, net.seq_len, generator=draw).split(1000)])
        points.append((tau, mean_nll(data.oracle, samples), mean_nll(Tempered(net, tau),
                                                                      data.test_tokens)))
    return points


def curves(runs: Path, out: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for run in sorted(runs.glob("*_s*")):
        rows = [r for r in _rows(run / "eval" / "metrics.csv") if r.get("tokens/nll_oracle")]
        x = [int(float(r["iteration"])) for r in rows]
        for ax, key in zip(axes, ("tokens/nll_oracle", "tokens/nll_test"), strict=True):
            ax.plot(x, [float(r[key]) for r in rows], marker=".", label=run.name)
    for ax, title in zip(axes, ("NLL_oracle (lower: closer to the oracle)", "NLL_test"),
                         strict=True):
        ax.set_title(title)
        ax.set_xlabel("iteration (one batch)")
        ax.legend(fontsize=8)
    seqgan = next(iter(sorted(runs.glob("seqgan_s*"))), None)
    if seqgan is not None:  # the stage boundaries, from the run's own stage log
        for boundary in stage_starts(seqgan):
            for ax in axes:
                ax.axvline(boundary, color="grey", ls=":", lw=1)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def stage_starts(run: Path) -> list[int]:
    """The iterations where the run's D pre-training and adversarial stages begin, from its
    saved config (an epoch is num_train // batch_size batches, as the scheme counts it)."""
    cfg = yaml.safe_load((run / ".hydra" / "config.yaml").read_text())
    model, data = cfg["model"], cfg["data"]
    epoch = int(data["num_train"]) // int(data["batch_size"])
    mle = int(model["pretrain_epochs"]) * epoch
    return [mle, mle + int(model["d_pretrain_steps"]) * int(model["d_epochs"]) * epoch]


def main() -> None:
    runs = Path(sys.argv[1]) if len(sys.argv) > 1 else sorted(HERE.glob("runs_*"))[-1]
    started = time.monotonic()
    data = OracleLSTMDataModule()
    lines = [f"# SeqGAN on the oracle: {runs.name}", "",
             "The last evaluation of each run (not the best): NLL per token, 10,000 samples.", "",
             "| run | iteration | NLL_oracle | NLL_test |", "|---|---|---|---|"]
    finals = {}
    for run in sorted(runs.glob("*_s*")):
        if (run / "eval" / "metrics.csv").is_file():
            finals[run.name] = final(run)
            f = finals[run.name]
            lines.append(f"| {run.name} | {f['iteration']} | {f['nll_oracle']:.3f} | "
                         f"{f['nll_test']:.3f} |")
    mle = next(iter(sorted(runs.glob("mle_s*"))), None)
    if mle is not None and (mle / "checkpoints" / "last.ckpt").is_file():
        points = frontier(mle, data)
        lines += ["", f"The temperature frontier of {mle.name}:", "",
                  "| tau | NLL_oracle | NLL_test |", "|---|---|---|"]
        lines += [f"| {tau} | {o:.3f} | {t:.3f} |" for tau, o, t in points]
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        ax.plot([p[2] for p in points], [p[1] for p in points], "o-", label=f"{mle.name}, tau")
        for tau, o, t in points:
            ax.annotate(f"{tau}", (t, o), fontsize=7)
        for name, f in finals.items():
            if name.startswith("seqgan"):
                ax.plot(f["nll_test"], f["nll_oracle"], "r*", ms=12, label=name)
        ax.set_xlabel("NLL_test (the model on held-out oracle data)")
        ax.set_ylabel("NLL_oracle (the oracle on the model's samples)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(HERE / "frontier.png", dpi=120)
    curves(runs, HERE / "curves.png")
    lines += ["", f"Made by `python experiments/seqgan/frontier.py {runs}` in "
              f"{time.monotonic() - started:.0f} s (CPU)."]
    (HERE / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

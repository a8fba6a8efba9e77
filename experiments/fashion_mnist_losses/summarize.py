"""Summarise the Fashion-MNIST loss comparison: table (mean ± std over seeds), curves, samples.

    python experiments/fashion_mnist_losses/summarize.py experiments/fashion_mnist_losses/runs

Reads runs/<loss>_s<seed>/ (results.json, eval/metrics.csv, samples/; collected by
gan_lab.summarize); writes results.csv, table.md, fid_curves.png and samples.png next to this
file (and adds the row of reference.json, written by reference.py, when it is there). What is
particular here: the losses' titles and order, optimizer steps per iteration, the paper's FIDs.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from matplotlib.figure import Figure

from gan_lab.summarize import (
    markdown_table,
    mean_curve,
    mean_spread,
    sample_sheet,
    seeded_runs,
    write_csv,
)

HERE = Path(__file__).resolve().parent
# Run-folder prefix -> row title. The batch-norm-critic WGAN-GP runs are the study's first
# WGAN-GP runs (before penalties required a per-sample critic), kept as runs/
# wgan_gp_batch_norm_critic_s<seed>; see README.md, "The WGAN-GP rows".
LOSSES = {"minimax": "MM GAN", "nsgan": "NS GAN", "lsgan": "LSGAN", "wgan": "WGAN",
          "wgan_gp_batch_norm_critic": "WGAN-GP, batch-norm critic (before the fix)",
          "wgan_gp": "WGAN-GP, layer-norm critic", "hinge": "hinge"}
STEPS_PER_ITERATION = {"wgan": 6, "wgan_gp": 6, "wgan_gp_batch_norm_critic": 6}  # n_critic 5 + 1
# Lucic et al. 2018 ("Are GANs Created Equal?"), Fashion-MNIST FID with Inception features,
# as quoted in the issue (best over their large hyper-parameter search); hinge not in the paper.
PAPER_FID = {"minimax": 29.6, "nsgan": 26.5, "lsgan": 30.7, "wgan": 21.5, "wgan_gp": 24.5,
             "wgan_gp_batch_norm_critic": 24.5}
COLUMNS = {"classifier/fid": "FID", "classifier/kid": "KID", "classifier/is": "IS",
           "classifier/precision": "precision", "classifier/recall": "recall"}


def load(runs: Path) -> list[dict]:
    """One record per finished run: loss and seed (from the folder name), minutes, results."""
    records = []
    for loss, seed, run in seeded_runs(runs):
        if loss not in LOSSES:
            continue
        records.append({"loss": loss, "seed": seed, "run": run,
                        "minutes": run.span_minutes, **run.results})
    return records


def by_loss(records: list[dict]) -> dict[str, list[dict]]:
    return {loss: [r for r in records if r["loss"] == loss] for loss in LOSSES
            if any(r["loss"] == loss for r in records)}


def write_table(records: list[dict]) -> str:
    header = ["loss", "seeds", "iterations", "D+G steps", "minutes", *COLUMNS.values(),
              "best FID", "Lucic et al. FID"]
    rows = []
    for loss, group in by_loss(records).items():
        iterations = group[0]["iteration"]
        rows.append([LOSSES[loss], len(group), iterations,
                     iterations * STEPS_PER_ITERATION.get(loss, 2),
                     f"{statistics.fmean(r['minutes'] for r in group):.1f}",
                     *(mean_spread([r[key] for r in group], spread="std") for key in COLUMNS),
                     f"{min(r['classifier/fid'] for r in group):.3g}",
                     f"{PAPER_FID[loss]:g}" if loss in PAPER_FID else "—"])
    reference = HERE / "reference.json"  # reference.py: the real test images, scored alike
    if reference.is_file():
        real = json.loads(reference.read_text())
        rows.append(["real test images", "—", "—", "—", "—",
                     *(f"{real[key]:.3g}" for key in COLUMNS), "—", "—"])
    return markdown_table(header, rows) + "\n"


def write_results_csv(records: list[dict], path: Path) -> None:
    keys = ["loss", "seed", "iteration", "minutes", *COLUMNS, "classifier/kid_std",
            "classifier/is_std"]
    ordered = sorted(records, key=lambda r: (list(LOSSES).index(r["loss"]), r["seed"]))
    write_csv(path, keys, ({**r, "minutes": f"{r['minutes']:.2f}"} for r in ordered))


def plot_curves(records: list[dict], path: Path) -> None:
    figure = Figure(figsize=(6.5, 4))
    axis = figure.add_subplot(1, 1, 1)
    for loss, group in by_loss(records).items():
        per = STEPS_PER_ITERATION.get(loss, 2)
        steps, means, _ = mean_curve([[(it * per, fid) for it, fid in r["run"].curve(
            "classifier/fid")] for r in group])
        if steps:
            axis.plot(steps, means, marker="o", label=LOSSES[loss])
    axis.set_yscale("log")
    axis.set_xlabel("optimizer steps (D + G updates)")
    axis.set_ylabel("classifier-feature FID (mean over seeds)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_samples(records: list[dict], path: Path, seed: int = 0) -> None:
    chosen = {r["loss"]: r["run"] for r in records if r["seed"] == seed}
    sample_sheet([(title, chosen[loss]) for loss, title in LOSSES.items() if loss in chosen],
                 path, size=2.6)


def main(runs: Path, out: Path = HERE) -> None:
    records = load(runs)
    if not records:
        sys.exit(f"no finished runs under {runs}")
    table = write_table(records)
    (out / "table.md").write_text(table)
    write_results_csv(records, out / "results.csv")
    plot_curves(records, out / "fid_curves.png")
    plot_samples(records, out / "samples.png")
    print(table)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else HERE / "runs"))

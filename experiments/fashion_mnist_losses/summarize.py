"""Summarise the Fashion-MNIST loss comparison: table (mean ± std over seeds), curves, samples.

    python experiments/fashion_mnist_losses/summarize.py experiments/fashion_mnist_losses/runs

Reads runs/<loss>_s<seed>/{results.json,eval/metrics.csv,samples/,.hydra/config.yaml};
writes results.csv, table.md, fid_curves.png and samples.png next to this file (and adds the
row of reference.json, written by reference.py, when it is there).
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib.image as mpimg
from matplotlib.figure import Figure

HERE = Path(__file__).resolve().parent
LOSSES = {"minimax": "MM GAN", "nsgan": "NS GAN", "lsgan": "LSGAN", "wgan": "WGAN",
          "wgan_gp": "WGAN-GP", "hinge": "hinge"}
STEPS_PER_ITERATION = {"wgan": 6, "wgan_gp": 6}  # n_critic 5 + 1; the others 1 + 1
# Lucic et al. 2018 ("Are GANs Created Equal?"), Fashion-MNIST FID with Inception features,
# as quoted in the issue (best over their large hyper-parameter search); hinge not in the paper.
PAPER_FID = {"minimax": 29.6, "nsgan": 26.5, "lsgan": 30.7, "wgan": 21.5, "wgan_gp": 24.5}
COLUMNS = {"classifier/fid": ("FID", 1.0), "classifier/kid": ("KID", 1.0),
           "classifier/is": ("IS", 1.0), "classifier/precision": ("precision", 1.0),
           "classifier/recall": ("recall", 1.0)}


def load(runs: Path) -> list[dict]:
    records = []
    for result in sorted(runs.glob("*_s*/results.json")):
        loss, seed = result.parent.name.rsplit("_s", 1)
        if loss not in LOSSES:
            continue
        run = result.parent
        minutes = (result.stat().st_mtime - (run / ".hydra" / "config.yaml").stat().st_mtime) / 60
        records.append({"loss": loss, "seed": int(seed), "dir": run, "minutes": minutes,
                        **json.loads(result.read_text())})
    return records


def mean_std(values: list[float]) -> str:
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{mean:.3g} ± {spread:.2g}"


def write_table(records: list[dict]) -> str:
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        groups[record["loss"]].append(record)
    header = ["loss", "seeds", "iterations", "D+G steps", "minutes",
              *(name for name, _ in COLUMNS.values()), "best FID", "Lucic et al. FID"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for loss, title in LOSSES.items():
        group = groups.get(loss)
        if not group:
            continue
        iterations = group[0]["iteration"]
        cells = [title, str(len(group)), str(iterations),
                 str(iterations * STEPS_PER_ITERATION.get(loss, 2)),
                 f"{statistics.fmean(r['minutes'] for r in group):.1f}"]
        cells += [mean_std([r[key] * scale for r in group]) for key, (_, scale) in COLUMNS.items()]
        cells.append(f"{min(r['classifier/fid'] for r in group):.3g}")
        cells.append(f"{PAPER_FID[loss]:g}" if loss in PAPER_FID else "—")
        lines.append("| " + " | ".join(cells) + " |")
    reference = HERE / "reference.json"  # reference.py: the real test images, scored alike
    if reference.is_file():
        real = json.loads(reference.read_text())
        cells = ["real test images", "—", "—", "—", "—"]
        cells += [f"{real[key] * scale:.3g}" for key, (_, scale) in COLUMNS.items()]
        lines.append("| " + " | ".join([*cells, "—", "—"]) + " |")
    return "\n".join(lines) + "\n"


def write_csv(records: list[dict], path: Path) -> None:
    keys = ["loss", "seed", "iteration", "minutes", *COLUMNS, "classifier/kid_std",
            "classifier/is_std"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        for record in sorted(records, key=lambda r: (list(LOSSES).index(r["loss"]), r["seed"])):
            writer.writerow({**record, "minutes": f"{record['minutes']:.2f}"})


def plot_curves(records: list[dict], path: Path) -> None:
    figure = Figure(figsize=(6.5, 4))
    axis = figure.add_subplot(1, 1, 1)
    for loss, title in LOSSES.items():
        curves: dict[int, list[float]] = defaultdict(list)
        for record in (r for r in records if r["loss"] == loss):
            with open(record["dir"] / "eval" / "metrics.csv") as handle:
                for line in csv.DictReader(handle):
                    steps = int(line["iteration"]) * STEPS_PER_ITERATION.get(loss, 2)
                    curves[steps].append(float(line["classifier/fid"]))
        if curves:
            steps = sorted(curves)
            axis.plot(steps, [statistics.fmean(curves[s]) for s in steps], marker="o",
                      label=title)
    axis.set_yscale("log")
    axis.set_xlabel("optimizer steps (D + G updates)")
    axis.set_ylabel("classifier-feature FID (mean over seeds)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_samples(records: list[dict], path: Path, seed: int = 0) -> None:
    chosen = {r["loss"]: r for r in records if r["seed"] == seed}
    losses = [loss for loss in LOSSES if loss in chosen]
    figure = Figure(figsize=(2.6 * len(losses), 2.9))
    for j, loss in enumerate(losses):
        axis = figure.add_subplot(1, len(losses), j + 1)
        axis.axis("off")
        grids = sorted((chosen[loss]["dir"] / "samples").glob("iter_*.png"))
        if grids:
            axis.imshow(mpimg.imread(grids[-1]), cmap="gray")
        axis.set_title(LOSSES[loss], fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(runs: Path) -> None:
    records = load(runs)
    if not records:
        sys.exit(f"no finished runs under {runs}")
    table = write_table(records)
    (HERE / "table.md").write_text(table)
    write_csv(records, HERE / "results.csv")
    plot_curves(records, HERE / "fid_curves.png")
    plot_samples(records, HERE / "samples.png")
    print(table)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else HERE / "runs"))

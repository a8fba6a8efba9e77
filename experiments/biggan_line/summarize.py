"""Summarise the BigGAN-line study: tables (mean ± std over seeds), FID curves, sample grids.

    python experiments/biggan_line/summarize.py experiments/biggan_line/runs

Reads runs/<name>_s<seed>/ (results.json, eval/metrics.csv, samples/, the training time in
cli.log; collected by gan_lab.summarize) and writes results.csv, table.md, fid_curves.png and
samples.png next to this file. What is particular here: the rows (model, DiffAugment,
conditional), the budget in optimizer steps (D and G updates together), and the metrics that
only conditional models have (intra-FID, class accuracy, classification accuracy score).
"""

from __future__ import annotations

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
# name -> (title, optimizer steps per generator iteration, conditional); as in run.sh.
ROWS = {
    "dcgan": ("DCGAN", 2, False),
    "wgan_gp": ("WGAN-GP", 6, False),
    "sngan": ("SNGAN", 6, False),
    "sagan": ("SAGAN", 2, False),
    "biggan": ("BigGAN", 3, False),
    "biggan_da": ("BigGAN + DiffAugment", 3, False),
    "r3gan": ("R3GAN", 2, False),
    "r3gan_da": ("R3GAN + DiffAugment", 2, False),
    "cgan_cond": ("cGAN (DCGAN nets)", 2, True),
    "sngan_cond": ("SNGAN, projection D", 6, True),
    "sagan_cond": ("SAGAN", 2, True),
    "biggan_cond": ("BigGAN", 3, True),
    "r3gan_cond": ("R3GAN", 2, True),
}
METRICS = {"classifier/fid": "FID", "classifier/kid": "KID", "classifier/precision": "precision",
           "classifier/recall": "recall", "classifier/density": "density",
           "classifier/coverage": "coverage"}
CONDITIONAL = {"classifier/intra_fid": "intra-FID", "classifier/class_accuracy": "class accuracy",
               "cas/accuracy": "CAS"}


def load(runs: Path) -> list[dict]:
    """One record per finished run of a known row: name, seed, minutes, results."""
    return [{"name": name, "seed": seed, "run": run, "minutes": run.minutes, **run.results}
            for name, seed, run in seeded_runs(runs) if name in ROWS]


def _cell(values: list[float]) -> str:
    return mean_spread(values, spread="std")


def tables(records: list[dict]) -> str:
    by_name: dict[str, list[dict]] = {}
    for record in records:
        by_name.setdefault(record["name"], []).append(record)
    out = []
    for conditional, metrics in ((False, METRICS), (True, {**METRICS, **CONDITIONAL})):
        rows = []
        for name, (title, per, cond) in ROWS.items():
            runs = by_name.get(name, [])
            if cond != conditional or not runs:
                continue
            iterations = max(int(r.get("iteration", 0)) for r in runs)
            minutes = [r["minutes"] for r in runs if r["minutes"] is not None]
            rows.append([title, len(runs), iterations, iterations * per, _cell(minutes),
                         *(_cell([r[key] for r in runs if key in r]) for key in metrics)])
        if rows:
            heading = "Class-conditional" if conditional else "Unconditional"
            out.append(f"**{heading}**\n\n" + markdown_table(
                ["model", "seeds", "iterations", "D+G steps", "minutes", *metrics.values()], rows))
    return "\n\n".join(out) + "\n"


def write_results_csv(records: list[dict], path: Path) -> None:
    write_csv(path, ["name", "seed", "iteration", "minutes", *METRICS, *CONDITIONAL], records)


def curves(records: list[dict], path: Path) -> None:
    figure = Figure(figsize=(11, 4))
    for axes, conditional in zip(figure.subplots(1, 2), (False, True), strict=True):
        for name, (title, per, cond) in ROWS.items():
            if cond != conditional:
                continue
            runs = [r["run"] for r in records if r["name"] == name]
            steps, means, _ = mean_curve(r.curve("classifier/fid") for r in runs)
            if steps:
                axes.plot([s * per for s in steps], means, marker="o", label=title)
        axes.set_title("class-conditional" if conditional else "unconditional")
        axes.set_xlabel("optimizer steps (D + G)")
        axes.set_ylabel("classifier-feature FID (mean over seeds)")
        axes.set_yscale("log")
        if axes.get_lines():
            axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def samples(records: list[dict], path: Path) -> None:
    first = {r["name"]: r["run"] for r in records if r["seed"] == 0}
    sample_sheet([(title + (" (cond.)" if cond else ""), first[name])
                  for name, (title, _, cond) in ROWS.items() if name in first], path, columns=5)


def main(runs: Path, out: Path = HERE) -> None:
    records = load(runs)
    if not records:
        sys.exit(f"no finished runs under {runs}")
    write_results_csv(records, out / "results.csv")
    (out / "table.md").write_text(tables(records))
    curves(records, out / "fid_curves.png")
    samples(records, out / "samples.png")
    print((out / "table.md").read_text())


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else HERE / "runs"))

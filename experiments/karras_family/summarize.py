"""Summarise the Karras-family study: tables (mean ± std over seeds), FID curves, samples.

    python experiments/karras_family/summarize.py experiments/karras_family/runs

Reads runs/<name>_s<seed>/ (results.json, eval/metrics.csv, samples/, the training time in
cli.log; collected by gan_lab.summarize) and, where present, the score of the generator
without its EMA (runs/<name>_s<seed>/no_ema/results.json, written by
``python -m gan_lab.evaluate ... ema=false``); writes results.csv, table.md, fid_curves.png and
samples.png next to this file. What is particular here: the models and the limited-data
variants, the no-EMA column, and runs re-evaluated after training (their final score only).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from matplotlib.figure import Figure

from gan_lab.summarize import (
    Run,
    markdown_table,
    mean_curve,
    mean_spread,
    sample_sheet,
    seeded_runs,
    write_csv,
)

HERE = Path(__file__).resolve().parent
MODELS = {"dcgan": "DCGAN", "progan": "ProGAN", "stylegan": "StyleGAN", "stylegan2": "StyleGAN2",
          "stylegan_hl": "StyleGAN, 10 kimg EMA half-life"}
LIMITED = {f"n{n}_{aug}": (n, aug) for n in (1000, 5000)
           for aug in ("none", "diffaugment", "ada")}
METRICS = {"classifier/fid": "FID", "classifier/kid": "KID", "classifier/precision": "precision",
           "classifier/recall": "recall"}


def load(runs: Path) -> list[dict]:
    """One record per finished run: name and seed (from the folder name), minutes, results."""
    records = []
    for name, seed, run in seeded_runs(runs):
        record = {"name": name, "seed": seed, "run": run, "minutes": run.minutes,
                  **run.results}
        raw = run.path / "no_ema" / "results.json"  # python -m gan_lab.evaluate ema=false
        if raw.is_file():
            record["fid_without_ema"] = json.loads(raw.read_text())["classifier/fid"]
        records.append(record)
    return records


def _cell(values: list[float]) -> str:
    return mean_spread(values, spread="std")


def tables(records: list[dict]) -> str:
    by_name: dict[str, list[dict]] = {}
    for record in records:
        by_name.setdefault(record["name"], []).append(record)
    rows = []
    for name, title in MODELS.items():
        runs = by_name.get(name, [])
        minutes = [r["minutes"] for r in runs if r["minutes"] is not None]
        rows.append([title, len(runs), _cell(minutes),
                     *(_cell([r[key] for r in runs if key in r]) for key in METRICS),
                     _cell([r["fid_without_ema"] for r in runs if "fid_without_ema" in r])])
    limited = []
    for name, (count, augment) in LIMITED.items():
        runs = by_name.get(name, [])
        limited.append([f"{count:,}", augment,
                        *(_cell([r[key] for r in runs if key in r]) for key in METRICS)])
    return (markdown_table(["model", "seeds", "minutes", *METRICS.values(), "FID without EMA"],
                           rows) + "\n\n"
            + markdown_table(["training images", "augmentation", "FID", "KID", "precision",
                              "recall"], limited) + "\n")


def write_results_csv(records: list[dict], path: Path) -> None:
    write_csv(path, ["name", "seed", "iteration", "minutes", *METRICS, "fid_without_ema"],
              records)


def fid_curve(run: Run) -> list[tuple[int, float]]:
    """The run's FID per iteration; a run re-evaluated after training (its in-run evaluations
    predate clipping the generated images to [-1, 1]) counts with its final score only."""
    if "reevaluated" in run.results:
        return [(int(run.results["iteration"]), float(run.results["classifier/fid"]))]
    return run.curve("classifier/fid")


def curves(records: list[dict], path: Path) -> None:
    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    for name, title in MODELS.items():
        steps, means, _ = mean_curve(fid_curve(r["run"]) for r in records if r["name"] == name)
        if steps:
            axes.plot(steps, means, marker="o", label=title)
    axes.set_xlabel("generator iteration")
    axes.set_ylabel("classifier-feature FID (mean over seeds)")
    axes.set_yscale("log")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def samples(records: list[dict], path: Path) -> None:
    first = {r["name"]: r["run"] for r in records if r["seed"] == 0}
    sample_sheet([(title, first[name]) for name, title in MODELS.items()
                  if name in first and first[name].samples], path, size=3.0)


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

"""Summarise the StarGAN experiment: attribute accuracy of translations beside the paper's.

    python experiments/image_conditional/stargan/summarize.py experiments/image_conditional/stargan/runs

Reads runs/stargan_s<seed>/ (results.json, eval/metrics.csv, samples/; collected by
gan_lab.summarize) and, for runs scored before eval=attributes read the digit, the scores of their
last checkpoints in runs/content_s<seed>/ (``python -m gan_lab.evaluate``; see run.sh); writes
results.csv, table.md, curves.png and samples.png into the output folder (this one by default).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from matplotlib.figure import Figure

from gan_lab.summarize import markdown_table, mean_spread, sample_sheet, seeded_runs

HERE = Path(__file__).resolve().parent
PREFIX = "attributes/"
# Choi et al. 2018, Table 3: classification error (%) of a facial-expression classifier
# (trained on real RaFD images) on the translations of each method, and on real images.
PAPER_ERROR = {"DIAT": 4.10, "CycleGAN": 5.99, "IcGAN": 8.07, "StarGAN": 2.12,
               "Real images": 0.45}


def load(runs: Path) -> list[dict]:
    """One record per finished StarGAN run: seed, minutes and the final results, completed by
    the rescoring of its last checkpoint (content_s<seed>) where the run's own lack a score."""
    found = list(seeded_runs(runs))
    rescored = {seed: run.results for name, seed, run in found if name == "content"}
    return [{"seed": seed, "run": run, "minutes": run.span_minutes,
             **rescored.get(seed, {}), **run.results}
            for name, seed, run in found if name == "stargan"]


def attribute_names(records: list[dict]) -> list[str]:
    keys = [k for r in records for k in r if k.startswith(f"{PREFIX}accuracy_")]
    return list(dict.fromkeys(k[len(f"{PREFIX}accuracy_"):] for k in keys))


def _cell(records: list[dict], key: str) -> str:
    return mean_spread([r[key] for r in records if key in r], spread="std", empty="-")


def _percent(records: list[dict], key: str) -> str:
    values = [100 * (1 - r[key]) for r in records if key in r]
    return mean_spread(values, spread="std", digits=3, empty="-")


def ours_table(records: list[dict]) -> str:
    head = ["attribute", "translations: accuracy", "real test images: accuracy (ceiling)",
            "translations: the digit kept"]
    rows = [[name, _cell(records, f"{PREFIX}accuracy_{name}"),
             _cell(records, f"{PREFIX}real_accuracy_{name}"),
             _cell(records, f"{PREFIX}content_accuracy_{name}")]
            for name in attribute_names(records)]
    rows.append(["mean", _cell(records, f"{PREFIX}mean_accuracy"),
                 _cell(records, f"{PREFIX}real_mean_accuracy"),
                 _cell(records, f"{PREFIX}content_accuracy")])
    rows.append(["every attribute right", _cell(records, f"{PREFIX}all_accuracy"), "-", "-"])
    text = markdown_table(head, rows)
    minutes = [r["minutes"] for r in records if r["minutes"] is not None]
    text += (f"\n\nThe digit (a content classifier trained on the real digits): kept in "
             f"{_cell(records, f'{PREFIX}content_accuracy')} of the translations, in "
             f"{_cell(records, f'{PREFIX}reconstruction_content_accuracy')} of the "
             f"reconstructions G(G(x, c), c'); read right on "
             f"{_cell(records, f'{PREFIX}real_content_accuracy')} of the real test digits (the "
             f"ceiling). Reconstruction L1 |G(G(x, c), c') - x| on [0, 1] images: "
             f"{_cell(records, f'{PREFIX}reconstruction_l1')}. Seeds: {len(records)}; iterations: "
             f"{records[0].get('iteration', '-')}; minutes per run (with preparation and "
             f"evaluation): {mean_spread(minutes, spread='std', digits=3, empty='-')}.")
    return text


def paper_table(records: list[dict]) -> str:
    head = ["", "classification error of translations (%)", "on real images (%)"]
    rows = [[f"{method}, paper (RaFD, Table 3)", f"{error:.2f}" if method != "Real images"
             else "-", f"{error:.2f}" if method == "Real images" else "-"]
            for method, error in PAPER_ERROR.items()]
    rows.append(["StarGAN here (digit_attributes, mean over attributes)",
                 _percent(records, f"{PREFIX}mean_accuracy"),
                 _percent(records, f"{PREFIX}real_mean_accuracy")])
    return markdown_table(head, rows)


def curves(records: list[dict], path: Path) -> None:
    figure = Figure(figsize=(8, 3.6))
    axes = figure.subplots()
    for r in records:
        for name in ["mean", *attribute_names(records)]:
            key = f"{PREFIX}mean_accuracy" if name == "mean" else f"{PREFIX}accuracy_{name}"
            points = r["run"].curve(key)
            if points:
                axes.plot(*zip(*points), marker="o", linewidth=2.5 if name == "mean" else 1,
                          label=f"{name} s{r['seed']}")
        points = r["run"].curve(f"{PREFIX}content_accuracy")
        if points:  # the digit kept (content classifier), where the run scored it
            axes.plot(*zip(*points), marker="s", linestyle="--", linewidth=2,
                      label=f"digit kept s{r['seed']}")
    axes.set(title="StarGAN on digit_attributes", xlabel="generator iteration",
             ylabel="accuracy of translations", ylim=(0, 1.02))
    if axes.lines:
        axes.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5))
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def write_results_csv(records: list[dict], path: Path) -> None:
    keys = sorted({k for r in records for k in r if k.startswith(PREFIX)})
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["seed", "iteration", "minutes", *keys])
        for r in records:
            minutes = "" if r["minutes"] is None else f"{r['minutes']:.2f}"
            writer.writerow([r["seed"], r.get("iteration", ""), minutes,
                             *(r.get(k, "") for k in keys)])


def main(runs: Path, out: Path = HERE) -> None:
    records = load(runs)
    if not records:
        raise SystemExit(f"no finished stargan_s<seed> run under {runs}")
    write_results_csv(records, out / "results.csv")
    text = ("## Attribute accuracy of single-attribute translations (180 test digits)\n\n"
            + ours_table(records) + "\n\n## Beside the paper\n\n" + paper_table(records) + "\n")
    (out / "table.md").write_text(text)
    curves(records, out / "curves.png")
    sample_sheet([(f"seed {r['seed']}, iteration {r.get('iteration', '?')}", r["run"])
                  for r in records], out / "samples.png", columns=3, size=4.0)
    print(text)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "runs",
         Path(sys.argv[2]) if len(sys.argv) > 2 else HERE)

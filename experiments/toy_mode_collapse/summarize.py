"""Summarise the toy mode-collapse runs: a table (mean ± standard error over seeds) and plots.

    python experiments/toy_mode_collapse/summarize.py experiments/toy_mode_collapse/runs

Reads runs/<data>/seed<k>/<row>/{results.json,metrics.csv}; writes results.csv, table.md,
curves.png and samples.png next to this file.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib.image as mpimg
from matplotlib.figure import Figure

HERE = Path(__file__).resolve().parent
ROWS = {  # run folder -> table row
    "pacgan1": "GAN",
    "pacgan2": "PacGAN2",
    "pacgan3": "PacGAN3",
    "pacgan4": "PacGAN4",
    "hinge": "hinge",
    "wgan_gp": "WGAN-GP",
}
METRICS = {"toy/modes": "modes", "toy/high_quality": "high-quality %", "toy/reverse_kl": "reverse KL"}
# Lin et al. 2018, Table 1: modes captured after 400k iterations (as quoted in the issue).
PAPER_MODES = {
    "ring": {"GAN": 6.3, "PacGAN2": 7.9, "PacGAN3": 7.8, "PacGAN4": 7.8},
    "grid": {"GAN": 17.3, "PacGAN2": 23.8, "PacGAN3": 24.6, "PacGAN4": 24.8},
}


def mean_se(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def load(runs: Path) -> list[dict]:
    records = []
    for result in sorted(runs.glob("*/seed*/*/results.json")):
        row_dir = result.parent
        data, seed = row_dir.parent.parent.name, int(row_dir.parent.name.removeprefix("seed"))
        if row_dir.name not in ROWS:
            continue
        records.append({"data": data, "row": ROWS[row_dir.name], "seed": seed, "dir": row_dir,
                        **json.loads(result.read_text())})
    return records


def write_table(records: list[dict]) -> str:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        groups[(record["data"], record["row"])].append(record)
    lines = []
    for data in ("ring", "grid"):
        modes_total = 8 if data == "ring" else 25
        lines += [f"\n**{data}** ({modes_total} modes)\n",
                  "| row | seeds | modes | high-quality % | reverse KL | paper modes |",
                  "|---|---|---|---|---|---|"]
        for row in ROWS.values():
            group = groups.get((data, row), [])
            if not group:
                continue
            cells = []
            for key in METRICS:
                mean, se = mean_se([r[key] for r in group])
                cells.append(f"{mean:.2f} ± {se:.2f}")
            paper = PAPER_MODES[data].get(row)
            paper_cell = f"{paper:g}" if paper is not None else "—"
            lines.append(f"| {row} | {len(group)} | {' | '.join(cells)} | {paper_cell} |")
    return "\n".join(lines) + "\n"


def plot_curves(records: list[dict], path: Path) -> None:
    figure = Figure(figsize=(10, 4))
    for index, data in enumerate(("ring", "grid")):
        axis = figure.add_subplot(1, 2, index + 1)
        for row in ROWS.values():
            curves = defaultdict(list)
            for record in (r for r in records if r["data"] == data and r["row"] == row):
                with open(record["dir"] / "metrics.csv") as handle:
                    for line in csv.DictReader(handle):
                        if line.get("toy/modes"):
                            curves[int(line["step"])].append(float(line["toy/modes"]))
            if curves:
                steps = sorted(curves)
                axis.plot(steps, [sum(curves[s]) / len(curves[s]) for s in steps], marker="o",
                          label=row)
        axis.set_title(f"{data}: modes captured (mean over seeds)")
        axis.set_xlabel("generator iteration")
        axis.set_ylabel("modes")
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_samples(records: list[dict], path: Path, seed: int = 0) -> None:
    chosen = [r for r in records if r["seed"] == seed]
    rows = [row for row in ROWS.values() if any(r["row"] == row for r in chosen)]
    figure = Figure(figsize=(2.2 * len(rows), 4.6))
    for i, data in enumerate(("ring", "grid")):
        for j, row in enumerate(rows):
            axis = figure.add_subplot(2, len(rows), i * len(rows) + j + 1)
            axis.axis("off")
            match = [r for r in chosen if r["data"] == data and r["row"] == row]
            # The final plot: scatter_final.png, or the scheduled one at the last iteration.
            plots = sorted((match[0]["dir"] / "eval").glob("scatter_*.png")) if match else []
            if plots:
                axis.imshow(mpimg.imread(plots[-1]))
            axis.set_title(f"{data} {row}", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(runs: Path) -> None:
    records = load(runs)
    if not records:
        raise SystemExit(f"no results.json under {runs}")
    with open(HERE / "results.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["data", "row", "seed", "iteration", *METRICS])
        for r in sorted(records, key=lambda r: (r["data"], r["row"], r["seed"])):
            writer.writerow([r["data"], r["row"], r["seed"], r["iteration"],
                             *(f"{r[k]:.4f}" for k in METRICS)])
    table = write_table(records)
    (HERE / "table.md").write_text(table)
    plot_curves(records, HERE / "curves.png")
    plot_samples(records, HERE / "samples.png")
    print(table)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "runs")

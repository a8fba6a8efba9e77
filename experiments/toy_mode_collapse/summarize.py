"""Summarise the toy mode-collapse runs: PacGAN's Table 1 layout (mean ± standard error over
runs) beside the paper's numbers, curves and sample plots.

    python experiments/toy_mode_collapse/summarize.py experiments/toy_mode_collapse/runs
    python experiments/toy_mode_collapse/summarize.py RUNS --iteration 3000

Reads runs/<data>/<row>/ (collected by gan_lab.summarize): each run folder holds R replicas
(``model.replicas``), whose own numbers are ``toy/<metric>/replica<r>`` in its evaluations
(eval/metrics.csv; a run with one replica has only ``toy/<metric>``). Each data set's table is
taken at one iteration for all its rows: ``--iteration``, else the last one every run of that
data set has evaluated (so runs stopped early are compared at the same budget). Writes results.csv (one line per replica),
table.md, curves.png and samples.png next to this file. What is particular here: the rows, the
replica columns, and the paper's Table 1.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib.image as mpimg
from matplotlib.figure import Figure

from gan_lab.summarize import Run, collect, markdown_table, mean_curve, mean_spread, write_csv

HERE = Path(__file__).resolve().parent
ROWS = {"pacgan1": "GAN", "pacgan2": "PacGAN2", "pacgan3": "PacGAN3", "pacgan4": "PacGAN4",
        "hinge": "hinge", "wgan_gp": "WGAN-GP"}
METRICS = {"toy/modes": "modes", "toy/high_quality": "high-quality %",
           "toy/reverse_kl": "reverse KL"}
MODES = {"ring": 8, "grid": 25}
# Lin et al. 2018, Table 1 (400k iterations, mean ± s.e. over 10 trials): modes, high-quality
# samples %, reverse KL.
PAPER = {
    "ring": {"GAN": ("6.3 ± 0.5", "98.2 ± 0.2", "0.45 ± 0.09"),
             "PacGAN2": ("7.9 ± 0.1", "95.6 ± 2.0", "0.07 ± 0.03"),
             "PacGAN3": ("7.8 ± 0.1", "97.7 ± 0.3", "0.10 ± 0.02"),
             "PacGAN4": ("7.8 ± 0.1", "95.9 ± 1.4", "0.07 ± 0.02")},
    "grid": {"GAN": ("17.3 ± 0.8", "94.8 ± 0.7", "0.70 ± 0.07"),
             "PacGAN2": ("23.8 ± 0.7", "91.3 ± 0.8", "0.13 ± 0.04"),
             "PacGAN3": ("24.6 ± 0.4", "94.2 ± 0.4", "0.06 ± 0.02"),
             "PacGAN4": ("24.8 ± 0.2", "93.6 ± 0.6", "0.04 ± 0.01")},
}


def replica_curves(run: Run, metric: str) -> list[list[tuple[int, float]]]:
    """One (iteration, value) curve per replica of the run."""
    replicas = int((run.config.get("model") or {}).get("replicas", 1))
    keys = [f"{metric}/replica{r}" for r in range(replicas)] if replicas > 1 else [metric]
    return [run.curve(key) for key in keys]


def load(runs_dir: Path) -> dict[tuple[str, str], Run]:
    """(data, row title) -> run, for the runs/<data>/<row>/ folders with evaluations."""
    found = {}
    for run in collect(runs_dir):
        data, _, row = run.name.partition("/")
        if data in MODES and row in ROWS and run.eval_rows:
            found[(data, ROWS[row])] = run
    order = [(data, row) for data in MODES for row in ROWS.values()]
    return dict(sorted(found.items(), key=lambda item: order.index(item[0])))


def common_iterations(runs: dict[tuple[str, str], Run]) -> dict[str, int]:
    """Per data set, the last iteration that every one of its runs has evaluated."""
    last: dict[str, int] = {}
    for (data, _), run in runs.items():
        reached = max(x for x, _ in replica_curves(run, "toy/modes")[0])
        last[data] = min(last.get(data, reached), reached)
    return last


def at(curve: list[tuple[int, float]], iteration: int) -> float:
    values = [y for x, y in curve if x == iteration]
    return values[-1] if values else math.nan


def records(runs: dict[tuple[str, str], Run], iterations: dict[str, int]) -> list[dict]:
    """One record per replica at its data set's iteration."""
    out = []
    for (data, row), run in runs.items():
        iteration = iterations[data]
        curves = {metric: replica_curves(run, metric) for metric in METRICS}
        for replica in range(len(curves["toy/modes"])):
            out.append({"data": data, "row": row, "replica": replica, "iteration": iteration,
                        **{m: at(curves[m][replica], iteration) for m in METRICS}})
    return out


def table(recs: list[dict], iterations: dict[str, int]) -> str:
    parts = ["Mean ± standard error over runs (replicas).\n"]
    for data, modes in MODES.items():
        if data not in iterations:
            continue
        rows = []
        for row in ROWS.values():
            group = [r for r in recs if r["data"] == data and r["row"] == row]
            if not group:
                continue
            cells = [mean_spread([r[m] for r in group if not math.isnan(r[m])], digits=3)
                     for m in METRICS]
            paper = PAPER[data].get(row, ("—", "—", "—"))
            rows.append([row, len(group), *cells, *paper])
        parts.append(f"**{data}** ({modes} modes), iteration {iterations[data]:,}\n\n" + markdown_table(
            ["row", "runs", "modes", "high-quality %", "reverse KL", "paper modes",
             "paper high-quality %", "paper reverse KL"], rows) + "\n")
    return "\n".join(parts)


def plot_curves(runs: dict[tuple[str, str], Run], path: Path) -> None:
    figure = Figure(figsize=(13, 7))
    for i, data in enumerate(MODES):
        for j, (metric, title) in enumerate(METRICS.items()):
            axis = figure.add_subplot(2, 3, 3 * i + j + 1)
            for row in ROWS.values():
                if (data, row) in runs:
                    xs, means, spreads = mean_curve(replica_curves(runs[(data, row)], metric))
                    axis.errorbar(xs, means, yerr=[0 if math.isnan(s) else s for s in spreads],
                                  marker="o", markersize=3, capsize=2, label=row)
            axis.set_title(f"{data}: {title} (mean ± s.e.)", fontsize=9)
            axis.set_xlabel("generator iteration")
            if axis.get_legend_handles_labels()[0]:
                axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def plot_samples(runs: dict[tuple[str, str], Run], iterations: dict[str, int], path: Path
                 ) -> None:
    """Each row's scatter plot at its data set's iteration (one panel per replica)."""
    plots = {key: run.path / "eval" / f"scatter_iter_{iterations[key[0]]:07d}.png"
             for key, run in runs.items()}
    shown = [key for key in runs if plots[key].is_file()]
    figure = Figure(figsize=(16, 3.3 * len(shown)))
    for index, (data, row) in enumerate(shown):
        axis = figure.add_subplot(len(shown), 1, index + 1)
        axis.imshow(mpimg.imread(plots[(data, row)]))
        axis.set_title(f"{data} {row}, iteration {iterations[data]:,}", fontsize=10)
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=80)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="?", default=HERE / "runs")
    parser.add_argument("--iteration", type=int,
                        help="default: per data set, the last one every run of it reached")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    runs = load(args.runs)
    if not runs:
        raise SystemExit(f"no evaluated runs under {args.runs}/<ring|grid>/<row>/")
    iterations = common_iterations(runs)
    if args.iteration:
        iterations = dict.fromkeys(iterations, args.iteration)
    recs = records(runs, iterations)
    write_csv(args.out / "results.csv", ["data", "row", "replica", "iteration", *METRICS], recs)
    text = table(recs, iterations)
    (args.out / "table.md").write_text(text)
    plot_curves(runs, args.out / "curves.png")
    plot_samples(runs, iterations, args.out / "samples.png")
    print(text)


if __name__ == "__main__":
    main()

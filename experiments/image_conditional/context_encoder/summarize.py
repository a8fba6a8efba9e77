"""Summarise the context-encoder experiment: L2 only vs L2 + adversarial, beside the paper.

    python experiments/image_conditional/context_encoder/summarize.py \
        experiments/image_conditional/context_encoder/runs

Reads runs/<variant>_s<seed>/ (variant l2 or joint; results.json, eval/metrics.csv, samples/;
collected by gan_lab.summarize) and writes results.csv, table.md, curves.png and samples.png next
to this file. What is particular here: the paper's numbers for the joint loss, and the
sharpness of the filled holes (gradient and Laplacian energy over the real holes'), which L1 /
L2 / PSNR do not reward.
"""

from __future__ import annotations

import sys
from pathlib import Path

from matplotlib.figure import Figure

from gan_lab.summarize import markdown_table, mean_spread, sample_sheet, seeded_runs, write_csv

HERE = Path(__file__).resolve().parent
VARIANTS = {"l2": "L2 only", "joint": "L2 + adversarial (0.999 / 0.001)"}
COLUMNS = {  # key in results.json -> (column title, scale for the table)
    "inpainting/mean_l1": ("mean L1 (%)", 100.0),
    "inpainting/mean_l2": ("mean L2 (%)", 100.0),
    "inpainting/psnr": ("PSNR (dB)", 1.0),
    "inpainting/gradient_energy_ratio": ("gradient energy / real", 1.0),
    "inpainting/laplacian_energy_ratio": ("Laplacian energy / real", 1.0),
}
# Pathak et al. 2016, semantic-inpainting table (Paris StreetView, 128 px, central 64 px hole,
# held-out images): only the joint model is scored there; L2 only is shown as blurry (fig. 5/6).
PAPER = {"joint": {"inpainting/mean_l1": 9.37, "inpainting/mean_l2": 1.96,
                   "inpainting/psnr": 18.58}}
CURVES = ("inpainting/mean_l2", "inpainting/gradient_energy_ratio")


def load(runs: Path) -> list[dict]:
    """One record per finished run: variant, seed, minutes and its final metrics."""
    return [{"variant": name, "seed": seed, "run": run, "minutes": run.span_minutes,
             **run.results} for name, seed, run in seeded_runs(runs)]


def table(records: list[dict]) -> str:
    head = ["loss", "seeds", "iterations", "minutes", *(title for title, _ in COLUMNS.values())]
    rows = []
    for variant, title in VARIANTS.items():
        group = [r for r in records if r["variant"] == variant]
        if not group:
            continue
        minutes = [r["minutes"] for r in group if r["minutes"] is not None]
        rows.append([title, len(group), group[0].get("iteration", "-"),
                     f"{sum(minutes) / len(minutes):.1f}" if minutes else "-",
                     *(mean_spread([scale * r[key] for r in group if key in r], spread="std",
                                   empty="-") for key, (_, scale) in COLUMNS.items())])
        if variant in PAPER:
            paper = PAPER[variant]
            rows.append([f"paper: {title} (Paris StreetView, 128 px)", "", "", "",
                         *(f"{paper[key]:g}" if key in paper else "-" for key in COLUMNS)])
    return markdown_table(head, rows)


def curves(records: list[dict], path: Path) -> None:
    figure = Figure(figsize=(10, 3.6))
    panels = figure.subplots(1, len(CURVES), squeeze=False)[0]
    for axes, metric in zip(panels, CURVES, strict=True):
        for record in records:
            points = record["run"].curve(metric)
            if points:
                axes.plot(*zip(*points, strict=True), marker="o",
                          label=f"{VARIANTS[record['variant']]} (seed {record['seed']})")
        axes.set_xlabel("generator iteration")
        axes.set_title(metric.split("/")[-1].replace("_", " "), fontsize=10)
    panels[-1].axhline(1.0, color="grey", linewidth=0.8, linestyle="--")  # as sharp as real
    panels[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv: list[str]) -> int:
    runs = Path(argv[1]) if len(argv) > 1 else HERE / "runs"
    records = load(runs)
    if not records:
        print(f"no finished runs under {runs}", file=sys.stderr)
        return 1
    write_csv(HERE / "results.csv", ["variant", "seed", "iteration", "minutes", *COLUMNS],
              records)
    text = ("Held-out crops of the scikit-image photos, 64 px, central 32 px hole; metrics in the "
            "hole on [0, 1] (gan_lab/metrics/inpainting.py); mean ± std over seeds.\n\n"
            + table(records) + "\n")
    (HERE / "table.md").write_text(text)
    curves(records, HERE / "curves.png")
    panels = [(f"{VARIANTS[r['variant']]}, seed {r['seed']}", r["run"])
              for r in sorted(records, key=lambda r: (r["seed"], r["variant"] != "l2"))]
    sample_sheet(panels, HERE / "samples.png", columns=2, size=5.0)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

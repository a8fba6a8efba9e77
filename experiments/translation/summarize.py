"""Summarise the translation experiment: tables (mean ± std over seeds), curves, image strips.

    python experiments/translation/summarize.py experiments/translation/runs

Reads runs/<model>_<variant>_s<seed>/ and runs/cyclegan_s<seed>/ (results.json,
eval/metrics.csv, samples/; collected by gan_lab.summarize); writes results.csv, table.md,
curves.png, pix2pix_samples.png and cyclegan_samples.png next to this file. What is particular
here: the pix2pix objectives and the paper's FCN-scores, the two directions of CycleGAN.
"""

from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path

import matplotlib.image as mpimg
from matplotlib.figure import Figure

from gan_lab.summarize import markdown_table, mean_spread, seeded_runs

HERE = Path(__file__).resolve().parent
VARIANTS = {"l1": "L1", "cgan": "cGAN", "l1_cgan": "L1 + cGAN"}
# Isola et al. 2017, Table 1: FCN-scores (per-pixel accuracy) on Cityscapes labels -> photo.
PAPER_FCN = {"l1": 0.42, "cgan": 0.57, "l1_cgan": 0.66}
P2P_COLUMNS = {  # key in results.json -> (column title, higher is better)
    "translation/class_accuracy_AtoB": ("class accuracy", True),
    "classifier/fid_AtoB": ("FID", False),
    "translation/l1_AtoB": ("L1", False),
    "translation/psnr_AtoB": ("PSNR", True),
    "translation/ssim_AtoB": ("SSIM", True),
}
CG_COLUMNS = ["classifier/fid", "translation/domain_accuracy", "translation/l1",
              "translation/psnr", "translation/ssim"]


def load(runs: Path) -> list[dict]:
    """One record per finished run: model, variant, seed (from the folder name), minutes."""
    records = []
    for name, seed, run in seeded_runs(runs):
        model, _, variant = name.partition("_")
        records.append({"model": model, "variant": variant or "default", "seed": seed,
                        "run": run, "minutes": run.span_minutes, **run.results})
    return records


def _cell(values: list[float]) -> str:
    return mean_spread(values, spread="std", empty="-")


def pix2pix_table(records: list[dict]) -> str:
    head = ["objective", "seeds", "iterations", "minutes",
            *(title for title, _ in P2P_COLUMNS.values()), "paper FCN-score"]
    rows = []
    for variant, title in VARIANTS.items():
        group = [r for r in records if r["model"] == "pix2pix" and r["variant"] == variant]
        if group:
            rows.append([title, len(group), group[0]["iteration"],
                         f"{statistics.fmean(r['minutes'] for r in group):.1f}",
                         *(_cell([r[key] for r in group if key in r]) for key in P2P_COLUMNS),
                         f"{PAPER_FCN[variant]:.2f}"])
    text = markdown_table(head, rows)
    real = [r["translation/class_real_accuracy"] for r in records
            if "translation/class_real_accuracy" in r and r["model"] == "pix2pix"]
    if real:
        text += f"\n\nThe class classifier's accuracy on held-out real B images: {real[0]:.3f}."
    return text


def cyclegan_table(records: list[dict]) -> str:
    group = [r for r in records if r["model"] == "cyclegan"]
    head = ["direction", "seeds", "iterations", "FID", "domain accuracy", "L1", "PSNR", "SSIM",
            "cycle L1"]
    rows = []
    for direction, source in (("AtoB", "A"), ("BtoA", "B")):
        rows.append([f"{direction} ({'chalk -> ink' if source == 'A' else 'ink -> chalk'})",
                     len(group), group[0]["iteration"] if group else "-",
                     *(_cell([r[f"{key}_{direction}"] for r in group if f"{key}_{direction}" in r])
                       for key in CG_COLUMNS),
                     _cell([r[f"translation/cycle_l1_{source}"] for r in group
                            if f"translation/cycle_l1_{source}" in r])])
    return markdown_table(head, rows)


def curves(records: list[dict], path: Path) -> None:
    figure = Figure(figsize=(10, 3.6))
    left, right = figure.subplots(1, 2)
    for r in records:
        run = r["run"]
        if r["model"] == "pix2pix":
            points = run.curve("translation/class_accuracy_AtoB")
            if points:
                left.plot(*zip(*points), marker="o",
                          label=f"{VARIANTS.get(r['variant'], r['variant'])} s{r['seed']}")
        else:
            for direction in ("AtoB", "BtoA"):
                points = run.curve(f"classifier/fid_{direction}")
                if points:
                    right.plot(*zip(*points), marker="o", label=f"{direction} s{r['seed']}")
    left.set(title="pix2pix on edges2digits", xlabel="iteration",
             ylabel="class accuracy of translations")
    right.set(title="CycleGAN on chalk2ink", xlabel="iteration", ylabel="FID (domain classifier)",
              yscale="log")
    for axis in (left, right):
        if axis.lines:
            axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def strips(records: list[dict], model: str, path: Path) -> None:
    order = list(VARIANTS) if model == "pix2pix" else ["default"]
    chosen = [r for r in records if r["model"] == model and r["seed"] == 0 and r["run"].samples]
    chosen.sort(key=lambda r: order.index(r["variant"]) if r["variant"] in order else 99)
    if not chosen:
        return
    figure = Figure(figsize=(8, 2.2 * len(chosen)))
    axes = figure.subplots(len(chosen), 1, squeeze=False)[:, 0]
    for axis, r in zip(axes, chosen):
        grid = r["run"].samples[-1]
        axis.imshow(mpimg.imread(grid))
        title = VARIANTS.get(r["variant"], "CycleGAN")
        axis.set_title(f"{title}, iteration {r['iteration']} ({grid.name})", fontsize=9)
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def write_results_csv(records: list[dict], path: Path) -> None:
    keys = sorted({k for r in records for k in r if "/" in k})
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "variant", "seed", "iteration", "minutes", *keys])
        for r in records:
            writer.writerow([r["model"], r["variant"], r["seed"], r["iteration"],
                             f"{r['minutes']:.2f}", *(r.get(k, "") for k in keys)])


def main(runs: Path, out: Path = HERE) -> None:
    records = load(runs)
    if not records:
        raise SystemExit(f"no results.json under {runs}")
    write_results_csv(records, out / "results.csv")
    text = ("## pix2pix ablation (edges2digits, test set of 180 pairs)\n\n" + pix2pix_table(records)
            + "\n\n## CycleGAN (chalk2ink, test set of 180 digits in both renderings)\n\n"
            + cyclegan_table(records) + "\n")
    (out / "table.md").write_text(text)
    curves(records, out / "curves.png")
    strips(records, "pix2pix", out / "pix2pix_samples.png")
    strips(records, "cyclegan", out / "cyclegan_samples.png")
    print(text)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "runs")

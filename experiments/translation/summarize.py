"""Summarise the translation experiment: tables (mean ± std over seeds), curves, image strips.

    python experiments/translation/summarize.py experiments/translation/runs

Reads runs/<model>_<variant>_s<seed>/{results.json,eval/metrics.csv,samples/} and
runs/cyclegan_s<seed>/...; writes results.csv, table.md, curves.png, pix2pix_samples.png and
cyclegan_samples.png next to this file.
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
    records = []
    for result in sorted(runs.glob("*_s*/results.json")):
        run = result.parent
        name, seed = run.name.rsplit("_s", 1)
        model, _, variant = name.partition("_")
        minutes = (result.stat().st_mtime - (run / ".hydra" / "config.yaml").stat().st_mtime) / 60
        records.append({"model": model, "variant": variant or "default", "seed": int(seed),
                        "dir": run, "minutes": minutes, **json.loads(result.read_text())})
    return records


def mean_std(values: list[float], digits: int = 3) -> str:
    if not values:
        return "-"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}g}"
    return f"{mean:.{digits}g} ± {statistics.stdev(values):.2g}"


def pix2pix_table(records: list[dict]) -> str:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if r["model"] == "pix2pix":
            groups[r["variant"]].append(r)
    head = ["objective", "seeds", "iterations", "minutes",
            *(title for title, _ in P2P_COLUMNS.values()), "paper FCN-score"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for variant, title in VARIANTS.items():
        rows = groups.get(variant, [])
        if not rows:
            continue
        cells = [title, str(len(rows)), str(rows[0]["iteration"]),
                 f"{statistics.fmean(r['minutes'] for r in rows):.1f}"]
        cells += [mean_std([r[key] for r in rows if key in r]) for key in P2P_COLUMNS]
        cells.append(f"{PAPER_FCN[variant]:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    real = [r["translation/class_real_accuracy"] for r in records
            if "translation/class_real_accuracy" in r and r["model"] == "pix2pix"]
    if real:
        lines.append(f"\nThe class classifier's accuracy on held-out real B images: {real[0]:.3f}.")
    return "\n".join(lines)


def cyclegan_table(records: list[dict]) -> str:
    rows = [r for r in records if r["model"] == "cyclegan"]
    head = ["direction", "seeds", "iterations", "FID", "domain accuracy", "L1", "PSNR", "SSIM",
            "cycle L1"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for direction, source in (("AtoB", "A"), ("BtoA", "B")):
        cells = [f"{direction} ({'chalk -> ink' if source == 'A' else 'ink -> chalk'})",
                 str(len(rows)), str(rows[0]["iteration"]) if rows else "-"]
        cells += [mean_std([r[f"{key}_{direction}"] for r in rows if f"{key}_{direction}" in r])
                  for key in CG_COLUMNS]
        cells.append(mean_std([r[f"translation/cycle_l1_{source}"] for r in rows
                               if f"translation/cycle_l1_{source}" in r]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curves(records: list[dict], path: Path) -> None:
    figure = Figure(figsize=(10, 3.6))
    left, right = figure.subplots(1, 2)
    for r in records:
        with (r["dir"] / "eval" / "metrics.csv").open(newline="") as f:
            rows = [row for row in csv.DictReader(f) if row.get("iteration")]
        its = [int(row["iteration"]) for row in rows]
        if r["model"] == "pix2pix":
            label = f"{VARIANTS[r['variant']]} s{r['seed']}"
            left.plot(its, [float(row["translation/class_accuracy_AtoB"]) for row in rows],
                      marker="o", label=label)
        else:
            for direction in ("AtoB", "BtoA"):
                right.plot(its, [float(row[f"classifier/fid_{direction}"]) for row in rows],
                           marker="o", label=f"{direction} s{r['seed']}")
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
    chosen = [r for r in records if r["model"] == model and r["seed"] == 0]
    order = list(VARIANTS) if model == "pix2pix" else ["default"]
    chosen.sort(key=lambda r: order.index(r["variant"]) if r["variant"] in order else 99)
    if not chosen:
        return
    figure = Figure(figsize=(8, 2.2 * len(chosen)))
    axes = figure.subplots(len(chosen), 1, squeeze=False)[:, 0]
    for axis, r in zip(axes, chosen):
        grid = sorted((r["dir"] / "samples").glob("iter_*.png"))[-1]
        axis.imshow(mpimg.imread(grid))
        title = VARIANTS.get(r["variant"], "CycleGAN")
        axis.set_title(f"{title}, iteration {r['iteration']} ({grid.name})", fontsize=9)
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(runs: Path) -> None:
    records = load(runs)
    if not records:
        raise SystemExit(f"no results.json under {runs}")
    keys = sorted({k for r in records for k in r if "/" in k})
    with (HERE / "results.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "variant", "seed", "iteration", "minutes", *keys])
        for r in records:
            writer.writerow([r["model"], r["variant"], r["seed"], r["iteration"],
                             f"{r['minutes']:.2f}", *(r.get(k, "") for k in keys)])
    text = ("## pix2pix ablation (edges2digits, test set of 180 pairs)\n\n" + pix2pix_table(records)
            + "\n\n## CycleGAN (chalk2ink, test set of 180 digits in both renderings)\n\n"
            + cyclegan_table(records) + "\n")
    (HERE / "table.md").write_text(text)
    curves(records, HERE / "curves.png")
    strips(records, "pix2pix", HERE / "pix2pix_samples.png")
    strips(records, "cyclegan", HERE / "cyclegan_samples.png")
    print(text)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "runs")

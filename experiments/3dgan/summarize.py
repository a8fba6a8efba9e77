"""The tables of experiments/3dgan/README.md from a run of run.py: linear-SVM accuracy by
features and labels per class (mean +- sd over the seeds), and each GAN's sample metrics.

    python experiments/3dgan/summarize.py experiments/3dgan/runs_<date>   # writes table.md there
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

FEATURES = ["D trained", "D random", "raw voxels", "3D CNN (supervised)"]
LABELS = [5, 10, 25, 100, "all"]
SAMPLE_METRICS = ["voxels/fid", "voxels/fid_test", "voxels/occupancy", "voxels/class_kl",
                  "voxels/classes_covered", "voxels/class_outside", "voxels/nn_iou",
                  "voxels/nn_iou_test"]


def cell(values: list[float]) -> str:
    if not values:
        return "—"
    mean = 100 * statistics.mean(values)
    sd = 100 * statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.1f} ± {sd:.1f}"


def main(out: Path) -> str:
    rows = json.loads((out / "rows.json").read_text())
    seeds = sorted({r["seed"] for r in rows})
    lines = [f"Linear-SVM test accuracy (%), mean ± sd over seeds {seeds}; columns: labelled "
             "shapes per class.", ""]
    for task in ("10 classes", "3 unseen"):
        lines += [f"**{task}**", "", "| features | " + " | ".join(map(str, LABELS)) + " |",
                  "|---|" + "---|" * len(LABELS)]
        for name in FEATURES:
            cells = [cell([r["accuracy"] for r in rows if r["task"] == task
                           and r["features"] == name and r["labels"] == k]) for k in LABELS]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["Sample metrics of each GAN (eval=voxels, 500 samples):", "",
              "| seed | " + " | ".join(m.split("/")[1] for m in SAMPLE_METRICS) + " |",
              "|---|" + "---|" * len(SAMPLE_METRICS)]
    for seed in seeds:
        results = json.loads((out / f"gan_seed{seed}" / "results.json").read_text())
        values = [results.get(m) for m in SAMPLE_METRICS]
        lines.append(f"| {seed} | " + " | ".join("—" if v is None else f"{v:.3g}"
                                                  for v in values) + " |")
    table = "\n".join(lines) + "\n"
    (out / "table.md").write_text(table)
    return table


if __name__ == "__main__":
    print(main(Path(sys.argv[1])))

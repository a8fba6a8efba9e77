"""Summarise SPADE vs pix2pix on the embedded label maps: the table beside the paper's Table 1,
and a sheet of the final sample grids.

    python experiments/image_conditional/spade/summarize.py experiments/image_conditional/spade/runs

Reads runs/spade_s<seed>/ and runs/pix2pix_s<seed>/ (results.json, samples/, checkpoints/);
writes table.md, results.csv and samples.png next to this file.
"""

from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path

from gan_lab.summarize import markdown_table, mean_spread, sample_sheet, seeded_runs

HERE = Path(__file__).resolve().parent
MODELS = {"spade": "SPADE", "pix2pix": "pix2pix (colour-coded label maps)"}
COLUMNS = {  # key in results.json -> column title
    "segmentation/miou": "mIoU ↑",
    "segmentation/accuracy": "pixel accuracy ↑",
    "classifier/fid": "FID ↓ (classifier features)",
}
# Park et al. 2019, Table 1 (mIoU / pixel accuracy / FID): SPADE beats pix2pixHD on every set.
PAPER = {
    "COCO-Stuff": ((14.6, 45.8, 111.5), (37.4, 67.9, 22.6)),
    "ADE20K": ((20.3, 69.2, 81.8), (38.5, 79.9, 33.9)),
    "ADE20K-outdoor": ((17.4, 71.6, 97.8), (30.8, 82.9, 63.3)),
    "Cityscapes": ((58.3, 81.4, 95.0), (62.3, 81.9, 71.8)),
}


def generator_parameters(run) -> int | None:
    """Parameters of the run's generator, rebuilt from its last checkpoint."""
    ckpt = run.path / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        return None
    from gan_lab.loading import load_module

    module, _ = load_module(ckpt)
    return sum(p.numel() for p in module.generator.parameters())


def load(runs: Path) -> list[dict]:
    records = []
    for name, seed, run in seeded_runs(runs):
        if name in MODELS:
            records.append({"model": name, "seed": seed, "run": run,
                            "minutes": run.span_minutes or 0.0,
                            "params": generator_parameters(run), **run.results})
    return records


def ours_table(records: list[dict]) -> str:
    head = ["model", "seeds", "iterations", "minutes", "G parameters", *COLUMNS.values()]
    rows = []
    for model, title in MODELS.items():
        group = [r for r in records if r["model"] == model]
        if group:
            params = group[0]["params"]
            rows.append([title, len(group), group[0].get("iteration", "-"),
                         f"{statistics.fmean(r['minutes'] for r in group):.1f}",
                         f"{params / 1e6:.2f}M" if params else "-",
                         *(mean_spread([r[k] for r in group if k in r], spread="std",
                                       empty="-") for k in COLUMNS)])
    text = markdown_table(head, rows)
    ceiling = [r for r in records if "segmentation/real_miou" in r]
    if ceiling:
        text += (f"\n\nThe segmenter on the real test photos (the ceiling): mIoU "
                 f"{ceiling[0]['segmentation/real_miou']:.3f}, pixel accuracy "
                 f"{ceiling[0]['segmentation/real_accuracy']:.3f}.")
    return text


def paper_table() -> str:
    head = ["data set", "pix2pixHD mIoU / acc / FID", "SPADE mIoU / acc / FID"]
    rows = [[name, " / ".join(map(str, hd)), " / ".join(map(str, ours))]
            for name, (hd, ours) in PAPER.items()]
    return markdown_table(head, rows)


def write_csv(records: list[dict], path: Path) -> None:
    keys = sorted({k for r in records for k in r if "/" in k})
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "seed", "iteration", "minutes", "g_params", *keys])
        for r in records:
            writer.writerow([r["model"], r["seed"], r.get("iteration", ""), f"{r['minutes']:.2f}",
                             r["params"] or "", *(r.get(k, "") for k in keys)])


def main(runs: Path, out: Path = HERE) -> None:
    records = load(runs)
    if not records:
        raise SystemExit(f"no finished spade_s*/pix2pix_s* runs under {runs}")
    write_csv(records, out / "results.csv")
    text = ("## SPADE vs pix2pix on data=textures (200 test scenes; mean ± std over seeds)\n\n"
            + ours_table(records)
            + "\n\n## The paper (Park et al. 2019, Table 1)\n\n" + paper_table() + "\n")
    (out / "table.md").write_text(text)
    panels = [(f"{MODELS[r['model']]} s{r['seed']}", r["run"])
              for r in sorted(records, key=lambda r: (r["seed"], r["model"] != "spade"))]
    sample_sheet(panels, out / "samples.png", columns=2, size=5.0)
    print(text)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "runs")

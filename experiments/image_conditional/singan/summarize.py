"""Summarise the SinGAN experiment: SIFID and diversity by the scale generation starts at.

    python experiments/image_conditional/singan/summarize.py experiments/image_conditional/singan/runs

Reads runs/<photo>/ (results.json from eval=singan, .hydra/config.yaml, eval/final_from<k>.png,
samples/, and wide/ from python -m gan_lab.sample) and writes table.md and samples.png next to
this file: per photo and start scale k (the paper's "generation from scale N - k"), the mean
SIFID to the training image and the diversity, beside the paper's Tables 1 and 2.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib.image as mpimg
from matplotlib.figure import Figure

from gan_lab.summarize import Run, collect, markdown_table

HERE = Path(__file__).resolve().parent
# Shaham et al. 2019: Table 2 (SIFID, 50 images of the user study, 250 px) and Table 1
# (diversity), for generation from the coarsest scale N and from N - 1.
PAPER = {0: {"sifid": 0.09, "diversity": 0.50}, 1: {"sifid": 0.05, "diversity": 0.35}}
SIFID_KEY = re.compile(r"^singan/sifid_(?P<features>\w+?)_from(?P<scale>\d+)$")


def start_scales(run: Run) -> dict[int, dict[str, float]]:
    """Start scale -> {"sifid", "diversity", "features"} from the run's final evaluation."""
    found: dict[int, dict] = {}
    for key, value in run.results.items():
        match = SIFID_KEY.match(key)
        if match:
            k = int(match["scale"])
            found.setdefault(k, {})["sifid"] = float(value)
            found[k]["features"] = match["features"]
            found[k]["diversity"] = run.results.get(f"singan/diversity_from{k}")
    return dict(sorted(found.items()))


def scale_name(k: int) -> str:
    return "N" if k == 0 else f"N-{k}"


def table(runs: list[Run]) -> str:
    head = ["photo", "image", "scales", "iterations / scale", "minutes", "generation from",
            "SIFID", "features", "diversity", "paper SIFID", "paper diversity"]
    rows = []
    for run in runs:
        model = run.config.get("model", {})
        per_scale = int(model.get("iterations_per_scale", 0)) or None
        scales = run.iteration // per_scale if per_scale and run.iteration else "-"
        size = run.config.get("data", {}).get("max_size")
        minutes = f"{run.span_minutes:.1f}" if run.span_minutes is not None else "-"
        for k, found in start_scales(run).items():
            paper = PAPER.get(k, {})
            rows.append([run.value("data.photo") or run.name, f"long side {size}", scales,
                         per_scale or "-", minutes, scale_name(k), f"{found['sifid']:.4g}",
                         found["features"], f"{found['diversity']:.3f}",
                         paper.get("sifid", "-"), paper.get("diversity", "-")])
    return markdown_table(head, rows)


def sheet(runs: list[Run], path: Path) -> None:
    """Rows: per photo, the sheets of eval=singan (training image, then samples) for each start
    scale, and the samples twice as wide from python -m gan_lab.sample."""
    panels = []
    for run in runs:
        for k in start_scales(run):
            image = run.path / "eval" / f"final_from{k}.png"
            if image.is_file():
                panels.append((f"{run.name}: real, then samples from {scale_name(k)}", image))
        wide = run.path / "wide" / "grid.png"
        if wide.is_file():
            panels.append((f"{run.name}: samples at twice the width (from N)", wide))
    if not panels:
        return
    figure = Figure(figsize=(12, 1.9 * len(panels)))
    for index, (title, image) in enumerate(panels):
        axes = figure.add_subplot(len(panels), 1, index + 1)
        axes.imshow(mpimg.imread(image))
        axes.set_title(title, fontsize=9)
        axes.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=80)  # keeps the sheet under 2 MB


def main(root: str) -> None:
    runs = [run for run in collect(root) if run.finished]
    if not runs:
        sys.exit(f"no finished runs under {root}")
    text = ["# SinGAN: SIFID and diversity by the scale generation starts at", "",
            table(runs), "",
            "SIFID: mean over the samples of the FID between the training image's and a sample's "
            "per-position features ('random': the stand-in features, used where the InceptionV3 "
            "weights are absent; not on the paper's scale, compare the ordering). Diversity: "
            "the std of each pixel over the samples, averaged, over the image's pixel std. "
            "Paper: 250 px images, 2000 iterations per scale, InceptionV3 features.", ""]
    (HERE / "table.md").write_text("\n".join(text))
    sheet(runs, HERE / "samples.png")
    print("\n".join(text))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(HERE / "runs"))

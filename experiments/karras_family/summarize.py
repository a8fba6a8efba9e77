"""Summarise the Karras-family study: tables (mean ± std over seeds), FID curves, samples.

    python experiments/karras_family/summarize.py experiments/karras_family/runs

Reads runs/<name>_s<seed>/{results.json,eval/metrics.csv,samples/} and, where present, the
score of the generator without its EMA (runs/<name>_s<seed>/no_ema/results.json, written by
``python -m gan_lab.evaluate ... ema=false``); writes results.csv, table.md, fid_curves.png and
samples.png next to this file.
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
MODELS = {"dcgan": "DCGAN", "progan": "ProGAN", "stylegan": "StyleGAN", "stylegan2": "StyleGAN2"}
LIMITED = {f"n{n}_{aug}": (n, aug) for n in (1000, 5000)
           for aug in ("none", "diffaugment", "ada")}
METRICS = {"classifier/fid": "FID", "classifier/kid": "KID", "classifier/precision": "precision",
           "classifier/recall": "recall"}


def load(runs: Path) -> list[dict]:
    records = []
    for result in sorted(runs.glob("*_s*/results.json")):
        name, seed = result.parent.name.rsplit("_s", 1)
        record = {"name": name, "seed": int(seed), **json.loads(result.read_text())}
        raw = result.parent / "no_ema" / "results.json"  # python -m gan_lab.evaluate ema=false
        if raw.is_file():
            record["fid_without_ema"] = json.loads(raw.read_text())["classifier/fid"]
        log = result.parent.parent / f"{result.parent.name}.log"
        record["minutes"] = _minutes(log)
        records.append(record)
    return records


def _minutes(log: Path) -> float | None:
    for line in reversed(log.read_text().splitlines() if log.is_file() else []):
        if line.startswith("gan_lab: done") and " in " in line:
            clock = line.split(" in ", 1)[1].split(";", 1)[0]  # e.g. 12m03s or 1h02m03s
            hours, _, rest = clock.rpartition("h")
            minutes, _, seconds = rest.partition("m")
            return int(hours or 0) * 60 + int(minutes) + int(seconds.rstrip("s")) / 60
    return None


def _cell(values: list[float]) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{statistics.mean(values):.3g} ± {statistics.stdev(values):.2g}"


def tables(records: list[dict]) -> str:
    by_name = defaultdict(list)
    for record in records:
        by_name[record["name"]].append(record)
    lines = ["| model | seeds | minutes | " + " | ".join(METRICS.values())
             + " | FID without EMA |", "|---|---|---|" + "---|" * (len(METRICS) + 1)]
    for name, title in MODELS.items():
        runs = by_name.get(name, [])
        minutes = [r["minutes"] for r in runs if r["minutes"] is not None]
        cells = [_cell([r[key] for r in runs if key in r]) for key in METRICS]
        cells.append(_cell([r["fid_without_ema"] for r in runs if "fid_without_ema" in r]))
        lines.append(f"| {title} | {len(runs)} | {_cell(minutes)} | " + " | ".join(cells) + " |")
    lines += ["", "| training images | augmentation | FID | KID | precision | recall |",
              "|---|---|---|---|---|---|"]
    for name, (count, augment) in LIMITED.items():
        runs = by_name.get(name, [])
        cells = [_cell([r[key] for r in runs if key in r]) for key in METRICS]
        lines.append(f"| {count:,} | {augment} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_csv(records: list[dict], path: Path) -> None:
    keys = ["name", "seed", "iteration", "minutes", *METRICS, "fid_without_ema"]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)


def curves(runs: Path, path: Path) -> None:
    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    for name, title in MODELS.items():
        series = defaultdict(list)
        for metrics in sorted(runs.glob(f"{name}_s*/eval/metrics.csv")):
            done = metrics.parent.parent / "results.json"
            if not done.is_file():
                continue  # still training
            result = json.loads(done.read_text())
            if "reevaluated" in result:  # its in-run evaluations predate clipping: final only
                series[int(result["iteration"])].append(float(result["classifier/fid"]))
                continue
            for row in csv.DictReader(metrics.open()):
                if row.get("classifier/fid"):
                    series[int(row["iteration"])].append(float(row["classifier/fid"]))
        if series:
            steps = sorted(series)
            axes.plot(steps, [statistics.mean(series[s]) for s in steps], marker="o", label=title)
    axes.set_xlabel("generator iteration")
    axes.set_ylabel("classifier-feature FID (mean over seeds)")
    axes.set_yscale("log")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def samples(runs: Path, path: Path) -> None:
    names = [n for n in MODELS if sorted((runs / f"{n}_s0" / "samples").glob("*.png"))]
    if not names:
        return
    figure = Figure(figsize=(3 * len(names), 3.3))
    for axes, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        last = sorted((runs / f"{name}_s0" / "samples").glob("iter_*.png"))[-1]
        axes.imshow(mpimg.imread(last), cmap="gray")
        axes.set_title(MODELS[name])
        axes.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(runs: Path) -> None:
    records = load(runs)
    write_csv(records, HERE / "results.csv")
    (HERE / "table.md").write_text(tables(records))
    curves(runs, HERE / "fid_curves.png")
    samples(runs, HERE / "samples.png")
    print((HERE / "table.md").read_text())


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else HERE / "runs"))

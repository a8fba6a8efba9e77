"""The cost of spectral normalization and self-attention per training step.

Each comparison trains one model twice in the same run, with and without the layer, and times
the steady state of the plain loop (benchmarks/plain_loop.py: the module's own phases without
Lightning, so only the nets differ) as throughput.py does; the two variants alternate
``--repeats`` times so that load from other processes hits both alike. Reported: the median
iterations per second of each and the ratio with / without (< 1: the layer costs that share).

- ``spectral_norm``: SNGAN (ResNet G and D, hinge, n_critic 5) with spectral norm on every D
  layer vs. the same D without it (one power iteration per D forward: two per D step, plus
  G's step through D).
- ``attention``: SAGAN (spectral norm in G and D) with a self-attention block in G and D vs.
  none (at the resolution the model config puts it).
- ``g_spectral_norm``: SAGAN with spectral norm in G (the paper) vs. without.

    python benchmarks/layer_costs.py --iterations 20 --repeats 3 --out benchmarks/layer_costs.json
    python benchmarks/layer_costs.py --only attention data=fashion_mnist model.generator.width=64
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

try:  # imported as benchmarks.layer_costs (tests), or run as a script from benchmarks/
    from benchmarks.throughput import _quiet, compose_config, machine_info, time_plain, with_run_dir
except ImportError:
    from throughput import _quiet, compose_config, machine_info, time_plain, with_run_dir

# name -> (model of throughput.MODELS, overrides with the layer, overrides without it)
COMPARISONS: dict[str, tuple[str, list[str], list[str]]] = {
    "spectral_norm": ("sngan", [], ["model.discriminator.spectral_norm=false"]),
    "attention": ("sagan", [], ["model.generator.attention=null",
                                "model.discriminator.attention=null"]),
    "g_spectral_norm": ("sagan", [], ["model.generator.spectral_norm=false"]),
}


def compare(name: str, iterations: int, repeats: int, warmup: int = 3,
            overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Medians of iterations per second with and without the layer, and their ratio."""
    model, with_layer, without_layer = COMPARISONS[name]
    rates: dict[str, list[float]] = {"with": [], "without": []}
    with tempfile.TemporaryDirectory(prefix="gan_lab_layer_costs_") as tmp:
        configs = {"with": compose_config(model, [*overrides, *with_layer], run_dir=tmp),
                   "without": compose_config(model, [*overrides, *without_layer], run_dir=tmp)}
        for repeat in range(repeats):
            for side, cfg in configs.items():
                timing = time_plain(with_run_dir(cfg, Path(tmp) / f"{side}_{repeat}"),
                                    iterations, warmup)
                rates[side].append(timing.rate)
    medians = {side: statistics.median(values) for side, values in rates.items()}
    return {"layer": name, "model": model, "overrides": list(overrides),
            "without_overrides": without_layer, "iterations": iterations, "warmup": warmup,
            "repeats": repeats,
            **{side: {"rates": rates[side], "median": medians[side]} for side in rates},
            "ratio": medians["with"] / medians["without"]}


def table(results: Sequence[dict[str, Any]]) -> str:
    lines = ["| layer | model | overrides | with (it/s) | without (it/s) | ratio with / without |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['layer']} | {r['model']} | {' '.join(r['overrides']) or '—'} | "
                     f"{r['with']['median']:.2f} | {r['without']['median']:.2f} | "
                     f"{r['ratio']:.2f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(COMPARISONS), action="append",
                        help="run this comparison only (repeatable); default: all")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--out", type=Path, help="append the results to this JSON file")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for both variants")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    _quiet()
    results = [compare(name, args.iterations, args.repeats, args.warmup, args.overrides)
               for name in args.only or COMPARISONS]
    print(table(results))
    if args.out is not None:
        stored = json.loads(args.out.read_text()) if args.out.is_file() else {"results": []}
        command = "python benchmarks/layer_costs.py " + shlex.join(
            argv if argv is not None else sys.argv[1:])
        stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        for result in results:
            stored["results"].append({**result, "command": command, "date": stamp,
                                      "machine": machine_info(args.threads)})
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(stored, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

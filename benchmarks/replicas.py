"""Replicated nets vs. sequential runs: R runs of a small model stacked in one module
(``model.replicas=R``) against the same R runs one after the other.

Both sides train ``experiment=toy`` (PacGAN's MLPs) under the Trainer, as ``python -m gan_lab``
does, and the steady state is timed as in throughput.py (Trainer start-up excluded, which
favours the sequential side: R separate runs would each pay it). The rate is replica-iterations
per second; ratio = replicated / sequential (> 1: the stacked replicas are faster). The sides
alternate ``--repeats`` times so that load from other processes hits both alike.

    python benchmarks/replicas.py --replicas 5 --iterations 100 --repeats 3 \\
        --out benchmarks/replicas.json
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

try:  # imported as benchmarks.replicas (tests), or run as a script from benchmarks/
    from benchmarks.throughput import (
        _quiet,
        compose_config,
        machine_info,
        time_lightning,
        with_run_dir,
    )
except ImportError:
    from throughput import _quiet, compose_config, machine_info, time_lightning, with_run_dir


def benchmark_replicas(replicas: int, iterations: int, repeats: int, warmup: int = 5,
                       overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Medians of replica-iterations per second, stacked vs. sequential, and their ratio."""
    rates: dict[str, list[float]] = {"sequential": [], "replicated": []}
    with tempfile.TemporaryDirectory(prefix="gan_lab_replicas_") as tmp:
        single = compose_config("toy", [*overrides, "model.replicas=1"], run_dir=tmp)
        stacked = compose_config("toy", [*overrides, f"model.replicas={replicas}"], run_dir=tmp)
        for repeat in range(repeats):
            seconds = 0.0
            for r in range(replicas):
                cfg = with_run_dir(single, Path(tmp) / f"single_{repeat}_{r}")
                cfg.seed = r
                seconds += time_lightning(cfg, iterations, warmup).seconds
            rates["sequential"].append(replicas * iterations / seconds)
            timing = time_lightning(with_run_dir(stacked, Path(tmp) / f"stacked_{repeat}"),
                                    iterations, warmup)
            rates["replicated"].append(replicas * iterations / timing.seconds)
    medians = {side: statistics.median(values) for side, values in rates.items()}
    return {
        "replicas": replicas,
        "overrides": ["experiment=toy", *overrides],
        "iterations": iterations,
        "warmup": warmup,
        "repeats": repeats,
        **{side: {"rates": rates[side], "median": medians[side]} for side in rates},
        "ratio": medians["replicated"] / medians["sequential"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--out", type=Path, help="append the result to this JSON file")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model.packing=4")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    _quiet()
    result = benchmark_replicas(args.replicas, args.iterations, args.repeats, args.warmup,
                                args.overrides)
    print(f"| replicas | overrides | sequential (replica-it/s) | replicated (replica-it/s) | ratio |\n"
          f"|---|---|---|---|---|\n"
          f"| {result['replicas']} | {' '.join(result['overrides'])} | "
          f"{result['sequential']['median']:.1f} | {result['replicated']['median']:.1f} | "
          f"{result['ratio']:.2f} |")
    if args.out is not None:
        stored = json.loads(args.out.read_text()) if args.out.is_file() else {"results": []}
        stored["results"].append({
            **result,
            "command": "python benchmarks/replicas.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": machine_info(args.threads),
        })
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(stored, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

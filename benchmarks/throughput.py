"""Training throughput: gan_lab's LightningModule under a Trainer vs. a plain PyTorch loop.

Both sides get the same config (composed by Hydra exactly as ``python -m gan_lab`` composes it),
the same freshly seeded nets, loss, optimizers and data loader, and do the same work per
iteration: ``n_critic`` discriminator updates (each on a fresh real batch, with fresh noise, D on
the real batch and on a detached fake batch, PacGAN packing, loss, ``zero_grad(set_to_none=True)``,
backward, step) and one generator update, with the loss terms accumulated as detached tensors and
turned into floats every ``model.log_every`` iterations.

What only the Lightning side does, and therefore what the ratio measures: the Trainer's fit and
epoch loops, the data fetcher, callback and module hooks, ``LightningOptimizer`` wrappers,
``manual_backward``, the ``requires_grad`` toggling of ``toggled_optimizer``, gan_lab's
bookkeeping in ``AdversarialModule.training_step`` (counters, non-finite guard) and the CSV
logger. Trainer start-up and tear-down are excluded: a callback times the steady state from the
start of iteration ``warmup`` to the start of iteration ``warmup + iterations``; the plain loop
times the same window (``iterations`` full iterations, batch fetching included).

The two sides alternate (plain, lightning, plain, lightning, ...) ``repeats`` times, so that load
from other processes hits both alike; the medians and the ratio lightning / plain are reported.
``--diagnostics`` adds variants of the plain loop to every repeat, ``--profile`` runs cProfile
over the window of each side instead (see benchmarks/README.md).

    python benchmarks/throughput.py --model toy --iterations 300 --repeats 5 \
        --out benchmarks/results.json
    python benchmarks/throughput.py --model dcgan --iterations 150 --repeats 5 \
        --diagnostics plain_frozen,plain_no_nvml_env
    python benchmarks/throughput.py --model toy --iterations 100 --profile /tmp/profiles
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import json
import logging
import os
import platform
import pstats
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from gan_lab.building import build_module
from gan_lab.config import config_dir, validate
from gan_lab.resolvers import register_resolvers
from gan_lab.train import STEP_BOUND

try:  # imported as benchmarks.throughput (tests), or run as a script from benchmarks/
    from benchmarks.plain_loop import plain_loop
except ImportError:
    from plain_loop import plain_loop

# The two models of the issue: the PacGAN toy MLPs (experiment=toy: batch 100, nsgan) and the
# default config (DCGAN 16x16 on the digits, batch 64, nsgan).
# ProGAN and StyleGAN2 on the 16x16 digits at CPU widths (64 channels at most); ProGAN fades
# 8x8 in after 1k images, so the window covers a fade.
MODELS: dict[str, list[str]] = {
    "toy": ["experiment=toy"], "dcgan": [], "pix2pix": ["model=pix2pix"],
    "cyclegan": ["model=cyclegan"],
    "progan": ["model=progan", "model.generator.fmap_max=64", "model.stable_kimg=1",
               "model.fade_kimg=1"],
    "stylegan2": ["model=stylegan2", "model.generator.channel_max=64"],
    # The BigGAN line on the 16x16 digits at the CPU widths of experiments/biggan_line (about 32
    # maps): SNGAN (n_critic 5), SAGAN (attention at 8x8, SN in G), BigGAN (2 D steps,
    # orthogonal regularization, attention at 8x8).
    "sngan": ["model=sngan", "model.generator.width=32", "model.discriminator.width=32"],
    "sagan": ["model=sagan", "model.generator.width=32", "model.discriminator.width=32",
              "model.generator.attention=8"],
    "biggan": ["model=biggan", "model.generator.width=8"],
}
AIMS = {"toy": 0.7, "dcgan": 0.9, "pix2pix": 0.9, "cyclegan": 0.9, "progan": 0.9,
        "stylegan2": 0.9, "sngan": 0.9, "sagan": 0.9, "biggan": 0.9}
# Set by `import lightning.fabric` (so by `import lightning.pytorch`) for the whole process.
NVML_ENV = "PYTORCH_NVML_BASED_CUDA_CHECK"


# --------------------------------------------------------------------------- config and parts
def compose_config(model: str, overrides: Sequence[str] = (), run_dir: str | Path = ".") -> DictConfig:
    """The config `python -m gan_lab <MODELS[model]> <overrides>` would train with."""
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("config", overrides=[*MODELS[model], *overrides, f"run_dir={run_dir}"])
    validate(cfg)
    trainer = cfg.trainer
    if (trainer.get("accelerator"), trainer.get("devices"), str(trainer.get("precision"))) != (
            "cpu", 1, "32-true"):
        raise ValueError("the plain loop runs on one CPU process in float32: the benchmark needs "
                         "trainer.accelerator=cpu, trainer.devices=1, trainer.precision=32-true")
    return cfg


def with_run_dir(cfg: DictConfig, run_dir: str | Path) -> DictConfig:
    """A copy of `cfg` writing to its own folder (the CSV logger warns about a used one)."""
    copy = cfg.copy()
    copy.run_dir = str(run_dir)
    return copy


def fresh_parts(cfg: DictConfig):
    """(module, datamodule), seeded as a run seeds them: same init and same batches every call."""
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    module = build_module(cfg)
    return module, datamodule


@dataclass
class Window:
    """The timed window, optionally with a cProfile profiler enabled inside it."""

    profiler: cProfile.Profile | None = None
    start: float | None = None
    stop: float | None = None

    def open(self) -> None:
        if self.profiler is not None:
            self.profiler.enable()
        self.start = time.perf_counter()

    def close(self) -> None:
        self.stop = time.perf_counter()
        if self.profiler is not None:
            self.profiler.disable()

    @property
    def seconds(self) -> float:
        if self.start is None or self.stop is None:
            raise RuntimeError("the timed window was not reached: too few iterations ran")
        return self.stop - self.start


@dataclass
class Timing:
    """One timed run of one side."""

    iterations: int
    seconds: float
    module: Any = field(repr=False, default=None)

    @property
    def rate(self) -> float:
        """Generator iterations per second."""
        return self.iterations / self.seconds


# --------------------------------------------------------------------------- the plain loop
def _batches(loader) -> Iterator[Any]:
    while True:  # epochs, as Lightning's epoch loop does (the sampler reshuffles per epoch)
        yield from loader


def time_plain(cfg: DictConfig, iterations: int, warmup: int,
               profiler: cProfile.Profile | None = None, freeze: bool = False,
               nvml_env: bool = True) -> Timing:
    """A hand-written loop over the same nets, optimizers and loader as the module's.

    Two diagnostic variants (not the baseline of the issue):

    - ``freeze=True`` adds what Lightning's ``toggled_optimizer`` does to the autograd graph:
      the net not being updated has ``requires_grad=False`` (the D step records no graph for G,
      the G step computes no weight gradients for D), via ``nn.Module.requires_grad_``.
    - ``nvml_env=False`` runs the loop without ``PYTORCH_NVML_BASED_CUDA_CHECK``, which
      importing Lightning sets for the whole process (lightning/fabric/__init__.py), i.e. as a
      script that never imports Lightning would run (see benchmarks/README.md).
    """
    if not nvml_env and NVML_ENV in os.environ:
        saved = os.environ.pop(NVML_ENV)
        try:
            return time_plain(cfg, iterations, warmup, profiler, freeze)
        finally:
            os.environ[NVML_ENV] = saved
    module, datamodule = fresh_parts(cfg)
    window = Window(profiler)
    plain_loop(module, _batches(datamodule.train_dataloader()), iterations, warmup, window, freeze)
    return Timing(iterations, window.seconds, module)


# --------------------------------------------------------------------------- the Lightning side
class SteadyStateTimer(pl.Callback):
    """Opens the window at the start of batch `start`, closes it at the start of batch `stop`.

    Batches are counted across epochs (Lightning's `batch_idx` restarts every epoch).
    """

    def __init__(self, start: int, stop: int, window: Window) -> None:
        self.start, self.stop, self.window = start, stop, window
        self.batches = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.batches == self.start:
            self.window.open()
        elif self.batches == self.stop:
            self.window.close()
        self.batches += 1


def time_lightning(cfg: DictConfig, iterations: int, warmup: int,
                   profiler: cProfile.Profile | None = None) -> Timing:
    """`Trainer.fit` with the config's trainer and loggers, no checkpoint/sample callbacks."""
    module, datamodule = fresh_parts(cfg)
    per_iteration = module.n_critic  # batches (training_step calls) per generator iteration
    window = Window(profiler)
    timer = SteadyStateTimer(warmup * per_iteration, (warmup + iterations) * per_iteration, window)
    loggers = [instantiate(node) for node in (cfg.logger or {}).values() if node]
    module.budget = warmup + iterations + 1  # one iteration past the window, whose start closes it
    trainer: pl.Trainer = instantiate(
        cfg.trainer,
        max_steps=STEP_BOUND,
        logger=loggers or False,
        callbacks=[timer],
        enable_checkpointing=False,
        enable_progress_bar=False,
    )
    trainer.fit(module, datamodule=datamodule)
    return Timing(iterations, window.seconds, module)


# --------------------------------------------------------------------------- the benchmark
def machine_info(threads: int) -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "threads": threads,
        "torch": torch.__version__,
        "lightning": pl.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


SIDES: dict[str, Callable[..., Timing]] = {
    "plain": time_plain,
    "lightning": time_lightning,
    # diagnostics: lightning / these separate what the headline ratio mixes
    "plain_frozen": lambda *args, **kwargs: time_plain(*args, freeze=True, **kwargs),
    "plain_no_nvml_env": lambda *args, **kwargs: time_plain(*args, nvml_env=False, **kwargs),
}
DIAGNOSTICS = ("plain_frozen", "plain_no_nvml_env")


def benchmark(model: str, iterations: int, repeats: int, warmup: int = 10,
              overrides: Sequence[str] = (), diagnostics: Sequence[str] = (),
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Interleaved plain/lightning runs of `model`; medians of iterations/s and their ratio.

    Each name in `diagnostics` (from DIAGNOSTICS) adds a side to every repeat, and the result
    gains its rates and ``ratio_<name>`` = lightning / <name>.
    """
    unknown = set(diagnostics) - set(DIAGNOSTICS)
    if unknown:
        raise ValueError(f"unknown diagnostics {sorted(unknown)}; choose from {DIAGNOSTICS}")
    sides = ["plain", "lightning", *diagnostics]
    rates: dict[str, list[float]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="gan_lab_bench_") as tmp:
        cfg = compose_config(model, overrides, run_dir=tmp)
        for repeat in range(repeats):
            for side in sides:
                run_cfg = with_run_dir(cfg, Path(tmp) / f"{side}_{repeat}")
                rate = SIDES[side](run_cfg, iterations, warmup).rate
                rates[side].append(rate)
                if progress is not None:
                    progress(f"{model} repeat {repeat + 1}/{repeats} {side:17s} {rate:8.1f} it/s")
    medians = {side: statistics.median(values) for side, values in rates.items()}
    result = {
        "model": model,
        "overrides": [*MODELS[model], *overrides],
        "batch_size": cfg.data.batch_size,
        "n_critic": cfg.model.get("n_critic", 1),
        "log_every": cfg.model.log_every,
        "iterations": iterations,
        "warmup": warmup,
        "repeats": repeats,
        **{side: {"rates": rates[side], "median": medians[side]} for side in sides},
        "ratio": medians["lightning"] / medians["plain"],
        "paired_ratios": [lt / p for lt, p in zip(rates["lightning"], rates["plain"])],
        "aim": AIMS.get(model),
    }
    for side in diagnostics:
        result[f"ratio_{side}"] = medians["lightning"] / medians[side]
    return result


def table(results: Sequence[dict[str, Any]]) -> str:
    extra = [side for side in DIAGNOSTICS if any(f"ratio_{side}" in r for r in results)]
    head = ("| model | batch | plain it/s | lightning it/s | ratio lightning / plain | aim "
            "| paired ratios |")
    rule = "|---|---|---|---|---|---|---|"
    for side in extra:
        head += f" {side} it/s | lightning / {side} |"
        rule += "---|---|"
    lines = [head, rule]
    for r in results:
        paired = r["paired_ratios"]
        line = (f"| {r['model']} | {r['batch_size']} | {r['plain']['median']:.1f} "
                f"| {r['lightning']['median']:.1f} | **{r['ratio']:.3f}** | {r['aim']} "
                f"| {min(paired):.2f}-{max(paired):.2f} |")
        for side in extra:
            if side in r:
                line += f" {r[side]['median']:.1f} | {r[f'ratio_{side}']:.3f} |"
            else:
                line += " | |"
        lines.append(line)
    return "\n".join(lines)


# --------------------------------------------------------------------------- profiling
# (label, predicate on a pstats key (file, line, function)): cumulative time inside the
# function of each category, per timed iteration. Categories overlap (nested calls).
PROFILE_CATEGORIES: list[tuple[str, Callable[[tuple[str, int, str]], bool]]] = [
    ("training_step (whole)", lambda k: k[2] == "training_step" and "gan_lab" in k[0]),
    ("toggle_optimizer", lambda k: k[2] == "toggle_optimizer"),
    ("untoggle_optimizer", lambda k: k[2] == "untoggle_optimizer"),
    ("LightningOptimizer.step", lambda k: k[2] == "step" and k[0].endswith("core/optimizer.py")),
    ("manual_backward", lambda k: k[2] == "manual_backward"),
    ("self.optimizers()", lambda k: k[2] == "optimizers" and k[0].endswith("core/module.py")),
    ("_accumulate", lambda k: k[2] == "_accumulate"),
    ("_flush_logs", lambda k: k[2] == "_flush_logs"),
    ("callback hooks", lambda k: k[2] == "_call_callback_hooks"),
    ("module hooks", lambda k: k[2] == "_call_lightning_module_hook"),
    ("strategy hooks", lambda k: k[2] == "_call_strategy_hook"),
    ("data fetcher __next__", lambda k: k[2] == "__next__" and "fetchers" in k[0]),
    ("loader __next__ (torchdata)", lambda k: k[2] == "__next__" and "stateful_dataloader" in k[0]),
    ("nets forward", lambda k: k[2] == "_call_impl" and k[0].endswith("nn/modules/module.py")),
    ("autograd backward", lambda k: k[2] == "_engine_run_backward"),
    ("optimizer.step (Adam)", lambda k: k[2] == "step" and k[0].endswith("optim/adam.py")),
    ("zero_grad", lambda k: k[2] == "zero_grad" and k[0].endswith("optim/optimizer.py")),
]


def flops_per_iteration(cfg: DictConfig, iterations: int = 2) -> dict[str, float]:
    """Matmul/convolution FLOPs per iteration of each side (torch.utils.flop_counter).

    Deterministic, unlike timings: it shows the work the requires_grad toggling removes (D's
    weight gradients in the G step), which the Lightning side and ``plain_frozen`` share.
    """
    from torch.utils.flop_counter import FlopCounterMode

    counts = {}
    for side in ("plain", "lightning", "plain_frozen"):
        with FlopCounterMode(display=False) as counter:
            SIDES[side](with_run_dir(cfg, Path(cfg.run_dir) / f"flops_{side}"), iterations, 0)
        counts[side] = counter.get_total_flops() / (iterations + 1)  # + the window-closing one
    return counts


def profile(model: str, iterations: int, warmup: int = 10, overrides: Sequence[str] = (),
            out_dir: Path | None = None, top: int = 25) -> str:
    """cProfile both sides over the timed window; a category table and the top functions."""
    stats: dict[str, pstats.Stats] = {}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="gan_lab_prof_") as tmp:
        cfg = compose_config(model, overrides, run_dir=tmp)
        for side, timer in (("plain", time_plain), ("lightning", time_lightning)):
            profiler = cProfile.Profile()
            run_cfg = with_run_dir(cfg, Path(tmp) / side)
            seconds[side] = timer(run_cfg, iterations, warmup, profiler=profiler).seconds
            stats[side] = pstats.Stats(profiler)
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                stats[side].dump_stats(str(out_dir / f"{model}_{side}.prof"))
        flops = flops_per_iteration(cfg)
    report = [f"## {model}: cProfile over {iterations} iterations (after {warmup} warm-up)", "",
              "Matmul/convolution MFLOP per iteration (deterministic): " + ", ".join(
                  f"{side} {value / 1e6:.1f}" for side, value in flops.items()),
              "Function calls per iteration (Python and C, deterministic): " + ", ".join(
                  f"{side} {stats[side].total_calls / iterations:.0f}" for side in stats),
              "", "ms per iteration under the profiler (cumulative, categories overlap)", "",
              "| category | plain | lightning |", "|---|---|---|"]
    report.append(f"| wall time in window | {1e3 * seconds['plain'] / iterations:.3f} "
                  f"| {1e3 * seconds['lightning'] / iterations:.3f} |")
    for label, matches in PROFILE_CATEGORIES:
        cells = []
        for side in ("plain", "lightning"):
            # the matching function with the largest cumulative time: the outermost one where
            # matches nest (Lightning's fetcher __next__ wrappers); pstats' cumtime already
            # counts a recursive function (nn.Module._call_impl) once per outermost call.
            total = max((entry[3] for key, entry in stats[side].stats.items() if matches(key)),
                        default=0.0)
            cells.append(f"{1e3 * total / iterations:.3f}")
        report.append(f"| {label} | {cells[0]} | {cells[1]} |")
    report += ["", "own time (tottime) by where the code lives, ms per iteration under the profiler",
               "", "| code | plain | lightning |", "|---|---|---|"]
    owners = {side: _own_time_by_package(stats[side]) for side in ("plain", "lightning")}
    for package in sorted(set(owners["plain"]) | set(owners["lightning"]),
                          key=lambda p: -owners["lightning"].get(p, 0.0)):
        cells = [f"{1e3 * owners[side].get(package, 0.0) / iterations:.3f}"
                 for side in ("plain", "lightning")]
        report.append(f"| {package} | {cells[0]} | {cells[1]} |")
    extra = {key: entry[1] - stats["plain"].stats.get(key, (0, 0))[1]
             for key, entry in stats["lightning"].stats.items()}
    report += ["", f"the {top} functions with the most extra calls on the Lightning side", "",
               "| calls per iteration | function |", "|---|---|"]
    for key, calls in sorted(extra.items(), key=lambda item: -item[1])[:top]:
        report.append(f"| {calls / iterations:.0f} | {_where(key)} |")
    for side in ("plain", "lightning"):
        buffer = io.StringIO()
        stats[side].stream = buffer
        stats[side].sort_stats("tottime").print_stats(top)
        report += ["", f"### {model} {side}: top {top} by own time", "", "```",
                   _trim_pstats(buffer.getvalue()), "```"]
    return "\n".join(report)


def _own_time_by_package(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of own time per package: torch ops and other C calls, torch's Python, Lightning..."""
    totals: dict[str, float] = {}
    for (filename, _, _), entry in stats.stats.items():
        if filename == "~":  # a C function: torch ops (run_backward, linear, ...) and builtins
            owner = "C calls (torch ops, builtins)"
        else:
            path = filename.replace("\\", "/")
            owner = next((name for marker, name in (
                ("/lightning/pytorch/", "lightning.pytorch (Python)"),
                ("/lightning/fabric/", "lightning.fabric (Python)"),
                ("/torchdata/", "torchdata (Python)"),
                ("/torch/", "torch (Python)"),
                ("/gan_lab/", "gan_lab (Python)"),
                ("/benchmarks/", "benchmarks (Python)"),
            ) if marker in path), "other Python")
        totals[owner] = totals.get(owner, 0.0) + entry[2]
    return totals


def _where(key: tuple[str, int, str]) -> str:
    filename, line, function = key
    if filename == "~":
        return f"`{re.sub(r' at 0x[0-9a-f]+', '', function)}`"
    short = re.sub(r".*/lib/python3\.\d+/(site-packages/)?", "", filename.replace("\\", "/"))
    return f"`{short}:{line}({function})`"


def _trim_pstats(text: str) -> str:
    lines = text.strip().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    prefix = str(Path(sys.prefix)) + "/lib/"
    return "\n".join(line.replace(prefix, "") for line in lines[start:])


def write_results(path: Path, results: Sequence[dict[str, Any]], command: str,
                  threads: int) -> None:
    """Store each model's result under its name, with the command, date and machine.

    Results of models not run this time are kept, so one file can hold separate invocations
    (e.g. ``--model toy`` and ``--model dcgan`` with different iteration counts).
    """
    stored: dict[str, Any] = {}
    if path.is_file():
        stored = json.loads(path.read_text()).get("results", {})
    stamp = {
        "command": command,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(threads),
    }
    for result in results:
        stored[result["model"]] = {**result, **stamp}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"results": stored}, indent=2) + "\n")


# --------------------------------------------------------------------------- command line
def _quiet() -> None:
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for message in (".*does not have many workers.*", ".*smaller than the logging interval.*",
                    ".*treespec.*"):
        warnings.filterwarnings("ignore", message=message)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def _diagnostics(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in DIAGNOSTICS]
    if unknown:
        raise argparse.ArgumentTypeError(f"{','.join(unknown)}: choose from {','.join(DIAGNOSTICS)}")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=[*MODELS, "all"], default="all")
    parser.add_argument("--iterations", type=int, default=200, help="timed iterations per run")
    parser.add_argument("--warmup", type=int, default=10, help="untimed iterations before them")
    parser.add_argument("--repeats", type=int, default=5, help="plain/lightning pairs")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    parser.add_argument("--diagnostics", type=_diagnostics, default=[], metavar="NAME[,NAME]",
                        help="also time these variants of the plain loop in every repeat: "
                             "plain_frozen (with requires_grad toggling), plain_no_nvml_env "
                             f"(without {NVML_ENV}, which importing Lightning sets)")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="instead of timing, cProfile one run of each side; .prof files "
                             "and a report go to DIR")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides, e.g. loss=hinge")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.repeats < 1 or args.warmup < 0 or args.threads < 1:
        parser.error("--iterations, --repeats, --threads must be >= 1 and --warmup >= 0")
    torch.set_num_threads(args.threads)
    models = list(MODELS) if args.model == "all" else [args.model]
    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])

    if args.profile is not None:
        reports = [profile(model, args.iterations, args.warmup, args.overrides, args.profile)
                   for model in models]
        text = "\n\n".join(reports)
        (args.profile / "report.md").write_text(f"`{command}`\n\n{text}\n")
        print(text)
        return 0

    results = [benchmark(model, args.iterations, args.repeats, args.warmup, args.overrides,
                         diagnostics=args.diagnostics,
                         progress=lambda line: print(line, file=sys.stderr, flush=True))
               for model in models]
    print(table(results))
    if args.out is not None:
        write_results(args.out, results, command, args.threads)
    return 0


if __name__ == "__main__":
    _quiet()
    sys.exit(main())

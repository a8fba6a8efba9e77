"""The GPU speed path: fp32 eager vs bf16 vs bf16 + channels_last vs + torch.compile.

Each variant trains the same scheme under a ``lightning.pytorch.Trainer`` built from the config
Hydra composes for a user run (``trainer=gpu`` on a CUDA machine, ``trainer=cpu`` elsewhere),
with only the precision and the ``speed`` options changed:

- ``fp32``: ``trainer.precision=32-true speed=eager`` (the baseline of every ratio);
- ``bf16``: ``trainer.precision=bf16-mixed speed=eager``;
- ``bf16_cl``: bf16 + ``speed.channels_last=true``;
- ``bf16_cl_compile``: bf16 + channels_last + ``speed.compile=true`` (inductor);
- ``fp32_cl`` (not in the default set): fp32 + channels_last.

Models: ``dcgan64`` (DCGAN at 64x64 RGB, batch 128, as Radford et al. 2016) and ``cyclegan256``
(CycleGAN at 256x256 RGB, ResNet-9 generators, 64 channels, batch 1, as Zhu et al. 2017). The
data are a few random batches made once and kept on the training device (``batch_size=None``
loader), so the loader costs nothing and the ratios are of the training step itself.

Timing: iterations per second over a window from the start of iteration ``warmup`` to the start
of iteration ``warmup + iterations`` (CUDA synchronised at both ends); the warm-up (Trainer
start, cuDNN autotuning, compilation) is timed apart, and the compile time is reported as the
compiled variant's warm-up minus that of the same variant without compilation. Variants alternate
within each repeat (fp32, bf16, ..., fp32, bf16, ...), each on a fresh module with Dynamo's
caches reset; the table gives the median rate of each and its ratio to fp32 in the same run.

Without a GPU the script runs a reduced CPU version (smaller images and batches, fp32, bf16 and
bf16 + channels_last, a few iterations) so that it can be run anywhere; its numbers say nothing
about GPU ratios, and the output says so.

    python benchmarks/gpu_speed.py --out benchmarks/gpu_speed.json            # GPU: the full set
    python benchmarks/gpu_speed.py --model dcgan64 --iterations 5 --repeats 2 # a CPU machine
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
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

try:  # imported as benchmarks.gpu_speed (tests), or run as a script from benchmarks/
    from benchmarks.throughput import _quiet, machine_info
except ImportError:
    from throughput import _quiet, machine_info

# Model -> (overrides on a GPU, overrides of the reduced CPU version).
MODELS: dict[str, tuple[list[str], list[str]]] = {
    "dcgan64": (["data.image_size=64", "data.channels=3", "data.batch_size=128"],
                ["data.image_size=64", "data.channels=3", "data.batch_size=8"]),
    "cyclegan256": (["model=cyclegan", "data.image_size=256", "net_width=64",
                     "data.batch_size=1"],
                    ["model=cyclegan", "data.image_size=64", "net_width=32",
                     "data.batch_size=1"]),
}
VARIANTS: dict[str, list[str]] = {
    "fp32": ["trainer.precision=32-true", "speed=eager"],
    "bf16": ["trainer.precision=bf16-mixed", "speed=eager"],
    "bf16_cl": ["trainer.precision=bf16-mixed", "speed=eager", "speed.channels_last=true"],
    "bf16_cl_compile": ["trainer.precision=bf16-mixed", "speed=eager", "speed.channels_last=true",
                        "speed.compile=true"],
    "fp32_cl": ["trainer.precision=32-true", "speed=eager", "speed.channels_last=true"],
}
GPU_VARIANTS = ("fp32", "bf16", "bf16_cl", "bf16_cl_compile")
CPU_VARIANTS = ("fp32", "bf16", "bf16_cl")
BASELINE = "fp32"
NO_GPU_NOTE = ("no CUDA GPU on this machine: these are the reduced CPU numbers (smaller images "
               "and batches); the GPU ratios are not measured and await a run of this script "
               "on a GPU")


def compose_config(model: str, variant: str, gpu: bool, overrides: Sequence[str] = (),
                   run_dir: str | Path = ".") -> DictConfig:
    """The config of ``python -m gan_lab`` for this model and variant (trainer=gpu or cpu)."""
    sizes = MODELS[model][0 if gpu else 1]
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("config", overrides=[
            f"trainer={'gpu' if gpu else 'cpu'}", *sizes, *VARIANTS[variant], *overrides,
            f"run_dir={run_dir}"])
    validate(cfg)
    return cfg


def random_batches(cfg: DictConfig, count: int, device: torch.device) -> list:
    """``count`` batches of random images in [-1, 1] shaped as the data config says, made on
    ``device``: (images, labels) for single-image schemes, (A, B) for translation."""
    size, batch = int(cfg.data.image_size), int(cfg.data.batch_size)
    generator = torch.Generator().manual_seed(0)

    def images(channels: int):
        return (torch.rand(batch, channels, size, size, generator=generator) * 2 - 1).to(device)

    if "channels_a" in cfg.data:
        return [[images(cfg.data.channels_a), images(cfg.data.channels_b)] for _ in range(count)]
    labels = torch.zeros(batch, dtype=torch.long, device=device)
    return [[images(cfg.data.channels), labels] for _ in range(count)]


class Batches(torch.utils.data.Dataset):
    """Ready batches served as they are (a DataLoader with ``batch_size=None``)."""

    def __init__(self, batches: list, length: int) -> None:
        self.batches, self.length = batches, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        return self.batches[index % len(self.batches)]


class Stopwatch(pl.Callback):
    """Warm-up seconds (fit start to batch ``start``) and the window (batch ``start`` to batch
    ``stop``), CUDA synchronised at each mark."""

    def __init__(self, start: int, stop: int) -> None:
        self.start, self.stop = start, stop
        self.batches = 0
        self.fit_start = self.window_start = self.window_stop = None

    @staticmethod
    def _now(pl_module: pl.LightningModule) -> float:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize(pl_module.device)
        return time.perf_counter()

    def on_train_start(self, trainer, pl_module) -> None:
        self.fit_start = self._now(pl_module)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.batches == self.start:
            self.window_start = self._now(pl_module)
        elif self.batches == self.stop:
            self.window_stop = self._now(pl_module)
        self.batches += 1


@contextlib.contextmanager
def empty_compile_cache() -> Iterator[bool]:
    """Inductor's on-disk caches (compiled graphs, kernels) in a fresh folder for the duration, so
    that a compiled run pays the whole compilation, as a first run on a machine does; yields
    whether that worked (the helper is internal to torch)."""
    try:
        from torch._inductor.runtime.cache_dir_utils import temporary_cache_dir
    except ImportError:
        yield False
        return
    with tempfile.TemporaryDirectory(prefix="gan_lab_inductor_") as folder, \
            temporary_cache_dir(folder):
        yield True


def time_variant(cfg: DictConfig, iterations: int, warmup: int, gpu: bool,
                 cold_compile: bool = True) -> dict[str, Any]:
    """One timed training run: rate (iterations/s), warm-up seconds, what SpeedUp applied.

    ``cold_compile``: a compiled variant starts from empty inductor caches (see
    :func:`empty_compile_cache`); otherwise it reuses what earlier runs cached on disk."""
    compiled = instantiate(cfg.speed).resolved(cuda=gpu)[1] is not None
    if compiled and cold_compile:
        with empty_compile_cache() as cold:
            return {**time_variant(cfg, iterations, warmup, gpu, cold_compile=False),
                    "cold_cache": cold}
    torch._dynamo.reset()  # every compiled run compiles afresh (its warm-up holds the compile)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    module = build_module(cfg)
    per_iteration = module.n_critic
    total = warmup + iterations + 1  # one iteration past the window, whose start closes it
    device = torch.device("cuda" if gpu else "cpu")
    batches = random_batches(cfg, 4, device)
    loader = torch.utils.data.DataLoader(Batches(batches, total * per_iteration),
                                         batch_size=None)
    watch = Stopwatch(warmup * per_iteration, (warmup + iterations) * per_iteration)
    speed = instantiate(cfg.speed)
    module.budget = total
    trainer: pl.Trainer = instantiate(cfg.trainer, max_steps=STEP_BOUND, logger=False,
                                      callbacks=[speed, watch], enable_checkpointing=False,
                                      enable_progress_bar=False)
    trainer.fit(module, train_dataloaders=loader)
    if watch.window_start is None or watch.window_stop is None:
        raise RuntimeError("the timed window was not reached: too few iterations ran")
    seconds = watch.window_stop - watch.window_start
    return {"rate": iterations / seconds, "warmup_seconds": watch.window_start - watch.fit_start,
            "applied": speed.applied}


def benchmark(model: str, variants: Sequence[str], iterations: int, warmup: int, repeats: int,
              gpu: bool, overrides: Sequence[str] = (), cold_compile: bool = True,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Interleaved runs of every variant; medians, ratios to fp32, the compile time."""
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    with tempfile.TemporaryDirectory(prefix="gan_lab_gpu_speed_") as tmp:
        configs = {variant: compose_config(model, variant, gpu, overrides, tmp)
                   for variant in variants}
        for repeat in range(repeats):
            for variant in variants:
                run = time_variant(configs[variant], iterations, warmup, gpu, cold_compile)
                runs[variant].append(run)
                if progress is not None:
                    progress(f"{model} repeat {repeat + 1}/{repeats} {variant:16s} "
                             f"{run['rate']:8.2f} it/s (warm-up {run['warmup_seconds']:.1f} s)")
    cfg = next(iter(configs.values()))
    result: dict[str, Any] = {
        "model": model,
        "overrides": [*MODELS[model][0 if gpu else 1], *overrides],
        "image_size": int(cfg.data.image_size),
        "batch_size": int(cfg.data.batch_size),
        "iterations": iterations, "warmup": warmup, "repeats": repeats,
        "variants": {},
    }
    for variant, timed in runs.items():
        rates = [run["rate"] for run in timed]
        result["variants"][variant] = {
            "overrides": VARIANTS[variant],
            "rates": rates,
            "median": statistics.median(rates),
            "warmup_seconds": [run["warmup_seconds"] for run in timed],
            "applied": timed[0]["applied"],
        }
        if "cold_cache" in timed[0]:
            result["variants"][variant]["cold_compile_cache"] = timed[0]["cold_cache"]
    if BASELINE in runs:
        base = result["variants"][BASELINE]["median"]
        for entry in result["variants"].values():
            entry["ratio"] = entry["median"] / base
    for compiled in (v for v in variants if v.endswith("_compile")):
        eager = compiled.removesuffix("_compile")
        if eager in runs:
            warm = result["variants"]
            result.setdefault("compile_seconds", {})[compiled] = (
                statistics.median(warm[compiled]["warmup_seconds"])
                - statistics.median(warm[eager]["warmup_seconds"]))
    return result


def table(results: Sequence[dict[str, Any]]) -> str:
    lines = ["| model | px | batch | variant | it/s | ratio to fp32 | warm-up s |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        for variant, entry in r["variants"].items():
            ratio = f"**{entry['ratio']:.2f}**" if "ratio" in entry else ""
            lines.append(f"| {r['model']} | {r['image_size']} | {r['batch_size']} | {variant} "
                         f"| {entry['median']:.2f} | {ratio} "
                         f"| {statistics.median(entry['warmup_seconds']):.1f} |")
    compiles = [f"{r['model']} {variant}: {seconds:.1f} s" for r in results
                for variant, seconds in r.get("compile_seconds", {}).items()]
    if compiles:
        lines += ["", "compile time (warm-up of the compiled variant minus the same without "
                  "compilation): " + ", ".join(compiles)]
    return "\n".join(lines)


def device_info(gpu: bool) -> dict[str, Any]:
    info: dict[str, Any] = {"gpu": gpu}
    if gpu:
        info.update(name=torch.cuda.get_device_name(), capability=torch.cuda.get_device_capability(),
                    cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                    cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
                    matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32)
    return info


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=[*MODELS, "all"], default="all")
    parser.add_argument("--variants", default=None, metavar="NAME[,NAME]",
                        help=f"from {', '.join(VARIANTS)} (default: {', '.join(GPU_VARIANTS)} on "
                             f"a GPU, {', '.join(CPU_VARIANTS)} on a CPU)")
    parser.add_argument("--iterations", type=int, default=None,
                        help="timed iterations per run (default 100 on a GPU, 3 on a CPU)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed iterations first (default 10 on a GPU, 1 on a CPU)")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 GPU, 2 CPU")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default 1 on a CPU, as throughput.py: "
                             "threads contending with other processes distort the ratios)")
    parser.add_argument("--cpu", action="store_true", help="the reduced CPU version on any machine")
    parser.add_argument("--warm-cache", action="store_true",
                        help="let compiled runs reuse inductor's on-disk cache (default: each "
                             "starts from an empty one, so its warm-up holds a first compilation)")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args(argv)
    gpu = torch.cuda.is_available() and not args.cpu
    variants = (args.variants.split(",") if args.variants
                else list(GPU_VARIANTS if gpu else CPU_VARIANTS))
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    iterations = args.iterations or (100 if gpu else 3)
    warmup = args.warmup if args.warmup is not None else (10 if gpu else 1)
    repeats = args.repeats or (3 if gpu else 2)
    if iterations < 1 or warmup < 0 or repeats < 1:
        parser.error("--iterations and --repeats must be >= 1, --warmup >= 0")
    if args.threads or not gpu:
        torch.set_num_threads(args.threads or 1)
    if not gpu:
        print(f"gpu_speed: {NO_GPU_NOTE}", file=sys.stderr)
    models = list(MODELS) if args.model == "all" else [args.model]
    results = [benchmark(model, variants, iterations, warmup, repeats, gpu, args.overrides,
                         cold_compile=not args.warm_cache, progress=lambda line: print(line, file=sys.stderr, flush=True))
               for model in models]
    print(table(results))
    if not gpu:
        print(f"\nNote: {NO_GPU_NOTE}.")
    if args.out is not None:
        command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
        payload = {
            "command": command,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": {**machine_info(torch.get_num_threads()), **device_info(gpu)},
            "note": None if gpu else NO_GPU_NOTE,
            "results": {r["model"]: r for r in results},
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    _quiet()
    sys.exit(main())

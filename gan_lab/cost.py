"""What a run costs, said before it trains: the parameters of each optimizer group and, on a
CPU, an estimate of the time per iteration with the model's quick setting beside it.

The estimate runs no training step. A copy of the module on the meta device (shapes, no
numbers, no memory) runs the forward passes of one iteration's phases (gan_lab.models.phases,
critic phases once per critic batch) on a batch shaped as the data's, under a counter of the
FLOPs (torch.utils.flop_counter's formulas), the operations and the elements they write; the
backward passes are counted, not run (each operation on tensors that require grad once more, a
matmul or convolution once per input gradient). Four short measurements of this CPU (matmul and
convolution throughput, elementwise throughput, the cost of one small operation; about 0.1 s,
cached for the process) turn the counts into seconds:

    seconds = 1.25 x (matmul FLOPs / matmul FLOP/s + convolution FLOPs / convolution FLOP/s
                      + elements / elements per s + operations x seconds per operation)

A model's ``quick`` key (each ``conf/model/*.yaml``) lists the overrides that make it train on
its embedded data in minutes on a CPU; the cost line prints them as a command.
"""

from __future__ import annotations

import copy
import functools
import logging
import random
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map
from torch.utils.flop_counter import flop_registry

from gan_lab.augment import NoAugment

log = logging.getLogger(__name__)

# The estimate is printed from this many seconds per iteration on (the default DCGAN run on the
# digits takes about 0.04 s: its console stays as it was).
SHOW_FROM_SECONDS = 1.0
# What the counts leave out (the optimizer steps, the autograd engine, Python in the modules,
# data loading, convolution shapes slower than the benchmark's), as a factor: with it, measured
# iterations of DCGAN and the quick settings of R3GAN, StyleGAN2 and BigGAN on this 2-core machine
# (one thread, loaded) took 0.8-1.1 x the estimate; 17 models' quick settings 0.4-3 x before.
OVERHEAD = 1.25
# The keys a model's yaml may hold its quick overrides under: `quick` in the `@package _global_`
# yamls, `model.quick` in those of the `model` package (dcgan, cgan).
QUICK_KEYS = ("quick", "model.quick")


# ----------------------------------------------------------------------------- parameters
def parameter_counts(module: Any) -> dict[str, int]:
    """Optimizer group -> the number of parameters it trains (``optimizer_groups()``)."""
    counts = {}
    for name, params in module.optimizer_groups().items():
        seen: dict[int, int] = {id(p): p.numel() for p in params}
        counts[name] = sum(seen.values())
    return counts


def millions(n: int) -> str:
    """4_370_000 -> '4.37 M'; small nets in thousands ('12.3 k')."""
    if n >= 1e6:
        return f"{n / 1e6:.3g} M" if n < 1e8 else f"{n / 1e6:.0f} M"
    return f"{n / 1e3:.3g} k" if n >= 1e3 else str(n)


def parameters_line(counts: Mapping[str, int]) -> str:
    """'parameters: generator 4.37 M, discriminator 4.28 M'."""
    return "parameters: " + ", ".join(f"{name} {millions(n)}" for name, n in counts.items())


# ----------------------------------------------------------------------------- counting
class _Counter(TorchDispatchMode):
    """Counts the FLOPs of the operations dispatched (torch.utils.flop_counter's formulas:
    matmuls, convolutions, attention), the operations and the elements they write, and adds
    what their backward pass would cost without running it: an operation with an input that
    requires grad is counted twice (its backward), a matmul or convolution once more per input
    of 2 or more dimensions that requires grad (input and weight gradients). (Not
    FlopCounterMode itself: its module hooks refuse ``autograd.grad`` on leaves, which R1 and
    path-length penalties call.)"""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0
        self.conv_flops = 0
        self.operations = 0
        self.elements = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        inputs = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
        backward = any(t.requires_grad for t in inputs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            grads = sum(1 for t in inputs if t.requires_grad and t.dim() >= 2)
            flops = formula(*args, **kwargs, out_val=out) * (1 + grads)
            if "convolution" in func._overloadpacket.__name__:
                self.conv_flops += flops
            else:
                self.flops += flops
        written = sum(leaf.numel() for leaf in (out if isinstance(out, tuple | list) else (out,))
                      if isinstance(leaf, torch.Tensor))
        self.operations += 1 + backward
        self.elements += written * (1 + backward)
        return out


@dataclass(frozen=True)
class IterationCount:
    """What one training iteration computes (forward and backward of every phase)."""

    flops: float  # matmuls, attention
    conv_flops: float  # convolutions (slower per FLOP on a CPU than matmuls)
    elements: float
    operations: float
    how: str  # "meta" (shapes without numbers), or "cpu" where those could not run a phase

    def seconds(self, machine: CPUSpeed) -> float:
        return OVERHEAD * (self.flops / machine.flops_per_s
                           + self.conv_flops / machine.conv_flops_per_s
                           + self.elements / machine.elements_per_s
                           + self.operations * machine.seconds_per_operation)


def example_batch(datamodule: Any, size: int) -> Any:
    """A training batch of ``size`` samples built from the first items of the training set
    (no loader workers, no shuffling: nothing of the run's random streams is drawn)."""
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    dataset = loader.dataset
    collate = loader.collate_fn or torch.utils.data.default_collate
    return collate([dataset[i % len(dataset)] for i in range(size)])


def _batch_size(datamodule: Any) -> int:
    size = getattr(datamodule, "batch_size", None)
    if size is None:
        size = datamodule.train_dataloader().batch_size
    return int(size)


def count_iteration(module: Any, datamodule: Any) -> IterationCount:
    """The FLOPs, written elements and operations of one iteration of ``module``: each phase's
    step and backward pass, critic phases once per critic batch, a phase that runs every k
    iterations counted 1/k. On a copy of the module on the meta device (shapes without numbers)
    at the data's batch size; where a phase needs numbers (``.item()``, data-dependent shapes),
    on a CPU copy with a batch of 2, scaled."""
    batch_size = _batch_size(datamodule)
    small = example_batch(datamodule, min(batch_size, 2))
    try:
        with _autocast_accepts_meta():
            twin = meta_copy(module)
            twin.augment = NoAugment()  # ADA draws its transforms from values (small work)
            return _count(twin, _meta_batch(small, batch_size), 1.0, "meta")
    except Exception as error:  # noqa: BLE001 - e.g. a scheme reading a tensor's value
        log.debug("cost: the meta copy failed (%s: %s); counting on a CPU copy",
                  type(error).__name__, error)
    scale = batch_size / min(batch_size, 2)
    return _count(copy.deepcopy(module), small, scale, "cpu")


def meta_copy(module: torch.nn.Module) -> Any:
    """A deep copy of ``module`` whose parameters and buffers are on the meta device, made
    without copying their numbers (a 30M-parameter module in milliseconds)."""
    memo: dict[int, Any] = {}
    for param in module.parameters():
        memo[id(param)] = torch.nn.Parameter(torch.empty_like(param, device="meta"),
                                             requires_grad=param.requires_grad)
    for buffer in module.buffers():
        memo[id(buffer)] = torch.empty_like(buffer, device="meta")
    return copy.deepcopy(module, memo).to("meta")


@contextmanager
def _autocast_accepts_meta():
    """``torch.autocast(device_type="meta", ...)`` (the penalties' float32 blocks on a meta
    copy) as a no-op; torch refuses that device type."""
    original = torch.autocast

    def autocast(device_type: str, *args: Any, **kwargs: Any):
        if device_type == "meta":
            return nullcontext()
        return original(device_type, *args, **kwargs)

    torch.autocast = autocast
    try:
        yield
    finally:
        torch.autocast = original


def _meta_batch(batch: Any, batch_size: int) -> Any:
    rows = None

    def first_dim(x: Any) -> None:
        nonlocal rows
        if isinstance(x, torch.Tensor) and x.dim() and rows is None:
            rows = x.shape[0]

    tree_map(first_dim, batch)

    def to_meta(x: Any) -> Any:
        if not isinstance(x, torch.Tensor):
            return x
        shape = (batch_size, *x.shape[1:]) if x.dim() and x.shape[0] == rows else x.shape
        return torch.empty(shape, dtype=x.dtype, device="meta")

    return tree_map(to_meta, batch)


def _count(twin: Any, batch: Any, scale: float, how: str) -> IterationCount:
    twin.train()
    for module in twin.modules():  # spectral norm's power iteration: negligible work, but
        if type(module).__name__ == "_SpectralNorm":  # slow on the meta device's Python kernels
            module.eval()
    groups = {name: list(params) for name, params in twin.optimizer_groups().items()}
    # what a scheme's hooks reach (ProGAN's stage resets and lrs), as a loop without Lightning
    twin.loop_optimizers = {name: twin.optimizer_factories[name](params)
                            for name, params in groups.items()}
    total = [0.0, 0.0, 0.0, 0.0]

    def counted(fn, runs: float) -> None:
        counter = _Counter()
        with counter:
            fn()
        for i, n in enumerate((counter.flops, counter.conv_flops, counter.elements,
                               counter.operations)):
            total[i] += runs * n

    # once per batch of the iteration (a forward some schemes' phases share)
    counted(lambda: twin.prepare_batch(batch), twin.batches_per_iteration)
    for phase in twin.phase_list:
        for name, params in groups.items():  # as Lightning's toggled_optimizer
            for param in params:
                param.requires_grad_(name in phase.groups)
        twin.prepare_batch(batch)
        # the step's forward; its backward is counted, not run (_Counter)
        counted(lambda phase=phase: phase.step(batch),
                (twin.n_critic if phase.critic else 1) / phase.every)
    return IterationCount(total[0] * scale, total[1] * scale, total[2] * scale, total[3], how)


# ----------------------------------------------------------------------------- this CPU
@dataclass(frozen=True)
class CPUSpeed:
    flops_per_s: float
    conv_flops_per_s: float
    elements_per_s: float
    seconds_per_operation: float


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


@functools.cache
def cpu_speed() -> CPUSpeed:
    """Matmul and convolution FLOP/s, elementwise elements/s and seconds per small operation of
    this CPU with torch's current threads, as it runs now (medians: a loaded machine counts;
    about 0.2 s, measured once per process)."""
    with torch.random.fork_rng(devices=[]):
        a, b = torch.randn(512, 512), torch.randn(512, 512)
        big = torch.randn(1 << 20)
        tiny = torch.randn(8, requires_grad=True)
        # a 3x3 convolution and a 4x4 stride-2 transposed one (DCGAN's upsampling), 32 x 64 x 8 x 8
        image = torch.randn(32, 64, 8, 8, requires_grad=True)
        kernel = torch.randn(64, 64, 3, 3, requires_grad=True)
        up_kernel = torch.randn(64, 64, 4, 4, requires_grad=True)
    matmul = _median_time(lambda: torch.mm(a, b), 3)

    def convolutions() -> None:  # forward and backward (input and weight gradients)
        torch.nn.functional.conv2d(image, kernel, padding=1).sum().backward()
        torch.nn.functional.conv_transpose2d(image, up_kernel, stride=2, padding=1).sum().backward()

    convolution = _median_time(convolutions, 3)
    conv_flops = 3 * 2 * 32 * 64 * 64 * (9 * 8 * 8 + 16 * 8 * 8)  # 3 x (conv + transposed)
    elementwise = _median_time(lambda: torch.add(big, 1.0), 5)

    def small_ops() -> None:
        x = tiny
        for _ in range(100):
            x = x * 1.0
        x.sum().backward()

    per_op = _median_time(small_ops, 3) / 202  # forward and backward
    return CPUSpeed(2 * 512**3 / matmul, conv_flops / convolution, big.numel() / elementwise,
                    per_op)


# ----------------------------------------------------------------------------- quick
def quick_overrides(cfg: DictConfig) -> list[str] | None:
    """The model's quick setting (its yaml's ``quick`` list), None where it has none."""
    for key in QUICK_KEYS:
        value = OmegaConf.select(cfg, key, default=None)
        if value is not None:
            return [str(v) for v in OmegaConf.to_container(value)]
    return None


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def quick_command(quick: Sequence[str], typed: Sequence[str], model: str | None) -> str:
    """``python -m gan_lab`` with the command line's overrides and the quick ones (which
    replace a typed override of the same key)."""
    replaced = {_key(o) for o in quick}
    kept = [o for o in typed if _key(o) not in replaced | {"run_dir", "ckpt_path"}]
    if model and not any(_key(o) == "model" for o in kept):
        kept.insert(0, f"model={model}")
    return " ".join(["python -m gan_lab", *kept, *quick])


def _hydra_model_choice() -> str | None:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    return HydraConfig.get().runtime.choices.get("model")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def per_iteration(seconds: float) -> str:
    return f"{seconds:.2g} s/iteration" if seconds < 10 else f"{seconds:.0f} s/iteration"


def cost_line(cfg: DictConfig, seconds: float, typed: Sequence[str]) -> str:
    """'~30 s/iteration on this CPU (2000 iterations: ~17 h); a quick run: python -m ...'."""
    iterations = int(cfg.get("iterations") or 0)
    line = f"~{per_iteration(seconds)} on this CPU (estimate)"
    if iterations:
        line += f", {iterations} iterations ~{_duration(seconds * iterations)}"
    quick = quick_overrides(cfg)
    if quick is None:
        return line
    typed_set = set(typed)
    if quick and all(o in typed_set for o in quick):
        return line + " (with the model's quick setting)"
    if not quick:
        return line
    return line + "; a quick run: " + quick_command(quick, typed, _hydra_model_choice())


def trains_on_cpu(cfg: DictConfig) -> bool:
    """Whether the run's trainer computes on the CPU (``cpu``, or ``auto`` with no GPU)."""
    accelerator = str(OmegaConf.select(cfg, "trainer.accelerator", default="cpu")).lower()
    if accelerator == "cpu":
        return True
    if accelerator == "auto":
        return not torch.cuda.is_available() and not torch.backends.mps.is_available()
    return False


def report_cost(cfg: DictConfig, module: Any, datamodule: Any,
                typed: Sequence[str] = ()) -> float | None:
    """Log the parameters per optimizer group and, on a CPU, the estimated seconds per iteration
    when it exceeds SHOW_FROM_SECONDS; the estimate (None off the CPU or where it failed).

    The random streams (torch, numpy, Python) are as they were afterwards."""
    log.info("gan_lab: %s", parameters_line(parameter_counts(module)))
    if not trains_on_cpu(cfg):
        return None
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            seconds = count_iteration(module, datamodule).seconds(cpu_speed())
    except Exception as error:  # noqa: BLE001 - an estimate never stops a run
        log.debug("cost: no estimate (%s: %s)", type(error).__name__, error)
        return None
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    if seconds >= SHOW_FROM_SECONDS:
        log.info("gan_lab: %s", cost_line(cfg, seconds, typed))
    return seconds


__all__ = ["CPUSpeed", "IterationCount", "count_iteration", "cost_line", "cpu_speed",
           "parameter_counts", "parameters_line", "quick_command", "quick_overrides",
           "report_cost", "trains_on_cpu"]


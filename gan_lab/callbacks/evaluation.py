"""Periodic and final evaluation through the sampling protocol."""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import rank_zero_only

from gan_lab.callbacks.schedule import EveryIterations


def to_cpu(samples: Any) -> Any:
    """Samples on the CPU, floating tensors as float32 (half and bfloat16 outputs of mixed
    precision included); integer and bool tensors (token ids, masks) keep their dtype. Tuples,
    lists and dicts of tensors are walked."""
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu()
        return samples.float() if samples.is_floating_point() else samples
    if isinstance(samples, Mapping):
        return {key: to_cpu(value) for key, value in samples.items()}
    if isinstance(samples, tuple | list):
        return type(samples)(to_cpu(value) for value in samples)
    return samples


class Sampler:
    """What evaluators get to draw from: ``sampler(n, labels=None, condition=None)`` -> CPU
    samples (floating ones as float32, token ids and other integers as they are).

    ``num_classes`` > 0 marks a conditional generator (labels are then accepted). Wraps any
    module that follows the sampling protocol (``module.sample(n, labels=...)``; a general
    condition, e.g. captions or first frames, goes as ``module.sample(n, condition=...)``); for
    translators (``module.translate``), ``sampler.translate(images, direction)`` and
    ``sampler.directions``.

    ``ema``: whether the samples come from the generator's EMA copy. Modules sample from it
    once it has been updated (``module.ema_ready()``), else from the trained generator; a model
    without ``model.ema_decay`` has none.
    """

    def __init__(self, module: Any) -> None:
        self.module = module
        self.num_classes = int(getattr(module, "num_classes", 0) or 0)
        self.directions: tuple[str, ...] = tuple(getattr(module, "directions", ()))
        ready = getattr(module, "ema_ready", None)
        self.ema = bool(ready()) if callable(ready) else False

    def translate(self, images: torch.Tensor, direction: str, **options: Any) -> torch.Tensor:
        """``module.translate(images, direction, **options)`` on the CPU (options: what the
        module's ``translate_options`` name, e.g. a context encoder's mask)."""
        with torch.no_grad():
            return to_cpu(self.module.translate(images, direction, **options))

    def __call__(self, n: int, labels: torch.Tensor | None = None,
                 condition: Any = None) -> Any:
        given = {name: value for name, value in (("labels", labels), ("condition", condition))
                 if value is not None}
        with torch.no_grad():
            return to_cpu(self.module.sample(n, **given))


class Evaluator(Protocol):
    """What an `eval.metrics` entry is: samples + the datamodule -> named numbers.

    An evaluator may also have ``prepare(datamodule)``, called once before training starts
    (to train or load a feature extractor and cache real-data statistics), and ``protocol``:
    the module method it needs, ``"sample"`` (generators; the default) or ``"translate"``.
    """

    def __call__(self, sample_fn: Callable[..., torch.Tensor], datamodule: Any,
                 out_dir: Path | None, tag: str) -> dict[str, float]: ...


class Evaluation(EveryIterations):
    """Runs every evaluator in `metrics` every `every` generator iterations.

    Results go to the loggers (step = iteration), to ``out_dir/metrics.csv`` (one row per
    evaluation) and to `latest`; `objective` names the number a sweep optimises (train.run
    returns it). Other keys of the `eval` group (``**shared``: e.g. ``num_samples``,
    ``inception_weights``, ``cache_dir``) are settings the metrics read by interpolation.
    `scored_ema` says what the latest evaluation scored: the generator's EMA copy (True), the
    trained generator (False), or nothing yet (None); results.json records it as ``ema``.
    """

    def __init__(self, metrics: Mapping[str, Evaluator], out_dir: str, every: int = 1000,
                 objective: str | None = None, **shared: Any) -> None:
        super().__init__(every, at_end=False)  # train.run does the final evaluation
        self.metrics = {name: m for name, m in dict(metrics).items() if m is not None}
        self.out_dir = Path(out_dir)
        self.objective = objective
        self.shared = shared
        self.latest: dict[str, float] = {}
        self.scored_ema: bool | None = None

    def check(self, module: Any) -> None:
        """ValueError naming the first evaluator whose protocol the module does not speak."""
        for name, evaluator in self.metrics.items():
            protocol = getattr(evaluator, "protocol", "sample")
            if not module.speaks(protocol):
                translates = module.speaks("translate")
                kind = "translates images" if translates else "generates images"
                # A scheme may name the evaluation that fits it (eval=attributes, inpainting...).
                hint = getattr(module, "evaluation_hint", None) or (
                    "eval=translation" if translates else "eval=classifier or eval=inception")
                raise ValueError(f"eval.metrics.{name} needs a model that can {protocol}, but "
                                 f"{type(module).__name__} {kind}; use {hint}")

    def prepare(self, datamodule: Any) -> None:
        """Let each evaluator get ready (extractors, real statistics); train.run calls this
        before training starts, so that bad settings fail early."""
        for evaluator in self.metrics.values():
            if hasattr(evaluator, "prepare"):
                evaluator.prepare(datamodule)

    @rank_zero_only
    def run(self, trainer: pl.Trainer, module: pl.LightningModule, tag: str) -> None:
        self.evaluate(module, trainer.datamodule, tag)

    def evaluate(self, module: Any, datamodule: Any, tag: str) -> dict[str, float]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        sampler = Sampler(module)
        self.scored_ema = sampler.ema
        results: dict[str, float] = {}
        for evaluator in self.metrics.values():
            results.update(evaluator(sampler, datamodule, self.out_dir, tag))
        self.latest = results
        if results:
            module.log_metrics(results)
            self._append_csv(tag, getattr(module, "iteration", 0), results)
        return results

    def _append_csv(self, tag: str, iteration: int, results: dict[str, float]) -> None:
        path = self.out_dir / "metrics.csv"
        rows = []
        if path.is_file():
            with path.open(newline="") as f:
                rows = list(csv.DictReader(f))
        rows.append({"tag": tag, "iteration": iteration, **results})
        fields = list(dict.fromkeys(k for row in rows for k in row))
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)

    def objective_value(self) -> float | None:
        if self.objective is None:
            return None
        if self.objective not in self.latest:
            raise KeyError(f"objective={self.objective!r} is not among the evaluated metrics "
                           f"{sorted(self.latest)}")
        return float(self.latest[self.objective])

"""Training-health alerts: mode collapse, discriminator overfitting and divergence.

At every log point (``model.log_every`` iterations) the callback judges the logged means and a
few measurements of its own, and logs in the same row ``health/collapse``, ``health/d_overfit``
and ``health/divergence`` (1 while an alert's episode lasts, else 0) beside the measured values:

* **mode collapse**: ``health/diversity``, the mean pairwise L2 distance of the generator's
  samples on fixed codes (translators: of the translations of fixed test images) divided by
  that of as many real samples, both from the scheme's ``diversity_probe`` (schemes whose
  outputs follow their inputs, such as super-resolution, give none); it fires when that ratio
  falls below ``diversity_floor`` or below ``diversity_drop`` times its own peak (the peak
  capped at 1, the real data's diversity), and when an evaluation's recall (``*/recall``) or
  mode count (``*/modes``) falls below ``eval_drop`` times its best value.
* **discriminator overfitting**: ADA's heuristics (Karras et al. 2020, "Training Generative
  Adversarial Networks with Limited Data", eq. 1). Where the data has a held-out part
  (``data.subset``: the images not trained on), ``health/r_v`` = (E[D(train)] - E[D(held-out)])
  / (E[D(train)] - E[D(generated)]) (the scores from the scheme's ``discriminator_means``) at or
  above ``rv_max``; without one, ADA's proxy
  ``health/r_t`` = E[sign(D(real))] (logged by the module for every scheme, the mean over the
  log interval), averaged over the last ``rt_window`` log points, at or above ``rt_max``, for
  the objectives whose D separates at 0 (minimax, nsgan, hinge). r_t near 1 also means a D that
  wins without memorising (healthy DCGAN runs on the digits reach 1 for stretches), hence the
  window; ``rt_max: null`` leaves r_t unjudged.
* **divergence**: a non-finite loss, score or gradient norm, or ``|loss/d|``/``|loss/g|`` above
  ``loss_max``, a gradient norm (``health/grad_norm/<group>``, before clipping, measured on the
  iteration before each log point) above ``grad_norm_max`` or ``explode_factor`` times its
  median so far, or (minimax, nsgan, lsgan, hinge) a mean D score beyond ``score_max`` (all at
  once); and, for those objectives, whose D loss is 0 only for a perfect D,
  ``|loss/d|`` below ``d_loss_min`` (D wins outright) or
  ``loss/g`` growing without bound (rising at 3 of 4 of the last ``growth_window`` log points to
  ``growth_factor`` times its value at the window's start, and above ``g_loss_min``). A
  NaN/inf loss is also named when the module's guard stops the run (NonFiniteLossError).

Collapse and overfitting are judged only after ``warmup`` iterations, and like the slow
divergence signs only once their condition has held at ``patience`` consecutive log points; the
sudden divergence signs fire at once. An alert fires once per episode: one console line (rank
zero) with the iteration, what was measured and what to try; the episode ends after
``patience`` log points without the condition. ``stop`` (true, or a list of alert names) stops
the run when an alert fires, through the path of a signalled stop: the checkpoint callback
writes ``last.ckpt``, training ends and the run reports why (``module.stop_reason``). Under DDP,
rank zero measures and decides, and a stop reaches every rank. What a scheme does not have
(real samples to compare with, a held-out split, a sampling protocol) is skipped.
"""

from __future__ import annotations

import contextlib
import logging
import math
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor

from gan_lab.callbacks.evaluation import Evaluation
from gan_lab.protocols import NonFiniteLossError

log = logging.getLogger(__name__)

ALERTS = ("collapse", "d_overfit", "divergence")
ADVICE = {
    "collapse": "try loss=nsgan or loss=hinge, PacGAN packing (model.packing=2), loss.r1_gamma=10, "
                "a lower discriminator lr (optim.discriminator.lr) or model.ema_decay=0.999",
    "d_overfit": "try augment=diffaugment or augment=ada, loss.r1_gamma=10, a lower discriminator "
                 "lr (optim.discriminator.lr) or fewer D steps (model.n_critic), or more data",
    "divergence": "try lower learning rates (optim.generator.lr, optim.discriminator.lr), "
                  "model.clip_grad_norm=1, loss.r1_gamma=10, loss=nsgan or loss=wgan_gp, or "
                  "trainer.precision=32",
}
# Objectives whose D loss is 0 only for a discriminator that separates real from fake outright.
BOUNDED_OBJECTIVES = ("minimax", "nsgan", "lsgan", "hinge")
# Objectives whose D tells real from fake at 0, so that sign(D(real)) means something (LSGAN's
# targets are 0 and 1, a Wasserstein critic has no fixed offset).
ZERO_BOUNDARY_OBJECTIVES = ("minimax", "nsgan", "hinge")


# ----------------------------------------------------------------------------- the maths
def mean_pairwise_distance(x: Tensor) -> float:
    """Mean L2 distance over all pairs of the rows of ``x`` (N, ...) flattened; 0 for N < 2."""
    flat = x.detach().reshape(len(x), -1).double().cpu()
    return float(torch.pdist(flat).mean()) if len(flat) > 1 else 0.0


def validation_overfit(train: float, heldout: float, generated: float) -> float | None:
    """ADA's r_v = (E[D(train)] - E[D(held-out)]) / (E[D(train)] - E[D(generated)]) (Karras et
    al. 2020, eq. 1): 0 when D scores unseen reals as the trained ones, 1 when as generated
    ones. None when D does not separate training reals from generated samples (no evidence)."""
    margin = train - generated
    return None if not margin > 1e-6 else (train - heldout) / margin


def rising(values: list[float], share: float = 0.75) -> bool:
    """True when ``values`` went up at at least ``share`` of its steps."""
    steps = [b > a for a, b in zip(values, values[1:])]
    return bool(steps) and sum(steps) >= share * len(steps)


class Episode:
    """One alert's state: fires when its condition holds at ``patience`` consecutive checks (at
    once when ``immediate``), ends after ``patience`` consecutive checks without it."""

    def __init__(self, patience: int) -> None:
        self.patience = max(1, int(patience))
        self.active = False
        self.held = 0
        self.clear = 0

    def update(self, condition: bool, immediate: bool = False) -> bool:
        """Record one check; True when the alert fires now (the start of an episode)."""
        if not condition:
            self.held, self.clear = 0, self.clear + 1
            if self.clear >= self.patience:
                self.active = False
            return False
        self.held, self.clear = self.held + 1, 0
        if self.active or (self.held < self.patience and not immediate):
            return False
        self.active = True
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"active": self.active, "held": self.held, "clear": self.clear}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.active, self.held, self.clear = bool(state["active"]), state["held"], state["clear"]


@dataclass(frozen=True)
class Thresholds:
    """The alerts' limits (what each means: the module doc)."""

    diversity_floor: float = 0.2
    diversity_drop: float = 0.5
    eval_drop: float = 0.5
    eval_min_drop: float = 0.1
    rt_max: float | None = 0.99
    rt_window: int = 10
    rv_max: float = 0.5
    loss_max: float = 1e4
    score_max: float = 100.0
    grad_norm_max: float = 1e6
    explode_factor: float = 1e3
    d_loss_min: float = 1e-2
    g_loss_min: float = 10.0
    growth_factor: float = 2.0
    growth_window: int = 8

    def __post_init__(self) -> None:
        for name, least in (("rt_window", 1), ("growth_window", 2)):
            if int(getattr(self, name)) < least:
                raise ValueError(f"callbacks.health.{name}={getattr(self, name)} must be an "
                                 f"integer >= {least}")


# ----------------------------------------------------------------------------- the callback
class TrainingHealth(pl.Callback):
    """Alerts for mode collapse, discriminator overfitting and divergence (see the module doc).

    Args:
        every: iterations between the sampled measurements (diversity, r_v); they run at the
            first log point at least this far from the last one. null: at every log point.
        warmup: iterations before collapse and overfitting are judged.
        patience: consecutive log points a slow condition must hold before it fires (and be
            absent before its episode ends).
        stop: true, or a list of alert names: stop the run when such an alert fires.
        num_samples: samples of the diversity and r_v measurements (fixed codes, fixed reals).
        seed: seed of the fixed codes.
        thresholds: the fields of :class:`Thresholds`.
    """

    def __init__(self, every: int | None = None, warmup: int = 500, patience: int = 2,
                 stop: bool | Iterable[str] = False, num_samples: int = 64, seed: int = 4321,
                 **thresholds: Any) -> None:
        stops = list(ALERTS) if stop is True else [] if stop in (False, None) else list(stop)
        unknown = [name for name in stops if name not in ALERTS]
        if unknown:
            raise ValueError(f"callbacks.health.stop: {unknown[0]!r} is not an alert; use true, "
                             f"false or a list of {', '.join(ALERTS)}")
        if every is not None and int(every) < 1:
            raise ValueError(f"callbacks.health.every={every} must be an integer >= 1 or null")
        if int(num_samples) < 2:
            raise ValueError(f"callbacks.health.num_samples={num_samples} must be >= 2")
        unknown = sorted(set(thresholds) - {f.name for f in fields(Thresholds)})
        if unknown:
            raise ValueError(f"callbacks.health.{unknown[0]}: no such option (the thresholds are "
                             f"{', '.join(f.name for f in fields(Thresholds))})")
        self.limits = Thresholds(**thresholds)
        self.every = None if every is None else int(every)
        self.warmup = int(warmup)
        self.stop = tuple(stops)
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.episodes = {name: Episode(patience) for name in ALERTS}
        self.peaks: dict[str, float] = {}  # diversity and evaluation metrics: best value so far
        self.history: dict[str, list[float]] = {}  # gradient norms and G loss at past checks
        self.last_probe: int | None = None
        self.fired: list[tuple[int, str, str]] = []  # (iteration, alert, line), newest last
        self._eval_seen: int | None = None
        self._eval_new = False
        self._last_rv: float | None = None
        self._eval_reasons: list[str] = []
        self._norms: dict[str, float] = {}
        self._stop_reason: str | None = None
        self._trainer: pl.Trainer | None = None
        self._module: Any = None

    # ------------------------------------------------------------------ judging
    def judge(self, iteration: int, values: dict[str, float],
              objective: str | None = None) -> dict[str, float]:
        """Judge one log point's ``values`` (logged means and measurements); returns the
        ``health/<alert>`` flags. Fires (console line, ``fired``) on an episode's start.

        An alert's episode advances only at log points that bring evidence for it: collapse at a
        diversity measurement or a new evaluation, overfitting where r_t (every log point with a
        D step) or r_v (the latest measurement) is known, divergence at every one."""
        warm = iteration >= self.warmup
        if "health/r_v" in values:
            self._last_rv = values["health/r_v"]
        elif self._last_rv is not None:
            values = {**values, "health/r_v": self._last_rv}
        reasons = {"divergence": self._divergence(values, objective, warm)}
        r_t = self._rt_mean(values.get("health/r_t"))
        if warm and ("health/diversity" in values or self._eval_new):
            reasons["collapse"] = ([], self._collapse(values))
        if warm and ("health/r_t" in values or "health/r_v" in values):
            r_t = r_t if objective in ZERO_BOUNDARY_OBJECTIVES else None
            reasons["d_overfit"] = ([], self._overfit(r_t, values.get("health/r_v")))
        self._eval_new = False
        for alert, (now, slow) in reasons.items():
            if self.episodes[alert].update(bool(now or slow), immediate=bool(now)):
                self._fire(iteration, alert, now + slow)
        return {f"health/{alert}": float(self.episodes[alert].active) for alert in ALERTS}

    def _divergence(self, values: dict[str, float], objective: str | None,
                    warm: bool) -> tuple[list[str], list[str]]:
        limits = self.limits
        now, slow = [], []
        watched = {k: v for k, v in values.items()
                   if k.startswith(("loss/", "score/", "health/grad_norm/", "health/r_t"))}
        now += [f"{k} is {v}" for k, v in watched.items() if not math.isfinite(v)]
        for key in ("loss/d", "loss/g"):
            value = values.get(key)
            if value is not None and math.isfinite(value) and abs(value) > limits.loss_max:
                now.append(f"|{key}| = {abs(value):.3g} > {limits.loss_max:.3g}")
        for key, value in watched.items():
            if not key.startswith("health/grad_norm/") or not math.isfinite(value):
                continue
            past = self.history.setdefault(key, [])
            if value > limits.grad_norm_max:
                now.append(f"{key} = {value:.3g} > {limits.grad_norm_max:.3g}")
            elif len(past) >= 3 and value > limits.explode_factor * statistics.median(past):
                now.append(f"{key} = {value:.3g}, {value / statistics.median(past):.3g} times its "
                           f"median so far")
            past.append(value)
            del past[:-100]
        if objective in BOUNDED_OBJECTIVES:
            scores = {k: v for k, v in watched.items() if k.startswith("score/")}
            now += [f"|{key}| = {abs(value):.3g} > {limits.score_max:.3g} (D's outputs explode)"
                    for key, value in scores.items()
                    if math.isfinite(value) and abs(value) > limits.score_max]
            d_loss, g_loss = values.get("loss/d"), values.get("loss/g")
            if d_loss is not None and abs(d_loss) < limits.d_loss_min:
                slow.append(f"|loss/d| = {abs(d_loss):.2g} < {limits.d_loss_min:g} (D separates "
                            "real from generated outright)")
            if g_loss is not None and math.isfinite(g_loss):
                window = self.history.setdefault("loss/g", [])
                window.append(g_loss)
                del window[:-limits.growth_window]
                if (warm and len(window) == limits.growth_window and rising(window)
                        and g_loss > max(limits.g_loss_min, limits.growth_factor * window[0])):
                    slow.append(f"loss/g grew from {window[0]:.3g} to {g_loss:.3g} over the "
                                f"last {len(window)} log points")
        return now, slow

    def _collapse(self, values: dict[str, float]) -> list[str]:
        limits = self.limits
        found = []
        ratio = values.get("health/diversity")
        if ratio is not None and math.isfinite(ratio):
            peak = self.peaks.get("health/diversity")
            if ratio < limits.diversity_floor:
                found.append(f"sample diversity {ratio:.3g} of the real data's "
                             f"(< {limits.diversity_floor:g})")
            elif peak is not None and ratio < limits.diversity_drop * peak:
                found.append(f"sample diversity {ratio:.3g} of the real data's, down from "
                             f"{peak:.3g}")
            self.peaks["health/diversity"] = max(peak or 0.0, min(ratio, 1.0))
        return found + self._eval_reasons

    def _overfit(self, r_t: float | None, r_v: float | None) -> list[str]:
        """r_v where a held-out split gives it, else r_t (ADA's proxy without one; ``r_t`` is
        None for objectives whose decision boundary is not at 0)."""
        limits = self.limits
        found = []
        if r_v is None and r_t is not None and limits.rt_max is not None and r_t >= limits.rt_max:
            found.append(f"r_t = E[sign(D(real))] = {r_t:.3g} over the last {limits.rt_window} "
                         f"log points (>= {limits.rt_max:g})")
        if r_v is not None and r_v >= limits.rv_max:
            found.append(f"r_v = {r_v:.3g} >= {limits.rv_max:g} (held-out reals scored "
                         "like generated samples)")
        return found

    def _rt_mean(self, r_t: float | None) -> float | None:
        """The mean of r_t over the last ``rt_window`` log points once that many are known."""
        limits = self.limits
        if r_t is None or not math.isfinite(r_t):
            return None
        window = self.history.setdefault("health/r_t", [])
        window.append(r_t)
        del window[:-limits.rt_window]
        return sum(window) / len(window) if len(window) == limits.rt_window else None

    def judge_evaluation(self, iteration: int, results: dict[str, float]) -> None:
        """Note a new evaluation: recall or mode count below ``eval_drop`` times its best."""
        limits = self.limits
        self._eval_seen, self._eval_new = iteration, True
        self._eval_reasons = []
        for key, value in results.items():
            if not key.endswith(("/recall", "/modes")) or not math.isfinite(value):
                continue
            peak = self.peaks.get(key)
            if (iteration >= self.warmup and peak is not None and value < limits.eval_drop * peak
                    and peak - value >= limits.eval_min_drop):
                self._eval_reasons.append(f"{key} {value:.3g}, down from {peak:.3g}")
            self.peaks[key] = max(peak if peak is not None else value, value)

    def _fire(self, iteration: int, alert: str, reasons: list[str]) -> None:
        title = {"collapse": "mode collapse", "d_overfit": "discriminator overfitting",
                 "divergence": "divergence"}[alert]
        line = (f"gan_lab health: {title} at iteration {iteration}: {'; '.join(reasons)}; "
                f"{ADVICE[alert]}")
        if alert in self.stop:
            line += " (stopping: callbacks.health.stop)"
            self._stop_reason = self._stop_reason or f"the health alert {alert}"
        self.fired.append((iteration, alert, line))
        log.warning(line)

    # ------------------------------------------------------------------ measuring
    def measure(self, module: Any, datamodule: Any) -> dict[str, float]:
        """The sampled measurements: ``health/diversity`` and, with a held-out split,
        ``health/r_v``; each skipped where the scheme or the data lacks what it needs."""
        values = {}
        with isolated(module):
            diversity = sample_diversity(module, datamodule, self.num_samples, self.seed)
            if diversity is not None:
                values["health/diversity"] = diversity
            r_v = heldout_overfit(module, datamodule, self.num_samples, self.seed)
            if r_v is not None:
                values["health/r_v"] = r_v
        return values

    def log_source(self, metrics: dict[str, float]) -> dict[str, float]:
        """Called by the module at each log point with the metrics it logs (rank zero judges)."""
        trainer, module = self._trainer, self._module
        if trainer is None or not trainer.is_global_zero:
            return {}
        iteration = int(module.iteration)
        values = dict(metrics)
        values.update({f"health/grad_norm/{k}": v for k, v in self._norms.items()})
        self._norms = {}
        due = self.last_probe is None or iteration - self.last_probe >= (self.every or 0)
        if due:
            self.last_probe = iteration
            values.update(self.measure(module, trainer.datamodule))
        evaluation = next((c for c in trainer.callbacks if isinstance(c, Evaluation)), None)
        if evaluation is not None and evaluation.latest and evaluation.last_run != self._eval_seen:
            self.judge_evaluation(int(evaluation.last_run), evaluation.latest)
        objective = getattr(getattr(module, "loss", None), "objective", None)
        flags = self.judge(iteration, values, objective)
        return {**{k: v for k, v in values.items() if k.startswith("health/")}, **flags}

    # ------------------------------------------------------------------ Lightning hooks
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._trainer, self._module, self._stop_reason = trainer, pl_module, None
        sources = getattr(pl_module, "log_sources", None)
        if sources is not None and self.log_source not in sources:
            sources.append(self.log_source)

    def _detach(self, pl_module: pl.LightningModule) -> None:
        sources = getattr(pl_module, "log_sources", [])
        if self.log_source in sources:
            sources.remove(self.log_source)
        self._trainer = self._module = None

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                                 optimizer: Any) -> None:
        """The gradient norm of each optimizer group on the iteration before a log point."""
        if not trainer.is_global_zero or (pl_module.iteration + 1) % pl_module.log_every:
            return
        params = [p for group in optimizer.param_groups for p in group["params"]
                  if p.grad is not None]
        if not params:
            return
        norm = float(torch.nn.utils.get_total_norm([p.grad for p in params]))
        if not math.isfinite(norm) and getattr(trainer.precision_plugin, "scaler", None):
            return  # the AMP grad scaler skips such steps and lowers its scale: expected
        name = next((n for n, o in pl_module.named_optimizers().items()
                     if o is optimizer or getattr(o, "optimizer", None) is optimizer), "optimizer")
        self._norms[name] = max(self._norms.get(name, norm), norm)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           *args: Any) -> None:
        if (not self.stop or not pl_module.at_iteration_boundary
                or pl_module.iteration % pl_module.log_every):
            return
        reason = self._stop_reason
        if trainer.world_size > 1:
            reason = trainer.strategy.broadcast(reason, src=0)
        if reason is None or pl_module.stop_reason is not None:
            return
        pl_module.stop_reason = reason
        checkpoint = trainer.checkpoint_callback
        if checkpoint is not None and hasattr(checkpoint, "save_now"):
            checkpoint.save_now(trainer)
        trainer.should_stop = True

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._detach(pl_module)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:
        if isinstance(exception, NonFiniteLossError) and trainer.is_global_zero:
            episode = self.episodes["divergence"]
            if episode.update(True, immediate=True):
                self._fire(pl_module.iteration, "divergence",
                           ["a loss became NaN or infinite (the run stops: NonFiniteLossError)"])
            pl_module.log_metrics({"health/divergence": 1.0})
        self._detach(pl_module)

    def state_dict(self) -> dict[str, Any]:
        return {"episodes": {k: e.state_dict() for k, e in self.episodes.items()},
                "peaks": dict(self.peaks), "history": {k: list(v) for k, v in self.history.items()},
                "last_probe": self.last_probe, "eval_seen": self._eval_seen,
                "eval_reasons": list(self._eval_reasons), "last_rv": self._last_rv}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        for name, state in state_dict.get("episodes", {}).items():
            if name in self.episodes:
                self.episodes[name].load_state_dict(state)
        self.peaks = dict(state_dict.get("peaks", {}))
        self.history = {k: list(v) for k, v in state_dict.get("history", {}).items()}
        self.last_probe = state_dict.get("last_probe")
        self._eval_seen = state_dict.get("eval_seen")
        self._eval_reasons = list(state_dict.get("eval_reasons", []))
        self._last_rv = state_dict.get("last_rv")


# ----------------------------------------------------------------------------- probes
@contextlib.contextmanager
def isolated(module: Any) -> Iterator[None]:
    """No gradients, the global RNG streams and every buffer (batch-norm statistics, w_avg,
    ADA's state) as they were: a measurement leaves training exactly as it would have gone."""
    device = getattr(module, "device", torch.device("cpu"))
    devices = [device] if device.type == "cuda" else []
    buffers = [(b, b.detach().clone()) for b in module.buffers()]
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            yield
    finally:
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)


def _ratio(fake: Tensor, real: Tensor) -> float | None:
    real_spread = mean_pairwise_distance(real)
    return None if real_spread <= 0 else mean_pairwise_distance(fake) / real_spread


def sample_diversity(module: Any, datamodule: Any, n: int, seed: int) -> float | None:
    """Mean pairwise distance of a scheme's outputs on fixed inputs over that of the real samples
    they imitate (the scheme's ``diversity_probe``: per translation direction, per stacked
    replica), the lowest ratio; None where the scheme measures none."""
    pairs = module.diversity_probe(datamodule, n, seed)
    ratios = [r for r in (_ratio(fake, real) for fake, real in pairs) if r is not None]
    return min(ratios) if ratios else None


def heldout_overfit(module: Any, datamodule: Any, n: int, seed: int) -> float | None:
    """ADA's r_v from D's scores on training reals, held-out reals and generated samples
    (the scheme's ``discriminator_means``, in D's training mode, as it judges batches while
    training); None without a held-out split or where the scheme gives no such scores."""
    held = getattr(datamodule, "heldout_set", None)  # data.subset's rest (TrainSetDataModule)
    if held is None:
        return None
    means = module.discriminator_means([datamodule.train_set, held], n, seed + 1)
    return None if means is None else validation_overfit(*means)

"""The training machinery every adversarial scheme shares.

`AdversarialModule` owns what is the same for every GAN variant: the alternating
discriminator/generator updates under manual optimization, the single user-facing step
counter (generator iterations), generator-only EMA, gradient clipping that is correct under
mixed precision, learning-rate schedulers, the non-finite-loss guard, exact-resume state
(counters, RNG) and logging driven by the loss names a step returns.

A training scheme subclasses it and writes two methods, `discriminator_step` and
`generator_step`, each returning a dict of named loss terms; the names drive logging with
no further code (as in junyanz/pytorch-CycleGAN-and-pix2pix).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; training stops before the bad weights are saved."""


class AdversarialModule(pl.LightningModule):
    """Alternating D/G training with manual optimization.

    One *iteration* is ``n_critic`` discriminator updates (one real batch each, as in
    Arjovsky et al. 2017, Alg. 1) followed by one generator update. ``self.iteration`` counts
    generator iterations; it is the one counter for the training budget, logging, checkpoint
    cadence, EMA and the evaluation schedule (train.py maps it to Lightning's ``global_step``,
    which advances ``n_critic + 1`` per iteration).
    """

    # Update order. False: n_critic D updates, then G (Goodfellow et al. 2014, Alg. 1). True: G
    # first, then a D update on the same batch judging the fakes G's step just made (the order
    # of the pix2pix and CycleGAN reference code), then n_critic - 1 more D updates on the
    # next batches, whose fakes the scheme makes itself.
    generator_first: bool = False

    def __init__(
        self,
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        scheduler_g: SchedulerFactory | None = None,
        scheduler_d: SchedulerFactory | None = None,
        n_critic: int = 1,
        ema_decay: float | None = None,
        ema_start: int = 0,
        clip_grad_norm: float | None = None,
        log_every: int = 50,
    ) -> None:
        super().__init__()
        if int(n_critic) < 1:
            raise ValueError(f"model.n_critic={n_critic} must be an integer >= 1")
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise ValueError(f"model.ema_decay={ema_decay} must be in (0, 1) or null")
        if clip_grad_norm is not None and float(clip_grad_norm) <= 0:
            raise ValueError(f"model.clip_grad_norm={clip_grad_norm} must be > 0 or null")
        self.automatic_optimization = False
        self.optimizer_g_factory = optimizer_g
        self.optimizer_d_factory = optimizer_d
        self.scheduler_g_factory = scheduler_g
        self.scheduler_d_factory = scheduler_d
        self.n_critic = int(n_critic)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_start = int(ema_start)
        self.clip_grad_norm = None if clip_grad_norm is None else float(clip_grad_norm)
        self.log_every = max(1, int(log_every))
        # Counters. `iteration` is the user-facing one; `critic_steps` places the G update.
        self.iteration = 0
        self.critic_steps = 0
        self.generator_ema: AveragedModel | None = None
        # The resolved run config, stored in checkpoints so that a checkpoint alone can
        # rebuild its nets (set by train.py; a plain dict).
        self.run_config: dict | None = None
        self._sums: dict[str, Tensor] = {}
        self._counts: dict[str, int] = {}
        self._nonfinite = torch.zeros((), dtype=torch.bool)
        self._rng_to_restore: dict | None = None
        # The latest logged losses, for the progress bar (set at every log point).
        self.progress_metrics: dict[str, float] = {}
        # Why training stopped early ("SIGINT", "SIGTERM", ...), set by the interruption
        # handler (callbacks/interrupt.py); None for a run that trains its whole budget.
        self.stop_reason: str | None = None

    # ----------------------------------------------------------------- subclass API
    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        """Compute D's loss on one batch; return named terms, the total under "loss/d"."""
        raise NotImplementedError

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        """Compute G's loss; return named terms, the total under "loss/g"."""
        raise NotImplementedError

    def after_discriminator_update(self) -> None:
        """Hook after each D optimizer step (e.g. weight clipping)."""

    def init_generator_ema(self, generator: nn.Module) -> None:
        """Keep an exponential moving average of `generator` only (Karras et al. 2018, sec. 4).

        torch's AveragedModel holds the copy; sampling and evaluation use it once it has
        been updated at least once.
        """
        if self.ema_decay is None:
            return
        self.generator_ema = AveragedModel(
            generator, multi_avg_fn=get_ema_multi_avg_fn(self.ema_decay), use_buffers=True
        )
        # Frozen: no gradients, and DDP leaves it out of the all-reduce.
        self.generator_ema.requires_grad_(False)

    @property
    def optimizer_steps_per_iteration(self) -> int:
        """Lightning's global_step advance per generator iteration (n_critic D steps + 1 G step)."""
        return self.n_critic + 1

    @property
    def at_iteration_boundary(self) -> bool:
        """True between iterations: the last batch completed one (every update of it done).

        Checkpoints taken here resume exactly. In both update orders an iteration ends with
        the critic step that makes ``critic_steps`` a multiple of ``n_critic``.
        """
        return self.critic_steps % self.n_critic == 0

    def ema_ready(self) -> bool:
        return self.generator_ema is not None and int(self.generator_ema.n_averaged) > 0

    # ----------------------------------------------------------------- optimizers
    def discriminator_parameters(self) -> Iterable[nn.Parameter]:
        return self.discriminator.parameters()

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        return self.generator.parameters()

    def configure_optimizers(self):
        opt_g = self.optimizer_g_factory(self.generator_parameters())
        opt_d = self.optimizer_d_factory(self.discriminator_parameters())
        schedulers = [
            factory(opt)
            for factory, opt in ((self.scheduler_g_factory, opt_g), (self.scheduler_d_factory, opt_d))
            if factory is not None
        ]
        # Schedulers are stepped by hand once per generator iteration (manual optimization).
        return [opt_g, opt_d], schedulers

    def _update(self, optimizer, loss: Tensor) -> None:
        # Non-finite losses are collected without a device sync and checked at log points and
        # before every checkpoint, so a poisoned state is never saved.
        self._nonfinite = self._nonfinite.to(loss.device) | ~torch.isfinite(loss.detach())
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()

    def on_before_optimizer_step(self, optimizer) -> None:
        # Called after the AMP scaler has unscaled the gradients, so the norm is the true one
        # (clipping inside training_step under 16-mixed would clip scaled gradients).
        if self.clip_grad_norm is not None:
            self.clip_gradients(
                optimizer, gradient_clip_val=self.clip_grad_norm, gradient_clip_algorithm="norm"
            )

    # ----------------------------------------------------------------- the loop
    def on_train_start(self) -> None:
        self._decorrelate_ranks()

    def _decorrelate_ranks(self) -> None:
        """Give each DDP rank its own noise stream (seeded runs start every rank alike).

        A base drawn from the shared stream plus the rank keeps runs reproducible.
        """
        if self.trainer.world_size > 1:
            base = int(torch.randint(0, 2**62, ()))
            torch.manual_seed(base + self.trainer.global_rank)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        if self._rng_to_restore is not None:
            _set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None
            self._decorrelate_ranks()
        opt_g, opt_d = self.optimizers()
        if self.generator_first:
            # pix2pix/CycleGAN order: G's forward serves both updates on the same batch.
            if self.critic_steps % self.n_critic:
                self._accumulate(self._discriminator_update(opt_d, batch))
                return
            terms = self._generator_update(opt_g, batch)
            terms.update(self._discriminator_update(opt_d, batch))
            self._end_iteration(terms)
            return
        terms = self._discriminator_update(opt_d, batch)
        if self.critic_steps % self.n_critic:
            self._accumulate(terms)
            return
        terms.update(self._generator_update(opt_g, batch))
        self._end_iteration(terms)

    def _discriminator_update(self, opt_d, batch: Any) -> dict[str, Tensor]:
        with self.toggled_optimizer(opt_d):
            terms = self.discriminator_step(batch)
            self._update(opt_d, terms["loss/d"])
        self.after_discriminator_update()
        self.critic_steps += 1
        return terms

    def _generator_update(self, opt_g, batch: Any) -> dict[str, Tensor]:
        with self.toggled_optimizer(opt_g):
            terms = self.generator_step(batch)
            self._update(opt_g, terms["loss/g"])
        return terms

    def _end_iteration(self, terms: dict[str, Tensor]) -> None:
        self.iteration += 1
        if self.generator_ema is not None and self.iteration > self.ema_start:
            self.generator_ema.update_parameters(self.generator)
        schedulers = self.lr_schedulers() or []  # Lightning: None, one scheduler, or a list
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()
        self._accumulate(terms)
        if self.iteration % self.log_every == 0:
            self._flush_logs()

    def _accumulate(self, terms: dict[str, Tensor]) -> None:
        # Detached device tensors: no host sync on the hot path.
        for name, value in terms.items():
            value = value.detach().float()
            self._sums[name] = self._sums[name] + value if name in self._sums else value
            self._counts[name] = self._counts.get(name, 0) + 1

    def _flush_logs(self) -> None:
        """Log the mean of every term since the last flush, at step = iteration."""
        self.check_finite()
        if not self._sums:
            return
        metrics = {name: float(total) / self._counts[name] for name, total in self._sums.items()}
        metrics["lr/g"] = self.optimizers()[0].param_groups[0]["lr"]
        self._sums, self._counts = {}, {}
        self.log_metrics(metrics)
        self.progress_metrics = {k: metrics[k] for k in ("loss/d", "loss/g") if k in metrics}

    def log_metrics(self, metrics: dict[str, float]) -> None:
        """Send metrics to every logger at step = generator iteration (rank zero only)."""
        if self._trainer is None or not self.trainer.is_global_zero:
            return  # not training (e.g. `python -m gan_lab.evaluate`): nothing to log to
        metrics = {**metrics, "iteration": self.iteration}
        for logger in self.loggers:
            logger.log_metrics(metrics, step=self.iteration)

    def check_finite(self) -> None:
        if bool(self._nonfinite):
            raise NonFiniteLossError(
                f"a loss became NaN or infinite by generator iteration {self.iteration} "
                f"(last logged at {self.iteration - self.iteration % self.log_every}); training "
                "stopped and the last good checkpoint was kept. Try a lower learning rate, "
                "model.clip_grad_norm, or trainer.precision=32."
            )

    def on_train_end(self) -> None:
        self._flush_logs()

    # ----------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        self.check_finite()  # raising here aborts the save; the previous file stays intact
        checkpoint["gan_lab"] = {
            "iteration": self.iteration,
            "critic_steps": self.critic_steps,
            "rng": _get_rng_state(),
            "config": self.run_config,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("gan_lab", {})
        self.iteration = int(state.get("iteration", 0))
        self.critic_steps = int(state.get("critic_steps", 0))
        # Restored at the first training step, after Lightning has finished its own setup,
        # so nothing between loading and training consumes the restored random streams.
        self._rng_to_restore = state.get("rng")


def _get_rng_state() -> dict:
    """Global RNG states in a form that loads with torch.load(weights_only=True)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

"""Stop cleanly on Ctrl-C, SIGTERM and SLURM's pre-emption signal: finish the iteration in
progress, save a checkpoint, say how to resume."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
from typing import Any

import lightning.pytorch as pl
from lightning.fabric.plugins.environments import SLURMEnvironment

log = logging.getLogger(__name__)


class GracefulStop(pl.Callback):
    """Turns SIGINT, SIGTERM and the SLURM requeue signal into a checkpointed stop.

    The handlers only note the signal; at the end of the iteration in progress (the first batch
    end where ``module.at_iteration_boundary``) the checkpoint callback writes ``last.ckpt``,
    training stops, and ``module.stop_reason`` names the signal. That checkpoint resumes exactly
    like a scheduled one. A second Ctrl-C aborts at once (the last written checkpoint stays).

    Under SLURM with auto-requeue (Lightning's ``SLURMEnvironment``, on by default), the requeue
    signal (``SIGUSR1`` unless the environment says otherwise; schedule it with ``#SBATCH
    --signal=B:USR1@90``) does the same and then requeues the job with ``scontrol requeue``;
    the requeued job finds the checkpoint in its run folder and resumes (train.py). Lightning's
    own handlers, which save mid-step, are replaced while training runs.

    Under DDP every rank gets the signal's decision at the same iteration (a boolean
    all-reduce at each iteration end).
    """

    def __init__(self) -> None:
        self.requested: str | None = None
        self._requeue = False
        self._previous: dict[int, Any] = {}

    # ------------------------------------------------------------------ handlers
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.requested, self._requeue = None, False
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        wanted = {signal.SIGINT: self._on_signal, signal.SIGTERM: self._on_signal}
        environment = trainer._accelerator_connector.cluster_environment
        if isinstance(environment, SLURMEnvironment) and environment.auto_requeue:
            wanted[environment.requeue_signal or signal.SIGUSR1] = self._on_requeue_signal
        for signum, handler in wanted.items():
            self._previous[signum] = signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl-C: abort now
        self.requested = self.requested or name
        print(f"\ngan_lab: {name} received; stopping after the current iteration and saving a "
              "checkpoint" + (" (Ctrl-C again aborts at once)" if signum == signal.SIGINT else ""),
              file=sys.stderr, flush=True)

    def _on_requeue_signal(self, signum: int, frame: Any) -> None:
        self._requeue = True
        self._on_signal(signum, frame)

    def _restore(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    # ------------------------------------------------------------------ the stop
    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           *args: Any) -> None:
        if not pl_module.at_iteration_boundary:
            return
        requested = self.requested is not None
        if trainer.world_size > 1:
            requested = trainer.strategy.reduce_boolean_decision(requested, all=False)
        if not requested:
            return
        pl_module.stop_reason = self.requested or "signal on another rank"
        checkpoint = trainer.checkpoint_callback
        if checkpoint is not None and hasattr(checkpoint, "save_now"):
            checkpoint.save_now(trainer)
        elif checkpoint is not None:
            log.warning("the checkpoint callback cannot save on request; nothing was saved")
        trainer.should_stop = True
        if self._requeue and trainer.is_global_zero:
            _requeue_slurm_job()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restore()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:
        self._restore()


def _requeue_slurm_job() -> None:
    """``scontrol requeue`` this job (array tasks as ``<array job>_<task>``), as Lightning does."""
    array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    job = (f"{array_job}_{os.environ['SLURM_ARRAY_TASK_ID']}" if array_job
           else os.environ.get("SLURM_JOB_ID", ""))
    if not re.fullmatch(r"[0-9_-]+", job):
        log.warning("cannot requeue: SLURM_JOB_ID=%r is not a job id", job)
        return
    try:
        result = subprocess.call(["scontrol", "requeue", job])
    except FileNotFoundError:
        log.warning("cannot requeue SLURM job %s: scontrol is not on PATH", job)
        return
    if result == 0:
        log.info("requeued SLURM job %s; it resumes from its run folder's last.ckpt", job)
    else:
        log.warning("scontrol requeue %s failed with exit code %d", job, result)

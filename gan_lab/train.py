"""The composition root: config -> (datamodule, GAN module, callbacks, loggers) -> Trainer.

The only module (besides building.py and the command-line entry points) that knows about Hydra.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from gan_lab.building import build, build_module
from gan_lab.callbacks import GracefulStop
from gan_lab.config import ConfigError, config_errors, validate
from gan_lab.cost import report_cost
from gan_lab.loading import read_checkpoint
from gan_lab.loggers import RunCSVLogger, finish_loggers, log_config, log_final_metrics
from gan_lab.quiet import resuming, silence_chatter
from gan_lab.resume import (
    ResumePlan,
    RunInterrupted,
    continue_history,
    plan_resume,
    requeued_checkpoint,
)

log = logging.getLogger(__name__)

# Lightning's step limit, never reached (see the Trainer call in `run`).
STEP_BOUND = 2**62


def command_line_overrides() -> list[str]:
    """The overrides the user typed (Hydra's ``overrides.task``); [] outside a Hydra run."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def resume_plan(cfg: DictConfig, overrides: Sequence[str]) -> ResumePlan | None:
    """The resume this run is, if any: ``ckpt_path=``, or a requeued SLURM job's own last.ckpt."""
    ckpt = cfg.get("ckpt_path") or requeued_checkpoint(cfg.run_dir)
    if not ckpt:
        return None
    if not Path(str(ckpt)).is_file():
        raise ConfigError(f"ckpt_path={str(ckpt)!r}: no such checkpoint file")
    checkpoint = read_checkpoint(ckpt, key="ckpt_path")
    return plan_resume(cfg, overrides, checkpoint, ckpt)


def build_callbacks(cfg: DictConfig, evaluation) -> tuple[list[pl.Callback], bool]:
    """The configured callbacks, the evaluation, and the interruption handler (always on); and
    whether a progress bar is shown (``callbacks.progress`` set and the trainer allows it)."""
    callbacks = [build(cfg, f"callbacks.{name}") for name, node in cfg.callbacks.items() if node]
    callbacks += [build(cfg, "speed")] if cfg.get("speed") else []  # channels_last, compile
    show_bar = bool(cfg.trainer.get("enable_progress_bar", True))
    callbacks = [c for c in callbacks if show_bar or not isinstance(c, ProgressBar)]
    callbacks += [evaluation] if evaluation is not None else []
    callbacks.append(GracefulStop())
    return callbacks, any(isinstance(c, ProgressBar) for c in callbacks)


def build_loggers(cfg: DictConfig, resume_iteration: int | None) -> list:
    """metrics.csv for every run (continued on resume), plus the dashboards of ``logger=``."""
    loggers = [RunCSVLogger(str(cfg.run_dir), resume_iteration)]
    loggers += [build(cfg, f"logger.{name}") for name, node in (cfg.logger or {}).items() if node]
    return loggers


def run(cfg: DictConfig, overrides: Sequence[str] | None = None) -> float | None:
    """Train (or resume), evaluate, and return the configured objective (for sweepers).

    ``overrides``: the command-line overrides (default: Hydra's), which a resume uses to tell
    what the user asked to change from what the checkpoint's run had.
    """
    silence_chatter()
    started = time.monotonic()
    typed = command_line_overrides() if overrides is None else list(overrides)
    plan = resume_plan(cfg, typed)
    if plan is not None:
        cfg = plan.cfg
        log.info("gan_lab: %s", plan.summary())
        resuming()
    validate(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build(cfg, "data")
    module = build_module(cfg)
    module.budget = int(cfg.iterations)
    with config_errors():
        module.check_optimizers()  # one optimizer per group of the scheme
        module.check_data(datamodule)  # each scheme owns the check that the data fits it
        module.load_frozen_nets()  # VGG features, segmenters: from their weights files
    if rank_zero_only.rank == 0:  # parameters per group; on a CPU, seconds per iteration
        report_cost(cfg, module, datamodule, typed)
    # eval=none with a preset's eval settings (experiment=toy sets eval.every) has no evaluator
    evaluation = build(cfg, "eval") if cfg.get("eval") and "_target_" in cfg.eval else None
    with config_errors():
        if evaluation is not None:
            evaluation.check(module)  # every evaluator must speak the model's protocol
        if evaluation is not None and rank_zero_only.rank == 0:
            evaluation.prepare(datamodule)  # extractors and real statistics, before training
    callbacks, show_bar = build_callbacks(cfg, evaluation)
    if plan is not None and rank_zero_only.rank == 0:
        continue_history(plan, cfg.run_dir)
        save_run_config(cfg)
    loggers = build_loggers(cfg, None if plan is None else plan.iteration)
    log_config(loggers, OmegaConf.to_container(cfg, resolve=True))
    trainer: pl.Trainer = build(
        cfg,
        "trainer",
        # The module stops the trainer when its iteration budget is reached. A finite bound
        # still matters: Lightning restores the loader's mid-epoch position on resume only
        # for step-based training (FitLoop._iteration_based_training: max_steps != -1).
        max_steps=STEP_BOUND,
        callbacks=callbacks,
        logger=loggers,
        enable_progress_bar=show_bar,
    )
    trainer.fit(module, datamodule=datamodule, ckpt_path=None if plan is None else str(plan.ckpt_path))
    try:
        objective = finish(cfg, trainer, module, datamodule, evaluation, started)
    finally:
        finish_loggers(trainer.loggers)  # W&B prints its run summary here
    if trainer.is_global_zero:  # the last line a run prints: where its outputs are
        log.info(outputs_line(cfg, module.iteration, time.monotonic() - started))
    return objective


def finish(cfg: DictConfig, trainer: pl.Trainer, module: pl.LightningModule, datamodule,
           evaluation, started: float) -> float | None:
    """After fit: raise RunInterrupted for an early stop, else the final evaluation
    (results.json) and the line saying where the outputs are; the sweep objective. Either way
    ``end.json`` records how the run ended (:func:`write_end_record`)."""
    if trainer.interrupted or module.stop_reason is not None:
        # trainer.interrupted: an exception Lightning caught; the last good checkpoint stays
        reason = module.stop_reason if module.stop_reason is not None else None
        if trainer.is_global_zero:
            write_end_record(cfg, "stopped", module.iteration, time.monotonic() - started, reason)
        raise RunInterrupted(reason, module.iteration, _last_checkpoint(cfg))
    objective = None
    if evaluation is not None and trainer.is_global_zero:
        if evaluation.latest and evaluation.last_run == module.iteration:
            results = dict(evaluation.latest)  # the schedule just evaluated this very generator
        else:
            results = evaluation.evaluate(module, datamodule, "final")
        results["iteration"] = module.iteration
        # What was scored: the EMA generator or the trained one (kept out of the loggers' metrics)
        scored = {**results, "ema": bool(evaluation.scored_ema)}
        (Path(cfg.run_dir) / "results.json").write_text(json.dumps(scored, indent=2) + "\n")
        log_final_metrics(trainer.loggers, OmegaConf.to_container(cfg, resolve=True), results,
                          module.iteration)  # TensorBoard's HPARAMS tab, the W&B summary
        log.info("final evaluation at iteration %d: %s", module.iteration, results)
        objective = evaluation.objective_value()
    if trainer.is_global_zero:
        write_end_record(cfg, "finished", module.iteration, time.monotonic() - started)
    return objective


def write_end_record(cfg: DictConfig, status: str, iteration: int, seconds: float,
                     reason: str | None = None) -> None:
    """``end.json``: how the run (its latest segment) ended, for summaries and sweeps to read
    rather than infer (``status`` finished or stopped, the iteration reached, the budget asked,
    the segment's seconds, the stop's reason)."""
    record = {"status": status, "iteration": int(iteration), "budget": int(cfg.iterations),
              "seconds": round(float(seconds), 3), "reason": reason}
    path = Path(cfg.run_dir) / "end.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n")
    temporary.replace(path)


def _last_checkpoint(cfg: DictConfig) -> Path | None:
    dirpath = OmegaConf.select(cfg, "callbacks.checkpoint.dirpath", default=None)
    last = Path(str(dirpath)) / "last.ckpt" if dirpath else None
    return last if last is not None and last.is_file() else None


def save_run_config(cfg: DictConfig) -> None:
    """A resume's effective config replaces the command line's in ``.hydra/config.yaml``
    (Hydra wrote the composed command line there, not the run being continued)."""
    path = Path(cfg.run_dir) / ".hydra" / "config.yaml"
    if path.is_file():
        OmegaConf.save(cfg, path, resolve=True)


def outputs_line(cfg: DictConfig, iteration: int, seconds: float) -> str:
    """The run's last line: where its outputs are."""
    run_dir = Path(cfg.run_dir)
    parts = [f"gan_lab: done, iteration {iteration} in {_duration(seconds)}; outputs in {run_dir}"]
    found = [("last checkpoint", _last_checkpoint(cfg))]
    samples = sorted((run_dir / "samples").glob("*.png"))
    found.append(("samples", samples[-1] if samples else None))
    found.append(("results", run_dir / "results.json"))
    found.append(("metrics", run_dir / "metrics.csv"))
    shown = [f"{name} {_relative(path, run_dir)}" for name, path in found
             if path is not None and path.is_file()]
    return parts[0] + (f" ({', '.join(shown)})" if shown else "")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"

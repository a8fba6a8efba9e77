"""The composition root: config -> (datamodule, GAN module, callbacks, loggers) -> Trainer.

The only module (besides the command-line entry points) that knows about Hydra.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytorch_lightning as pl
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from gan_lab.config import ConfigError, validate

log = logging.getLogger(__name__)


def build(cfg: DictConfig, key: str, **kwargs):
    """instantiate(cfg[key]) with constructor errors turned into one ConfigError line."""
    try:
        return instantiate(OmegaConf.select(cfg, key), **kwargs)
    except InstantiationException as error:
        cause = error.__cause__ or error
        if isinstance(cause, ValueError | TypeError):
            raise ConfigError(f"{key}: {cause}") from error
        raise


def build_module(cfg: DictConfig) -> pl.LightningModule:
    """The LightningModule with its nets, loss and optimizer factories already built."""
    optim = cfg.optim
    factories = {
        "optimizer_g": build(cfg, "optim.generator"),
        "optimizer_d": build(cfg, "optim.discriminator"),
        "scheduler_g": build(cfg, "optim.scheduler_g") if optim.get("scheduler_g") else None,
        "scheduler_d": build(cfg, "optim.scheduler_d") if optim.get("scheduler_d") else None,
    }
    module = build(cfg, "model", loss=build(cfg, "loss"), **factories)
    module.run_config = OmegaConf.to_container(cfg, resolve=True)
    return module


def prepare(evaluation, datamodule: pl.LightningDataModule) -> None:
    """``evaluation.prepare(datamodule)`` (train/load extractors, real statistics), with a
    ValueError from a bad setting turned into one ConfigError line."""
    try:
        evaluation.prepare(datamodule)
    except ValueError as error:
        raise ConfigError(str(error)) from error


def check_model_fits_data(module: pl.LightningModule, datamodule: pl.LightningDataModule) -> None:
    """G must produce samples shaped like the data, for the data's classes; say so up front."""
    classes = getattr(module, "num_classes", 0)
    data_classes = getattr(datamodule, "num_classes", 0)
    if classes and classes != data_classes:
        raise ConfigError(
            f"model.num_classes={classes} but the data has {data_classes} classes; a "
            "conditional model needs labelled data with that many classes"
        )
    expected = tuple(datamodule.sample_shape)
    produced = tuple(module.sample(2).shape[1:])
    if produced != expected:
        raise ConfigError(
            f"model.generator produces samples of shape {produced} but data gives {expected}; "
            "make model.generator.image_size/channels match data.image_size/channels"
        )


def run(cfg: DictConfig) -> float | None:
    """Train, evaluate, and return the configured objective (for sweepers to optimise)."""
    validate(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build(cfg, "data")
    module = build_module(cfg)
    check_model_fits_data(module, datamodule)

    evaluation = build(cfg, "eval") if cfg.get("eval") else None
    if evaluation is not None and rank_zero_only.rank == 0:
        prepare(evaluation, datamodule)  # extractors and real statistics, before training
    callbacks = [build(cfg, f"callbacks.{name}") for name, node in cfg.callbacks.items() if node]
    callbacks += [evaluation] if evaluation is not None else []
    loggers = [build(cfg, f"logger.{name}") for name, node in (cfg.logger or {}).items() if node]
    trainer: pl.Trainer = build(
        cfg,
        "trainer",
        max_steps=cfg.iterations * module.optimizer_steps_per_iteration,
        callbacks=callbacks,
        logger=loggers or False,
    )
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    if trainer.interrupted:
        log.warning("training interrupted at iteration %d; resume with ckpt_path=%s",
                    module.iteration, Path(cfg.run_dir) / "checkpoints" / "last.ckpt")
        return None
    if evaluation is None or not trainer.is_global_zero:
        return None
    if evaluation.latest and evaluation.last_run == module.iteration:
        results = dict(evaluation.latest)  # the schedule just evaluated this very generator
    else:
        results = evaluation.evaluate(module, datamodule, "final")
    results["iteration"] = module.iteration
    (Path(cfg.run_dir) / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    log.info("final evaluation at iteration %d: %s", module.iteration, results)
    return evaluation.objective_value()

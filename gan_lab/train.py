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
from omegaconf.errors import InterpolationKeyError
from pytorch_lightning.utilities import rank_zero_only

from gan_lab.config import ConfigError, unresolvable, validate

log = logging.getLogger(__name__)


def build(cfg: DictConfig, key: str, **kwargs):
    """instantiate(cfg[key]) with constructor errors turned into one ConfigError line."""
    try:
        return instantiate(OmegaConf.select(cfg, key), **kwargs)
    except InterpolationKeyError as error:
        raise unresolvable(error) from error  # e.g. model=cyclegan reads data.channels_a
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


def check_evaluation_fits_model(evaluation, module: pl.LightningModule) -> None:
    """Every evaluator must speak the model's protocol (sampling or translating)."""
    try:
        evaluation.check(module)
    except ValueError as error:
        raise ConfigError(str(error)) from error


def prepare(evaluation, datamodule: pl.LightningDataModule) -> None:
    """``evaluation.prepare(datamodule)`` (train/load extractors, real statistics), with a
    ValueError from a bad setting turned into one ConfigError line."""
    try:
        evaluation.prepare(datamodule)
    except ValueError as error:
        raise ConfigError(str(error)) from error


def check_translator_fits_data(module: pl.LightningModule,
                               datamodule: pl.LightningDataModule) -> None:
    """A translator needs two-domain data (paired if it learns from pairs), crops its generator
    can take, and must output the target domain's channels; say so up front."""
    name = type(module).__name__
    if not hasattr(datamodule, "eval_set"):
        raise ConfigError(
            f"model: {name} translates images between two domains, but data gives single "
            "images; use a translation set: data=chalk2ink, edges2digits, horse2zebra, facades, "
            "maps, ..., or unpaired_folder / aligned_folder / paired_folder with data.path=...")
    if getattr(module, "needs_pairs", False) and not datamodule.paired:
        raise ConfigError(
            f"model: {name} learns from aligned pairs, but the data is unpaired; use paired data "
            "(data=edges2digits, facades, maps, aligned_folder, paired_folder)")
    multiple = module.size_multiple
    if datamodule.image_size % multiple:
        raise ConfigError(
            f"data.image_size={datamodule.image_size}: the generator takes sides that are "
            f"multiples of {multiple}; pick such a crop size")
    for domain, critic in module.discriminator.items():
        smallest = int(getattr(critic, "min_size", 1))
        if datamodule.image_size < smallest:
            raise ConfigError(
                f"data.image_size={datamodule.image_size}: discriminator {domain} needs sides of "
                f"at least {smallest} (a PatchGAN with n_layers={getattr(critic, 'n_layers', '?')});"
                " lower its n_layers or use larger crops")
    for direction in module.directions:
        source, target = direction[0], direction[-1]
        probe = datamodule.eval_set(source)[0][0][None]
        produced = module.translate(probe, direction).shape[1]
        expected = datamodule.eval_set(target)[0][0].shape[0]
        if produced != expected:
            raise ConfigError(
                f"model: the {direction} generator makes {produced}-channel images but domain "
                f"{target} has {expected}; make the generator's channels match "
                "data.channels_a / data.channels_b")


def check_model_fits_data(module: pl.LightningModule, datamodule: pl.LightningDataModule) -> None:
    """G must produce samples shaped like the data, for the data's classes; say so up front."""
    if hasattr(module, "translate"):
        check_translator_fits_data(module, datamodule)
        return
    if hasattr(datamodule, "eval_set"):
        raise ConfigError(
            f"data: a two-domain translation set, but {type(module).__name__} generates single "
            "images; translation sets are for model=pix2pix or model=cyclegan")
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
    if evaluation is not None:
        check_evaluation_fits_model(evaluation, module)
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

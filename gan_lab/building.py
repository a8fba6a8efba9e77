"""Building from config: ``instantiate`` with one-line config errors, and the GAN module.

Used by training (train.py), by rebuilding a module from a checkpoint (loading.py) and by the
commands that build parts of a config (evaluate.py, classifier.py).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import InterpolationKeyError

from gan_lab.config import ConfigError, portable_config, unresolvable

if TYPE_CHECKING:
    import lightning.pytorch as pl

__all__ = ["build", "build_module"]


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


def without_quick(cfg: DictConfig) -> DictConfig:
    """``cfg`` without ``model.quick`` (the ``model`` package yamls' quick list, gan_lab/cost.py),
    which is no argument of the model's constructor; ``cfg`` itself where there is none."""
    model = cfg.get("model")
    if not isinstance(model, DictConfig) or "quick" not in model:
        return cfg
    trimmed = copy.deepcopy(cfg)
    with open_dict(trimmed.model):
        trimmed.model.pop("quick")
    return trimmed


def build_module(cfg: DictConfig) -> pl.LightningModule:
    """The LightningModule with its nets, loss, augmentation and optimizer factories built.

    ``optim.<group>`` is the optimizer of each of the scheme's groups (generator,
    discriminator, ...); ``optim.schedulers.<group>`` an optional scheduler for it. A model's
    ``quick`` overrides (``model.quick`` in the ``model`` package yamls) are no constructor
    argument: they are left out.
    """
    cfg = without_quick(cfg)
    groups = [name for name in cfg.optim if name != "schedulers"]
    optimizers = {name: build(cfg, f"optim.{name}") for name in groups}
    schedulers = {name: build(cfg, f"optim.schedulers.{name}")
                  for name, node in (cfg.optim.get("schedulers") or {}).items() if node}
    augment = build(cfg, "augment") if cfg.get("augment") else None
    module = build(cfg, "model", loss=build(cfg, "loss"), optimizers=optimizers,
                   schedulers=schedulers, augment=augment)
    module.run_config = OmegaConf.to_container(cfg, resolve=True)
    module.run_config_source = portable_config(cfg)  # what a resume re-resolves
    return module

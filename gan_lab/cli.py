"""The shared shape of gan_lab's commands: a Hydra entry point that turns a ConfigError into
one line on stderr and exit status 2."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import hydra
from omegaconf import DictConfig

from gan_lab.config import ConfigError, config_dir

log = logging.getLogger("gan_lab")


def command(config_name: str) -> Callable[[Callable[[DictConfig], Any]], Callable[[], Any]]:
    """Decorator: ``fn(cfg)`` becomes a Hydra main composed from ``conf/<config_name>.yaml``."""

    def wrap(fn: Callable[[DictConfig], Any]) -> Callable[[], Any]:
        @hydra.main(version_base="1.3", config_path=config_dir(), config_name=config_name)
        def main(cfg: DictConfig) -> Any:
            try:
                return fn(cfg)
            except ConfigError as error:
                log.error("config error: %s", error)
                print(f"gan_lab: config error: {error}", file=sys.stderr)
                sys.exit(2)

        return main

    return wrap

"""`python -m gan_lab [overrides]`: train one configuration (or a sweep with -m)."""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from gan_lab.config import ConfigError, config_dir

log = logging.getLogger("gan_lab")


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def main(cfg: DictConfig) -> float | None:
    from gan_lab.train import run  # heavy imports after Hydra has parsed the command line

    try:
        return run(cfg)
    except ConfigError as error:
        log.error("config error: %s", error)
        print(f"gan_lab: config error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

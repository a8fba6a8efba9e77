"""`python -m gan_lab [overrides]`: train one configuration (or a sweep with -m)."""

from __future__ import annotations

from omegaconf import DictConfig

from gan_lab.cli import command
from gan_lab.config import check_before_imports


@command("config")
def main(cfg: DictConfig) -> float | None:
    # A missing checkpoint or data folder, a bad value or an absent GPU is one line within a
    # second or two: checked before the training code (Lightning, torch, the nets) is imported.
    check_before_imports(cfg)
    from gan_lab.train import run  # heavy imports after Hydra has parsed the command line

    return run(cfg)


if __name__ == "__main__":
    main()

"""`python -m gan_lab [overrides]`: train one configuration (or a sweep with -m)."""

from __future__ import annotations

from omegaconf import DictConfig

from gan_lab.cli import command


@command("config")
def main(cfg: DictConfig) -> float | None:
    from gan_lab.train import run  # heavy imports after Hydra has parsed the command line

    return run(cfg)


if __name__ == "__main__":
    main()

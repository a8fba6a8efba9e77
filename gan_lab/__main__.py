"""`python -m gan_lab [overrides]`: train one configuration (or a sweep with -m)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gan_lab.cli import command
from gan_lab.config import ConfigError, check_accelerator, check_data_folders, validate
from gan_lab.resume import requeued_checkpoint


def check_before_imports(cfg: DictConfig) -> None:
    """The checks `python -m gan_lab` makes before it imports the training code (Lightning,
    the nets: most of the time to a config error), so that a missing checkpoint or data folder
    or an absent GPU is said in a second or two: ``ckpt_path`` exists; and for a fresh run (not
    a resume, whose config is the checkpoint's) :func:`validate` and the data folders. Imports
    neither torch nor Lightning (torch only to ask for a GPU where a GPU device file exists)."""
    ckpt = cfg.get("ckpt_path")
    if ckpt is not None and not Path(str(ckpt)).is_file():
        raise ConfigError(f"ckpt_path={str(ckpt)!r}: no such checkpoint file")
    run_dir = OmegaConf.select(cfg, "run_dir", default=None, throw_on_resolution_failure=False)
    if ckpt is not None or (run_dir and requeued_checkpoint(run_dir)):
        # a resume: the checkpoint's config is checked once read; the command line's trainer now
        check_accelerator(OmegaConf.select(cfg, "trainer.accelerator", default=None))
        return
    validate(cfg)
    check_data_folders(cfg)


@command("config")
def main(cfg: DictConfig) -> float | None:
    # A missing checkpoint or data folder, a bad value or an absent GPU is one line within a
    # second or two: checked before the training code (Lightning, torch, the nets) is imported.
    check_before_imports(cfg)
    from gan_lab.train import run  # heavy imports after Hydra has parsed the command line

    return run(cfg)


if __name__ == "__main__":
    main()

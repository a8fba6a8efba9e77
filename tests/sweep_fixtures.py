"""Two real sweeps, made once per test session and shared by test_sweeps.py and
test_summarize.py (tests/conftest.py imports these fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

# A tiny toy run that still learns a little (distinct scores across runs), with an evaluation
# curve of three points; trial folders numbered (long override lists make too long a name).
SWEEP_SETTINGS = [
    "iterations=150",
    "eval.every=50",
    "eval.metrics.mode_coverage.plot=false",
    "hydra.sweep.subdir=${hydra.job.num}",
]


def tiny_toy_sweep(folder: Path, *args: str):
    """``python -m gan_lab -m ARGS`` on the tiny toy setup, writing the sweep into ``folder``."""
    from tests.conftest import TINY_TOY, run_cli

    return run_cli("-m", *TINY_TOY, *SWEEP_SETTINGS, *args, f"hydra.sweep.dir={folder}",
                   cwd=folder, timeout=240)


@pytest.fixture(scope="session")
def toy_multirun(tmp_path_factory) -> Path:
    """Four runs, one after the other (Hydra's basic launcher): packing 1, 2 x seed 0, 1."""
    folder = tmp_path_factory.mktemp("toy_multirun")
    done = tiny_toy_sweep(folder, "optim.generator.lr=1e-3", "optim.discriminator.lr=1e-3",
                          "model.packing=1,2", "seed=0,1")
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.fixture(scope="session")
def optuna_sweep(tmp_path_factory) -> Path:
    """A 2-trial Optuna study (hparams_search=toy_lr) whose two trials run at once in two
    processes (hydra/launcher=parallel: the joblib launcher, n_jobs 2)."""
    folder = tmp_path_factory.mktemp("optuna_sweep")
    done = tiny_toy_sweep(folder, "hparams_search=toy_lr", "hydra.sweeper.n_trials=2",
                          "hydra/launcher=parallel")
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


class LearningRateScore:
    """A test evaluator whose score is known in advance: -log10 of the generator's learning rate
    (lr 1e-3 scores 3, lr 1e-5 scores 5: worse when minimising), whatever the samples are. A
    study's pruning can then be checked without depending on how far a tiny run learns."""

    def __call__(self, sampler, datamodule, out_dir, tag) -> dict[str, float]:
        import math

        lr = sampler.module.trainer.optimizers[0].param_groups[0]["lr"]
        return {"test/lr_score": -math.log10(lr)}

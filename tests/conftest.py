"""Shared test helpers: compose the real configs, run tiny trainings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from gan_lab.config import config_dir
from gan_lab.resolvers import register_resolvers

REPO = Path(__file__).resolve().parent.parent

# Tiny but real: DCGAN at 8x8 with narrow layers, a handful of iterations.
TINY_DCGAN = [
    "data.image_size=8",
    "model.generator.width=8",
    "model.discriminator.width=8",
    "model.latent_dim=16",
    "data.batch_size=16",
    "callbacks.progress=null",
    "trainer.enable_progress_bar=false",
]
TINY_TOY = [
    "experiment=toy",
    "model.generator.hidden=[32,32]",
    "model.discriminator.hidden=[32,32]",
    "data.batch_size=32",
    "data.num_samples=2000",
    "eval.metrics.mode_coverage.num_samples=500",
    "callbacks.progress=null",
    "trainer.enable_progress_bar=false",
]


@pytest.fixture(autouse=True)
def _quiet_and_offline(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    torch.set_num_threads(1)


# eval=classifier, small enough for a test: a narrow classifier, one epoch, 200 samples.
SMALL_EVAL = [
    "eval=classifier",
    "eval.num_samples=200",
    "eval.classifier.width=8",
    "eval.classifier.epochs=1",
    "eval.metrics.image_quality.kid_subset_size=100",
    "eval.metrics.image_quality.kid_subsets=10",
    "eval.metrics.cas.width=8",
    "eval.metrics.cas.epochs=1",
]


def make_cfg(run_dir: Path, *overrides: str) -> DictConfig:
    """The composed config for `overrides`, as `python -m gan_lab` would see it."""
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose("config", overrides=[f"run_dir={run_dir}", *overrides])


def run_cli(*args: str, cwd: Path, timeout: int = 300, env: dict | None = None,
            module: str = "gan_lab"):
    """`python -m MODULE ARGS` (default gan_lab) in a subprocess; the CompletedProcess."""
    full_env = {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1",
                "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


def train(run_dir: Path, *overrides: str):
    """``python -m gan_lab run_dir=RUN_DIR OVERRIDES`` in this process: ``train.run`` with the
    composed config and the overrides as typed (a resume reads them to know what was asked)."""
    from gan_lab.train import run

    typed = [f"run_dir={run_dir}", *overrides]
    return run(make_cfg(run_dir, *overrides), overrides=typed)


def assert_same_training_state(a: Path, b: Path) -> None:
    """Two checkpoints hold the same training state, bit for bit (nets, EMA, optimizers, RNG)."""
    one = torch.load(a, weights_only=True)
    two = torch.load(b, weights_only=True)
    assert one["gan_lab"]["iteration"] == two["gan_lab"]["iteration"]
    assert one["global_step"] == two["global_step"]
    for key, value in one["state_dict"].items():  # G, D and the EMA, bit for bit
        assert torch.equal(value, two["state_dict"][key]), key
    for opt_a, opt_b in zip(one["optimizer_states"], two["optimizer_states"]):
        for index, state in opt_a["state"].items():
            for name, tensor in state.items():
                assert torch.equal(tensor, opt_b["state"][index][name]), (index, name)
    assert torch.equal(one["gan_lab"]["rng"]["torch"], two["gan_lab"]["rng"]["torch"])


# Session-wide sweeps shared by test_sweeps.py and test_summarize.py.
from tests.sweep_fixtures import optuna_sweep, toy_multirun  # noqa: E402, F401

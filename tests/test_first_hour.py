"""A new user's first hour: W&B without a login, a model that brings its data, no empty run
folders for runs refused before they started, the run's last line and its end record, and the
checkpoints on disk (one copy of the state, a weights-only export)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_lab.config import ConfigError
from gan_lab.loggers import wandb_credentials
from tests.conftest import TINY_DCGAN, make_cfg, run_cli, train


def _console(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m gan_lab ARGS`` with stdout and stderr in one stream, in the order printed."""
    return subprocess.run([sys.executable, "-m", "gan_lab", *args], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)


@pytest.mark.slow
def test_wandb_without_a_login_logs_offline_and_the_done_line_comes_last(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(tmp_path), NETRC=str(tmp_path / "no-netrc"), OMP_NUM_THREADS="1",
               PYTHONUNBUFFERED="1")
    result = _console("iterations=2", "logger=wandb", "hydra.run.dir=run",
                      "callbacks.progress=null", *TINY_DCGAN, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Traceback" not in result.stdout
    assert "no W&B login found" in result.stdout and "wandb sync " in result.stdout
    assert list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines[-1].startswith("gan_lab: done, iteration 2"), lines[-5:]  # after W&B's summary
    end = json.loads((tmp_path / "run" / "end.json").read_text())
    assert end["status"] == "finished" and end["iteration"] == 2 and end["budget"] == 2


def test_wandb_credentials_are_found_in_the_environment_or_the_netrc(tmp_path, monkeypatch):
    for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    netrc = tmp_path / "netrc"
    monkeypatch.setenv("NETRC", str(netrc))
    assert not wandb_credentials()  # no file
    netrc.write_text("machine example.org login user password secret\n")
    netrc.chmod(0o600)
    assert not wandb_credentials()  # another host's entry
    netrc.write_text("machine api.wandb.ai login user password " + "k" * 40 + "\n")
    assert wandb_credentials()
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert wandb_credentials()


def test_toy_mlp_brings_its_two_dimensional_data_and_images_are_refused_by_name(tmp_path):
    cfg = make_cfg(tmp_path, "model=toy_mlp")
    assert cfg.data._target_.endswith("ToyDataModule") and cfg.data.dataset == "ring", cfg.data
    with pytest.raises(ConfigError, match=r"needs 2-D points: data=ring, grid or swiss_roll "
                                          r"\(or experiment=toy\)"):
        train(tmp_path / "run", "model=toy_mlp", "data=digits", "iterations=1")


def test_a_run_refused_before_it_started_leaves_no_run_folder(tmp_path):
    result = run_cli("model=toy_mlp", "data=digits", "iterations=1", cwd=tmp_path)
    assert result.returncode == 2 and "config error" in result.stderr
    assert not (tmp_path / "outputs").exists(), list(tmp_path.rglob("*"))
    # a preset's eval settings with eval=none: no evaluator, and the run trains
    ok = run_cli("experiment=toy", "eval=none", "iterations=2", "hydra.run.dir=toy",
                 "callbacks.progress=null", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert not (tmp_path / "toy" / "results.json").exists()


def test_last_checkpoint_shares_the_newest_files_bytes_and_the_export_is_small(tmp_path):
    run = tmp_path / "run"
    train(run, *TINY_DCGAN, "iterations=5", "callbacks.checkpoint.every_n_iterations=2",
          "callbacks.checkpoint.keep=2", "callbacks.progress=null", "callbacks.samples=null")
    folder = run / "checkpoints"
    assert sorted(p.name for p in folder.glob("*.ckpt")) == [
        "iter_0000004.ckpt", "iter_0000005.ckpt", "last.ckpt"]  # the 2 newest, and last
    last, newest = folder / "last.ckpt", folder / "iter_0000005.ckpt"
    assert os.path.samefile(last, newest)  # one copy of the state on disk
    assert torch.load(last, weights_only=True)["gan_lab"]["iteration"] == 5
    export = folder / "generator.pt"
    assert export.is_file() and export.stat().st_size < last.stat().st_size / 2

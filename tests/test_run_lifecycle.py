"""A run's lifecycle: resume from the checkpoint's own config, one history per run, signals
that leave a resumable checkpoint (SIGINT, SIGTERM, SLURM's requeue signal)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gan_lab.config import ConfigError
from gan_lab.resume import run_folder
from tests.conftest import TINY_DCGAN, assert_same_training_state, train

# n_critic=2 with EMA: an iteration spans two batches, so "the end of the iteration in
# progress" matters; 40 iterations stop mid-epoch (digits: 28 batches of 64 per epoch).
RUN = [*TINY_DCGAN, "data.batch_size=64", "model.n_critic=2", "model.ema_decay=0.9",
       "model.log_every=1", "callbacks.checkpoint.every_n_iterations=1000",
       "callbacks.samples=null"]


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- resume config
def test_resume_in_place_continues_one_history_and_one_last_checkpoint(tmp_path):
    train(tmp_path / "straight", *RUN, "iterations=12")
    run_dir = tmp_path / "run"
    train(run_dir, *RUN, "iterations=6")
    # The README's command: the checkpoint and a larger budget, nothing else.
    train(run_dir, f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}", "iterations=12")

    assert_same_training_state(tmp_path / "straight" / "checkpoints" / "last.ckpt",
                                run_dir / "checkpoints" / "last.ckpt")
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "generator.pt", "iter_0000012.ckpt", "last.ckpt"]  # no stale last-v1.ckpt beside it
    steps = [int(row["step"]) for row in _rows(run_dir / "metrics.csv")]
    assert steps == list(range(1, 13))  # the earlier rows kept, none twice
    straight = _rows(tmp_path / "straight" / "metrics.csv")
    assert [r["loss/d"] for r in _rows(run_dir / "metrics.csv")] == [r["loss/d"] for r in straight]
    notes = (run_dir / "resumes.txt").read_text()
    assert "at iteration 6" in notes and "iterations 6 -> 12" in notes


def test_resume_into_another_folder_carries_the_history_and_moves_the_outputs(tmp_path):
    first = tmp_path / "first"
    train(first, *RUN, "iterations=4")
    second = tmp_path / "second"
    train(second, f"ckpt_path={first / 'checkpoints' / 'last.ckpt'}", "iterations=8")
    assert [int(r["step"]) for r in _rows(second / "metrics.csv")] == list(range(1, 9))
    assert [int(r["step"]) for r in _rows(first / "metrics.csv")] == list(range(1, 5))
    last = torch.load(second / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["gan_lab"]["iteration"] == 8
    # The saved config's paths moved with the run: its checkpoints went to the new folder.
    assert last["gan_lab"]["config"]["callbacks"]["checkpoint"]["dirpath"] == str(
        second / "checkpoints")
    assert not (first / "checkpoints" / "iter_0000008.ckpt").exists()
    assert str(first) in (second / "resumes.txt").read_text()


def test_resume_takes_safe_changes_and_refuses_the_rest_in_one_line(tmp_path):
    run_dir = tmp_path / "run"
    train(run_dir, *RUN, "loss=wgan_gp", "iterations=3")
    ckpt = f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}"
    # Without repeating loss=wgan_gp the run stays WGAN-GP (with its Adam), not nsgan.
    train(run_dir, ckpt, "iterations=4")
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    config = last["gan_lab"]["config"]
    assert config["loss"]["gp_weight"] == 10.0 and config["optim"]["generator"]["lr"] == 1e-4
    assert last["global_step"] == 4 * 3  # 2 D steps + 1 G step per iteration throughout
    # Repeating the run's own choice is fine; changing it is refused, naming the key.
    train(run_dir, ckpt, "iterations=5", "loss=wgan_gp", "trainer.precision=32-true")
    for change, named in (("loss=hinge", "loss."), ("model.n_critic=1", "model.n_critic"),
                          ("data=ring", "data."), ("optim=rmsprop", "optim."), ("seed=3", "seed")):
        with pytest.raises(ConfigError, match=f"{change}: a resume continues the saved run, "
                                              f"whose {named}"):
            train(run_dir, ckpt, "iterations=9", change)
    with pytest.raises(ConfigError, match="iterations=2: the checkpoint is already at iteration 5"):
        train(run_dir, ckpt, "iterations=2")
    with pytest.raises(ConfigError, match="already finished its budget of 5 iterations"):
        train(run_dir, ckpt)


def test_run_folder_follows_the_checkpoint_and_slurm_jobs(monkeypatch):
    fresh = "outputs/2026-01-01/00-00-00"
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert run_folder("/runs/a/checkpoints/last.ckpt", fresh) == "/runs/a"
    assert run_folder("/elsewhere/model.ckpt", fresh) == fresh
    assert run_folder(None, fresh) == fresh
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    monkeypatch.setenv("SLURM_JOB_NAME", "train")
    assert run_folder(None, fresh) == "outputs/slurm/77"
    monkeypatch.setenv("SLURM_JOB_NAME", "bash")  # an interactive allocation
    assert run_folder(None, fresh) == fresh


# ----------------------------------------------------------------------------- signals
# With the sample grid (none during the run): a signalled stop draws the final one.
SIGNALLED = [*(o for o in RUN if o != "callbacks.samples=null"), "callbacks.samples.every=1000",
             "iterations=400", "hydra.run.dir=run"]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1", **extra}


def _interrupt(cwd: Path, signum: int, env: dict[str, str], after_rows: int = 8):
    """Start a run, send ``signum`` once it has logged ``after_rows`` iterations; the result."""
    proc = subprocess.Popen([sys.executable, "-m", "gan_lab", *SIGNALLED], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = cwd / "run" / "metrics.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) > after_rows:
            break
        time.sleep(0.05)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("straight")
    result = subprocess.run([sys.executable, "-m", "gan_lab", *SIGNALLED], cwd=cwd, env=_env(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / "run" / "checkpoints" / "last.ckpt"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_saves_a_checkpoint_that_resumes_to_the_same_run(tmp_path, straight_run, signum):
    rc, out, err = _interrupt(tmp_path, signum, _env())
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert rc == 128 + signum, err[-3000:]
    assert "Traceback" not in err
    assert f"training stopped by {signal.Signals(signum).name} at iteration" in err
    assert f"resume with: python -m gan_lab ckpt_path={last.resolve()}" in err
    stopped = torch.load(last, weights_only=True)["gan_lab"]
    assert 0 < stopped["iteration"] < 400
    assert stopped["batches"] == 2 * stopped["iteration"]  # saved between iterations
    end = json.loads((tmp_path / "run" / "end.json").read_text())
    assert end["status"] == "stopped" and end["reason"] == signal.Signals(signum).name
    assert end["iteration"] == stopped["iteration"] and end["budget"] == 400
    # a grid costs well under callbacks.samples.at_stop_seconds: the stop drew the final one
    assert (tmp_path / "run" / "samples" / f"iter_{stopped['iteration']:07d}.png").is_file()
    result = subprocess.run([sys.executable, "-m", "gan_lab", f"ckpt_path={last}"], cwd=tmp_path,
                            env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_same_training_state(straight_run, last)


@pytest.mark.slow
def test_slurm_requeue_signal_saves_requeues_and_the_requeued_job_resumes(tmp_path, straight_run):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "scontrol_calls.txt"
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    scontrol.chmod(0o755)
    slurm = {"SLURM_JOB_ID": "4242", "SLURM_JOB_NAME": "gan", "SLURM_NTASKS": "1",
             "SLURM_NTASKS_PER_NODE": "1", "SLURM_PROCID": "0", "SLURM_LOCALID": "0",
             "SLURM_NODEID": "0", "SLURM_NODELIST": "localhost",
             "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    rc, out, err = _interrupt(tmp_path, signal.SIGUSR1, _env(**slurm))
    assert rc == 128 + signal.SIGUSR1, err[-3000:]
    assert calls.read_text().split() == ["requeue", "4242"]
    # SLURM starts the same command again with SLURM_RESTART_COUNT set: it finds last.ckpt.
    result = subprocess.run([sys.executable, "-m", "gan_lab", *SIGNALLED], cwd=tmp_path,
                            env=_env(**slurm, SLURM_RESTART_COUNT="1"), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from" in result.stdout + result.stderr
    assert_same_training_state(straight_run, tmp_path / "run" / "checkpoints" / "last.ckpt")

"""DDP on CPU, the loggers, and the configs shipped inside a non-editable install."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import torch

from gan_lab.train import run
from tests.conftest import REPO, TINY_DCGAN, make_cfg, run_cli


def test_ddp_with_two_cpu_processes(tmp_path):
    result = run_cli("trainer=ddp", "trainer.accelerator=cpu", *TINY_DCGAN, "iterations=4",
                     "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Starting with 2 processes" in result.stdout + result.stderr
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["gan_lab"]["iteration"] == 4


def test_ddp_runs_lazy_phases_and_augmentation(tmp_path):
    from tests.test_karras_schemes import TINY_STYLEGAN2
    result = run_cli("trainer=ddp", "trainer.accelerator=cpu", *TINY_STYLEGAN2, "iterations=4",
                     "model.r1_every=2", "augment=ada", "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["gan_lab"]["iteration"] == 4 and ckpt["state_dict"]["pl_mean"] > 0


def test_tensorboard_and_offline_wandb_loggers(tmp_path):
    cfg = make_cfg(tmp_path, *TINY_DCGAN, "logger=all", "iterations=2", "model.log_every=1",
                   "callbacks.samples.every=1", "logger.wandb.offline=true")
    run(cfg)
    assert (tmp_path / "metrics.csv").is_file()
    assert list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert runs and list(runs[0].glob("*.wandb"))


def test_configs_ship_inside_the_wheel(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(tmp_path.glob("gan_lab-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "gan_lab/conf/config.yaml" in names
    assert "gan_lab/conf/loss/wgan_gp.yaml" in names
    sources = {str(p.relative_to(REPO)) for p in (REPO / "gan_lab").rglob("*.py")}
    assert sources <= names, f"modules missing from the wheel: {sorted(sources - names)}"
    # Installed without the checkout, `python -m gan_lab` composes from the packaged configs.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    shown = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "import gan_lab.config as c; print(c.config_dir())", str(site)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert shown.stdout.strip() == str(site / "gan_lab" / "conf")
    job = subprocess.run(
        [sys.executable, "-c", "import sys, runpy; sys.path.insert(0, sys.argv[1]); "
         "sys.argv = ['gan_lab', '--cfg', 'job', 'loss=hinge']; "
         "runpy.run_module('gan_lab', run_name='__main__')", str(site)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert job.returncode == 0, job.stderr[-2000:]
    assert "objective: hinge" in job.stdout

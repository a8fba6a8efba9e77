"""`python -m gan_lab` as a user runs it: help, config printing, training, sweeps, bad input."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TINY_DCGAN, TINY_TOY, run_cli


def test_help_and_cfg_job(tmp_path):
    help_out = run_cli("--help", cwd=tmp_path)
    assert help_out.returncode == 0, help_out.stderr
    lines = help_out.stdout.splitlines()
    for option in ("cgan", "cyclegan", "dcgan*", "pix2pix", "toy_mlp"):  # * marks the default
        row = next(line for line in lines if f" {option} " in f"{line} ")
        assert len(row.split(option, 1)[1].strip()) > 10, row  # each option has a description
    assert "_published" not in help_out.stdout  # internal bases are not options
    job = run_cli("--cfg", "job", "loss=wgan_gp", cwd=tmp_path)
    assert job.returncode == 0, job.stderr
    assert "n_critic: 5" in job.stdout and "gp_weight: 10.0" in job.stdout


def test_default_command_trains_and_writes_a_run_folder(tmp_path):
    result = run_cli(*TINY_DCGAN, "iterations=4", "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "run"
    assert (run / ".hydra" / "config.yaml").is_file()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "metrics.csv").is_file()
    assert list((run / "samples").glob("*.png"))


def test_multirun_sweep_returns_objectives(tmp_path):
    result = run_cli("-m", *TINY_TOY, "loss=nsgan,hinge", "seed=0,1", "iterations=3",
                     "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    results = sorted((tmp_path / "sweep").glob("*/results.json"))
    assert len(results) == 4
    assert all("toy/reverse_kl" in json.loads(p.read_text()) for p in results)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model=nonexistent", "Could not find 'model/nonexistent'"),
        ("model.n_critic=0", "model.n_critic=0: must be an integer >= 1"),
        ("model.n_critic=abc", "model.n_critic='abc': must be an integer >= 1"),
        ("iterations=1.5", "iterations=1.5: must be an integer >= 1"),
        ("data.image_size=20", "DCGAN makes images of 4 * 2^k pixels"),
        ("loss.objective=foo", "loss.objective='foo' is not one of"),
        ("ckpt_path=/no/such.ckpt", "ckpt_path='/no/such.ckpt': no such checkpoint file"),
        ("data=image_folder", "data.path is required"),
        ("model.packing=4 data.batch_size=50",
         "data.batch_size=50: must be a multiple of model.packing=4"),
        ("data=digit_attributes", "model.generator.channels: Interpolation key 'data.channels' "
         "not found; model=dcgan and data=digit_attributes do not fit together"),
    ],
)
def test_bad_input_gives_one_clear_line_before_training(tmp_path, override, message):
    result = run_cli(*TINY_DCGAN, *override.split(), "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()  # nothing trained


def _imported(stderr: str) -> set[str]:
    """The top-level packages `python -X importtime` reports as imported."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize(("override", "message"), [
    ("ckpt_path=/no/such.ckpt", "ckpt_path='/no/such.ckpt': no such checkpoint file"),
    ("data=image_folder data.path=/no/such/dir", "data: data.path='/no/such/dir' does not exist"),
    ("model.n_critic=0", "model.n_critic=0: must be an integer >= 1"),
    ("data=digit_attributes", "model=dcgan and data=digit_attributes do not fit together"),
])
def test_config_errors_come_before_the_training_code_is_imported(tmp_path, override, message):
    # `python -X importtime` lists every module imported before the process ended
    result = run_cli(*override.split(), "hydra.run.dir=run", cwd=tmp_path,
                     env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 2
    assert "gan_lab: config error: " in result.stderr and message in result.stderr
    imported = _imported(result.stderr)
    assert "hydra" in imported  # the check above reads importtime's lines
    assert not imported & {"lightning", "torch", "torchvision", "torchmetrics"}, imported


def test_a_missing_gpu_is_said_without_importing_torch_where_no_gpu_device_exists(tmp_path):
    from gan_lab.config import _no_gpu_device_files

    if not _no_gpu_device_files():
        pytest.skip("a GPU device file exists here: torch is asked")
    result = run_cli("trainer=gpu", "hydra.run.dir=run", cwd=tmp_path,
                     env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 2
    assert "trainer.accelerator=gpu: no GPU is visible to torch" in result.stderr
    assert "torch" not in _imported(result.stderr)

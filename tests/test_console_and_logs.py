"""What a run prints and logs: the config and images in every logger, metrics.csv whatever the
dashboards, one progress bar in iterations, no library chatter, one-line errors, help."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from gan_lab.callbacks import IterationProgress
from gan_lab.progress import phase
from tests.conftest import TINY_DCGAN, run_cli, train

CHATTER = ("pre-optimization state", "litlogger", "will be deleted", "LeafSpec", "log_every_n_steps",
           "max_steps=", "TPU available", "Restoring states", "exists and is not empty")


# ----------------------------------------------------------------------------- loggers
def test_wandb_and_tensorboard_get_the_config_and_real_images(tmp_path):
    train(tmp_path, *TINY_DCGAN, "iterations=4", "logger=all", "callbacks.samples.every=2",
          "seed=4321")
    # W&B (offline): the sample grid it stores is our PNG, pixel for pixel (0-255, not black).
    stored = sorted((tmp_path / "wandb").glob("offline-run-*/files/media/images/samples_*.png"))
    assert len(stored) == 2
    ours = np.asarray(Image.open(tmp_path / "samples" / "iter_0000004.png").convert("RGB"))
    theirs = np.asarray(Image.open(stored[-1]).convert("RGB"))
    assert theirs.shape == ours.shape and np.array_equal(theirs, ours)
    assert theirs.mean() > 30
    # ... and the resolved config is in the run record (offline runs keep it in the .wandb file,
    # which wandb's service process may still be writing when finish() returns).
    record = _wandb_record(tmp_path / "wandb", until=b"gan_lab.nets.DCGANGenerator")
    assert b"net_width" in record and b"gan_lab.nets.DCGANGenerator" in record
    # TensorBoard: the config as hparams; metrics.csv is there as for every run.
    hparams = (tmp_path / "tensorboard" / "hparams.yaml").read_text()
    assert "seed: 4321" in hparams and "DCGANGenerator" in hparams
    assert (tmp_path / "metrics.csv").is_file()


def _wandb_record(folder: Path, until: bytes, timeout: float = 60.0) -> bytes:
    """The offline run's ``run-*.wandb`` file once it holds ``until`` (or after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        record = next(folder.glob("offline-run-*/run-*.wandb")).read_bytes()
        if until in record or time.monotonic() > deadline:
            return record
        time.sleep(0.2)


def test_metrics_csv_does_not_depend_on_the_dashboards(tmp_path):
    train(tmp_path, *TINY_DCGAN, "iterations=2", "logger=tensorboard", "model.log_every=1")
    assert len((tmp_path / "metrics.csv").read_text().splitlines()) == 3  # header + 2 rows
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


# ----------------------------------------------------------------------------- progress
def test_progress_counts_generator_iterations_with_losses(tmp_path, monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    train(tmp_path, *TINY_DCGAN[:-2], "iterations=6", "model.n_critic=3", "model.log_every=2",
          "callbacks.progress.log_seconds=0.01")
    text = err.getvalue()
    assert "6/6" in text and "loss/d=" in text and "loss/g=" in text
    assert "18/" not in text and "Epoch" not in text  # not batches, not epochs


def test_progress_is_redrawn_while_one_iteration_is_slow(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    bar = IterationProgress(refresh_seconds=0.02, log_seconds=0.02)
    trainer = SimpleNamespace()
    module = SimpleNamespace(budget=10, iteration=3, progress_metrics={})
    bar.on_train_start(trainer, module)
    time.sleep(0.3)  # no iteration ends meanwhile
    bar.on_train_end(trainer, module)
    redraws = err.getvalue().count("3/10")
    assert redraws >= 5, err.getvalue()


def test_long_phases_show_a_named_bar(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    assert list(phase(range(5), 5, "training the FID classifier")) == list(range(5))
    assert "training the FID classifier" in err.getvalue()


# ----------------------------------------------------------------------------- the console
@pytest.mark.slow
def test_default_run_console_fits_on_a_screen_and_ends_with_its_outputs(tmp_path):
    result = run_cli(*TINY_DCGAN[:-2], "iterations=30", "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    for chatter in CHATTER:
        assert chatter not in console, chatter
    lines = [line for line in re.split(r"[\r\n]", console) if line.strip()]
    assert len(set(lines)) < 25, console
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("gan_lab: done, iteration 30") and "last checkpoint" in last
    # the resume of that run is as quiet, and says in one line what it continues
    again = run_cli("ckpt_path=run/checkpoints/last.ckpt", "iterations=40", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    console = again.stdout + again.stderr
    for chatter in CHATTER:
        assert chatter not in console, chatter
    assert "resuming from run/checkpoints/last.ckpt at iteration 30" in console
    assert "(iterations 30 -> 40)" in console


@pytest.mark.slow
def test_multirun_jobs_stay_quiet(tmp_path):
    result = run_cli("-m", *TINY_DCGAN, "iterations=2", "seed=0,1", "hydra.sweep.dir=sweep",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for chatter in CHATTER:
        assert chatter not in result.stdout + result.stderr, chatter


# ----------------------------------------------------------------------------- errors, help
def _image_folder_of_text(tmp_path: Path) -> Path:
    folder = tmp_path / "not_images"
    folder.mkdir()
    for i in range(20):
        (folder / f"{i}.png").write_text("this is text, not a PNG")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize(("module", "args", "message"), [
    ("gan_lab", ["ckpt_path=notes.txt"], "ckpt_path=notes.txt: not a checkpoint torch can load"),
    ("gan_lab.sample", [], "ckpt is required"),
    ("gan_lab.sample", ["ckpt=notes.txt"], "ckpt=notes.txt: not a checkpoint torch can load"),
    ("gan_lab", ["model.n_critc=5"], "there is no key model.n_critc; did you mean model.n_critic?"),
    ("gan_lab", ["data=image_folder", "data.path=FOLDER"], "none of the 16 files tried is a "
                                                           "readable image"),
    ("gan_lab", ["trainer=gpu"], "trainer.accelerator=gpu: no GPU is visible"),
])
def test_bad_input_is_one_line_printed_once(tmp_path, module, args, message):
    if "trainer=gpu" in args and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    (tmp_path / "notes.txt").write_text("a text file\n")
    folder = _image_folder_of_text(tmp_path)
    args = [a.replace("FOLDER", str(folder)) for a in args]
    result = run_cli(*args, "hydra.run.dir=run", cwd=tmp_path, module=module)
    assert result.returncode == 2, result.stderr[-3000:]
    output = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(output) == 1, output
    assert message in output[0] and output[0].startswith("gan_lab: config error: ")
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize(("module", "expected", "absent"), [
    ("gan_lab.sample", ["ckpt=???", "truncation=null", "samples in the grid", "options={}"],
     ["model", "data"]),
    ("gan_lab.evaluate", ["ckpt=???", "classifier*", "standard FID"], ["model ", "loss "]),
    ("gan_lab.translate", ["input=???", "direction=null", "options={}", "size=null"],
     ["model ", "eval "]),
    ("gan_lab.classifier", ["fashion_mnist", "classifier*"], ["model ", "loss "]),
])
def test_sub_command_help_lists_their_own_arguments(tmp_path, module, expected, absent):
    result = run_cli("--help", cwd=tmp_path, module=module)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{module}: ")
    for text in expected:
        assert text in result.stdout, text
    for group in absent:
        assert f"\n  {group}" not in result.stdout, group


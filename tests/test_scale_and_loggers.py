"""DDP on CPU, the loggers, and the configs shipped inside a non-editable install."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import torch

from gan_lab.train import run
from tests.conftest import TINY_DCGAN, TINY_TOY, make_cfg, run_cli, train


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


def test_tensorboard_hparams_carry_the_final_metrics(tmp_path):
    """The HPARAMS tab: the run config with the final evaluation's metrics (final/<metric>)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata

    train(tmp_path, *TINY_TOY, "logger=tensorboard", "iterations=4", "eval.every=2",
          "eval.metrics.mode_coverage.plot=false")
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    content = events.PluginTagToContent(metadata.PLUGIN_NAME)
    experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
    shown = {info.name.tag for info in experiment.metric_infos}
    assert {"final/toy/reverse_kl", "final/toy/modes"} <= shown
    session = metadata.parse_session_start_info_plugin_data(
        content[metadata.SESSION_START_INFO_TAG])
    assert session.hparams["iterations"].number_value == 4
    assert session.hparams["model/_target_"].string_value.endswith("GAN")  # the whole config
    final = events.Scalars("final/toy/reverse_kl")  # the value the tab shows, at the last step
    results = __import__("json").loads((tmp_path / "results.json").read_text())
    assert [(e.step, round(e.value, 5)) for e in final] == [
        (4, round(results["toy/reverse_kl"], 5))]


def wandb_records(run_dir: Path, timeout: float = 60.0) -> list:
    """The records of an offline W&B run's ``run-<id>.wandb`` file (a leveldb-style log of
    protobuf records: 32 KiB blocks, 7-byte chunk headers), as wandb's protobufs. wandb's service
    process may still be writing the file when ``finish()`` returns: read until its ``exit``
    record is there."""
    deadline = time.monotonic() + timeout
    while True:
        records = _wandb_records(next(run_dir.glob("run-*.wandb")).read_bytes())
        if any(r.WhichOneof("record_type") == "exit" for r in records):
            return records
        assert time.monotonic() < deadline, f"no exit record in {run_dir} after {timeout}s"
        time.sleep(0.2)


def _wandb_records(data: bytes) -> list:
    from wandb.proto import wandb_internal_pb2

    block, pos, chunks, pending = 32768, 7, [], b""  # 7: the file header (":W&B", version)
    while pos + 7 <= len(data):
        left = block - pos % block
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7]) if left >= 7 else (0, 0, 0)
        if left < 7 or (length == 0 and kind == 0):
            pos += left  # block trailer / padding
            continue
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 1:  # full
            chunks.append(chunk)
        elif kind == 2:  # first
            pending = chunk
        elif kind == 3:  # middle
            pending += chunk
        elif kind == 4:  # last
            chunks.append(pending + chunk)
    records = []
    for raw in chunks:
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        records.append(record)
    return records


def test_wandb_resume_continues_the_run_and_logs_the_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")  # log_model needs this, not offline=true
    train(tmp_path, *TINY_DCGAN, "logger=wandb", "iterations=2", "logger.wandb.log_model=true")
    run_id = (tmp_path / "wandb_id.txt").read_text().strip()
    first = next((tmp_path / "wandb").glob(f"offline-run-*-{run_id}"))
    artifacts = [r.artifact for r in wandb_records(first) if r.WhichOneof("record_type") ==
                 "artifact"]
    assert artifacts and artifacts[-1].type == "model"
    assert artifacts[-1].name == f"model-{run_id}"
    assert [entry.path for entry in artifacts[-1].manifest.contents] == ["model.ckpt"]
    # The resume continues the same W&B run (a second offline segment with the same id) ...
    train(tmp_path, *TINY_DCGAN, "logger=wandb", "iterations=4",
          f"ckpt_path={tmp_path / 'checkpoints' / 'last.ckpt'}")
    assert len(list((tmp_path / "wandb").glob(f"offline-run-*-{run_id}*"))) == 2
    assert (tmp_path / "wandb_id.txt").read_text().strip() == run_id
    # ... while a new run in the same folder starts a W&B run of its own.
    train(tmp_path, *TINY_DCGAN, "logger=wandb", "iterations=1")
    assert (tmp_path / "wandb_id.txt").read_text().strip() != run_id


def test_wandb_groups_the_jobs_of_a_multirun(tmp_path):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    from gan_lab.config import config_dir
    from gan_lab.loggers import WandbRunLogger
    from gan_lab.resolvers import register_resolvers

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("config", overrides=["run_dir=/tmp/run", "hydra.mode=MULTIRUN",
                                           f"hydra.sweep.dir={tmp_path}/studies/lr"],
                      return_hydra_config=True)
    GlobalHydra.instance().clear()
    hydra = HydraConfig.instance()
    try:
        hydra.set_config(cfg)
        grouped = WandbRunLogger(project="p", save_dir=str(tmp_path), offline=True)
        chosen = WandbRunLogger(project="p", save_dir=str(tmp_path), offline=True, group="mine")
    finally:
        hydra.cfg = None
    assert grouped._wandb_init["group"] == "studies/lr"
    assert chosen._wandb_init["group"] == "mine"
    alone = WandbRunLogger(project="p", save_dir=str(tmp_path), offline=True)
    assert "group" not in alone._wandb_init  # a single run has no group

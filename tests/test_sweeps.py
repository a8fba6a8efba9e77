"""Sweep presets: Optuna studies (conf/hparams_search/), the joblib and submitit launchers
(conf/hydra/launcher/); each preset composes, and a study, a parallel multirun and a
submitit_local job run end to end."""

from __future__ import annotations

import json
import os
import stat

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from gan_lab.config import config_dir
from tests.sweep_fixtures import tiny_toy_sweep

CONF = __import__("pathlib").Path(config_dir())
SEARCHES = sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml"))


def compose_with_hydra(*overrides: str):
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("config", overrides=["run_dir=/tmp/run", *overrides],
                           return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()


@pytest.mark.parametrize("search", SEARCHES)
def test_every_hparams_search_preset_composes(search):
    cfg = compose_with_hydra(f"hparams_search={search}")
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("optuna_sweeper.OptunaSweeper")
    assert sweeper.sampler._target_ == "optuna.samplers.TPESampler"
    assert sweeper.sampler.seed is not None and sweeper.study_name
    assert sweeper.direction == "minimize" and sweeper.n_trials > 0
    assert cfg.eval.objective  # the number train.run returns to the sweeper
    if "fid" in search:
        assert cfg.eval.objective.endswith("/fid")
    for key in sweeper.params:  # every searched key exists in the composed config
        assert OmegaConf.select(cfg, key, default="missing") != "missing", key
    assert sweeper.n_jobs == 1  # basic launcher: one trial at a time
    parallel = compose_with_hydra(f"hparams_search={search}", "hydra/launcher=parallel",
                                  "hydra.launcher.n_jobs=3")
    assert parallel.hydra.sweeper.n_jobs == 3  # as many trials at once as the launcher runs
    slurm = compose_with_hydra(f"hparams_search={search}", "hydra/launcher=slurm")
    assert slurm.hydra.sweeper.n_jobs == 1  # raise hydra.sweeper.n_jobs for concurrent jobs


def test_optuna_study_in_a_database(tmp_path):
    """hydra.sweeper.storage=sqlite:///FILE (a study that survives): works with the pinned
    optuna 2.10 and SQLAlchemy 1.4 (with SQLAlchemy 2 it fails on creating the study)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=storage, study_name="s",
                                sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=2)
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == 2


def test_launcher_presets_compose():
    parallel = compose_with_hydra("hydra/launcher=parallel").hydra.launcher
    assert parallel._target_.endswith("JoblibLauncher") and parallel.n_jobs == 2
    local = compose_with_hydra("hydra/launcher=submitit_local").hydra.launcher
    assert local._target_.endswith("submitit_launcher.LocalLauncher")


def test_slurm_preset_asks_one_task_per_gpu_and_lightnings_requeue_signal(tmp_path,
                                                                           monkeypatch):
    cfg = compose_with_hydra("hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4",
                             "trainer.num_nodes=2")
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert launcher["_target_"].endswith("submitit_launcher.SlurmLauncher")
    assert (launcher["tasks_per_node"], launcher["gpus_per_node"], launcher["nodes"]) == (4, 4, 2)
    # The sbatch script submitit would submit, with the parameters as the launcher passes them
    # (hydra_submitit_launcher's BaseSubmititLauncher.launch); `srun` faked so it can be built.
    import submitit
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

    srun = tmp_path / "srun"
    srun.write_text("#!/bin/sh\n")
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    launcher.pop("_target_")
    executor = submitit.AutoExecutor(folder=tmp_path / "jobs", cluster="slurm",
                                     slurm_max_num_timeout=launcher.pop("max_num_timeout"))
    launcher.pop("submitit_folder")
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    executor.update_parameters(**{k if k in base else f"slurm_{k}": v
                                  for k, v in launcher.items()})
    script = executor._executor._make_submission_file_text("python -m gan_lab", "uid")
    for flag in ("--nodes=2", "--ntasks-per-node=4", "--gpus-per-node=4", "--signal=USR1@120",
                 "--job-name=gan_lab"):
        assert f"#SBATCH {flag}\n" in script, (flag, script)


def test_plain_trainer_gets_one_node():
    cfg = compose_with_hydra("hydra/launcher=slurm", "trainer=gpu")
    assert cfg.hydra.launcher.nodes == 1 and cfg.hydra.launcher.tasks_per_node == 1


def test_optuna_study_runs_two_trials_at_once_through_joblib(optuna_sweep):
    study = yaml.safe_load((optuna_sweep / "optimization_results.yaml").read_text())
    searched = yaml.safe_load((CONF / "hparams_search" / "toy_lr.yaml").read_text())
    assert set(study["best_params"]) == set(searched["hydra"]["sweeper"]["params"])
    trials = sorted(p for p in optuna_sweep.iterdir() if (p / ".hydra").is_dir())
    assert [p.name for p in trials] == ["0", "1"]
    scores = [json.loads((p / "results.json").read_text())["toy/reverse_kl"] for p in trials]
    assert study["best_value"] == pytest.approx(min(scores))
    for trial in trials:  # both ran in joblib's worker processes, asked for together
        hydra = yaml.safe_load((trial / ".hydra" / "hydra.yaml").read_text())["hydra"]
        assert hydra["launcher"]["_target_"].endswith("JoblibLauncher")
    # sweeper.n_jobs followed the launcher's 2: both trials were under way at the same time
    starts = [(p / ".hydra" / "config.yaml").stat().st_mtime for p in trials]
    ends = [(p / "results.json").stat().st_mtime for p in trials]
    assert max(starts) < min(ends)


def test_submitit_local_runs_a_job(tmp_path):
    done = tiny_toy_sweep(tmp_path, "hydra/launcher=submitit_local", "iterations=20",
                          "eval.every=10")
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "0" / "results.json").read_text())
    assert results["iteration"] == 20 and "toy/reverse_kl" in results
    assert list((tmp_path / ".submitit").glob("*/*_log.out"))  # it went through submitit

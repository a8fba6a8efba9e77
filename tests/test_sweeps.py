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
from gan_lab.resolvers import register_resolvers
from tests.sweep_fixtures import tiny_toy_sweep

CONF = __import__("pathlib").Path(config_dir())
SEARCHES = sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml"))


def compose_with_hydra(*overrides: str):
    register_resolvers()
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


def test_study_driver_prunes_a_bad_trial_at_its_first_evaluation(tmp_path):
    """python -m gan_lab.study: the same preset, in-process trials, Optuna's MedianPruner fed by
    every periodic evaluation. The objective here is a test evaluator's known score (lr 1e-3: 3,
    lr 1e-5: 5), so the second trial is worse from its first evaluation on and stops there; the
    study's files are the Hydra sweeper's."""
    import optuna

    from gan_lab.study import main, run_study
    from tests.conftest import TINY_TOY

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(study_name="toy_lr", storage=storage)
    for lr in (1e-3, 1e-5):  # the trials to run, in this order (instead of TPE's picks)
        study.enqueue_trial({"optim.generator.lr": lr, "optim.discriminator.lr": lr,
                             "model.packing": 1})
    folder = tmp_path / "study"
    overrides = ["hparams_search=toy_lr", *TINY_TOY, "iterations=60", "eval.every=20",
                 "eval.metrics.mode_coverage=null",
                 "+eval.metrics.lr_score._target_=tests.sweep_fixtures.LearningRateScore",
                 "eval.objective=test/lr_score",
                 "hydra.sweeper.n_trials=2", f"hydra.sweeper.storage={storage}",
                 "study.pruner.n_startup_trials=1", f"hydra.sweep.dir={folder}"]
    study = run_study(overrides)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE,
                                               optuna.trial.TrialState.PRUNED]
    good, bad = study.trials
    assert good.intermediate_values == pytest.approx({20: 3, 40: 3, 60: 3})  # every eval.every
    assert bad.intermediate_values == pytest.approx({20: 5})  # stopped at its first evaluation
    assert good.value == pytest.approx(3)
    assert (folder / "0" / "results.json").is_file()
    assert not (folder / "1" / "results.json").exists()
    assert not (folder / "1" / "checkpoints" / "iter_0000040.ckpt").exists()
    best = yaml.safe_load((folder / "optimization_results.yaml").read_text())
    assert best["best_params"]["optim.generator.lr"] == pytest.approx(1e-3)
    assert best["best_value"] == pytest.approx(3)
    overrides_1 = yaml.safe_load((folder / "1" / ".hydra" / "overrides.yaml").read_text())
    assert "optim.generator.lr=1e-05" in overrides_1  # what summarize compares runs by
    for bad_preset in ("hparams_search=null", "hparams_search=none_such"):
        assert main([bad_preset]) == 2  # not an Optuna preset: one line, status 2


def test_study_driver_reads_every_presets_search_space():
    """Each preset's params, parsed as the Hydra sweeper would, give a suggestion per key."""
    import optuna

    from gan_lab.study import search_space, suggest

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for search in SEARCHES:
        cfg = compose_with_hydra(f"hparams_search={search}")
        space = search_space(OmegaConf.to_container(cfg.hydra.sweeper.params))
        trial = optuna.create_study().ask()
        values = {key: suggest(trial, key, value) for key, value in space.items()}
        assert set(values) == set(cfg.hydra.sweeper.params), search
        assert cfg.study.pruner._target_ == "optuna.pruners.MedianPruner"
        for key, value in values.items():
            assert isinstance(value, (int, float)), (search, key, value)

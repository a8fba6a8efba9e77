"""``python -m gan_lab.study hparams_search=<preset> [overrides]``: an Optuna study with pruning.

The same presets as ``python -m gan_lab -m hparams_search=<preset>`` (conf/hparams_search/: the
sampler, direction, study name, storage, number of trials and searched ``params`` of
``hydra.sweeper``), but the trials run in this process through Optuna's ask-and-tell API, so each
periodic evaluation (every ``eval.every`` iterations) reports ``eval.objective`` to the trial and
the study's pruner (``study.pruner`` in the preset; default Optuna's MedianPruner) stops a trial
at its first evaluation that is worse than the median of the earlier trials at that iteration.
hydra-optuna-sweeper has no pruning; this driver is the route that has it.

Outputs as the Hydra sweeper writes them: one folder per trial (``<hydra.sweep.dir>/<trial
number>``, with ``.hydra/config.yaml`` and ``overrides.yaml``), ``optimization_results.yaml``
(best parameters and value) in the study folder, so ``python -m gan_lab.summarize DIR`` reads
both. Pruned trials keep their folder and ``eval/metrics.csv`` (no ``results.json``).

Several processes given the same ``hydra.sweeper.storage=sqlite:///FILE`` (and study name) share
one study: that is how trials run in parallel here. Only the Optuna API that optuna 2.10 and 4.x
share is used (see constraints.txt).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from gan_lab.callbacks.evaluation import Evaluation

__all__ = ["PrunedEvaluation", "main", "run_study", "search_space", "suggest"]

log = logging.getLogger("gan_lab.study")

EVALUATION = "gan_lab.callbacks.Evaluation"
DEFAULT_PRUNER = {"_target_": "optuna.pruners.MedianPruner", "n_startup_trials": 5,
                  "n_warmup_steps": 0}

# The trial being run in this process (set by run_study around each training run).
_TRIAL: Any = None


class PrunedEvaluation(Evaluation):
    """The periodic evaluation, reporting ``objective`` to the running Optuna trial after each
    scheduled evaluation (step = generator iteration) and raising ``optuna.TrialPruned`` when
    the pruner says so. Outside a study (no trial running) it is a plain :class:`Evaluation`."""

    def evaluate(self, module: Any, datamodule: Any, tag: str) -> dict[str, float]:
        results = super().evaluate(module, datamodule, tag)
        trial = _TRIAL
        if trial is None or tag == "final" or self.objective not in results:
            return results
        import optuna

        iteration = int(getattr(module, "iteration", 0))
        value = float(results[self.objective])
        trial.report(value, iteration)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at iteration {iteration}: "
                                     f"{self.objective}={value:.4g}")
        return results


@contextlib.contextmanager
def _running(trial: Any) -> Iterator[None]:
    global _TRIAL
    _TRIAL = trial
    try:
        yield
    finally:
        _TRIAL = None


def search_space(params: dict[str, str] | None) -> dict[str, Any]:
    """The preset's ``hydra.sweeper.params`` (the sweeper's grammar: ``choice(...)``,
    ``interval(a, b)``, ``range(...)``, ``tag(log, ...)``, or a fixed value) parsed by Hydra's
    override parser: {key: ChoiceSweep | IntervalSweep | RangeSweep | value}."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    return {key: parser.parse_override(f"{key}={value}").value()
            for key, value in (params or {}).items()}


def suggest(trial: Any, key: str, space: Any) -> Any:
    """One value of ``space`` from the trial (what hydra-optuna-sweeper would suggest)."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    if isinstance(space, ChoiceSweep):
        return trial.suggest_categorical(key, list(space.list))
    if isinstance(space, IntervalSweep):
        log_scale = "log" in space.tags
        if isinstance(space.start, int) and isinstance(space.end, int):
            return trial.suggest_int(key, space.start, space.end, log=log_scale)
        return trial.suggest_float(key, float(space.start), float(space.end), log=log_scale)
    if isinstance(space, RangeSweep):
        values, value = [], space.start
        while (space.step > 0 and value < space.stop) or (space.step < 0 and value > space.stop):
            values.append(value)
            value += space.step
        return trial.suggest_categorical(key, values)
    return space  # a fixed value


def _override_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str) and any(c in value for c in " ,()[]{}'\"=:"):
        return "'" + value.replace("'", "\\'") + "'"
    return str(value)


def _compose(overrides: Sequence[str], hydra_config: bool = False) -> DictConfig:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from gan_lab.config import config_dir
    from gan_lab.resolvers import register_resolvers

    register_resolvers()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            return compose("config", overrides=list(overrides), return_hydra_config=hydra_config)
    finally:
        GlobalHydra.instance().clear()


def run_study(overrides: Sequence[str]) -> Any:
    """Run the study the overrides describe (``hparams_search=<preset>`` among them); returns the
    ``optuna.Study``. The trials' training runs happen in this process, one after another."""
    import optuna

    from gan_lab.quiet import one_console

    one_console()  # Optuna's own console handler, added at import: its lines once, plain
    from hydra.errors import HydraException
    from hydra.utils import instantiate
    from omegaconf.errors import OmegaConfBaseException

    from gan_lab.config import ConfigError
    from gan_lab.resume import RunInterrupted
    from gan_lab.train import run

    overrides = list(overrides)
    try:
        setup = _compose([*overrides, "run_dir=."], hydra_config=True)
    except (HydraException, OmegaConfBaseException, ValueError) as error:
        raise ConfigError(str(error).splitlines()[0]) from error
    sweeper = setup.hydra.sweeper
    if not str(sweeper.get("_target_", "")).endswith("OptunaSweeper") or not sweeper.get("params"):
        raise ConfigError("gan_lab.study needs an Optuna preset: hparams_search=<one of "
                          "conf/hparams_search/> (hydra.sweeper.params: the searched keys)")
    if OmegaConf.select(setup, "eval.objective") is None:
        raise ConfigError("eval.objective is not set: the study has nothing to minimise; "
                          "choose an eval= with an objective")
    folder = Path(str(OmegaConf.select(setup, "hydra.sweep.dir")))
    pruner_cfg = OmegaConf.select(setup, "study.pruner", default=None)
    pruner = instantiate(pruner_cfg if pruner_cfg is not None else DEFAULT_PRUNER)
    study = optuna.create_study(
        study_name=sweeper.study_name, storage=sweeper.storage,
        sampler=instantiate(sweeper.sampler), pruner=pruner,
        direction=str(sweeper.direction), load_if_exists=True,
    )
    space = search_space(OmegaConf.to_container(sweeper.params, resolve=True))
    folder.mkdir(parents=True, exist_ok=True)
    for _ in range(int(sweeper.n_trials)):
        trial = study.ask()
        chosen = {key: suggest(trial, key, value) for key, value in space.items()}
        trial_dir = folder / str(trial.number)
        trial_overrides = [*overrides, *(f"{k}={_override_value(v)}" for k, v in chosen.items())]
        cfg = _compose([*trial_overrides, f"run_dir={trial_dir}"])
        if OmegaConf.select(cfg, "eval._target_") == EVALUATION:
            cfg.eval._target_ = f"{__name__}.PrunedEvaluation"
        if OmegaConf.select(cfg, "logger.wandb") is not None and not cfg.logger.wandb.get("group"):
            cfg.logger.wandb.group = str(sweeper.study_name or folder.name)
        (trial_dir / ".hydra").mkdir(parents=True, exist_ok=True)
        OmegaConf.save(cfg, trial_dir / ".hydra" / "config.yaml")
        (trial_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(trial_overrides))
        try:
            with _running(trial):
                value = run(cfg, overrides=trial_overrides)
        except optuna.TrialPruned as pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            log.info("gan_lab.study: trial %d %s", trial.number, pruned)
            continue
        except RunInterrupted as error:  # a stop of the training-health alerts, a signal
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            log.warning("gan_lab.study: trial %d failed: %s", trial.number, error)
            if getattr(signal.Signals, error.signal_name or "", None) is not None:
                raise  # SIGTERM, SIGUSR1...: the study stops too
            continue
        except BaseException:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        study.tell(trial, value)
        log.info("gan_lab.study: trial %d: %s=%s %s", trial.number, cfg.eval.objective, value,
                 chosen)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if complete:
        results = {"name": "optuna", "best_params": dict(study.best_params),
                   "best_value": float(study.best_value)}
        (folder / "optimization_results.yaml").write_text(yaml.safe_dump(results))
        log.info("gan_lab.study: best %s=%s with %s (%s)", setup.eval.objective,
                 study.best_value, study.best_params, folder)
    return study


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry (``gan-lab-study``): a one-line error and status 2 for a bad config."""
    from gan_lab.config import ConfigError
    from gan_lab.quiet import silence_chatter

    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    silence_chatter()
    try:
        run_study(args)
    except ConfigError as error:
        print(f"gan_lab: config error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gan_lab: interrupted; finished trials are in the study", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

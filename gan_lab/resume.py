"""Resume: the run a checkpoint saved, continued, with only the safe settings changed.

A checkpoint holds the resolved config of its run (``checkpoint["gan_lab"]["config"]``) and the
same with its interpolations (``config_source``). A resume rebuilds that run from the latter, so
what derives from a changed budget (a decay schedule's ``${iterations}``) follows it as in a
fresh run of that budget; the command line may change what does not alter the
training itself (the budget, logging, evaluation, callbacks, device and precision) and is
refused, in one line naming the key, for the rest (model, loss, data, optimizer, seed). To
know what the user asked for, rather than what the defaults happen to say, the explicit
command-line overrides are read (Hydra's ``overrides.task``).

By default a resume continues in the original run's folder (``hydra.run.dir`` follows the
checkpoint: see :func:`run_folder`), so a run keeps one ``metrics.csv``, one ``last.ckpt`` and
one ``resumes.txt`` listing its segments. Resumed into another folder, the earlier history is
copied over first, so either folder tells the whole story.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from gan_lab.config import ConfigError, flatten, is_config_group

__all__ = ["GENERATED_FOLDER", "RESUMABLE_KEYS", "ResumePlan", "RunInterrupted", "continue_history",
           "generated_folder", "plan_resume", "requeued_checkpoint", "run_folder", "truncate_csv"]

# What a resume may change: top-level sections, plus single keys inside frozen sections.
RESUMABLE_KEYS = ("iterations", "trainer", "logger", "callbacks", "eval", "speed", "run_dir",
                  "ckpt_path", "data.num_workers")
CHECKPOINTS_FOLDER = "checkpoints"


def run_folder(ckpt_path: Any, fresh: str) -> str:
    """The run folder for ``hydra.run.dir``: where a resumed run continues, else ``fresh``.

    A checkpoint inside ``RUN/checkpoints/`` continues in RUN. A SLURM job (``SLURM_JOB_ID``)
    gets ``outputs/slurm/<job id>``, the same folder for every rank and after a requeue, so a
    requeued job finds its own checkpoint (see :func:`requeued_checkpoint`).
    """
    if ckpt_path not in (None, "", "None", "null"):
        path = Path(str(ckpt_path)).expanduser()
        if path.parent.name == CHECKPOINTS_FOLDER:
            return str(path.parent.parent)
    job = os.environ.get("SLURM_JOB_ID")
    if job and os.environ.get("SLURM_JOB_NAME") not in (None, "bash", "interactive"):
        task = os.environ.get("SLURM_ARRAY_TASK_ID")
        return f"outputs/slurm/{job}" + (f"_{task}" if task else "")
    return fresh


# Where a command's outputs for a run's checkpoint go (RUN/generated/...), apart from the
# training grids in RUN/samples/.
GENERATED_FOLDER = "generated"


def generated_folder(ckpt: Any, out: Any, date: str, time: str) -> str:
    """A sampling command's ``hydra.run.dir`` (conf/sample.yaml): ``out`` when set; for a
    checkpoint inside ``RUN/checkpoints/``, ``RUN/generated/<checkpoint name>_<date>_<time>``
    beside its run; else ``outputs/sample/<date>/<time>``."""
    if out not in (None, ""):
        return str(out)
    if ckpt not in (None, "", "???"):
        path = Path(str(ckpt)).expanduser()
        if path.parent.name == CHECKPOINTS_FOLDER:
            return str(path.parent.parent / GENERATED_FOLDER / f"{path.stem}_{date}_{time}")
    return f"outputs/sample/{date}/{time}"


def requeued_checkpoint(run_dir: str | Path) -> Path | None:
    """The checkpoint a requeued SLURM job resumes from (``SLURM_RESTART_COUNT`` > 0), if any."""
    try:
        restarts = int(os.environ.get("SLURM_RESTART_COUNT", "0"))
    except ValueError:
        return None
    last = Path(run_dir) / CHECKPOINTS_FOLDER / "last.ckpt"
    return last if restarts > 0 and last.is_file() else None


class ResumePlan:
    """The effective config of a resume, what it changed, and where the run came from."""

    def __init__(self, cfg: DictConfig, changes: list[str], ckpt_path: Path, iteration: int,
                 saved_run_dir: str | None) -> None:
        self.cfg, self.changes, self.ckpt_path = cfg, changes, ckpt_path
        self.iteration, self.saved_run_dir = iteration, saved_run_dir

    def summary(self) -> str:
        """One line: what is resumed, from where, and what the command line changed."""
        changed = "; ".join(self.changes) if self.changes else "nothing changed"
        return (f"resuming from {self.ckpt_path} at iteration {self.iteration} "
                f"with the checkpoint's config ({changed})")


def plan_resume(cli_cfg: DictConfig, overrides: Sequence[str], checkpoint: dict,
                ckpt_path: str | Path) -> ResumePlan:
    """The config to resume with: the checkpoint's, with the safe command-line overrides applied.

    Raises ConfigError naming the first override that would change the trained run, or a budget
    that the checkpoint has already reached.
    """
    payload = checkpoint["gan_lab"]
    saved = OmegaConf.create(payload["config"])
    # Checkpoints from before config_source was kept: their resolved config.
    source = OmegaConf.create(payload.get("config_source") or payload["config"])
    iteration = int(payload.get("iteration", 0))
    cli_plain = OmegaConf.to_container(cli_cfg, resolve=False)
    run_dir = str(cli_cfg.run_dir)
    saved_run_dir = saved.get("run_dir")
    effective = _rerooted(source, saved_run_dir, run_dir)
    effective.run_dir = run_dir
    effective.ckpt_path = str(ckpt_path)
    for section in RESUMABLE_KEYS:  # sections newer than the checkpoint: today's defaults
        if "." not in section and section not in effective and section in cli_cfg:
            effective[section] = OmegaConf.create(cli_plain[section])
    for override in _parse(overrides):
        key = override.key_or_group
        if key in ("run_dir", "ckpt_path"):
            continue
        if is_config_group(key):
            _apply_group(effective, cli_cfg, cli_plain, saved, key, override.input_line)
        elif _resumable(key):
            if override.is_delete():
                _delete(effective, key)
            else:
                OmegaConf.update(effective, key, _select(cli_plain, key), force_add=True)
        else:
            _refuse_if_changed(cli_cfg, saved, key, override.input_line)
    changes = _describe_changes(_rerooted(source, saved_run_dir, run_dir), effective)
    budget = effective.get("iterations")
    if isinstance(budget, int) and budget <= iteration:
        if any(change.startswith("iterations ") for change in changes):
            raise ConfigError(f"iterations={budget}: the checkpoint is already at iteration "
                              f"{iteration}; set iterations above {iteration} to train on")
        raise ConfigError(f"ckpt_path={ckpt_path}: that run already finished its budget of "
                          f"{budget} iterations; add iterations=N with N > {iteration} to train on")
    return ResumePlan(effective, changes, Path(str(ckpt_path)), iteration,
                      None if saved_run_dir is None else str(saved_run_dir))


def continue_history(plan: ResumePlan, run_dir: str | Path) -> None:
    """Give the resumed run one history: copy the earlier folder's logs when the run moves,
    drop rows past the checkpoint (those iterations are trained again), note the segment."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    logs = ("metrics.csv", "eval/metrics.csv", "resumes.txt", "wandb_id.txt")
    if plan.saved_run_dir and Path(plan.saved_run_dir).resolve() != run_dir.resolve():
        for name in logs:
            source = Path(plan.saved_run_dir) / name
            if source.is_file() and not (run_dir / name).exists():
                (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, run_dir / name)
    truncate_csv(run_dir / "metrics.csv", "step", plan.iteration)
    truncate_csv(run_dir / "eval" / "metrics.csv", "iteration", plan.iteration)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with (run_dir / "resumes.txt").open("a") as notes:
        notes.write(f"{stamp} {plan.summary()}\n")


def truncate_csv(path: Path, column: str, last: int) -> None:
    """Keep the rows of a CSV whose ``column`` is at most ``last`` (atomically rewritten)."""
    if not path.is_file():
        return
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames or [], list(reader)
    kept = [row for row in rows if _number(row.get(column)) <= last]
    if len(kept) == len(rows):
        return
    temporary = path.with_suffix(".csv.tmp")
    with temporary.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    temporary.replace(path)


class RunInterrupted(Exception):
    """Training stopped before its budget (a signal, or Ctrl-C twice); the message says where
    the last checkpoint is and the command that resumes it. ``signal_name`` is None when
    Lightning stopped on an exception it handled itself."""

    def __init__(self, signal_name: str | None, iteration: int, checkpoint: Path | None) -> None:
        self.signal_name = signal_name
        cause = f" by {signal_name}" if signal_name else ""
        if checkpoint is None:
            where = "no checkpoint was written (is callbacks.checkpoint set?)"
        else:
            where = (f"checkpoint {checkpoint}; resume with: python -m gan_lab "
                     f"ckpt_path={checkpoint}")
        super().__init__(f"training stopped{cause} at iteration {iteration}; {where}")


# ----------------------------------------------------------------------------- helpers
def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")


def _parse(overrides: Sequence[str]) -> Iterable[Any]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_overrides(list(overrides))


def _resumable(key: str) -> bool:
    return any(key == allowed or key.startswith(allowed + ".") for allowed in RESUMABLE_KEYS)


def _select(plain: Any, key: str) -> Any:
    for part in key.split("."):
        plain = plain[part] if isinstance(plain, dict) else plain[int(part)]
    return plain


def _delete(cfg: DictConfig, key: str) -> None:
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    if parent is not None and leaf in parent:
        del parent[leaf]


def _apply_group(effective: DictConfig, cli_cfg: DictConfig, cli_plain: dict, saved: DictConfig,
                 group: str, line: str) -> None:
    top = group.split(".")[0].split("/")[0]
    if _resumable(top):
        effective[top] = cli_plain.get(top)
        return
    # A group that shapes the trained run (model, loss, data, optim) is accepted only when its
    # section composes to what the checkpoint has: repeating loss=wgan_gp is fine (and keeps
    # the run's own model.n_critic). A preset without a section of its own (experiment=...)
    # is compared by the model and data it builds.
    sections = [top] if top in saved else ["model", "data"]
    for section in sections:
        _refuse_if_changed(cli_cfg, saved, section, line)


def _refuse_if_changed(cli_cfg: DictConfig, saved: DictConfig, key: str, line: str) -> None:
    asked, had = _resolved(cli_cfg, key), _resolved(saved, key)
    for value in (asked, had):  # a model's quick setting is a hint, not part of the run saved
        if isinstance(value, dict):
            value.pop("quick", None)
    if asked == had:
        return
    where, had_value, asked_value = _first_difference(key, had, asked)
    raise ConfigError(
        f"{line}: a resume continues the saved run, whose {where} is {_short(had_value)} (this "
        f"command line makes it {_short(asked_value)}); model, loss, data, optim and seed cannot "
        "change on resume, only iterations, trainer, logger, callbacks and eval; start a new "
        "run without ckpt_path to change it")


def _first_difference(key: str, had: Any, asked: Any) -> tuple[str, Any, Any]:
    """The first leaf (dotted key) where two config values differ, with both values."""
    old, new = flatten(had, key + "."), flatten(asked, key + ".")
    for leaf in sorted(set(old) | set(new)):
        if old.get(leaf, "<unset>") != new.get(leaf, "<unset>"):
            return leaf, old.get(leaf, "<unset>"), new.get(leaf, "<unset>")
    return key, had, asked


def _resolved(cfg: DictConfig, key: str) -> Any:
    try:
        value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
        return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    except Exception:  # noqa: BLE001 - unresolvable in this composition: not what was saved
        return "<unresolvable>"


def _short(value: Any) -> str:
    if isinstance(value, dict) and "_target_" in value:
        return value["_target_"].rsplit(".", 1)[-1]
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _rerooted(saved: DictConfig, old: Any, new: str) -> DictConfig:
    """``saved`` with every path under the old run folder moved under ``new``."""
    plain = OmegaConf.to_container(saved, resolve=False)
    if old and str(old) != new:
        prefix = str(old).rstrip("/")

        def move(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: move(v) for k, v in value.items()}
            if isinstance(value, list):
                return [move(v) for v in value]
            if isinstance(value, str) and (value == prefix or value.startswith(prefix + "/")):
                return new + value[len(prefix):]
            return value

        plain = move(plain)
    return OmegaConf.create(plain)


def _describe_changes(before: DictConfig, after: DictConfig) -> list[str]:
    # Compared as written: a value derived from a changed one (``${iterations}``) is not listed.
    old = flatten(OmegaConf.to_container(before, resolve=False))
    new = flatten(OmegaConf.to_container(after, resolve=False))
    skip = ("run_dir", "ckpt_path")
    changes = []
    for key in sorted(set(old) | set(new)):
        if key in skip or old.get(key, "<unset>") == new.get(key, "<unset>"):
            continue
        changes.append(f"{key} {_short(old.get(key, '<unset>'))} -> {_short(new.get(key, '<unset>'))}")
    return changes

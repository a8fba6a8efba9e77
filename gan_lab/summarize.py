"""`python -m gan_lab.summarize FOLDER`: one table and one plot for a sweep.

FOLDER is a multirun folder (``multirun/<date>/<time>/``, an Optuna study's too) or any folder
of run folders: a run folder is one with ``.hydra/config.yaml``, found at any depth; folders
inside a run (``python -m gan_lab.evaluate`` outputs, say) are not runs of their own. Each
run brings its overrides (``.hydra/overrides.yaml``), how it ended (``end.json``), its final
evaluation (``results.json``), its evaluation curve (``eval/metrics.csv``) and its training log
(``metrics.csv``). Written to ``--out`` (default: FOLDER):

- ``summary.csv``, ``summary.md``: one row per run, ranked by the metric (default: the runs'
  ``eval.objective``): the overrides that vary across runs, then every final metric. A
  training loss (``loss/...``, ``score/...``) is not ranked across runs of different objectives
  (``loss=hinge,nsgan``: different scales) unless ``--rank-anyway`` says so. With
  ``--group-by KEY,...`` also ``groups.csv`` and a second table in ``summary.md``: one row per
  value of those keys, each metric's mean ± standard error over the other runs (the seeds).
  An Optuna study's ``optimization_results.yaml`` is reported and its best trial's run named.
- ``summary.png``: the metric against the generator iteration, one line per run (or per
  group: the mean with a band of ± one standard error), the best run (group) marked.

The functions below (``collect``, ``group``, ``mean_spread``, ``mean_curve``, ...) are also the
generic half of the experiments' own ``summarize.py`` scripts.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import statistics
import sys
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Run", "Stats", "Summary", "collect", "common_overrides", "default_direction",
           "depends_on_objective", "group", "main", "markdown_table", "mean_curve",
           "mean_spread", "optuna_best_run", "optuna_results", "sample_sheet", "stats",
           "summarize", "varying_keys", "write_csv"]

# Metrics where a higher value is better; any other metric (FID, KID, reverse KL, L1, losses)
# is ranked lowest first unless --direction says otherwise.
HIGHER_IS_BETTER = re.compile(
    r"(^|/)(is|precision|recall|density|coverage|modes|high_quality|psnr|ssim|"
    r"\w*accuracy)(_|$)")
DONE_LINE = re.compile(r"gan_lab: done, iteration \d+ in (?:(\d+)h)?(\d+)m(\d+)s")
# Metrics whose scale is set by the training objective (the losses, the discriminator's raw
# scores): a hinge run's loss/g and an nsgan run's loss/g are not on one scale.
OBJECTIVE_DEPENDENT = re.compile(r"^(loss|score)/")
# Where a run's value of a metric comes from, as the summary says it.
SOURCES = {"results.json": "the final evaluation (results.json)",
           "eval/metrics.csv": "the last evaluation (eval/metrics.csv)",
           "metrics.csv": "the training log's last value (metrics.csv)"}


# ----------------------------------------------------------------------------- runs
@dataclass
class Run:
    """One run folder: what it was asked to do and what it measured."""

    path: Path
    name: str  # the folder relative to the collected root ("3", "loss=hinge/seed=0", ...)
    overrides: dict[str, str] = field(default_factory=dict)

    @cached_property
    def config(self) -> dict:
        """The run's composed config as saved (``.hydra/config.yaml``, interpolations kept)."""
        return _read_yaml(self.path / ".hydra" / "config.yaml") or {}

    @cached_property
    def choices(self) -> dict[str, str]:
        """Config-group choices (``loss: nsgan``, ...) from ``.hydra/hydra.yaml``."""
        hydra = _read_yaml(self.path / ".hydra" / "hydra.yaml") or {}
        choices = (hydra.get("hydra", {}).get("runtime", {}) or {}).get("choices", {}) or {}
        return {str(k): str(v) for k, v in choices.items()}

    @cached_property
    def results(self) -> dict[str, Any]:
        """``results.json`` (the final evaluation); empty while the run is unfinished."""
        path = self.path / "results.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    @cached_property
    def end(self) -> dict[str, Any]:
        """``end.json``, how the run's latest segment ended (status ``finished`` or ``stopped``,
        iteration, budget, seconds, reason); empty for a run still going, killed outright, or
        written before runs kept one (or an unreadable one: then the older signs decide)."""
        path = self.path / "end.json"
        try:
            record = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    @property
    def status(self) -> str | None:
        """``finished`` or ``stopped`` from ``end.json``; without one (older runs), finished
        if it has a ``results.json`` or its log has the done line; else None (unknown)."""
        if self.end.get("status") in ("finished", "stopped"):
            return self.end["status"]
        if self.results or any(DONE_LINE.search(line) for line in self.log_lines):
            return "finished"
        return None

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    @property
    def metrics(self) -> dict[str, float]:
        """The numeric entries of ``results.json`` except ``iteration``."""
        return {k: float(v) for k, v in self.results.items() if k != "iteration" and _number(v)}

    @property
    def iteration(self) -> int | None:
        """The iteration of the final evaluation (the final metrics are at it), else the last
        one trained (``end.json``), else the furthest of the evaluation curve and the training
        log (a run still going, or older), else None."""
        if _number(self.results.get("iteration")):
            return int(self.results["iteration"])
        if _number(self.end.get("iteration")):
            return int(self.end["iteration"])
        seen = [int(float(row[x])) for rows, x in ((self.eval_rows, "iteration"),
                                                   (self.train_rows, "step"))
                for row in rows if _number_text(row.get(x))]
        return max(seen) if seen else None

    @property
    def objective(self) -> str | None:
        """The metric the run returned to the sweeper (``eval.objective``)."""
        evaluation = self.config.get("eval") or {}
        return evaluation.get("objective") if isinstance(evaluation, dict) else None

    @property
    def training_objective(self) -> str | None:
        """What the run trained against: its ``loss`` group choice (``hinge``), else the loss's
        class (``AdversarialLoss``), with ``loss.objective`` beside it where that says more
        (``wgan_gp (wasserstein)``, ``nsgan (hinge)`` after ``loss.objective=hinge``); None
        for a run with neither."""
        node = self.config.get("loss")
        node = node if isinstance(node, dict) else {}
        target = node.get("_target_")
        name = self.choices.get("loss") or (str(target).rsplit(".", 1)[-1] if target else None)
        inner = node.get("objective")
        if isinstance(inner, str) and inner != name:
            return f"{name} ({inner})" if name else inner
        return name

    @cached_property
    def eval_rows(self) -> list[dict[str, str]]:
        """``eval/metrics.csv``: one row per evaluation (tag, iteration, metrics)."""
        return _read_csv(self.path / "eval" / "metrics.csv")

    @cached_property
    def train_rows(self) -> list[dict[str, str]]:
        """``metrics.csv``: the logged losses and metrics (``step`` = generator iteration)."""
        return _read_csv(self.path / "metrics.csv")

    def curve(self, metric: str) -> list[tuple[int, float]]:
        """(iteration, value) of ``metric``: from the evaluation curve, else the training log."""
        for rows, x in ((self.eval_rows, "iteration"), (self.train_rows, "step")):
            points = [(int(float(r[x])), float(r[metric])) for r in rows
                      if _number_text(r.get(metric)) and _number_text(r.get(x))]
            if points:
                return points
        return []

    def final(self, metric: str) -> float | None:
        """``metric`` of the final evaluation, else the last point of its curve."""
        if metric in self.metrics:
            return self.metrics[metric]
        points = self.curve(metric)
        return points[-1][1] if points else None

    def source(self, metric: str) -> str | None:
        """Where :meth:`final` takes ``metric`` from: ``results.json``, ``eval/metrics.csv``
        or ``metrics.csv`` (the training log); None where the run does not have it."""
        if metric in self.metrics:
            return "results.json"
        for rows, x, name in ((self.eval_rows, "iteration", "eval/metrics.csv"),
                              (self.train_rows, "step", "metrics.csv")):  # as curve() reads
            if any(_number_text(row.get(metric)) and _number_text(row.get(x)) for row in rows):
                return name
        return None

    def value(self, key: str) -> str | None:
        """What the run had for ``key``: its override, else its config-group choice (``loss``),
        else the scalar at that dotted key of its config; None if it has none."""
        if key in self.overrides:
            return self.overrides[key]
        if key in self.choices:
            return self.choices[key]
        node: Any = self.config
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return None if isinstance(node, dict | list) else str(node)

    @cached_property
    def log_lines(self) -> list[str]:
        """The lines of the run's job logs (``*.log`` in its folder: Hydra names the log after
        the job, ``cli.log`` for ``python -m gan_lab``)."""
        return [line for path in sorted(self.path.glob("*.log")) if path.is_file()
                for line in path.read_text(errors="replace").splitlines()]

    @cached_property
    def minutes(self) -> float | None:
        """Training time from the run's done lines in its log ("gan_lab: done, iteration N in
        12m03s"), summed over resumed segments; else the wall time ``end.json`` records for
        its latest segment (a stopped run prints no done line); else None."""
        total = None
        for line in self.log_lines:
            match = DONE_LINE.search(line)
            if match:
                hours, minutes, seconds = (int(g or 0) for g in match.groups())
                total = (total or 0) + hours * 60 + minutes + seconds / 60
        if total is None and _number(self.end.get("seconds")):
            total = float(self.end["seconds"]) / 60
        return total

    @property
    def span_minutes(self) -> float | None:
        """Wall time from the run's start (``.hydra/config.yaml`` written) to its final
        evaluation (``results.json`` written), preparation and evaluation included."""
        start, end = self.path / ".hydra" / "config.yaml", self.path / "results.json"
        if not (start.is_file() and end.is_file()):
            return None
        return (end.stat().st_mtime - start.stat().st_mtime) / 60

    @property
    def samples(self) -> list[Path]:
        """The run's sample grids (``samples/iter_*.png``), oldest first."""
        return sorted((self.path / "samples").glob("iter_*.png"))

    def label(self, keys: Sequence[str]) -> str:
        """``key=value`` for ``keys`` (the overrides that vary), else the folder name."""
        parts = [f"{key}={_short(self.value(key))}" for key in keys]
        return " ".join(parts) if parts else self.name


def collect(root: str | Path, finished: bool = False) -> list[Run]:
    """Every run folder under ``root`` (or ``root`` itself), in natural order (2 before 10).
    ``finished``: only the finished runs (:attr:`Run.finished`: ``end.json`` says so; for
    older runs, a ``results.json`` or the log's done line)."""
    root = Path(root)
    found = sorted({p.parent.parent for p in root.rglob(".hydra/config.yaml")},
                   key=lambda p: _natural(p.relative_to(root).as_posix()))
    outermost: list[Path] = []
    for path in found:  # a run's own sub-folders (evaluate outputs) are not runs
        if not any(parent in outermost for parent in path.parents):
            outermost.append(path)
    runs = []
    for path in outermost:
        name = path.relative_to(root).as_posix()
        run = Run(path, "." if name == "." else name, _read_overrides(path))
        if run.finished or not finished:
            runs.append(run)
    return runs


def _read_overrides(path: Path) -> dict[str, str]:
    """``.hydra/overrides.yaml`` as {key: value as typed}; ``+key``/``++key`` count as ``key``."""
    lines = _read_yaml(path / ".hydra" / "overrides.yaml") or []
    overrides: dict[str, str] = {}
    for line in lines:
        key, _, value = str(line).partition("=")
        if key.startswith("~"):
            overrides[key] = value or "(deleted)"
        else:
            overrides[key.lstrip("+")] = value
    return overrides


def seeded_runs(root: str | Path) -> Iterator[tuple[str, int, Run]]:
    """(name, seed, run) for the finished runs in folders named ``<name>_s<seed>`` directly
    under ``root`` (the experiments' layout); other folders are skipped, and so are the runs of
    a study nested deeper (``runs/long/``: its own study, summarised on its own)."""
    root = Path(root)
    for run in collect(root, finished=True):
        name, _, seed = run.path.name.rpartition("_s")
        if name and seed.isdigit() and run.path.parent == root:
            yield name, int(seed), run


def varying_keys(runs: Sequence[Run]) -> list[str]:
    """The override keys whose value is not the same in every run, in first-seen order."""
    keys = list(dict.fromkeys(k for run in runs for k in run.overrides))
    return [k for k in keys if len({run.overrides.get(k) for run in runs}) > 1]


def common_overrides(runs: Sequence[Run]) -> list[str]:
    """``key=value`` of the overrides every run has alike."""
    if not runs:
        return []
    varying = set(varying_keys(runs))
    return [f"{k}={v}" for k, v in runs[0].overrides.items() if k not in varying]


# ----------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class Stats:
    """Mean, sample standard deviation and standard error of the mean of n values."""

    n: int
    mean: float
    std: float
    se: float

    def spread(self, kind: str) -> float:
        if kind not in ("se", "std"):
            raise ValueError(f"spread={kind!r}: se or std")
        return self.se if kind == "se" else self.std


def stats(values: Iterable[float]) -> Stats:
    """Mean, std (n - 1) and standard error; std and se are nan for a single value."""
    values = [float(v) for v in values]
    if not values:
        return Stats(0, math.nan, math.nan, math.nan)
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return Stats(len(values), mean, std, std / math.sqrt(len(values)))


def mean_spread(values: Iterable[float], spread: str = "se", digits: int = 3,
                spread_digits: int = 2, empty: str = "—") -> str:
    """``"mean ± spread"`` (3 and 2 significant digits); one value alone; ``empty`` for none."""
    s = stats(values)
    if s.n == 0:
        return empty
    if s.n == 1:
        return f"{s.mean:.{digits}g}"
    return f"{s.mean:.{digits}g} ± {s.spread(spread):.{spread_digits}g}"


def group(runs: Iterable[Run], by: Sequence[str] | Callable[[Run], Hashable]
          ) -> dict[Any, list[Run]]:
    """Runs grouped by their values of the keys ``by`` (a tuple per group) or by ``by(run)``;
    groups in first-seen order."""
    key = by if callable(by) else (lambda run: tuple(run.value(k) for k in by))
    groups: dict[Any, list[Run]] = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run)
    return groups


def mean_curve(curves: Iterable[Sequence[tuple[float, float]]], spread: str = "se"
               ) -> tuple[list[float], list[float], list[float]]:
    """Pointwise mean and spread of several curves: (xs, means, spreads) over every x that
    any curve has (each x's statistics from the curves that have it)."""
    at: dict[float, list[float]] = {}
    for curve in curves:
        for x, y in curve:
            at.setdefault(x, []).append(float(y))
    xs = sorted(at)
    summaries = [stats(at[x]) for x in xs]
    return xs, [s.mean for s in summaries], [s.spread(spread) for s in summaries]


def depends_on_objective(metric: str) -> bool:
    """Whether ``metric``'s scale is set by the training objective (``loss/...``, the
    discriminator's ``score/...``): comparable only between runs of one objective."""
    return bool(OBJECTIVE_DEPENDENT.search(metric))


def default_direction(metric: str) -> str:
    """``maximize`` for metrics where higher is better (IS, precision, recall, accuracy, PSNR,
    SSIM, toy modes and high-quality share), else ``minimize`` (FID, KID, reverse KL, L1)."""
    return "maximize" if HIGHER_IS_BETTER.search(metric) else "minimize"


# ----------------------------------------------------------------------------- output
def markdown_table(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A markdown table (cells as str; no trailing newline)."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(path: str | Path, fieldnames: Sequence[str], rows: Iterable[dict[str, Any]]
              ) -> None:
    """Rows (dicts) as CSV; keys outside ``fieldnames`` are left out, missing ones empty."""
    with Path(path).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fieldnames), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def sample_sheet(panels: Sequence[tuple[str, Run]], path: str | Path, columns: int = 8,
                 size: float = 2.8) -> None:
    """One figure of the latest sample grid of each ``(title, run)``, ``columns`` to a row (runs
    without grids get an empty panel); nothing is written for no panels."""
    import matplotlib.image as mpimg
    from matplotlib.figure import Figure

    if not panels:
        return
    columns = min(columns, len(panels))
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(size * columns, (size + 0.3) * rows))
    grid = figure.subplots(rows, columns, squeeze=False).flatten()
    for axes in grid:
        axes.axis("off")
    for axes, (title, run) in zip(grid, panels, strict=False):
        if run.samples:
            axes.imshow(mpimg.imread(run.samples[-1]), cmap="gray")
        axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def optuna_results(root: str | Path) -> dict[str, Any] | None:
    """An Optuna study's ``optimization_results.yaml`` (best_params, best_value), if any."""
    path = Path(root) / "optimization_results.yaml"
    return _read_yaml(path) if path.is_file() else None


def optuna_best_run(runs: Sequence[Run], best_params: dict[str, Any]) -> Run | None:
    """The run whose overrides hold all of Optuna's best parameters."""
    for run in runs:
        if all(_same(run.overrides.get(str(k)), v) for k, v in best_params.items()):
            return run
    return None


# ----------------------------------------------------------------------------- the summary
@dataclass
class Summary:
    """What ``summarize`` found and wrote."""

    runs: list[Run]
    metric: str
    direction: str
    ranked: list[Run]          # runs with the metric, best first
    best: Run | None
    files: list[Path]
    markdown: str
    objectives: list[str] = field(default_factory=list)  # differing ones, ranked anyway


def summarize(root: str | Path, metric: str | None = None, group_by: Sequence[str] = (),
              spread: str = "se", direction: str | None = None,
              out: str | Path | None = None, rank_anyway: bool = False) -> Summary:
    """Collect the runs under ``root`` and write summary.csv, summary.md, summary.png (and
    groups.csv with ``group_by``) to ``out`` (default ``root``). ValueError, in one line, when
    there is nothing to summarise, the metric cannot be told, or it is a training loss of runs
    whose objectives differ (``rank_anyway``: rank them all the same, and say so)."""
    root = Path(root)
    runs = collect(root) if root.is_dir() else []
    metric, direction = _check(root, runs, metric, group_by, spread, direction)
    objectives = _differing_objectives(runs, metric)
    if objectives and not rank_anyway:
        raise ValueError(_incomparable(runs, metric, objectives))
    sign = 1.0 if direction == "minimize" else -1.0
    ranked = sorted((run for run in runs if run.final(metric) is not None),
                    key=lambda run: _order(sign * run.final(metric)))  # a diverged (nan) run last
    best = ranked[0] if ranked else None
    out = Path(out) if out is not None else root
    out.mkdir(parents=True, exist_ok=True)
    keys = varying_keys(runs)
    metrics = list(dict.fromkeys([metric, *(m for run in runs for m in run.metrics)]))

    # one row per run, best first; runs without the metric last
    rank = {id(run): i + 1 for i, run in enumerate(ranked)}
    ordered = ranked + [run for run in runs if id(run) not in rank]
    rows = [{"rank": rank.get(id(run), ""), "run": run.name,
             **{k: run.overrides.get(k, "") for k in keys},
             "iteration": _blank(run.iteration), "minutes": _blank(run.minutes),
             **{m: _blank(run.final(m)) for m in metrics}} for run in ordered]
    files = [out / "summary.csv", out / "summary.md"]
    write_csv(files[0], ["rank", "run", *keys, "iteration", "minutes", *metrics], rows)
    text = _preamble(root, runs, metric, direction, ranked, objectives)
    text += ["", markdown_table(
        ["rank", "run", *keys, "iteration", "minutes", *metrics],
        [[row["rank"], f"**{row['run']}**" if run is best else row["run"],
          *(_short(row[k]) for k in keys), row["iteration"], _fmt(row["minutes"], 2),
          *(_fmt(row[m]) for m in metrics)] for run, row in zip(ordered, rows)])]

    # one row per value of the group-by keys, best first
    groups = None
    if group_by:
        found = group(ranked, list(group_by))
        groups = dict(sorted(found.items(), key=lambda item: _order(
            sign * stats(r.final(metric) for r in item[1]).mean)))
        cells, group_rows = [], []
        for value, members in groups.items():
            row: dict[str, Any] = {**dict(zip(group_by, value)), "runs": len(members)}
            values = {m: [v for v in (r.final(m) for r in members) if v is not None]
                      for m in metrics}
            for m in metrics:
                s = stats(values[m])
                row[f"{m} mean"], row[f"{m} {spread}"] = _blank(s.mean), _blank(s.spread(spread))
            group_rows.append(row)
            cells.append([*(_short(v) for v in value), len(members),
                          *(mean_spread(values[m], spread, digits=4) for m in metrics)])
        files.append(out / "groups.csv")
        write_csv(files[-1], [*group_by, "runs", *(f"{m} {kind}" for m in metrics
                                                   for kind in ("mean", spread))], group_rows)
        text += ["", f"## By {', '.join(group_by)} (mean ± {_SPREAD[spread]} over the other "
                 "runs)", "", markdown_table([*group_by, "runs", *metrics], cells)]

    files.append(out / "summary.png")
    _plot(runs, metric, direction, keys, best, groups, list(group_by), spread, files[-1])
    text += ["", f"![{metric} per iteration](summary.png)"]
    markdown = "\n".join(text) + "\n"
    files[1].write_text(markdown)
    return Summary(runs, metric, direction, ranked, best, files, markdown, objectives)


def _check(root: Path, runs: Sequence[Run], metric: str | None, group_by: Sequence[str],
           spread: str, direction: str | None) -> tuple[str, str]:
    """The metric and direction to rank by; ValueError naming what is wrong with the request."""
    if not root.is_dir():
        raise ValueError(f"{root}: no such folder")
    if not runs:
        raise ValueError(f"{root}: no runs in it (a run folder has .hydra/config.yaml)")
    if spread not in _SPREAD:
        raise ValueError(f"--spread {spread}: se (standard error) or std")
    metric = metric or _objective(runs)
    if not any(run.final(metric) is not None for run in runs):
        known = sorted({m for run in runs for m in run.metrics})
        raise ValueError(f"no run has the metric {metric!r}; the final metrics are "
                         f"{', '.join(known) or 'none (no results.json)'}")
    direction = direction or default_direction(metric)
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"--direction {direction}: minimize or maximize")
    missing = [key for key in group_by if all(run.value(key) is None for run in runs)]
    if missing:
        raise ValueError(f"--group-by {missing[0]}: no run has it; the overrides that vary are "
                         f"{', '.join(varying_keys(runs)) or 'none'}")
    return metric, direction


def _differing_objectives(runs: Sequence[Run], metric: str) -> list[str]:
    """The training objectives of the runs that have ``metric``, when it depends on the
    objective and they are not all one (sorted); else none."""
    if not depends_on_objective(metric):
        return []
    found = {run.training_objective for run in runs if run.final(metric) is not None}
    found.discard(None)
    return sorted(found) if len(found) > 1 else []


def _incomparable(runs: Sequence[Run], metric: str, objectives: Sequence[str]) -> str:
    """The one-line refusal to rank ``metric`` across ``objectives``, with the ways on."""
    evaluated = {m for run in runs for m in run.metrics}
    evaluated |= {key for run in runs for row in run.eval_rows for key in row}
    comparable = sorted(m for m in evaluated - {"tag", "iteration"} if not depends_on_objective(m))
    objective = _objective(runs, strict=False)  # the one the sweep was run for, first
    comparable.sort(key=lambda m: m != objective)
    if comparable:
        instead = f"--metric {comparable[0]}" + (
            f"; the runs also have {', '.join(comparable[1:])}" if comparable[1:] else "")
    else:  # nothing evaluated: say how to get an evaluation
        instead = "e.g. --metric classifier/fid of a sweep run with eval=classifier"
    return (f"--metric {metric}: its scale depends on the training objective, and the runs' "
            f"objectives differ ({', '.join(objectives)}); rank by an evaluation metric "
            f"instead ({instead}), or pass --rank-anyway to rank them all the same")


def _preamble(root: Path, runs: Sequence[Run], metric: str, direction: str,
              ranked: Sequence[Run], objectives: Sequence[str]) -> list[str]:
    """The summary's title, what it ranked by (the metric, why that one, which way, where the
    values come from), shared overrides and Optuna's verdict (markdown lines)."""
    better = "lower" if direction == "minimize" else "higher"
    origin = " (the runs' eval.objective)" if metric == _objective(runs, strict=False) else ""
    best = ranked[0] if ranked else None
    ended = [f"{sum(run.finished for run in runs)} finished"]
    stopped = sum(run.status == "stopped" for run in runs)
    ended += [f"{stopped} stopped"] if stopped else []
    text = [f"# Summary of {root}", "",
            f"{len(runs)} run{'s' * (len(runs) != 1)} ({', '.join(ended)}), ranked by {metric}{origin}, {better} is "
            f"better, from {_sources(ranked, metric)}; best: {best.name if best else '—'}."]
    if objectives:
        text += ["", f"**The runs' training objectives differ ({', '.join(objectives)})**: "
                 f"{metric} is on a different scale under each, so this ranking (asked for "
                 "with --rank-anyway) does not compare like with like."]
    common = common_overrides(runs)
    if common:
        text += ["", "Every run: " + " ".join(f"`{o}`" for o in common)]
    study = optuna_results(root)
    if study and "best_params" in study:
        trial = optuna_best_run(runs, study["best_params"])
        params = ", ".join(f"{k}={_short(v)}" for k, v in study["best_params"].items())
        text += ["", f"Optuna (optimization_results.yaml): best value "
                 f"{_fmt(study.get('best_value'))} with {params}"
                 + (f" (run {trial.name})." if trial else ".")]
    return text


def _sources(runs: Sequence[Run], metric: str) -> str:
    """Where the runs' values of ``metric`` come from, in words; with each source's count
    when they differ."""
    counts: dict[str, int] = {}
    for run in runs:
        source = run.source(metric)
        if source is not None:
            counts[source] = counts.get(source, 0) + 1
    if len(counts) <= 1:
        return SOURCES[next(iter(counts))] if counts else "no run"
    return " and ".join(f"{SOURCES[source]} for {n} run{'s' * (n > 1)}"
                        for source, n in counts.items())


_SPREAD = {"se": "standard error", "std": "standard deviation"}


def _objective(runs: Sequence[Run], strict: bool = True) -> str | None:
    objectives = {run.objective for run in runs if run.objective}
    if len(objectives) == 1:
        return objectives.pop()
    if not strict:
        return None
    if not objectives:
        raise ValueError("the runs have no eval.objective (eval=none?); choose a metric with "
                         "--metric NAME (e.g. loss/g from metrics.csv)")
    raise ValueError(f"the runs have different eval.objective ({', '.join(sorted(objectives))}); "
                     "choose one with --metric NAME")


def _plot(runs: Sequence[Run], metric: str, direction: str, keys: Sequence[str],
          best: Run | None, groups: dict[Any, list[Run]] | None, group_by: Sequence[str],
          spread: str, path: Path) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.2))
    axes = figure.subplots()
    values: list[float] = []
    if groups is None:
        drawn = [run for run in runs if run.curve(metric)]
        for run in drawn:
            xs, ys = zip(*run.curve(metric))
            values += ys
            is_best = run is best
            axes.plot(xs, ys, marker="o", markersize=3, linewidth=2.6 if is_best else 1.2,
                      zorder=3 if is_best else 2,
                      label=run.label(keys) + (" (best)" if is_best else ""))
            if is_best:
                axes.plot([xs[-1]], [best.final(metric)], marker="*", markersize=15,
                          color=axes.lines[-1].get_color(), zorder=4, linestyle="none")
        title = f"{metric}, one line per run"
    else:
        for i, (value, members) in enumerate(groups.items()):
            xs, means, spreads = mean_curve([run.curve(metric) for run in members], spread)
            if not xs:
                continue
            values += means
            label = " ".join(f"{k}={_short(v)}" for k, v in zip(group_by, value))
            is_best = i == 0
            line, = axes.plot(xs, means, marker="o", markersize=3,
                              linewidth=2.6 if is_best else 1.2,
                              label=f"{label} (n={len(members)})" + (" (best)" if is_best else ""))
            low = [m - (s if math.isfinite(s) else 0.0) for m, s in zip(means, spreads)]
            high = [m + (s if math.isfinite(s) else 0.0) for m, s in zip(means, spreads)]
            axes.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        title = f"{metric}, mean ± {_SPREAD[spread]} per group"
    positive = [v for v in values if v > 0]
    if positive and len(positive) == len(values) and max(positive) / min(positive) > 20:
        axes.set_yscale("log")
    axes.set_xlabel("generator iteration")
    axes.set_ylabel(f"{metric} ({'lower' if direction == 'minimize' else 'higher'} is better)")
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    if axes.lines:
        handles, labels = axes.get_legend_handles_labels()
        if len(handles) > 15:  # too many to read: the best one only
            handles, labels = zip(*[(h, t) for h, t in zip(handles, labels) if "(best)" in t])
        axes.legend(handles, labels, fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


# ----------------------------------------------------------------------------- helpers
def _read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_text(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _natural(text: str) -> list:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", text) if part]


def _same(override: str | None, value: Any) -> bool:
    if override is None:
        return False
    if _number_text(override) and _number(value):
        return math.isclose(float(override), float(value), rel_tol=1e-9, abs_tol=0.0)
    return override.strip("'\"") == str(value)


def _short(value: Any) -> str:
    """Override values for reading: long floats to 4 significant digits."""
    if value is None:
        return "—"
    text = str(value)
    if _number_text(text) and not text.lstrip("-").isdigit() and len(text) > 8:
        return f"{float(text):.4g}"
    return text


def _fmt(value: Any, digits: int = 4) -> str:
    if value in ("", None):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _order(value: float) -> tuple[bool, float]:
    """Sort key: finite values by size, then nan and infinities."""
    return (not math.isfinite(value), value if math.isfinite(value) else 0.0)


def _blank(value: Any) -> Any:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else value


# ----------------------------------------------------------------------------- command
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gan_lab.summarize",
        description="One table (CSV + markdown) and one plot for a multirun folder (or any "
                    "folder of runs): the overrides that vary, the final metrics, the metric "
                    "per iteration, the best run marked.")
    parser.add_argument("folder", help="a multirun folder, e.g. multirun/2026-11-30/10-00-00")
    parser.add_argument("--metric", help="the metric to rank and plot (default: the runs' "
                        "eval.objective); from results.json/eval/metrics.csv, else metrics.csv")
    parser.add_argument("--group-by", action="append", default=[], metavar="KEY[,KEY]",
                        help="also a table per value of these override keys, mean ± spread "
                        "over the other runs (e.g. the seeds)")
    parser.add_argument("--spread", choices=("se", "std"), default="se",
                        help="standard error of the mean (default) or standard deviation")
    parser.add_argument("--direction", choices=("minimize", "maximize"),
                        help="which way is better (default: from the metric's name; FID, KID, "
                        "reverse KL: minimize)")
    parser.add_argument("--out", help="where to write the outputs (default: the folder)")
    parser.add_argument("--rank-anyway", action="store_true",
                        help="rank by a training loss (loss/..., score/...) even where the runs' "
                        "objectives differ (loss=hinge,nsgan), whose scales do not compare; the "
                        "summary says so")
    args = parser.parse_args(argv)
    group_by = [key for item in args.group_by for key in item.split(",") if key]
    try:
        summary = summarize(args.folder, args.metric, group_by, args.spread, args.direction,
                            args.out, rank_anyway=args.rank_anyway)
    except ValueError as error:
        print(f"gan_lab.summarize: {error}", file=sys.stderr)
        return 2
    print(summary.markdown, end="")
    print(f"gan_lab.summarize: {len(summary.runs)} runs; wrote "
          + ", ".join(str(p) for p in summary.files))
    return 0


if __name__ == "__main__":
    sys.exit(main())

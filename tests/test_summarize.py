"""`python -m gan_lab.summarize`: one table and one plot for a sweep (on real tiny sweeps), and
the experiments' summarize.py scripts on its functions (on run folders rebuilt from their
committed results.csv: the committed tables come out again)."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import statistics
from pathlib import Path

import pytest
import yaml

from gan_lab.summarize import (
    collect,
    default_direction,
    main,
    mean_curve,
    mean_spread,
    seeded_runs,
    stats,
    summarize,
)
from tests.conftest import REPO, run_cli


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def objective(run: Path) -> float:
    return json.loads((run / "results.json").read_text())["toy/reverse_kl"]


def test_summary_of_a_multirun(toy_multirun, tmp_path):
    done = run_cli(str(toy_multirun), "--group-by", "model.packing", "--out", str(tmp_path),
                   module="gan_lab.summarize", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "groups.csv", "summary.csv", "summary.md", "summary.png"]
    assert (tmp_path / "summary.png").stat().st_size > 10_000
    rows = read_csv(tmp_path / "summary.csv")
    # one row per run; columns: the overrides that vary, then the final metrics
    assert list(rows[0])[:6] == ["rank", "run", "model.packing", "seed", "iteration", "minutes"]
    assert {"toy/reverse_kl", "toy/modes"} <= set(rows[0]) and "experiment" not in rows[0]
    scores = {row["run"]: float(row["toy/reverse_kl"]) for row in rows}
    assert scores == {run: objective(toy_multirun / run) for run in ("0", "1", "2", "3")}
    assert [float(row["toy/reverse_kl"]) for row in rows] == sorted(scores.values())  # ranked
    assert [row["rank"] for row in rows] == ["1", "2", "3", "4"]
    best = rows[0]["run"]
    markdown = (tmp_path / "summary.md").read_text()
    assert f"| 1 | **{best}** |" in markdown and "lower is better" in markdown
    assert "`experiment=toy`" in markdown  # overrides every run shares, said once
    # by packing: mean ± standard error over the two seeds of each packing
    groups = {row["model.packing"]: row for row in read_csv(tmp_path / "groups.csv")}
    assert set(groups) == {"1", "2"}
    for packing, runs in (("1", ("0", "1")), ("2", ("2", "3"))):
        values = [objective(toy_multirun / run) for run in runs]
        assert groups[packing]["runs"] == "2"
        assert float(groups[packing]["toy/reverse_kl mean"]) == pytest.approx(
            statistics.fmean(values))
        assert float(groups[packing]["toy/reverse_kl se"]) == pytest.approx(
            statistics.stdev(values) / math.sqrt(2))
    assert "## By model.packing (mean ± standard error" in markdown
    assert done.stdout.startswith("# Summary of") and "wrote" in done.stdout


def test_runs_carry_their_overrides_curves_and_training_log(toy_multirun):
    runs = collect(toy_multirun)
    assert [run.name for run in runs] == ["0", "1", "2", "3"]
    run = runs[3]
    assert (run.overrides["model.packing"], run.overrides["seed"]) == ("2", "1")
    assert run.value("model.packing") == "2" and run.value("model") == "toy_mlp"  # group choice
    assert run.objective == "toy/reverse_kl" and run.iteration == 150
    curve = run.curve("toy/reverse_kl")
    assert [it for it, _ in curve] == [50, 100, 150]
    assert curve[-1][1] == pytest.approx(objective(run.path))
    losses = run.curve("loss/d")  # not evaluated: from the training log (metrics.csv)
    assert losses and losses[-1][0] <= 150 and run.final("loss/d") == losses[-1][1]
    assert run.minutes is not None and run.minutes >= 0


def test_a_training_metric_and_the_best_direction(toy_multirun, tmp_path):
    assert main([str(toy_multirun), "--metric", "toy/modes", "--out", str(tmp_path)]) == 0
    rows = read_csv(tmp_path / "summary.csv")
    modes = [float(row["toy/modes"]) for row in rows]
    assert modes == sorted(modes, reverse=True)  # more modes is better
    assert main([str(toy_multirun), "--metric", "loss/g", "--out", str(tmp_path)]) == 0
    assert "ranked by loss/g, lower is better" in (tmp_path / "summary.md").read_text()


def test_the_optuna_study_and_its_best_trial(optuna_sweep, tmp_path):
    assert main([str(optuna_sweep), "--out", str(tmp_path)]) == 0
    markdown = (tmp_path / "summary.md").read_text()
    study = yaml.safe_load((optuna_sweep / "optimization_results.yaml").read_text())
    line = next(line for line in markdown.splitlines() if line.startswith("Optuna"))
    trial = line.rsplit("(run ", 1)[1].rstrip(").")
    overrides = yaml.safe_load((optuna_sweep / trial / ".hydra" / "overrides.yaml").read_text())
    for key, value in study["best_params"].items():
        assert any(o.startswith(f"{key}=") and float(o.split("=", 1)[1]) == pytest.approx(value)
                   for o in overrides), key
    assert objective(optuna_sweep / trial) == pytest.approx(study["best_value"])
    header = read_csv(tmp_path / "summary.csv")[0]
    assert {"optim.generator.lr", "optim.discriminator.lr"} <= set(header)  # the searched keys


def test_one_line_errors(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"gan_lab.summarize: {tmp_path}: no runs in it (a run "
                                       "folder has .hydra/config.yaml)\n")
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("eval:\n  objective: classifier/fid\n")
    (run / "results.json").write_text('{"classifier/fid": 3.0, "iteration": 10}')
    assert main([str(tmp_path), "--metric", "fid"]) == 2
    assert "no run has the metric 'fid'; the final metrics are classifier/fid" in \
        capsys.readouterr().err
    assert main([str(tmp_path), "--group-by", "lossx"]) == 2
    assert "--group-by lossx: no run has it" in capsys.readouterr().err


def test_statistics_helpers():
    assert mean_spread([]) == "—" and mean_spread([2.0]) == "2"
    assert mean_spread([1.0, 2.0, 3.0]) == "2 ± 0.58"  # standard error: 1 / sqrt(3)
    assert mean_spread([1.0, 2.0, 3.0], spread="std") == "2 ± 1"
    assert stats([1.0, 3.0]).se == pytest.approx(1.0)
    xs, means, spreads = mean_curve([[(1, 2.0), (2, 4.0)], [(1, 4.0)]])
    assert (xs, means) == ([1, 2], [3.0, 4.0]) and math.isnan(spreads[1])
    assert default_direction("classifier/fid") == "minimize"
    assert default_direction("toy/reverse_kl") == "minimize"
    for metric in ("classifier/is", "classifier/recall", "translation/class_accuracy_AtoB",
                   "translation/psnr_BtoA", "toy/high_quality"):
        assert default_direction(metric) == "maximize", metric


# ----------------------------------------------------------------------------- experiments
def experiment(name: str):
    """experiments/<name>/summarize.py as a module."""
    path = REPO / "experiments" / name / "summarize.py"
    spec = importlib.util.spec_from_file_location(f"summarize_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_run(folder: Path, results: dict, minutes: float | None = None,
             done_line: str | None = None) -> Path:
    """A finished run folder with these final results (and a one-point evaluation curve)."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text("eval:\n  objective: classifier/fid\n")
    (folder / ".hydra" / "overrides.yaml").write_text("[]\n")
    (folder / "results.json").write_text(json.dumps(results))
    (folder / "eval").mkdir()
    metrics = sorted(k for k in results if "/" in k)
    (folder / "eval" / "metrics.csv").write_text(
        "tag,iteration," + ",".join(metrics) + "\nfinal," + str(results["iteration"]) + ","
        + ",".join(repr(results[k]) for k in metrics) + "\n")
    if minutes is not None:  # the wall time from start to results.json
        start = 1_700_000_000.0
        os.utime(folder / ".hydra" / "config.yaml", (start, start))
        os.utime(folder / "results.json", (start + minutes * 60, start + minutes * 60))
    if done_line:
        (folder / "cli.log").write_text(f"[2026-11-30 05:41:31][gan_lab.train][INFO] - {done_line}\n")
    return folder


def numbers(row: dict[str, str]) -> dict:
    return {k: float(v) for k, v in row.items() if "/" in k and v != ""}


def regenerate(tmp_path: Path, name: str) -> Path:
    """experiments/<name>/summarize.py on tmp_path/runs, into tmp_path/out (returned); its
    table.md must come out as committed."""
    out = tmp_path / "out"
    out.mkdir()
    experiment(name).main(tmp_path / "runs", out)
    assert (out / "table.md").read_text() == (REPO / "experiments" / name / "table.md").read_text()
    return out


def test_a_diverged_run_ranks_last(tmp_path):
    fake_run(tmp_path / "0", {"classifier/fid": float("nan"), "iteration": 5})
    fake_run(tmp_path / "1", {"classifier/fid": 40.0, "iteration": 5})
    fake_run(tmp_path / "2", {"classifier/fid": 30.0, "iteration": 5})
    summary = summarize(tmp_path, out=tmp_path / "out")
    assert [run.name for run in summary.ranked] == ["2", "1", "0"] and summary.best.name == "2"


def test_seeded_runs_are_the_seed_folders_directly_under_the_study(tmp_path):
    fake_run(tmp_path / "runs" / "spade_s0", {"classifier/fid": 9.0, "iteration": 5})
    fake_run(tmp_path / "runs" / "spade_s10", {"classifier/fid": 8.0, "iteration": 5})
    fake_run(tmp_path / "runs" / "notes", {"classifier/fid": 7.0, "iteration": 5})
    fake_run(tmp_path / "runs" / "long" / "spade_s0", {"classifier/fid": 1.0, "iteration": 50})
    found = [(name, seed, run.results["iteration"]) for name, seed, run in
             seeded_runs(tmp_path / "runs")]
    assert found == [("spade", 0, 5), ("spade", 10, 5)]  # runs/long/ is a study of its own
    assert [(n, s) for n, s, _ in seeded_runs(tmp_path / "runs" / "long")] == [("spade", 0)]


def test_fashion_mnist_summary_gives_the_committed_table(tmp_path):
    here = REPO / "experiments" / "fashion_mnist_losses"
    committed = read_csv(here / "results.csv")
    for row in committed:
        fake_run(tmp_path / "runs" / f"{row['loss']}_s{row['seed']}",
                 {**numbers(row), "iteration": int(row["iteration"])}, float(row["minutes"]))
    out = regenerate(tmp_path, "fashion_mnist_losses")
    assert sorted(read_csv(out / "results.csv"), key=str) == sorted(committed, key=str)
    assert (out / "fid_curves.png").is_file()


def test_karras_family_summary_gives_the_committed_table(tmp_path):
    here = REPO / "experiments" / "karras_family"
    committed = read_csv(here / "results.csv")
    for row in committed:
        minutes = float(row["minutes"])
        clock = f"{int(minutes)}m{round((minutes - int(minutes)) * 60):02d}s"
        run = fake_run(tmp_path / "runs" / f"{row['name']}_s{row['seed']}",
                       {**numbers(row), "iteration": int(row["iteration"])},
                       done_line=f"gan_lab: done, iteration {row['iteration']} in {clock}; "
                                 "outputs in somewhere")
        if row["fid_without_ema"]:
            (run / "no_ema" / ".hydra").mkdir(parents=True)  # an evaluate output, not a run
            (run / "no_ema" / ".hydra" / "config.yaml").write_text("ema: false\n")
            (run / "no_ema" / "results.json").write_text(
                json.dumps({"classifier/fid": float(row["fid_without_ema"])}))
    assert len(experiment("karras_family").load(tmp_path / "runs")) == len(committed)  # not no_ema/
    out = regenerate(tmp_path, "karras_family")
    assert read_csv(out / "results.csv") == committed


def test_translation_summary_gives_the_committed_table(tmp_path):
    here = REPO / "experiments" / "translation"
    committed = read_csv(here / "results.csv")
    for row in committed:
        name = "cyclegan" if row["model"] == "cyclegan" else f"{row['model']}_{row['variant']}"
        fake_run(tmp_path / "runs" / f"{name}_s{row['seed']}",
                 {**numbers(row), "iteration": int(row["iteration"])}, float(row["minutes"]))
    out = regenerate(tmp_path, "translation")
    assert read_csv(out / "results.csv") == committed
    assert (out / "curves.png").is_file()


# ----------------------------------------------------------------------------- runs without eval
def training_run(folder: Path, loss: str, losses: list[float], end: dict | None = None,
                 log: str | None = None, objective: str | None = None) -> Path:
    """A run folder of a sweep without evaluation (eval=none): ``loss`` the group choice
    (``objective`` its loss.objective, default the same), ``losses`` the loss/g logged at
    steps 10, 20, ...; ``end`` its end.json, ``log`` its job log's text."""
    (folder / ".hydra").mkdir(parents=True)
    config = {"eval": None, "iterations": 100, "loss": {
        "_target_": "gan_lab.losses.AdversarialLoss", "objective": objective or loss}}
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump(
        {"hydra": {"runtime": {"choices": {"loss": loss, "model": "dcgan"}}}}))
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"loss={loss}"]))
    rows = [f"{10 * (i + 1)},{value},{-value},{value / 2}" for i, value in enumerate(losses)]
    (folder / "metrics.csv").write_text("step,loss/g,loss/d,score/real\n" + "\n".join(rows) + "\n")
    if end is not None:
        (folder / "end.json").write_text(json.dumps(end))
    if log is not None:
        (folder / "cli.log").write_text(log)
    return folder


def ended(iteration: int, status: str = "finished", seconds: float = 90.0) -> dict:
    """An end.json record as gan_lab.train writes it."""
    return {"status": status, "iteration": iteration, "budget": 100, "seconds": seconds,
            "reason": None if status == "finished" else "SIGINT"}


def test_runs_without_evaluation_are_finished_by_their_end_records(tmp_path):
    # the logs stop at step 90 (logged every 10); the runs trained to 100
    training_run(tmp_path / "0", "nsgan", [0.9] * 9, ended(100))
    training_run(tmp_path / "1", "nsgan", [0.7] * 9, ended(100, seconds=150.0))
    summary = summarize(tmp_path, "loss/g", out=tmp_path / "out")
    assert [run.finished for run in summary.runs] == [True, True]
    assert "2 runs (2 finished), ranked by loss/g" in summary.markdown
    rows = read_csv(tmp_path / "out" / "summary.csv")
    assert [(row["run"], row["iteration"]) for row in rows] == [("1", "100"), ("0", "100")]
    assert float(rows[0]["minutes"]) == pytest.approx(2.5)  # end.json's seconds, no done line
    assert [run.name for run in collect(tmp_path, finished=True)] == ["0", "1"]


def test_a_stopped_run_is_not_finished_even_with_an_older_evaluation(tmp_path):
    run = training_run(tmp_path / "0", "nsgan", [0.9] * 13, ended(130, "stopped"))
    (run / "results.json").write_text('{"classifier/fid": 30.0, "iteration": 100}')
    training_run(tmp_path / "1", "nsgan", [0.8] * 10, ended(100))
    assert [r.name for r in collect(tmp_path, finished=True)] == ["1"]
    assert [r.status for r in collect(tmp_path)] == ["stopped", "finished"]
    assert collect(tmp_path)[0].iteration == 100  # where its final metrics were measured
    summary = summarize(tmp_path, "loss/g", out=tmp_path / "out")
    assert "2 runs (1 finished, 1 stopped)" in summary.markdown


def test_older_runs_are_finished_by_their_done_line_and_placed_by_their_log(tmp_path):
    done = ("[2026-11-30 05:41:31][gan_lab.train][INFO] - gan_lab: done, iteration 100 in "
            "1m05s; outputs in somewhere\n")
    training_run(tmp_path / "0", "nsgan", [0.9] * 10, log=done)
    training_run(tmp_path / "1", "nsgan", [0.8] * 7, log="[...] - training\n")  # still going
    runs = collect(tmp_path)
    assert [(run.finished, run.status, run.iteration) for run in runs] == [
        (True, "finished", 100), (False, None, 70)]  # the last step of metrics.csv
    assert runs[0].minutes == pytest.approx(65 / 60) and runs[1].minutes is None
    assert [run.name for run in collect(tmp_path, finished=True)] == ["0"]


def test_a_loss_of_different_objectives_is_not_ranked(tmp_path, capsys):
    training_run(tmp_path / "0", "nsgan", [0.9, 0.7], ended(20))
    training_run(tmp_path / "1", "hinge", [0.2, 0.1], ended(20))
    assert main([str(tmp_path), "--metric", "loss/g", "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("gan_lab.summarize: --metric loss/g: ")
    assert "objectives differ (hinge, nsgan)" in error and "--rank-anyway" in error
    assert "--metric classifier/fid" in error  # nothing evaluated: how to get an evaluation
    assert not (tmp_path / "out" / "summary.csv").exists()
    with pytest.raises(ValueError, match=r"--metric score/real: .*\(hinge, nsgan\)"):
        summarize(tmp_path, "score/real", out=tmp_path / "out")  # D's raw scores: alike


def test_the_refusal_names_the_evaluation_metrics_the_runs_have(tmp_path):
    for name, loss in (("0", "nsgan"), ("1", "hinge")):
        run = training_run(tmp_path / name, loss, [0.5], ended(10))
        (run / "results.json").write_text('{"classifier/fid": 3.0, "classifier/kid": 0.1, '
                                          '"iteration": 10}')
    with pytest.raises(ValueError, match=r"instead \(--metric classifier/fid; the runs also "
                                         r"have classifier/kid\)"):
        summarize(tmp_path, "loss/g", out=tmp_path / "out")
    summary = summarize(tmp_path, "classifier/fid", out=tmp_path / "out")  # comparable: ranked
    assert summary.objectives == [] and "differ" not in summary.markdown
    assert "from the final evaluation (results.json)" in summary.markdown


def test_an_objective_changed_inside_the_loss_group_counts_too(tmp_path):
    training_run(tmp_path / "0", "nsgan", [0.9], ended(10))
    training_run(tmp_path / "1", "nsgan", [0.2], ended(10), objective="hinge")  # loss.objective=
    with pytest.raises(ValueError, match=r"objectives differ \(nsgan, nsgan \(hinge\)\)"):
        summarize(tmp_path, "loss/g", out=tmp_path / "out")


def test_rank_anyway_ranks_and_says_the_objectives_differ(tmp_path, capsys):
    training_run(tmp_path / "0", "nsgan", [0.9, 0.7], ended(20))
    training_run(tmp_path / "1", "hinge", [0.2, 0.1], ended(20))
    out = tmp_path / "out"
    assert main([str(tmp_path), "--metric", "loss/g", "--out", str(out), "--rank-anyway"]) == 0
    rows = read_csv(out / "summary.csv")
    assert [(row["rank"], row["run"], row["loss/g"]) for row in rows] == [
        ("1", "1", "0.1"), ("2", "0", "0.7")]
    markdown = (out / "summary.md").read_text()
    assert ("ranked by loss/g, lower is better, from the training log's last value "
            "(metrics.csv); best: 1.") in markdown
    assert "training objectives differ (hinge, nsgan)" in markdown
    assert "training objectives differ" in capsys.readouterr().out


def test_a_loss_of_one_objective_is_ranked(tmp_path):
    training_run(tmp_path / "0", "hinge", [0.9, 0.7], ended(20))
    training_run(tmp_path / "1", "hinge", [0.2, 0.3], ended(20))
    summary = summarize(tmp_path, "loss/g", out=tmp_path / "out")
    assert [run.name for run in summary.ranked] == ["1", "0"] and summary.objectives == []
    assert "differ" not in summary.markdown

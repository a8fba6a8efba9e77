"""What an evaluation says (issue 28, item 7): one line before any one-time training (what, why,
about how long, cached where), one console format with every library line once, no colour codes
in files, results.json naming the generator it scored, and one KID convention."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from gan_lab.callbacks.evaluation import Evaluation, Sampler
from gan_lab.data import DigitsDataModule
from gan_lab.metrics import ClassifierExtractor
from gan_lab.metrics.one_time import OneTime, about, announced
from gan_lab.quiet import PlainFormatter, one_console
from tests.conftest import REPO, SMALL_EVAL, TINY_DCGAN, run_cli, train

ONE_TIME_LOGGER = "gan_lab.metrics.one_time"
@pytest.fixture(autouse=True)
def _private_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


# ----------------------------------------------------------------------------- one-time work
def test_one_time_work_is_announced_after_its_first_steps_and_before_the_rest(caplog):
    caplog.set_level(logging.INFO, logger=ONE_TIME_LOGGER)
    order: list[str] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            order.append(record.getMessage())

    recorder = Recorder()
    logging.getLogger(ONE_TIME_LOGGER).addHandler(recorder)
    job = OneTime("training the test net (1 epoch over 10 images)", "a test needs it",
                  Path("/cache/net.pt"))
    try:
        for step in announced(range(10), 10, "training the test net", job):
            time.sleep(0.02)
            order.append(f"step {step}")
    finally:
        logging.getLogger(ONE_TIME_LOGGER).removeHandler(recorder)
    [line] = [entry for entry in order if not entry.startswith("step")]
    # three steps timed, then the line, then the other seven
    assert order.index(line) == 3 and len(order) == 11
    assert line.startswith("gan_lab: training the test net (1 epoch over 10 images), about ")
    assert ": a test needs it. Done once: cached in /cache/net.pt for later runs" in line
    seconds = float(re.search(r"about (\d+) s", line).group(1))
    assert 0 < seconds <= 2  # ten steps of 0.02 s: "about 1 s"


def test_rough_durations():
    assert [about(s) for s in (0.2, 20.4, 61, 150, 5400)] == [
        "about 1 s", "about 20 s", "about 1 min", "about 2 min", "about 1.5 h"]


def test_the_classifier_is_announced_when_trained_and_said_once_when_shared(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    digits = DigitsDataModule(image_size=8)
    first = ClassifierExtractor(cache_dir=str(tmp_path), width=4, epochs=1)
    first.prepare(digits)
    [line] = [r.getMessage() for r in caplog.records if r.name == ONE_TIME_LOGGER]
    assert line.startswith("gan_lab: training the FID classifier (1 epoch over 1,617 images), "
                           "about ")
    assert "are computed in its features" in line and f"cached in {first.path}" in line
    assert "from the cache" not in caplog.text  # a fresh classifier is announced, not "loaded"
    caplog.clear()
    # later evaluators configured with the same classifier (${eval.classifier}) load nothing
    # new and say nothing new; a new process would say "from the cache" once
    for _ in range(3):
        again = ClassifierExtractor(cache_dir=str(tmp_path), width=4, epochs=1)
        again.prepare(digits)
        assert again.net is first.net and again.accuracy == first.accuracy
    assert not caplog.records


# ----------------------------------------------------------------------------- what was scored
class _Module:
    """A module of the sampling protocol with or without an updated EMA copy."""

    def __init__(self, ema: bool) -> None:
        self.generator_ema = object() if ema else None
        self.iteration = 3

    def ema_ready(self) -> bool:
        return self.generator_ema is not None

    def sample(self, n: int, **_) -> torch.Tensor:
        return torch.zeros(n, 1, 4, 4)

    def log_metrics(self, results) -> None:
        pass


def test_the_evaluation_records_whether_it_scored_the_ema_generator(tmp_path):
    evaluation = Evaluation({"count": lambda sampler, *_: {"n": float(len(sampler(2)))}},
                            str(tmp_path))
    assert evaluation.scored_ema is None
    evaluation.evaluate(_Module(ema=True), None, "a")
    assert evaluation.scored_ema is True
    evaluation.evaluate(_Module(ema=False), None, "b")
    assert evaluation.scored_ema is False
    assert Sampler(SimpleNamespace(sample=None)).ema is False  # a module without EMA support


# ----------------------------------------------------------------------------- one console
def test_a_library_line_is_printed_once_in_the_console_format():
    root, library = logging.getLogger(), logging.getLogger("gan_lab_test_library")
    console, own = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(console)
    handler.setFormatter(PlainFormatter("%(message)s"))
    library.addHandler(logging.StreamHandler(own))  # as Lightning and Optuna do
    library.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        one_console()
        library.info("\x1b[32mGPU available: False\x1b[0m")
    finally:
        root.removeHandler(handler)
    assert console.getvalue() == "GPU available: False\n" and own.getvalue() == ""
    assert library.propagate and not library.handlers


def test_a_routed_library_shows_what_its_own_handler_showed():
    root, library = logging.getLogger(), logging.getLogger("gan_lab_test_quiet_library")
    console, own = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(console)
    mine = logging.StreamHandler(own)
    mine.setLevel(logging.WARNING)  # torch's matcher logger: DEBUG-ready, shows warnings only
    library.addHandler(mine)
    library.setLevel(logging.DEBUG)
    library.propagate = False
    root.addHandler(handler)
    try:
        one_console()
        library.info("detail")
        library.warning("worth seeing")
    finally:
        root.removeHandler(handler)
    assert console.getvalue() == "worth seeing\n"


@pytest.mark.slow
def test_training_and_evaluate_consoles(tmp_path):
    cache = tmp_path / "cache"
    trained = run_cli(*TINY_DCGAN, "iterations=2", *SMALL_EVAL, f"eval.cache_dir={cache}",
                      "hydra.run.dir=run", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    console = trained.stdout + trained.stderr
    # the classifier's training is said before it runs, and where it is cached
    lines = trained.stdout.splitlines()
    before = next(i for i, line in enumerate(lines)
                  if line.startswith("gan_lab: training the FID classifier"))
    after = next(i for i, line in enumerate(lines) if "FID classifier trained" in line)
    assert before < after and f"cached in {cache}" in lines[before]
    # one format: messages alone, Lightning's line once (not also as "INFO: ...")
    assert console.count("GPU available") == 1 and "INFO:" not in console
    assert not [line for line in lines if line.startswith("[20")]
    # the run's log file keeps time and source, without colour codes
    log = next((tmp_path / "run").glob("*.log")).read_text()
    assert "][gan_lab.metrics.one_time][INFO] - gan_lab: training the FID classifier" in log
    assert "\x1b[" not in log
    # evaluate: a DCGAN without EMA is scored as such, whatever ema= says
    scored = run_cli("ckpt=run/checkpoints/last.ckpt", *SMALL_EVAL, f"eval.cache_dir={cache}",
                     "hydra.run.dir=ev", cwd=tmp_path, module="gan_lab.evaluate")
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert json.loads((tmp_path / "ev" / "results.json").read_text())["ema"] is False
    assert "generator without EMA: the model keeps none" in scored.stdout
    # four evaluators share eval.classifier: it is read, and said, once
    assert scored.stdout.count("FID classifier from the cache") == 1
    assert not [line for line in scored.stdout.splitlines() if line.startswith("[20")]


def test_an_ema_generator_is_scored_and_recorded_as_such(tmp_path):
    from gan_lab.evaluate import scored_generator

    train(tmp_path, *TINY_DCGAN, "iterations=2", "model.ema_decay=0.9")
    from gan_lab.loading import load_module

    module, _ = load_module(tmp_path / "checkpoints" / "last.ckpt")
    assert Sampler(module).ema is True
    assert scored_generator(True, True, module) == "EMA generator"
    module.generator_ema = None  # what ema=false does
    assert Sampler(module).ema is False
    assert scored_generator(False, False, module) == "generator without EMA"


# ----------------------------------------------------------------------------- colour codes
@pytest.mark.slow
def test_optuna_sweeps_leave_no_colour_codes_in_files(tmp_path):
    result = run_cli("-m", "hparams_search=toy_lr", "hydra.sweeper.n_trials=1", "iterations=2",
                     "model.generator.hidden=[8]", "model.discriminator.hidden=[8]",
                     "data.num_samples=200", "eval.metrics.mode_coverage.num_samples=100",
                     "eval.metrics.mode_coverage.plot=false", "callbacks.progress=null",
                     "trainer.enable_progress_bar=false", "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # stdout and stderr are pipes here, as when they are redirected to a file
    assert "A new study created" in result.stdout + result.stderr
    assert "\x1b[" not in result.stdout + result.stderr
    logs = list((tmp_path / "sweep").glob("*/*.log"))
    assert logs and all("\x1b[" not in path.read_text() for path in logs)


def test_the_job_log_file_gets_optuna_lines_without_colour_codes(tmp_path):
    script = f"""
import logging.config, yaml, optuna
from gan_lab.quiet import one_console
config = yaml.safe_load(open({str(REPO / 'conf/hydra/job_logging/gan_lab.yaml')!r}))
config['handlers']['file']['filename'] = {str(tmp_path / 'job.log')!r}
logging.config.dictConfig(config)
one_console()
optuna.logging.get_logger('optuna.study').info('a new study')
logging.getLogger('gan_lab').info('\\x1b[31mred\\x1b[0m')
"""
    (tmp_path / "job.py").write_text(script)
    result = _python(tmp_path / "job.py", tmp_path)
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "job.log").read_text()
    assert "][optuna.study][INFO] - a new study" in log and "- red" in log
    assert "\x1b[" not in log + result.stdout + result.stderr
    assert result.stdout.splitlines() == ["a new study", "red"]  # the console: messages alone


def _python(script: Path, cwd: Path) -> subprocess.CompletedProcess:
    """``python SCRIPT`` with gan_lab importable, its output captured (pipes: not a terminal)."""
    return subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})


# ----------------------------------------------------------------------------- KID's unit
def test_kid_is_said_raw_once_and_every_table_follows():
    readme = (REPO / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith("| `<features>/kid`")]
    assert "**raw**" in row and "not ×10³" in row
    for path in sorted((REPO / "experiments").glob("*/README.md")):
        text = path.read_text()
        if re.search(r"\|\s*KID\s*\|", text):  # a table with a KID column
            assert re.search(r"KID is\s+the raw", text), path

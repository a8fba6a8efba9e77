"""Library chatter that does not concern a gan_lab user, silenced precisely.

Each entry matches one known message by its text, so every other warning still shows. Why
each one goes:

- Lightning's manual-optimization ModelCheckpoint warning ("no pre-optimization state was
  saved", 12 lines with a code example): gan_lab checkpoints at iteration ends on purpose,
  and the warning makes users doubt checkpoints that resume exactly.
- The litlogger advertisement and "TPU available: False": not about this run.
- "Experiment logs directory ... will be deleted": gan_lab's metrics.csv is continued on
  resume (loggers.RunCSVLogger), never deleted by it.
- torch's ``_pytree`` LeafSpec deprecation, raised inside Lightning.
- "smaller than the logging interval (log_every_n_steps)": gan_lab logs every
  ``model.log_every`` iterations itself; Lightning's interval is unused.
- "`Trainer.fit` stopped: `max_steps=N` reached": N counts optimizer steps, not iterations;
  train.py prints its own end line.
- Lightning's "Restoring states ..." / "Restored all states ...": train.py says in one line
  what a resume continues, from where, and what changed.
- torch's "Detected call of `lr_scheduler.step()` before `optimizer.step()`": schedulers are
  stepped once per iteration by the module; a group whose phase has not run yet (SRGAN's D
  during the SRResNet stage) has its schedule advanced all the same, by design.
- Lightning's "Found N module(s) in eval mode at the start of training": frozen auxiliary nets
  (gan_lab.models.frozen: VGG features) stay in eval mode by design.
- When resuming (:func:`resuming`): "Checkpoint directory ... exists and is not empty" (the
  run's own folder is where its checkpoints belong) and "The dirpath has changed ... won't be
  reloaded" (a resume into a new folder starts its own checkpoint list there).

And one console format. Every command's logging (conf/hydra/job_logging/gan_lab.yaml) prints
messages alone on the console and keeps time and source in the run's .log file, both through
:class:`PlainFormatter` (no ANSI colour codes). Libraries that bring their own console handler
would print their lines a second time, in their own format: Lightning ("INFO: GPU available..."
beside the plain line) and Optuna (colour codes, which end up in files the console is redirected
to). :func:`one_console` hands their lines to the root handlers instead, and
:func:`no_colour_when_redirected` asks colouring libraries (NO_COLOR) to leave files alone.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings

WARNINGS = (
    r"Using ModelCheckpoint with manual optimization and every_n_train_steps",
    r"Experiment logs directory .* exists and is not empty",
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    r"The number of training batches \(\d+\) is smaller than the logging interval",
    r"Detected call of `lr_scheduler\.step\(\)` before `optimizer\.step\(\)`",
    r"Found \d+ module\(s\) in eval mode at the start of training",
)
LOG_LINES = (
    r"💡 Tip: For seamless cloud logging",
    r"TPU available: False",
    r"HPU available: False",
    r"`Trainer\.fit` stopped: `max_steps=\d+` reached",
    r"Restoring states from the checkpoint path",
    r"Restored all states from the checkpoint",
)
# Lightning's info lines are all created by these loggers (a logger's filters see only the
# records created at it, not those of its children).
LIGHTNING_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")
# An ANSI escape sequence (colours, cursor moves): CSI ... final byte.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


class PlainFormatter(logging.Formatter):
    """A formatter whose lines carry no ANSI escape codes, whatever the message holds: the
    console and the .log file of every command (conf/hydra/job_logging/gan_lab.yaml)."""

    def format(self, record: logging.LogRecord) -> str:
        return ANSI.sub("", super().format(record))


def console_handler(stream=None) -> logging.StreamHandler:
    """The commands' console handler (a StreamHandler on ``stream``). Built when Hydra sets up
    logging, before any library logs: the moment to tell colouring libraries whether the
    console is a terminal (:func:`no_colour_when_redirected`)."""
    no_colour_when_redirected()
    return logging.StreamHandler(stream)


def no_colour_when_redirected() -> None:
    """Set NO_COLOR (https://no-color.org, which Optuna's colorlog honours) when stdout or
    stderr is not a terminal: their text then lands in a file, where colour codes are noise.
    A NO_COLOR or FORCE_COLOR the user set is left as it is."""
    if "NO_COLOR" in os.environ or "FORCE_COLOR" in os.environ:
        return
    if not all(getattr(s, "isatty", lambda: False)() for s in (sys.stdout, sys.stderr)):
        os.environ["NO_COLOR"] = "1"


def one_console() -> None:
    """Lines of libraries that print through a console handler of their own (Lightning's
    ``lightning`` logger, Optuna's ``optuna``) go to the root handlers instead: once, in the
    command's console format, and into its .log file. Only where the root has handlers (a
    command's logging is set up); file handlers and other handler types are left alone."""
    if not logging.getLogger().handlers:
        return
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):  # a placeholder of a dotted name
            continue
        own = [h for h in logger.handlers if type(h) is logging.StreamHandler]
        if not own:
            continue
        if not logger.propagate:  # what it showed is what it shows: its handlers' level too
            logger.setLevel(max(logger.getEffectiveLevel(), min(h.level for h in own)))
        for handler in own:
            logger.removeHandler(handler)
        logger.propagate = True


class _DropMatching(logging.Filter):
    def __init__(self, patterns: tuple[str, ...]) -> None:
        super().__init__()
        self.pattern = re.compile("|".join(f"(?:{p})" for p in patterns))

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.search(record.getMessage())


def silence_chatter() -> None:
    """Install the filters and route library lines to the one console (idempotent; at the
    start of every job, so multirun jobs stay quiet too)."""
    no_colour_when_redirected()
    one_console()
    for pattern in WARNINGS:
        warnings.filterwarnings("ignore", message=f".*{pattern}")
    line_filter = _DropMatching(LOG_LINES)
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMatching) for f in logger.filters):
            logger.addFilter(line_filter)


def resuming() -> None:
    """Also drop the checkpoint-folder warnings that every resume triggers."""
    warnings.filterwarnings("ignore", message=r".*Checkpoint directory .* exists and is not empty")
    warnings.filterwarnings("ignore", message=r".*The dirpath has changed from")

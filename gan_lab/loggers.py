"""The run's own record (metrics.csv, written for every run) and what every logger is sent.

``metrics.csv`` does not depend on the dashboards chosen with ``logger=``: the composition root
always adds :class:`RunCSVLogger`. It continues the history of a resumed run instead of
deleting it (Lightning's CSVLogger starts the file afresh).

W&B (:class:`WandbRunLogger`): a resumed run continues its W&B run (the id is kept in
``<run_dir>/wandb_id.txt`` and passed with ``resume="allow"``), the jobs of a multirun share a
group (the sweep folder), and ``log_model=true`` logs the checkpoints as an artifact at the end
of training. TensorBoard: :func:`log_final_metrics` writes the config with the final evaluation
as hparams, so the HPARAMS tab compares the runs of a sweep. :func:`log_output` sends a rendered
sample (an image, frames, text: gan_lab.outputs) to each logger in the form it shows.
"""

from __future__ import annotations

import csv
import io
import logging
import netrc
import os
import secrets
import string
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from gan_lab.outputs.base import FramesOutput, ImageOutput, Output, TextOutput, to_uint8
from gan_lab.outputs.writers import gif_bytes

__all__ = ["WANDB_ID_FILE", "RunCSVLogger", "WandbRunLogger", "finish_loggers", "log_config",
           "log_final_metrics", "log_output", "sweep_group", "wandb_credentials"]

# The W&B run id of a gan_lab run, in its folder: a resume passes it back to wandb.init.
WANDB_ID_FILE = "wandb_id.txt"
# WANDB_MODE values that never contact the server (no login needed).
WANDB_LOCAL_MODES = ("offline", "disabled", "dryrun")

log = logging.getLogger(__name__)


class _ContinuingWriter(ExperimentWriter):
    """Lightning's CSV writer, but an existing metrics.csv is continued, not deleted.

    ``keep_until`` (the resumed checkpoint's iteration) keeps the rows up to it; the rows after
    it belong to iterations that are trained again. None starts a fresh file.
    """

    def __init__(self, log_dir: str, keep_until: int | None) -> None:
        self._keep_until = keep_until
        super().__init__(log_dir=log_dir)

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if not path.is_file():
            return
        if self._keep_until is None:
            path.unlink()  # a new run in a used folder starts its own history
            return
        from gan_lab.resume import truncate_csv

        truncate_csv(path, "step", self._keep_until)
        with path.open(newline="") as f:
            self.metrics_keys = sorted(csv.DictReader(f).fieldnames or [])


class RunCSVLogger(CSVLogger):
    """``<run_dir>/metrics.csv`` (``step`` = generator iteration), flushed at every log call so
    it can be read while the run goes on, and continued across resumes."""

    def __init__(self, save_dir: str, resume_iteration: int | None = None) -> None:
        super().__init__(save_dir=save_dir, name="", version="", flush_logs_every_n_steps=1)
        self.resume_iteration = resume_iteration

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuingWriter(self.log_dir, self.resume_iteration)
        return self._experiment


class WandbRunLogger(WandbLogger):
    """Lightning's WandbLogger, one W&B run per gan_lab run (resumes included).

    - ``id`` (default: the one in ``<save_dir>/wandb_id.txt`` when the gan_lab run is a resume,
      else a new one, written there): :func:`log_config` settles it before the W&B run starts,
      so a resumed or requeued run continues the same W&B run (``resume="allow"``).
    - ``group`` (default: :func:`sweep_group`): the jobs of one multirun or study together.
    - Without the ``anonymous=None`` init argument, which makes every run print a deprecation
      warning of wandb's that says nothing about the run.
    - Without W&B credentials the run is logged offline (one line says where and the
      ``wandb sync`` command), where wandb.init would end it with a traceback.
    """

    def __init__(self, *args: Any, group: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._wandb_init.get("anonymous") is None:
            self._wandb_init.pop("anonymous", None)
        group = group or sweep_group()
        if group:
            self._wandb_init["group"] = group
        if not self._offline and not wandb_needs_no_login() and not wandb_credentials():
            self._offline = True
            self._wandb_init["mode"] = "offline"
            where = Path(self._save_dir or ".") / "wandb"
            if rank_zero_only.rank == 0:
                log.warning("gan_lab: no W&B login found (`wandb login`, or WANDB_API_KEY), so "
                            "this run is logged offline in %s; upload it later with: wandb sync "
                            "%s/offline-run-*", where, where)

    @property
    def id_file(self) -> Path | None:
        return Path(self._save_dir) / WANDB_ID_FILE if self._save_dir else None

    def settle_id(self, resumed: bool) -> str | None:
        """The W&B run id: given, or kept from the run being resumed, or new (and kept)."""
        if self._experiment is not None or self._id:
            return self._id
        path = self.id_file
        if path is None:
            return None
        if resumed and path.is_file() and path.read_text().strip():
            run_id = path.read_text().strip()
        else:
            alphabet = string.ascii_lowercase + string.digits  # as wandb's own run ids
            run_id = "".join(secrets.choice(alphabet) for _ in range(8))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(run_id + "\n")
        self._id = self._wandb_init["id"] = run_id
        self._wandb_init["resume"] = "allow"
        return run_id


def wandb_needs_no_login() -> bool:
    """WANDB_MODE asks for a run that never contacts the server."""
    return os.environ.get("WANDB_MODE", "").strip().lower() in WANDB_LOCAL_MODES


def wandb_credentials() -> bool:
    """Whether W&B has credentials where ``wandb login`` and its documentation put them, looked
    up without the network or a prompt: WANDB_API_KEY (or an identity token file), or an entry
    for the W&B host in the netrc file (``NETRC``, else ~/.netrc) that ``wandb login`` writes."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai").split("://")[-1].split("/")[0]
    path = os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    try:
        return netrc.netrc(path).authenticators(host) is not None
    except (netrc.NetrcParseError, OSError):
        return False


def sweep_group(max_length: int = 128) -> str | None:
    """The W&B group of a multirun's jobs: the sweep folder's last two parts (by default
    ``<date>/<time>``; a ``hydra.sweep.dir=studies/lr`` sweep: ``studies/lr``). None outside a
    Hydra multirun."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if not HydraConfig.initialized():
            return None
        hydra = HydraConfig.get()
        if hydra.mode != RunMode.MULTIRUN:
            return None
        parts = Path(str(hydra.sweep.dir)).parts[-2:]
        return "/".join(parts)[-max_length:] or hydra.job.name
    except (ImportError, ValueError, AttributeError):
        return None


@rank_zero_only
def finish_loggers(loggers: list[Logger]) -> None:
    """End each W&B run once the run (final evaluation included) is over: its files are
    complete on disk, and the next job of a multirun in this process starts a run of its own.
    TensorBoard's writer is closed again (flushing the final hparams)."""
    for logger in loggers:
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger.experiment.finish()
        elif isinstance(logger, TensorBoardLogger) and logger._experiment is not None:
            logger.experiment.close()  # what log_final_metrics wrote after Lightning's finalize


@rank_zero_only
def log_config(loggers: list[Logger], config: dict[str, Any]) -> None:
    """The resolved run config to every logger (W&B run config, TensorBoard hparams,
    hparams.yaml beside metrics.csv), so that runs of a sweep can be told apart.

    Before the W&B run starts, its id is settled: a resume (the :class:`RunCSVLogger` continues
    an existing history) continues the W&B run of the run folder."""
    resumed = any(isinstance(lg, RunCSVLogger) and lg.resume_iteration is not None
                  for lg in loggers)
    for logger in loggers:
        if isinstance(logger, WandbRunLogger):
            logger.settle_id(resumed)
        logger.log_hyperparams(config)


@rank_zero_only
def log_final_metrics(loggers: list[Logger], config: dict[str, Any],
                      metrics: dict[str, Any], step: int) -> None:
    """The final evaluation, after training: TensorBoard's hparams with these metrics (the HPARAMS
    tab then compares the runs of a sweep; the metrics are ``final/<name>`` scalars at ``step``),
    and the W&B run summary."""
    final = {name: float(value) for name, value in metrics.items()
             if name != "iteration" and isinstance(value, (int, float))
             and not isinstance(value, bool)}
    if not final:
        return
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(config, metrics={f"final/{k}": v for k, v in final.items()},
                                   step=step)
        elif isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger.experiment.summary.update({f"final/{k}": v for k, v in final.items()})


def _uint8_hwc(image: torch.Tensor) -> np.ndarray:
    """A CHW float image in [0, 1] as an HWC uint8 array: W&B reads that unambiguously."""
    return to_uint8(image).permute(1, 2, 0).numpy()


@rank_zero_only
def log_output(loggers: list[Logger], key: str, output: Output, step: int) -> None:
    """Send a rendered output (gan_lab.outputs) to every logger, in the form each one shows:

    - an ImageOutput: TensorBoard ``add_image`` (float 0..1), W&B ``wandb.Image`` (uint8 HWC);
    - a FramesOutput: an animated GIF (gan_lab.outputs.writers), to TensorBoard as the image
      summary its ``add_video`` writes (built here: torch's ``add_video`` needs moviepy < 2 and
      logs nothing without it), to W&B as ``wandb.Video`` of the GIF's bytes (W&B encodes raw
      (T, C, H, W) arrays only with moviepy);
    - a TextOutput: TensorBoard ``add_text`` (preformatted), W&B ``wandb.Html`` (``<pre>``).

    The CSV logger (metrics.csv) takes numbers only: nothing is sent to it.
    """
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            _tensorboard_output(logger.experiment, key, output, step)
        elif isinstance(logger, WandbLogger):
            _wandb_output(logger, key, output, step)


def _tensorboard_output(writer: Any, key: str, output: Output, step: int) -> None:
    if isinstance(output, ImageOutput):
        writer.add_image(key, output.pixels.detach().float().cpu().clamp(0, 1), global_step=step)
    elif isinstance(output, FramesOutput):
        from tensorboard.compat.proto.summary_pb2 import Summary

        _, channels, height, width = output.frames.shape
        image = Summary.Image(height=height, width=width, colorspace=channels,
                              encoded_image_string=gif_bytes(output))
        writer._get_file_writer().add_summary(  # as SummaryWriter.add_video does
            Summary(value=[Summary.Value(tag=key, image=image)]), step)
    elif isinstance(output, TextOutput):
        # TensorBoard reads text as Markdown: indented lines are shown as they are
        writer.add_text(key, "\n".join("    " + line for line in output.text.splitlines()),
                        global_step=step)
    else:
        raise TypeError(f"cannot log a {type(output).__name__}")


def _wandb_output(logger: WandbLogger, key: str, output: Output, step: int) -> None:
    if isinstance(output, ImageOutput):
        logger.log_image(key, images=[_uint8_hwc(output.pixels)], step=step)  # uint8 0..255
    elif isinstance(output, FramesOutput):
        logger.log_video(key, videos=[io.BytesIO(gif_bytes(output))], step=step, format=["gif"])
    elif isinstance(output, TextOutput):
        import wandb

        html = wandb.Html(f"<pre>{escape(output.text)}</pre>", inject=False)
        logger.log_metrics({key: html}, step=step)  # type: ignore[dict-item]
    else:
        raise TypeError(f"cannot log a {type(output).__name__}")

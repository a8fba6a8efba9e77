"""One progress bar over the whole budget, in generator iterations."""

from __future__ import annotations

import sys
import threading
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks.progress import ProgressBar
from tqdm.auto import tqdm


class IterationProgress(ProgressBar):
    """A tqdm bar from the run's first iteration (or its resume point) to its budget.

    It counts generator iterations (the one user-facing counter), not data batches or epochs,
    and shows the rate, the ETA and the latest logged losses (``module.progress_metrics``). A
    background thread redraws it every ``refresh_seconds`` so that elapsed time and rate move
    even while one iteration takes minutes; in a log file (stderr not a terminal) it redraws
    every ``log_seconds`` instead of flooding the file.
    """

    def __init__(self, refresh_seconds: float = 1.0, log_seconds: float = 30.0) -> None:
        super().__init__()
        self.refresh_seconds = float(refresh_seconds)
        self.log_seconds = float(log_seconds)
        self._enabled = True
        self.bar: tqdm | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def disable(self) -> None:  # Lightning calls this on ranks other than zero
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @property
    def is_enabled(self) -> bool:
        return self._enabled

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._enabled:
            return
        interactive = sys.stderr.isatty()
        every = self.refresh_seconds if interactive else self.log_seconds
        total = pl_module.budget
        self.bar = tqdm(total=total, initial=pl_module.iteration, desc="training", unit="it",
                        dynamic_ncols=True, smoothing=0.05, mininterval=every, file=sys.stderr,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                   "[{elapsed}<{remaining}, {rate_fmt}{postfix}]")
        self._stop.clear()
        self._thread = threading.Thread(target=self._redraw, args=(every,), daemon=True)
        self._thread.start()

    def _redraw(self, every: float) -> None:
        while not self._stop.wait(every):
            bar = self.bar
            if bar is not None:
                with bar.get_lock():
                    bar.refresh()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           *args: Any) -> None:
        bar = self.bar
        if bar is None or pl_module.iteration == bar.n:
            return
        if pl_module.progress_metrics:
            bar.set_postfix({k: f"{v:.3g}"
                             for k, v in pl_module.progress_metrics.items()}, refresh=False)
        bar.update(pl_module.iteration - bar.n)

    def _close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:
        self._close()

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._close()

    def print(self, *args: Any, **kwargs: Any) -> None:
        """Print without breaking the bar (Lightning's ``module.print`` lands here)."""
        if self.bar is not None:
            tqdm.write(" ".join(map(str, args)), file=sys.stderr)
        else:
            print(*args, **kwargs)

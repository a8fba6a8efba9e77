"""Work an evaluation does once and caches, said in one line before it runs.

The first run of an evaluation on a data set trains nets on the real data (the FID classifier
of eval=classifier, eval=translation's domain and class classifiers, a segmenter, attribute and
voxel classifiers, CAS's real-data ceiling) and embeds the real images: seconds to many minutes
before the first training iteration, which later runs find in the cache. Unannounced, such a
pause looks like a hang, so each of these jobs runs its steps through :func:`announced`: once
its first steps are timed (a second or so), one line says what it does, roughly how long it will
take, why the evaluation needs it and where it is cached, e.g.::

    gan_lab: training the FID classifier (2 epochs over 1,470 images), about 20 s on cpu: FID,
    KID, IS and precision/recall are measured in its features. Done once: cached in
    ~/.cache/gan_lab/eval/classifier-e32072d5460592c8.pt for later runs

(one line in fact); then a progress bar shows the rest. The line goes through logging, so it
is in the run's .log file too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gan_lab.progress import phase

__all__ = ["OneTime", "about", "announced", "count"]

log = logging.getLogger(__name__)
Item = TypeVar("Item")

# Steps timed before the line: the first pays for warm-up (loader start, kernel selection), so
# the estimate uses the ones after it. Slow steps end the probe early.
PROBE_STEPS = 3
PROBE_SECONDS = 5.0


@dataclass(frozen=True)
class OneTime:
    """A job done once per data set and settings, then cached.

    Args:
        what: what it does, with its size: ``training the FID classifier (2 epochs over 1,470
            images)``.
        why: what the evaluation uses it for: ``FID, KID ... are measured in its features``.
        path: the cache file it ends in.
        device: where it runs, a name or a ``torch.device`` (said in the line: the estimate
            holds for that device).
    """

    what: str
    why: str
    path: Path
    device: Any = "cpu"

    def line(self, seconds: float | None) -> str:
        """The announcement; ``seconds``: the estimated duration, None where unknown."""
        device = getattr(self.device, "type", self.device)  # cuda, not cuda:0
        took = f", {about(seconds)} on {device}" if seconds is not None else ""
        return (f"gan_lab: {self.what}{took}: {self.why}. Done once: cached in {self.path} "
                "for later runs")


def count(n: int, noun: str) -> str:
    """``1 epoch``, ``2 epochs``, ``1,470 images``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def about(seconds: float) -> str:
    """A rough duration: ``about 20 s``, ``about 3 min``, ``about 1.5 h``."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def estimate(started: float, ends: list[float], total: int) -> float:
    """The whole job's seconds from the end times of its first steps (``time.monotonic``):
    what they took plus the rest at the pace of the steps after the first."""
    done = len(ends)
    pace = (ends[-1] - ends[0]) / (done - 1) if done > 1 else ends[0] - started
    return ends[-1] - started + pace * (total - done)


def announced(items: Iterable[Item], total: int, desc: str,
              job: OneTime | None) -> Iterator[Item]:
    """``items`` (the job's ``total`` steps, each done by the caller's loop body) with the
    announcement of ``job`` logged after the first steps are timed and a progress bar named
    ``desc`` (:func:`gan_lab.progress.phase`) over the rest. ``job`` None: the bar alone (work
    that is not cached, e.g. CAS's classifier of generated images at each evaluation)."""
    if job is None:
        yield from phase(items, total, desc)
        return
    items = iter(items)
    if total <= PROBE_STEPS:  # too short to time; said at once
        log.info(job.line(None))
        yield from phase(items, total, desc)
        return
    started, ends = time.monotonic(), []
    for item in items:
        yield item  # the caller's loop body runs here: one step
        ends.append(time.monotonic())
        if len(ends) >= PROBE_STEPS or ends[-1] - started >= PROBE_SECONDS:
            break
    log.info(job.line(estimate(started, ends, total)))
    yield from phase(items, total - len(ends), desc)

"""Stages: the consecutive parts of a run that train different things.

ProGAN's levels and fades, SRGAN's MSE pre-training before its adversarial stage, SinGAN's
scales, and later StackGAN's stages and SeqGAN's pre-training are all stages: a scheme lists them
in :meth:`~gan_lab.models.base.AdversarialModule.stages`, and the base runs them (DESIGN.md,
"Stages / schedules"). The base keeps the stage and the iteration within it as checkpoint
counters, and on entering a stage resets its optimizer groups' state, freezes the nets it does not
train and calls its ``enter`` hook; while a stage runs only its groups' phases run and only their
learning-rate schedulers step; when every stage has a length, the budget ends with the last.
A stage changes only between iterations, so a checkpoint mid-stage or on a boundary resumes
exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    """One stage of a run.

    Args:
        name: e.g. "pretrain", "adversarial", "scale3", "16x16 fade-in"; phases may name the
            stages they run in (``Phase.stages``).
        length: iterations the stage lasts; None: until ``until`` says so or, for the last
            stage, until the budget.
        until: asked between iterations (with the stage's own iteration count); True ends the
            stage (ProGAN's levels end after a number of images shown). Either this or
            ``length`` or neither (only the last stage may have neither).
        groups: the optimizer groups that train in the stage (None: all); the phases of other
            groups are skipped and their schedulers not stepped.
        trains: names of submodules (``get_submodule`` paths, e.g. "generator.3") trained in the
            stage; every other parameter of the optimizer groups is frozen (``requires_grad``
            False) while it runs. None: everything trains.
        reset_optimizers: clear the state (Adam's moments and step counts) of the stage's
            groups on entry, as ProGAN's reset_opt_for_new_lod, SRGAN's fresh Adam after the
            SRResNet stage and SinGAN's new Adams per scale. The first stage of a run never
            resets (its state is fresh, or a checkpoint's).
        enter: called with the first batch of the stage when it is entered (not on a resume
            inside it): SinGAN sets its scale's noise amplitude from the reconstruction.
    """

    name: str
    length: int | None = None
    until: Callable[[int], bool] | None = None
    groups: tuple[str, ...] | None = None
    trains: tuple[str, ...] | None = None
    reset_optimizers: bool = True
    enter: Callable[[Any], None] | None = None

    def __post_init__(self) -> None:
        if self.length is not None and (isinstance(self.length, bool) or int(self.length) < 0):
            raise ValueError(f"stage {self.name}: length={self.length} must be an integer >= 0")
        if self.length is not None and self.until is not None:
            raise ValueError(f"stage {self.name}: give a length or an end condition, not both")

    def finished(self, stage_iteration: int) -> bool:
        """Whether the stage is over after ``stage_iteration`` of its iterations."""
        if self.length is not None:
            return stage_iteration >= self.length
        return self.until is not None and bool(self.until(stage_iteration))

    def trains_group(self, group: str) -> bool:
        return self.groups is None or group in self.groups


def check_stages(stages: list[Stage]) -> None:
    """ValueError (one line) for an empty list, repeated names, or an open-ended stage (no length
    or end condition) before the last."""
    if not stages:
        raise ValueError("a scheme's stages() must list at least one stage")
    names = [stage.name for stage in stages]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"stage {repeated[0]!r} is listed twice; stage names must be unique")
    open_ended = [s.name for s in stages[:-1] if s.length is None and s.until is None]
    if open_ended:
        raise ValueError(f"stage {open_ended[0]!r} has no length or end condition but is not the "
                         "last stage; only the last stage may run to the budget")

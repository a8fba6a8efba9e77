"""Extending a finished run (``ckpt_path=RUN/checkpoints/last.ckpt iterations=N``) ends bit for bit
where an uninterrupted run of N iterations ends: three processes, as a user runs them.

Two causes made it differ before: the final checkpoint was written after Lightning had closed
the epoch (so the extension began a new epoch with a new shuffle), and a resume rebuilt its
schedules from the checkpoint's resolved config (``iterations: ${iterations}`` frozen at the
shorter budget, SRGAN's decay point with it) and restored LambdaLR's settings over them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from tests.conftest import run_cli

QUIET = ["callbacks.progress=null", "callbacks.samples=null", "callbacks.health=null"]


def _same(a, b, where: str = "") -> None:
    """Recursively equal: tensors bit for bit, everything else by value."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), (where, set(a) ^ set(b))
        for key in a:
            _same(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}/{index}")
    else:
        assert a == b, (where, a, b)


def assert_same_run_state(straight: Path, extended: Path) -> None:
    """Everything a resume reads: nets, optimizers (rates included), schedules, Lightning's
    loops (epoch and loader position), counters and random streams."""
    one = torch.load(straight, weights_only=False)
    two = torch.load(extended, weights_only=False)
    for key in ("state_dict", "optimizer_states", "lr_schedulers", "loops", "epoch",
                "global_step"):
        _same(one[key], two[key], key)
    for key in ("iteration", "batches", "stage", "stage_iteration", "images_seen", "rng"):
        _same(one["gan_lab"][key], two["gan_lab"][key], f"gan_lab/{key}")


def _extend_matches_straight(tmp_path: Path, short: int, long: int, *overrides: str) -> None:
    straight, finished = tmp_path / "straight", tmp_path / "finished"
    for folder, budget in ((straight, long), (finished, short)):
        done = run_cli(f"iterations={budget}", f"hydra.run.dir={folder}", *QUIET, *overrides,
                       cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
    last = finished / "checkpoints" / "last.ckpt"
    extended = run_cli(f"ckpt_path={last}", f"iterations={long}", cwd=tmp_path)
    assert extended.returncode == 0, extended.stderr[-2000:]
    assert f"iterations {short} -> {long})" in extended.stderr + extended.stdout
    assert_same_run_state(straight / "checkpoints" / "last.ckpt", last)


def test_extending_the_default_run_ends_where_a_straight_run_ends(tmp_path):
    _extend_matches_straight(tmp_path, 3, 6)


def test_extending_across_a_stage_and_a_budget_derived_schedule(tmp_path):
    # SRGAN: the extension crosses from the SRResNet stage into the adversarial one, whose lr
    # decay point derives from the budget (${iterations}); the finished run's D scheduler was
    # built for a budget with no adversarial iterations at all.
    _extend_matches_straight(tmp_path, 2, 5, "model=srgan", "model.pretrain_iterations=3")

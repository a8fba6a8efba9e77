"""Exact resume from a checkpoint, and a non-finite loss that keeps the last good checkpoint."""

from __future__ import annotations

import pytest
import torch

from gan_lab.losses import AdversarialLoss
from gan_lab.models import NonFiniteLossError
from gan_lab.train import run
from tests.conftest import TINY_DCGAN, assert_same_training_state, make_cfg, train

# n_critic=2 and EMA on, and 20 iterations = 40 batches: the stop falls mid-epoch
# (digits gives 28 batches of 64 per epoch), so the data loader's position must resume too.
RESUMABLE = [*TINY_DCGAN, "data.batch_size=64", "model.n_critic=2", "model.ema_decay=0.9",
             "callbacks.checkpoint.every_n_iterations=10"]


def test_stop_and_resume_equals_an_uninterrupted_run_bitwise(tmp_path):
    train(tmp_path / "straight", *RESUMABLE, "iterations=20")
    train(tmp_path / "first_half", *RESUMABLE, "iterations=10")
    half = tmp_path / "first_half" / "checkpoints" / "last.ckpt"
    # Only the checkpoint and the new budget: the rest of the config comes from the checkpoint.
    train(tmp_path / "resumed", "iterations=20", f"ckpt_path={half}")

    assert_same_training_state(tmp_path / "straight" / "checkpoints" / "last.ckpt",
                               tmp_path / "resumed" / "checkpoints" / "last.ckpt")
    resumed = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["gan_lab"]["iteration"] == 20 and resumed["global_step"] == 60


def test_non_finite_loss_stops_with_a_clear_error_and_keeps_the_good_checkpoint(
        tmp_path, monkeypatch):
    original = AdversarialLoss.generator_loss
    calls = {"n": 0}

    def poisoned(self, fake_scores, real_scores=None):
        calls["n"] += 1
        loss = original(self, fake_scores, real_scores)
        return loss * float("nan") if calls["n"] > 5 else loss

    monkeypatch.setattr(AdversarialLoss, "generator_loss", poisoned)
    cfg = make_cfg(tmp_path, *TINY_DCGAN, "iterations=20", "model.log_every=2",
                   "callbacks.checkpoint.every_n_iterations=4")
    with pytest.raises(NonFiniteLossError, match="NaN or infinite"):
        run(cfg)
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["gan_lab"]["iteration"] == 4  # the checkpoint due at 8 was refused
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())


def test_a_checkpoint_older_than_a_config_section_resumes_with_its_defaults(tmp_path):
    # A checkpoint written before `speed` existed: `speed.<key>=` on the resume's command line
    # adds to today's default section instead of making a section without its _target_.
    train(tmp_path / "old", *TINY_DCGAN, "iterations=2")
    path = tmp_path / "old" / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(path, weights_only=False)
    del checkpoint["gan_lab"]["config"]["speed"]
    torch.save(checkpoint, path)
    train(tmp_path / "resumed", "iterations=3", f"ckpt_path={path}", "speed.channels_last=true")
    resumed = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["gan_lab"]["iteration"] == 3
    assert resumed["gan_lab"]["config"]["speed"]["channels_last"] is True

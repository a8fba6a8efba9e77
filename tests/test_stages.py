"""Stages in the base (gan_lab.models.stages): entering, optimizer resets, freezing, active
schedulers, the budget ending with the last stage, images shown, and exact resume mid-stage and
on a stage boundary. Tested once here, on a tiny scheme; ProGAN, SRGAN and SinGAN keep their
own resume tests."""

from __future__ import annotations

import functools

import lightning.pytorch as pl
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from gan_lab.data.common.loader import make_loader
from gan_lab.models.base import AdversarialModule
from gan_lab.models.phases import Phase
from gan_lab.models.stages import Stage, check_stages


class _StagedScheme(AdversarialModule):
    """G alone for 2 iterations ("warmup"), then G and D for 3 ("adversarial"), then 2 more with
    D frozen ("polish"); D's lr decays x0.5 per iteration it trains."""

    def __init__(self) -> None:
        adam = functools.partial(torch.optim.Adam, lr=0.01)
        super().__init__(optimizers={"generator": adam, "discriminator": adam},
                         schedulers={"discriminator": functools.partial(
                             torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)},
                         log_every=100)
        self.generator, self.discriminator = nn.Linear(2, 2), nn.Linear(2, 1)
        self.entered: list[tuple[str, int]] = []
        self.ran: list[tuple[int, str, str]] = []

    def optimizer_groups(self):
        return {"generator": self.generator.parameters(),
                "discriminator": self.discriminator.parameters()}

    def stages(self):
        enter = lambda name: lambda batch: self.entered.append((name, self.iteration))  # noqa: E731
        return [Stage("warmup", length=2, groups=("generator",), enter=enter("warmup")),
                Stage("adversarial", length=3, enter=enter("adversarial")),
                Stage("polish", length=2, groups=("generator",), trains=("generator",),
                      enter=enter("polish"))]

    def phases(self):
        return [Phase("Dmain", "discriminator", self.d_step, "loss/d", critic=True),
                Phase("Gpre", "generator", self.g_step, "loss/g", stages=("warmup",)),
                Phase("Gmain", "generator", self.g_step, "loss/g",
                      stages=("adversarial", "polish"))]

    def d_step(self, batch):
        self.ran.append((self.iteration, self.stage_name, "D"))
        fake = self.generator(torch.randn_like(batch[0])).detach()
        return {"loss/d": self.discriminator(fake).mean() - self.discriminator(batch[0]).mean()}

    def g_step(self, batch):
        self.ran.append((self.iteration, self.stage_name, "G"))
        return {"loss/g": -self.discriminator(self.generator(torch.randn_like(batch[0]))).mean()}


class _SaveAtBudget(pl.Callback):
    """Saves a checkpoint after the batch that ends the budget, as the run's checkpoint callback
    does (the loader's position is in it only while the fit loop runs)."""

    def __init__(self, path) -> None:
        self.path = path

    def on_train_batch_end(self, trainer, module, *args) -> None:
        if module.at_iteration_boundary and module.iteration == module.budget:
            trainer.save_checkpoint(self.path)


def _fit(budget: int, path, ckpt_path=None) -> tuple[_StagedScheme, pl.Trainer]:
    torch.manual_seed(0)
    module = _StagedScheme()
    module.budget = budget
    loader = make_loader(TensorDataset(torch.randn(40, 2)), batch_size=4, seed=3)
    trainer = pl.Trainer(max_epochs=100, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[_SaveAtBudget(path)])
    trainer.fit(module, loader, ckpt_path=ckpt_path)
    return module, trainer


def test_stages_run_in_order_with_their_groups_phases_and_schedulers(tmp_path):
    module, trainer = _fit(budget=100, path=tmp_path / "end.ckpt")
    assert module.iteration == 7  # the budget ended with the last stage (2 + 3 + 2)
    assert module.entered == [("warmup", 0), ("adversarial", 2), ("polish", 5)]
    assert [r for r in module.ran if r[0] < 3] == [
        (0, "warmup", "G"), (1, "warmup", "G"), (2, "adversarial", "D"), (2, "adversarial", "G")]
    assert module.images_seen == 7 * 4  # one critic batch of 4 per iteration, counted once
    # D froze in "polish" (its phase does not run there, and G's backward leaves it alone)
    assert not any(p.requires_grad for p in module.discriminator.parameters())
    assert all(p.requires_grad for p in module.generator.parameters())
    # D's scheduler stepped only in the 3 iterations of the stage its group trains in
    lr = trainer.optimizers[1].param_groups[0]["lr"]
    assert lr == pytest.approx(0.01 * 0.5 ** 3)
    # the optimizers were reset on entering "polish": Adam's step counts restart there
    state = torch.load(tmp_path / "end.ckpt", weights_only=True)
    steps = [int(s["step"]) for s in state["optimizer_states"][0]["state"].values()]
    assert steps == [2, 2]
    assert state["gan_lab"]["stage"] == 2 and state["gan_lab"]["stage_iteration"] == 2


@pytest.mark.parametrize("cut", [3, 5], ids=["mid-stage", "on-a-boundary"])
def test_a_resume_inside_a_stage_or_on_its_boundary_is_exact(tmp_path, cut):
    straight, _ = _fit(budget=7, path=tmp_path / "straight.ckpt")
    first, _ = _fit(budget=cut, path=tmp_path / "cut.ckpt")
    resumed, _ = _fit(budget=7, path=tmp_path / "resumed.ckpt", ckpt_path=tmp_path / "cut.ckpt")
    assert first.ran + resumed.ran == straight.ran
    # a resume inside "adversarial" enters only what comes after it; the freezing is re-applied
    assert [e[0] for e in first.entered + resumed.entered] == ["warmup", "adversarial", "polish"]
    one, two = (torch.load(tmp_path / f"{n}.ckpt", weights_only=True) for n in ("straight", "resumed"))
    for key, value in one["state_dict"].items():
        assert torch.equal(value, two["state_dict"][key]), key
    for a, b in zip(one["optimizer_states"], two["optimizer_states"], strict=True):
        for index, state in a["state"].items():
            for name, tensor in state.items():
                assert torch.equal(tensor, b["state"][index][name]), (index, name)
    assert one["lr_schedulers"] == two["lr_schedulers"]
    assert {k: one["gan_lab"][k] for k in ("stage", "stage_iteration", "images_seen")} == \
        {k: two["gan_lab"][k] for k in ("stage", "stage_iteration", "images_seen")}


def test_stage_lists_are_checked_in_one_line():
    with pytest.raises(ValueError, match="at least one stage"):
        check_stages([])
    with pytest.raises(ValueError, match="'a' is listed twice"):
        check_stages([Stage("a", length=1), Stage("a")])
    with pytest.raises(ValueError, match="'a' has no length or end condition"):
        check_stages([Stage("a"), Stage("b")])
    with pytest.raises(ValueError, match="not both"):
        Stage("a", length=1, until=lambda i: True)
    module = _StagedScheme()
    module.phases = lambda: [Phase("G", "generator", module.g_step, "loss/g", stages=("pre",))]
    with pytest.raises(ValueError, match="phase G runs in stage 'pre'"):
        module.check_optimizers()

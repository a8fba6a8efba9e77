"""Tiny end-to-end trainings through train.run: counters, EMA, packing, clipping, precision."""

from __future__ import annotations

import csv

import pytest
import torch

from gan_lab.building import build_module
from gan_lab.nets.replicated import ReplicatedLinear
from gan_lab.train import STEP_BOUND, run
from tests.conftest import TINY_DCGAN, TINY_TOY, make_cfg


def read_csv(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("loss", ["minimax", "nsgan", "wgan", "wgan_gp", "lsgan", "hinge"])
def test_every_loss_trains_the_toy_model(tmp_path, loss):
    cfg = make_cfg(tmp_path, *TINY_TOY, f"loss={loss}", "iterations=6", "model.log_every=2",
                   "eval.every=3")
    objective = run(cfg)
    rows = read_csv(tmp_path / "metrics.csv")
    logged = {key for row in rows for key, value in row.items() if value}
    assert {"loss/d", "loss/g", "toy/modes", "toy/reverse_kl"} <= logged
    if loss == "wgan_gp":
        assert "loss/d_gp" in logged
    assert isinstance(objective, float)
    assert (tmp_path / "eval" / "scatter_iter_0000003.png").is_file()
    # The final evaluation reuses the scheduled one at the last iteration (6), not a re-run.
    assert (tmp_path / "eval" / "scatter_iter_0000006.png").is_file()
    assert not (tmp_path / "eval" / "scatter_final.png").exists()


def test_one_counter_drives_budget_logging_and_checkpoints(tmp_path):
    cfg = make_cfg(tmp_path, *TINY_DCGAN, "model.n_critic=3", "iterations=6", "model.log_every=2",
                   "callbacks.checkpoint.every_n_iterations=4", "callbacks.samples.every=3")
    run(cfg)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["gan_lab"]["iteration"] == 6
    assert ckpt["global_step"] == 6 * 4  # 3 D steps + 1 G step per iteration
    opt_g, opt_d = ckpt["optimizer_states"]
    assert next(iter(opt_g["state"].values()))["step"].item() == 6
    assert next(iter(opt_d["state"].values()))["step"].item() == 18
    steps = [int(row["step"]) for row in read_csv(tmp_path / "metrics.csv") if row.get("loss/g")]
    assert steps == [2, 4, 6]  # logged at generator iterations, not optimizer steps
    assert {p.name for p in (tmp_path / "checkpoints").glob("iter_*.ckpt")} == {"iter_0000006.ckpt"}
    assert sorted(p.name for p in (tmp_path / "samples").glob("*.png")) == [
        "iter_0000003.png", "iter_0000006.png"]


def test_generator_ema_is_generator_only_and_used_for_sampling(tmp_path):
    cfg = make_cfg(tmp_path, *TINY_DCGAN, "iterations=5", "model.ema_decay=0.9",
                   "model.ema_start=2")
    module = build_module(cfg)
    assert {name.split(".")[0] for name, _ in module.named_children()} >= {"generator_ema"}
    ema_params = sum(p.numel() for p in module.generator_ema.module.parameters())
    assert ema_params == sum(p.numel() for p in module.generator.parameters())
    assert not module.ema_ready()
    cfg_run = make_cfg(tmp_path / "run", *TINY_DCGAN, "iterations=5", "model.ema_decay=0.9",
                       "model.ema_start=2")
    run(cfg_run)
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["state_dict"]["generator_ema.n_averaged"].item() == 3  # iterations 3, 4, 5
    assert not any(k.startswith("generator_ema.module.") and "discriminator" in k
                   for k in ckpt["state_dict"])


def test_packing_feeds_the_discriminator_m_samples(tmp_path):
    cfg = make_cfg(tmp_path, *TINY_TOY, "model.packing=4", "iterations=3")
    module = build_module(cfg)
    first = next(m for m in module.discriminator.modules() if isinstance(m, ReplicatedLinear))
    assert first.in_features == 2 * 4
    run(cfg)


def test_gradient_clipping_bounds_the_update_norm(tmp_path):
    cfg = make_cfg(tmp_path, *TINY_DCGAN, "iterations=2", "model.clip_grad_norm=1e-3")
    module = build_module(cfg)
    seen = []
    original = module.on_before_optimizer_step

    def spy(optimizer):
        original(optimizer)
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]
                 if p.grad is not None]
        seen.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())

    module.on_before_optimizer_step = spy
    _fit(cfg, module)
    assert len(seen) == 4 and max(seen) <= 1e-3 * 1.0001


def _fit(cfg, module):
    from hydra.utils import instantiate
    datamodule = instantiate(cfg.data)
    module.budget = cfg.iterations
    trainer = instantiate(cfg.trainer, max_steps=STEP_BOUND, logger=False,
                          enable_checkpointing=False)
    trainer.fit(module, datamodule=datamodule)
    return trainer


@pytest.mark.parametrize("loss", ["nsgan", "wgan_gp"])
def test_bf16_mixed_precision_runs_on_cpu(tmp_path, loss):
    cfg = make_cfg(tmp_path, *TINY_DCGAN, f"loss={loss}", "iterations=2",
                   "trainer.precision=bf16-mixed", "model.clip_grad_norm=10")
    run(cfg)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())


def test_lr_schedulers_step_once_per_generator_iteration(tmp_path):
    step_lr = "{_target_:torch.optim.lr_scheduler.StepLR,_partial_:true,step_size:2,gamma:0.5}"
    cfg = make_cfg(tmp_path, *TINY_DCGAN, "iterations=4", "model.n_critic=2",
                   f"optim.schedulers.generator={step_lr}", f"optim.schedulers.discriminator={step_lr}")
    run(cfg)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    # 4 iterations (12 optimizer steps) = 4 scheduler steps = two halvings, for G and D alike.
    assert [s["last_epoch"] for s in ckpt["lr_schedulers"]] == [4, 4]
    for optimizer_state in ckpt["optimizer_states"]:
        assert optimizer_state["param_groups"][0]["lr"] == pytest.approx(2e-4 * 0.25)


def test_a_single_lr_scheduler_also_steps(tmp_path):
    step_lr = "{_target_:torch.optim.lr_scheduler.StepLR,_partial_:true,step_size:1,gamma:0.5}"
    run(make_cfg(tmp_path, *TINY_DCGAN, "iterations=2", f"optim.schedulers.generator={step_lr}"))
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    lr_g, lr_d = (state["param_groups"][0]["lr"] for state in ckpt["optimizer_states"])
    assert lr_g == pytest.approx(2e-4 * 0.25) and lr_d == pytest.approx(2e-4)

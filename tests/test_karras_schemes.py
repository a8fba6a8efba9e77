"""The Karras family's training schemes: ProGAN's growing schedule, StyleGAN's styles,
StyleGAN2's lazy regularization and path length; exact resume across their stages."""

from __future__ import annotations

import math

import pytest
import torch

from gan_lab.building import build_module
from gan_lab.models import GrowthSchedule
from gan_lab.models.stylegan2 import path_length_penalty
from gan_lab.models.styles import mix_styles, to_w_plus, truncate
from gan_lab.nets import StyleGAN2Generator
from tests.conftest import assert_same_training_state, make_cfg, train

QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false", "callbacks.samples=null"]
# 8x8 digits, nets a few channels wide; ProGAN/StyleGAN grow 4x4 -> 8x8 over 16 + 16 images.
TINY_PROGAN = [*QUIET, "data.image_size=8", "data.batch_size=8", "model.latent_dim=16",
               "model.generator.fmap_max=8", "model.stable_kimg=0.016", "model.fade_kimg=0.032",
               "model.log_every=1"]
# StyleGAN's official defaults grow from 8x8 with 8-GPU batch sizes; tiny runs start at 4x4 on
# the loader's batch.
TINY_STYLEGAN = ["model.generator.w_dim=8", "model.batch_sizes=null", "model.start_level=0"]
TINY_STYLEGAN2 = [*QUIET, "model=stylegan2", "data.image_size=8", "data.batch_size=4",
                  "model.latent_dim=8", "model.generator.w_dim=8", "model.generator.channel_base=32",
                  "model.generator.channel_max=8", "model.generator.mapping_layers=2",
                  "model.r1_every=3", "model.pl_every=2", "model.log_every=1"]


# ----------------------------------------------------------------------------- ProGAN's schedule
def test_growth_schedule_follows_the_official_training_schedule():
    schedule = GrowthSchedule(max_level=3, stable_kimg=1, fade_kimg=2)
    levels = [schedule.level(n) for n in (0, 999, 1000, 2000, 3000, 3500, 4000, 8000, 10**6)]
    assert levels == [0, 0, 0, 0.5, 1, 1, 1, 2.5, 3]
    assert [schedule.stage(x) for x in (0, 0.5, 1, 2.5, 3)] == [0, 1, 2, 5, 6]
    assert GrowthSchedule(3, 1, 1, start_level=2).level(0) == 2
    with pytest.raises(ValueError, match="start_level=4"):
        GrowthSchedule(3, 1, 1, start_level=4)


def test_progan_fades_in_with_per_resolution_batches_and_resets_adam_per_stage(tmp_path):
    train(tmp_path, "model=progan", *TINY_PROGAN, "model.batch_sizes={4:8,8:4}", "iterations=8")
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    # Batches of 8 at 4x4 while the images shown before the batch are <= 16 (level 0: stable),
    # then the fade over the next 32 images in batches of 4 (the 8x8 batch size).
    state = ckpt["gan_lab"]
    assert state["images_seen"] == 3 * 8 + 5 * 4
    schedule = GrowthSchedule(1, 0.016, 0.032)
    assert state["stage"] == schedule.stage(schedule.level(3 * 8 + 4 * 4)) == 1
    # Adam's step count restarted when the fade began (after 3 iterations): 5 steps since.
    steps = {int(s["step"]) for s in ckpt["optimizer_states"][0]["state"].values()}
    assert steps == {5}


def test_a_run_stopped_mid_fade_resumes_bitwise(tmp_path):
    for model in ("progan", "stylegan"):
        # StyleGAN: the lr changes as 8x8 fades in (lr_by_resolution), a half-life EMA
        extra = ([*TINY_STYLEGAN, "+model.lr_by_resolution.8=0.002", "model.ema_kimg=0.01"]
                 if model == "stylegan" else [])
        straight, split = tmp_path / f"{model}_straight", tmp_path / f"{model}_split"
        train(straight, f"model={model}", *TINY_PROGAN, *extra, "iterations=6")
        train(split, f"model={model}", *TINY_PROGAN, *extra, "iterations=3")  # mid-fade: level 0.5
        middle = torch.load(split / "checkpoints" / "last.ckpt", weights_only=True)
        assert 0 < GrowthSchedule(1, 0.016, 0.032).level(middle["gan_lab"]["images_seen"]) < 1
        train(split, f"ckpt_path={split / 'checkpoints' / 'last.ckpt'}", "iterations=6")
        assert_same_training_state(straight / "checkpoints" / "last.ckpt",
                                   split / "checkpoints" / "last.ckpt")


def test_progan_samples_are_full_size_while_the_nets_are_small(tmp_path):
    module = build_module(make_cfg(tmp_path, "model=progan", *TINY_PROGAN))
    assert module.level == 0 and module.sample(2).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="grow to 8x8; set data.image_size=8"):
        from hydra.utils import instantiate
        module.check_data(instantiate(make_cfg(tmp_path, "data.image_size=16").data))


# ----------------------------------------------------------------------------- styles
def _style_g() -> StyleGAN2Generator:
    torch.manual_seed(0)
    return StyleGAN2Generator(z_dim=8, w_dim=8, image_size=8, channels=1, mapping_layers=2,
                              channel_base=32, channel_max=8)


def test_latent_spaces_and_truncation():
    g = _style_g()
    z = torch.randn(3, 8)
    w_plus = to_w_plus(g, z, None, "z")
    assert w_plus.shape == (3, g.num_ws, 8)
    assert torch.equal(to_w_plus(g, w_plus[:, 0], None, "w"), w_plus)
    g.mapping.w_avg.fill_(0.5)
    truncated = truncate(g, w_plus, psi=0.0, cutoff=2)
    assert torch.all(truncated[:, :2] == 0.5) and torch.equal(truncated[:, 2:], w_plus[:, 2:])
    with pytest.raises(ValueError, match="space='q'"):
        to_w_plus(g, z, None, "q")


def test_style_mixing_swaps_the_layers_from_one_crossover_point():
    g = _style_g()
    ws = to_w_plus(g, torch.randn(5, 8), None)
    torch.manual_seed(3)
    mixed = mix_styles(g, ws, None, probability=1.0)
    changed = (mixed != ws).any(dim=2).any(dim=0)  # per layer
    crossover = int(changed.nonzero()[0])
    assert 1 <= crossover < g.num_ws and changed[crossover:].all() and not changed[:crossover].any()
    assert all(torch.equal(w[0], w[crossover - 1]) for w in mixed[:, :crossover])
    assert torch.equal(mix_styles(g, ws, None, probability=0.0), ws)


# ----------------------------------------------------------------------------- StyleGAN2
def test_path_length_penalty_and_its_running_mean_on_a_linear_synthesis():
    # images = sum_{i,d} a[i, d] w[b, i, d] (1x1 image): d(images . y)/dw = y a, so the length
    # is |y| sqrt(mean_i sum_d a[i, d]^2); the mean moves by decay toward the batch mean.
    a = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.0, 2.0]])
    ws = torch.randn(4, 3, 2, requires_grad=True)
    images = (ws * a).sum(dim=(1, 2)).reshape(4, 1, 1, 1)
    torch.manual_seed(0)
    y = torch.randn(4, 1, 1, 1)
    torch.manual_seed(0)
    penalty, mean = path_length_penalty(images, ws, torch.tensor(0.7), decay=0.01)
    lengths = y.flatten().abs() * math.sqrt(a.square().sum(1).mean())
    expected_mean = 0.7 + 0.01 * (lengths.mean() - 0.7)
    assert mean.item() == pytest.approx(expected_mean.item(), rel=1e-6)
    assert torch.allclose(penalty, (lengths - expected_mean).square(), rtol=1e-5)


def test_stylegan2_phases_lazy_gains_and_optimizer_rescaling(tmp_path):
    module = build_module(make_cfg(tmp_path, *TINY_STYLEGAN2))
    phases = {p.name: p for p in module.phase_list}
    assert list(phases) == ["Gmain", "Greg", "Dmain", "Dreg"]  # stylegan2-ada's order
    assert (phases["Greg"].every, phases["Greg"].gain) == (2, 2.0)
    assert (phases["Dreg"].every, phases["Dreg"].gain) == (3, 3.0)
    opt_g, opt_d = module.configure_optimizers()[0]
    assert opt_g.param_groups[0]["lr"] == pytest.approx(0.002 * 2 / 3)
    assert opt_d.param_groups[0]["betas"][1] == pytest.approx(0.99 ** (3 / 4))


def test_zero_weight_regularizers_keep_the_adam_rescaling_but_never_run(tmp_path):
    # stylegan2-ada's training_loop.py rescales G's and D's Adam for intervals 4 and 16 whatever
    # the weights (its cifar config: pl_weight 0); gan_lab's phases exist, disabled.
    cfg = make_cfg(tmp_path, *TINY_STYLEGAN2, "model.pl_weight=0", "model.r1_gamma=0",
                   "model.pl_every=4", "model.r1_every=16", "optim.generator.lr=0.0025",
                   "optim.discriminator.lr=0.0025")
    module = build_module(cfg)
    phases = {p.name: p for p in module.phase_list}
    assert list(phases) == ["Gmain", "Greg", "Dmain", "Dreg"]
    assert not phases["Greg"].enabled and not phases["Dreg"].enabled
    assert not any(phases[n].due(0, critic_batch=True, last_batch=True) for n in ("Greg", "Dreg"))
    opt_g, opt_d = module.configure_optimizers()[0]
    assert opt_g.param_groups[0]["lr"] == pytest.approx(0.0025 * 4 / 5)
    assert opt_g.param_groups[0]["betas"][1] == pytest.approx(0.99 ** (4 / 5))
    assert opt_d.param_groups[0]["lr"] == pytest.approx(0.0025 * 16 / 17)
    assert opt_d.param_groups[0]["betas"][1] == pytest.approx(0.99 ** (16 / 17))
    train(tmp_path, *TINY_STYLEGAN2, "model.pl_weight=0", "model.r1_gamma=0", "iterations=3")
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["state_dict"]["pl_mean"] == 0      # Greg never ran
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "loss/g_pl" not in header and "loss/d_r1" not in header


def _tiny_stylegan2(tmp_path, *overrides):
    module = build_module(make_cfg(tmp_path, *TINY_STYLEGAN2, *overrides))
    torch.manual_seed(0)
    images = torch.randn(4, 1, 8, 8)
    return module, (images, torch.zeros(4, dtype=torch.long))


def test_r1_uses_one_forward_whose_real_scores_feed_ada(tmp_path):
    from gan_lab.losses.regularizers import r1_penalty
    module, batch = _tiny_stylegan2(tmp_path, "model.r1_gamma=4")
    observed, forwards = [], []
    module.observe_real_scores = lambda scores, counts_step: observed.append((scores, counts_step))
    module.discriminator.register_forward_hook(lambda *_: forwards.append(1))
    total = module.r1_step(batch)["loss/d_r1"]
    assert len(forwards) == 1 and len(observed) == 1          # one D forward, its scores observed
    assert torch.allclose(observed[0][0], module.discriminator(batch[0]))
    assert observed[0][1] is False  # joins r_t, not another D step (ADA's interval and images)
    penalty = r1_penalty(module.critic(None), batch[0])
    assert total.item() == pytest.approx(2 * penalty.item(), rel=1e-5)   # gamma / 2 * R1
    total.backward()     # every D parameter in the graph (the official real_logits * 0)
    assert all(p.grad is not None for p in module.discriminator.parameters())


def test_each_phase_draws_its_own_codes_and_fake_labels(tmp_path):
    # training_loop.py: all_gen_z and all_gen_c hold one slice per phase; the labels are those of
    # random training images (fake_labels: uniform), not the real batch's.
    module, batch = _tiny_stylegan2(tmp_path, "model.num_classes=10")
    assert module.fake_label_source == "uniform"
    codes, labels = [], []
    draw_codes, draw_labels = module.noise, module.fake_labels
    module.noise = lambda n, generator=None: codes.append(draw_codes(n)) or codes[-1]
    module.fake_labels = lambda y, n: labels.append(draw_labels(y, n)) or labels[-1]
    module.generator_step(batch)
    module.path_length_step(batch)
    module.discriminator_step(batch)
    assert [len(z) for z in codes] == [4, 2, 4]              # Gmain, Greg (batch / 2), Dmain
    assert not torch.equal(codes[0], codes[2]) and not torch.equal(codes[0][:2], codes[1])
    assert [len(y) for y in labels] == [4, 2, 4]
    assert any((y != 0).any() for y in labels)                # not the real batch's labels (0)
    module.fake_label_source = "batch"
    assert torch.equal(draw_labels(batch[1], 2), batch[1][:2])


def test_stylegan_learning_rate_per_resolution_and_half_life_ema(tmp_path):
    # NVlabs/stylegan: sched.G_lrate_dict / D_lrate_dict by the resolution of the level in
    # training (the one fading in), and Gs_beta = 0.5 ** (minibatch / (G_smoothing_kimg * 1000)).
    train(tmp_path, "model=stylegan", *TINY_PROGAN, *TINY_STYLEGAN, "iterations=4",
          "+model.lr_by_resolution.8=0.004", "model.ema_kimg=0.02")
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["gan_lab"]["images_seen"] == 32    # the last batch started at 24 images: fading
    for state in ckpt["optimizer_states"]:
        group = state["param_groups"][0]
        assert (group["lr"], group["base_lr"]) == (0.004, 0.001)
    module = build_module(make_cfg(tmp_path, "model=stylegan", *TINY_PROGAN, *TINY_STYLEGAN,
                                   "model.ema_kimg=0.02"))
    module._batch_images = 8
    assert module.current_ema_decay() == pytest.approx(0.5 ** (8 / 20))
    module.ema_kimg = 0.0
    assert module.current_ema_decay() == 0.0
    progan = build_module(make_cfg(tmp_path, "model=progan", *TINY_PROGAN))
    assert progan.current_ema_decay() is None and progan.ema_decay == 0.999   # ProGAN: constant
    with pytest.raises(ValueError, match="lr_by_resolution.6=0.1"):
        build_module(make_cfg(tmp_path, "model=progan", *TINY_PROGAN,
                              "model.lr_by_resolution={6:0.1}"))


def test_batch_sizes_check_only_the_resolutions_the_run_reaches(tmp_path):
    from hydra.utils import instantiate
    cfg = make_cfg(tmp_path, "model=progan", *TINY_PROGAN, "model.start_level=1",
                   "model.batch_sizes={4:512,8:8}")
    build_module(cfg).check_data(instantiate(cfg.data))     # 4x4 (512) is never trained
    cfg = make_cfg(tmp_path, "model=progan", *TINY_PROGAN, "model.start_level=0",
                   "model.batch_sizes={4:512,8:8}")
    with pytest.raises(ValueError, match="data.batch_size=8: .* go up to 512"):
        build_module(cfg).check_data(instantiate(cfg.data))


def test_stylegan2_resumes_bitwise_across_lazy_steps_and_saves_pl_mean(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(straight, *TINY_STYLEGAN2, "iterations=7")
    train(split, *TINY_STYLEGAN2, "iterations=4")  # Dreg at 0 and 3, Greg at 0 and 2
    train(split, f"ckpt_path={split / 'checkpoints' / 'last.ckpt'}", "iterations=7")
    assert_same_training_state(straight / "checkpoints" / "last.ckpt",
                               split / "checkpoints" / "last.ckpt")
    ckpt = torch.load(straight / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["state_dict"]["pl_mean"] > 0  # moved from 0 by the Greg steps
    header = (straight / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"loss/g_pl", "loss/d_r1", "reg/pl_mean"} <= set(header)


def test_stylegan2_trains_non_square_and_conditional(tmp_path):
    from gan_lab.nets import StyleGAN2Discriminator
    g = StyleGAN2Generator(8, 8, [8, 16], 1, num_classes=3, mapping_layers=2, channel_base=32,
                           channel_max=8)
    d = StyleGAN2Discriminator([8, 16], 1, num_classes=3, channel_base=32, channel_max=8)
    labels = torch.tensor([0, 1, 2, 1])
    images = g(torch.randn(4, 8), labels)
    assert images.shape == (4, 1, 8, 16) and d(images, labels).shape == (4,)
    train(tmp_path, *TINY_STYLEGAN2, "model.num_classes=10", "iterations=2")


def test_sample_command_truncates_in_w_and_draws_the_style_mixing_figure(tmp_path):
    from PIL import Image

    from tests.conftest import run_cli
    train(tmp_path / "run", *TINY_STYLEGAN2, "iterations=2")
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    result = run_cli(f"ckpt={ckpt}", "n=4", "options.truncation_psi=0.5",
                     "options.style_mixing=true",
                     "interpolation_rows=3", f"out={tmp_path / 's'}", cwd=tmp_path,
                     module="gan_lab.sample")
    assert result.returncode == 0, result.stderr[-2000:]
    # (1 + 3) x (1 + 3) tiles of 8 px with make_grid's 2-px padding.
    assert Image.open(tmp_path / "s" / "style_mixing.png").size == (4 * 10 + 2, 4 * 10 + 2)
    dcgan = tmp_path / "dcgan"
    train(dcgan, *QUIET, "data.image_size=8", "model.generator.width=8",
          "model.discriminator.width=8", "iterations=1")
    result = run_cli(f"ckpt={dcgan / 'checkpoints' / 'last.ckpt'}", "options.truncation_psi=0.5",
                     f"out={tmp_path / 'd'}", cwd=tmp_path, module="gan_lab.sample")
    assert result.returncode == 2 and "a GAN does not take truncation_psi" in result.stderr


def test_stylegan2_and_progan_train_under_bf16(tmp_path):
    for model, extra in (("stylegan2", TINY_STYLEGAN2), ("progan", ["model=progan", *TINY_PROGAN])):
        train(tmp_path / model, *extra, "trainer.precision=bf16-mixed", "iterations=3")
        ckpt = torch.load(tmp_path / model / "checkpoints" / "last.ckpt", weights_only=True)
        assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values()
                   if v.is_floating_point())


def test_non_square_images_from_a_folder_train_dcgan_and_stylegan2(tmp_path):
    from PIL import Image
    folder = tmp_path / "images"
    folder.mkdir()
    g = torch.Generator().manual_seed(0)
    for i in range(8):  # landscape and portrait photos alike end up 8 x 16
        size = (40, 24) if i % 2 else (20, 36)
        pixels = (torch.rand(size[1], size[0], 3, generator=g) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(folder / f"{i}.png")
    data = ["data=image_folder", f"data.path={folder}", "data.image_size=[8,16]", "data.channels=1",
            "data.batch_size=4"]
    train(tmp_path / "dcgan", *QUIET, *data, "model.generator.width=4",
          "model.discriminator.width=4", "model.latent_dim=8", "iterations=2")
    train(tmp_path / "stylegan2", *TINY_STYLEGAN2, *data, "iterations=2")
    module = build_module(make_cfg(tmp_path, *TINY_STYLEGAN2, *data))
    assert module.sample(2).shape == (2, 1, 8, 16)

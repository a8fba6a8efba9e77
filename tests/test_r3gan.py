"""R3GAN (Huang et al. 2024): RpGAN loss, R1/R2, the official schedules, the nets, training."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gan_lab.building import build_module
from gan_lab.losses import PAIRED_OBJECTIVES, AdversarialLoss, r1_penalty, r2_penalty
from gan_lab.models.r3gan import cosine_decay
from gan_lab.nets import R3GANDiscriminator, R3GANGenerator
from gan_lab.nets.r3gan import R3GANResidualBlock
from tests.conftest import assert_same_training_state, make_cfg, train

QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false", "callbacks.samples=null"]
TINY = [*QUIET, "model=r3gan", "data.batch_size=8", "model.generator.width=16",
        "model.generator.cardinality=4", "model.generator.blocks=1", "model.log_every=1",
        # 4 iterations of 8 images = 0.032 kimg: the schedules reach their ends within the run
        "model.schedule_kimg=0.032", "model.ema_kimg_end=0.01"]


# ----------------------------------------------------------------------------- RpGAN
def test_rpgan_values_by_hand_and_softplus_of_the_difference():
    d_loss, g_loss = PAIRED_OBJECTIVES["rpgan"]
    real = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    fake = torch.tensor([-0.3, 1.5, 2.0], dtype=torch.float64)
    sp = lambda v: math.log1p(math.exp(v))  # noqa: E731
    # D: f(-(r - f)) = softplus(f - r); G: softplus(r - f), element-wise pairs, mean.
    want_d = (sp(-0.8) + sp(2.5) + sp(0.0)) / 3
    want_g = (sp(0.8) + sp(-2.5) + sp(0.0)) / 3
    assert d_loss(real, fake).item() == pytest.approx(want_d, rel=1e-12)
    assert g_loss(fake, real).item() == pytest.approx(want_g, rel=1e-12)
    assert torch.equal(d_loss(real, fake), F.softplus(-(real - fake)).mean())
    loss = AdversarialLoss("rpgan")
    assert loss.needs_real_scores and not AdversarialLoss("nsgan").needs_real_scores
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(want_d, rel=1e-12)
    assert loss.generator_loss(fake, real).item() == pytest.approx(want_g, rel=1e-12)
    with pytest.raises(ValueError, match="needs D's scores on real"):
        loss.generator_loss(fake)
    with pytest.raises(ValueError, match="pairs real and fake"):
        loss.discriminator_loss(real, fake[:2])
    # A non-relativistic objective ignores real scores.
    ns = AdversarialLoss("nsgan")
    assert torch.equal(ns.generator_loss(fake, real), ns.generator_loss(fake))


def test_r2_on_a_linear_critic_and_the_r1_r2_terms():
    # D(x) = <w, x>: grad_x D = w for every sample, so ||grad||^2 = ||w||^2 at any x.
    w = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    critic = lambda x: (x * w).sum(dim=(1, 2))  # noqa: E731
    real, fake = torch.randn(5, 2, 2), torch.randn(5, 2, 2)
    norm2 = w.square().sum().item()  # 14.25
    assert r2_penalty(critic, fake).item() == pytest.approx(norm2)
    assert r1_penalty(critic, real).item() == pytest.approx(norm2)
    loss = AdversarialLoss("rpgan", r1_gamma=0.4, r2_gamma=0.1)
    terms = loss.penalties(critic, real, fake)
    assert set(terms) == {"r1", "r2"}
    assert terms["r1"].item() == pytest.approx(0.4 / 2 * norm2)  # gamma / 2, as the official code
    assert terms["r2"].item() == pytest.approx(0.1 / 2 * norm2)
    assert set(AdversarialLoss("rpgan", r2_gamma=1.0).penalties(critic, real, fake)) == {"r2"}
    assert AdversarialLoss("rpgan", r2_gamma=1.0).penalizes_input_gradients
    with pytest.raises(ValueError, match="loss.r2_gamma=-1"):
        AdversarialLoss("rpgan", r2_gamma=-1)


def test_r2_is_taken_at_the_fakes():
    critic = lambda x: x.square().sum(dim=1)  # noqa: E731  grad = 2x: ||grad||^2 = 4 ||x||^2
    real, fake = torch.ones(3, 2), 2 * torch.ones(3, 2)
    terms = AdversarialLoss("rpgan", r1_gamma=2.0, r2_gamma=2.0).penalties(critic, real, fake)
    assert terms["r1"].item() == pytest.approx(8.0) and terms["r2"].item() == pytest.approx(32.0)


@pytest.mark.parametrize(("loss", "calls"), [("nsgan", 1), ("rpgan", 2)])
def test_generator_step_scores_reals_only_for_a_relativistic_loss(tmp_path, loss, calls):
    module = build_module(make_cfg(tmp_path, *TINY, f"loss={loss}"))
    seen = []
    original = module.discriminate
    module.discriminate = lambda x, *a, **k: seen.append(x.shape) or original(x, *a, **k)
    batch = (torch.randn(4, 1, 16, 16), torch.zeros(4, dtype=torch.long))
    assert torch.isfinite(module.generator_step(batch)["loss/g"])
    assert len(seen) == calls


# ----------------------------------------------------------------------------- schedules
def test_cosine_decay_start_middle_end():
    assert cosine_decay(0, 2e-4, 5e-5, 1000) == pytest.approx(2e-4)
    assert cosine_decay(500, 2e-4, 5e-5, 1000) == pytest.approx((2e-4 + 5e-5) / 2)
    quarter = 0.5 * (1 + math.cos(math.pi / 4))
    assert cosine_decay(250, 0.9, 0.99, 1000) == pytest.approx(0.9 + (1 - quarter) * 0.09)
    assert cosine_decay(1000, 0.05, 0.005, 1000) == pytest.approx(0.005)
    assert cosine_decay(5000, 0.05, 0.005, 1000) == 0.005
    assert cosine_decay(0, 1.0, 2.0, 0) == 2.0


def test_schedule_is_a_function_of_the_iteration(tmp_path):
    module = build_module(make_cfg(tmp_path, *TINY, "model.schedule_kimg=0.08"))  # 10 x 8 images
    start, middle, end = (module.schedule(i, 8) for i in (0, 5, 10))
    assert start == pytest.approx({"lr": 2e-4, "beta2": 0.9, "gamma": 0.05, "ema_kimg": 0.0,
                                   "aug_p": 0.0})
    assert middle == pytest.approx({"lr": 1.25e-4, "beta2": 0.945, "gamma": 0.0275,
                                    "ema_kimg": 0.005, "aug_p": 0.275})
    assert end == pytest.approx({"lr": 5e-5, "beta2": 0.99, "gamma": 0.005, "ema_kimg": 0.01,
                                 "aug_p": 0.55})
    assert module.loss.r1_gamma == module.loss.r2_gamma == 0.05  # the loss starts at the start
    module.iteration = 5
    assert module.schedule(module.iteration, 8) == middle  # nothing but the iteration counts


def test_schedule_applies_to_optimizers_and_loss_and_resumes_bitwise(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(straight, *TINY, "iterations=4")
    train(split, *TINY, "iterations=2")
    train(split, f"ckpt_path={split / 'checkpoints' / 'last.ckpt'}", "iterations=4")
    assert_same_training_state(straight / "checkpoints" / "last.ckpt",
                               split / "checkpoints" / "last.ckpt")
    lines = (straight / "metrics.csv").read_text().splitlines()
    header, rows = lines[0].split(","), [dict(zip(lines[0].split(","), r.split(","), strict=True))
                                         for r in lines[1:]]
    assert {"loss/d_r1", "loss/d_r2", "schedule/lr", "schedule/gamma", "schedule/beta2",
            "schedule/ema_kimg"} <= set(header)
    # iteration 3 (logged at 4) started at 24 of 32 images: lr = 5e-5 + 1.5e-4 (1 + cos(3pi/4))/2
    last = rows[-1]
    assert float(last["schedule/lr"]) == pytest.approx(cosine_decay(24, 2e-4, 5e-5, 32))
    assert float(last["lr/generator"]) == pytest.approx(float(last["schedule/lr"]))
    ckpt = torch.load(straight / "checkpoints" / "last.ckpt", weights_only=True)
    betas = [group["betas"] for state in ckpt["optimizer_states"] for group in state["param_groups"]]
    assert all(b == pytest.approx((0.0, cosine_decay(24, 0.9, 0.99, 32))) for b in betas)


def test_ema_follows_the_half_life_ramp(tmp_path):
    module = build_module(make_cfg(tmp_path, *TINY))
    module._batch_images = 8
    module.iteration = 1  # just finished iteration 0: half-life 0 -> the EMA copies G
    assert module.current_ema_decay() == 0.0
    module.iteration = 5  # after the schedule: half-life 10 images
    assert module.current_ema_decay() == pytest.approx(0.5 ** (8 / 10))


# ----------------------------------------------------------------------------- nets
@pytest.mark.parametrize("size", [16, 32, 64])
def test_nets_shapes(size):
    g = R3GANGenerator(16, size, 1, width=[32, 24, 16, 16, 16][: int(math.log2(size)) - 1],
                       cardinality=4, blocks=1)
    d = R3GANDiscriminator(size, 1, width=g.stages[0][0].basis.shape[0], cardinality=4, blocks=1)
    images = g(torch.randn(3, 16))
    assert images.shape == (3, 1, size, size) and d(images).shape == (3,)
    with pytest.raises(ValueError, match="expects input"):
        d(torch.randn(3, 3, size, size))


def test_residual_blocks_start_as_the_identity():
    block = R3GANResidualBlock(16, cardinality=4, expansion_factor=2, variance_scaling=8)
    x = torch.randn(2, 16, 5, 5)
    assert torch.equal(block(x), x)
    assert not block.conv3.weight.any() and block.conv1.weight.std() > 0
    # Fix-up init: std = sqrt(2 / 1.04) * 8^(-1/4) / sqrt(fan_in) for the first two convs.
    want = math.sqrt(2 / 1.04) * 8 ** -0.25 / math.sqrt(16)
    assert block.conv1.weight.std().item() == pytest.approx(want, rel=0.1)


def test_conditional_nets_and_the_official_cifar10_parameter_count():
    # Counted by instantiating the official R3GAN/Networks.py Generator / Discriminator with the
    # CIFAR10 preset of its train.py (WidthPerStage 3 * 1024 // 4 = 768 x 4, CardinalityPerStage
    # 96, BlocksPerStage 2, ExpansionFactor 2, NoiseDimension 64; D reversed; --cond: G embedding
    # 64, D embedding 768, 10 classes). In closed form: a block has 2 * 768 * 1536 +
    # 1536 * 16 * 9 + 2 * 1536 = 2,583,552 parameters; G = 8 blocks + 3 up-sampling stages
    # without a width change + basis 768 * 16 + linear 64 * 768 + to-RGB 768 * 3.
    block = 2 * 768 * 1536 + 1536 * 16 * 9 + 2 * 1536
    g_count = 8 * block + 768 * 16 + 64 * 768 + 768 * 3
    d_count = 8 * block + 3 * 768 + 768 * 16 + 768
    assert (g_count, d_count) == (20_732_160, 20_683_776)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(R3GANGenerator(64, 32, 3)) == g_count
    assert count(R3GANDiscriminator(32, 3)) == d_count
    g, d = R3GANGenerator(64, 32, 3, num_classes=10), R3GANDiscriminator(32, 3, num_classes=10)
    assert (count(g), count(d)) == (20_781_952, 21_280_512)
    assert (count(g), count(d)) == (g_count + 128 * 768 - 64 * 768 + 10 * 64,
                                    d_count - 768 + 768 * 768 + 10 * 768)
    small_g = R3GANGenerator(8, 16, 1, width=16, cardinality=4, blocks=1, num_classes=3)
    small_d = R3GANDiscriminator(16, 1, width=16, cardinality=4, blocks=1, num_classes=3)
    labels = torch.tensor([0, 2])
    assert small_d(small_g(torch.randn(2, 8), labels), labels).shape == (2,)
    with pytest.raises(ValueError, match="pass labels"):
        small_g(torch.randn(2, 8))


# ----------------------------------------------------------------------------- training
def test_conditional_r3gan_trains(tmp_path):
    train(tmp_path, *TINY, "model.num_classes=10", "iterations=2")
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()


def test_penalties_reject_a_batch_norm_critic():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 4), nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match="r2_gamma=1.0"):
        AdversarialLoss("rpgan", r2_gamma=1.0).check_critic(critic)


# ----------------------------------------------------------------------------- official defaults
def test_r3gan_augments_and_draws_a_fresh_generator_batch_by_default(tmp_path):
    from gan_lab.augment import AdaptiveAugment, DiffAugment, NoAugment

    module = build_module(make_cfg(tmp_path, *TINY))
    # brownvc/R3GAN train.py: --aug default True, AugmentPipe(..., brightness=0.5, ..., cutout=1)
    assert isinstance(module.augment, AdaptiveAugment) and module.augment.fixed_p == 0.0
    assert module.augment.strength["saturation"] == 0.5 and module.augment.strength["xflip"] == 1
    assert module.ranges["aug_p"] == (0.0, 0.55)  # aug_scheduler 0 -> 0.55 (CIFAR-10)
    # training_loop.py: D_img and G_img from two next(training_set_iterator)
    assert module.fresh_generator_batch and module.batches_per_iteration == 2
    # augment=none turns it off (and the p schedule with it); ~augment too
    for off in ("augment=none", "~augment"):
        plain = build_module(make_cfg(tmp_path, *TINY, off))
        assert isinstance(plain.augment, NoAugment) and "aug_p" not in plain.ranges
    # another augmentation: one line naming the way out
    with pytest.raises(ValueError, match="model.aug_p_end=null"):
        build_module(make_cfg(tmp_path, *TINY, "augment=diffaugment"))
    other = build_module(make_cfg(tmp_path, *TINY, "augment=diffaugment", "model.aug_p_end=null"))
    assert isinstance(other.augment, DiffAugment)


def test_schedules_count_one_batch_per_iteration_with_the_fresh_generator_batch(tmp_path):
    # Official cur_nimg += batch_size once per iteration, though it reads two batches.
    run = tmp_path / "run"
    train(run, *TINY, "iterations=4")
    lines = (run / "metrics.csv").read_text().splitlines()
    last = dict(zip(lines[0].split(","), lines[-1].split(","), strict=True))
    # iteration 3 starts at 3 * 8 = 24 images (counting both batches would give 48, past the end)
    assert float(last["schedule/aug_p"]) == pytest.approx(cosine_decay(24, 0.0, 0.55, 32))
    assert float(last["schedule/gamma"]) == pytest.approx(cosine_decay(24, 0.05, 0.005, 32))
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["gan_lab"]["iteration"] == 4


def test_d_step_runs_d_once_per_input_set_with_penalties_from_its_logits(tmp_path):
    module = build_module(make_cfg(tmp_path, *TINY, "augment=none"))
    calls = []
    original = module.discriminator.forward
    module.discriminator.forward = lambda *a, **k: calls.append(1) or original(*a, **k)
    batch = (torch.randn(4, 1, 16, 16), torch.zeros(4, dtype=torch.long))
    torch.manual_seed(0)
    terms = module.discriminator_step(batch)
    assert len(calls) == 2 and {"loss/d_r1", "loss/d_r2"} <= set(terms)  # real, fake: no more
    # the same values as the two-forward computation
    module.loss.share_forward = False
    calls.clear()
    torch.manual_seed(0)
    separate = module.discriminator_step(batch)
    assert len(calls) == 4
    for key in ("loss/d", "loss/d_r1", "loss/d_r2", "score/real", "score/fake"):
        torch.testing.assert_close(terms[key], separate[key], rtol=1e-4, atol=1e-6)

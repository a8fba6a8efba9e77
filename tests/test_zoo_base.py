"""The base for the whole zoo: phases, named optimizers, frozen nets, visuals, the D entry point,
and the fixes held against the reference code (update orders, DCGAN biases, penalties on BN)."""

from __future__ import annotations

import copy
import functools

import lightning.pytorch as pl
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gan_lab.config import ConfigError
from gan_lab.losses import AdversarialLoss
from gan_lab.losses.regularizers import gradient_penalty, r1_penalty
from gan_lab.models import CycleGAN, Phase, Pix2Pix
from gan_lab.models.base import AdversarialModule
from gan_lab.models.frozen import FrozenNets
from gan_lab.models.phases import lazy_ratio, rescale_for_lazy_phases
from gan_lab.nets import (
    DCGANDiscriminator,
    DCGANGenerator,
    PatchDiscriminator,
    ResnetGenerator,
    UnetGenerator,
)
from gan_lab.outputs import render
from gan_lab.train import STEP_BOUND, build_module, run
from gan_lab.visuals import Visual
from tests.conftest import TINY_DCGAN, make_cfg

ADAM = functools.partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))


# ----------------------------------------------------------------------------- phases
def test_a_phase_runs_on_its_interval_and_critic_phases_on_every_batch():
    step = Phase("Dreg", "discriminator", lambda b: {}, "loss/d_r1", every=16, lazy=True,
                 critic=True)
    assert [i for i in range(40) if step.due(i, critic_batch=True, last_batch=False)] == [0, 16, 32]
    assert not step.due(0, critic_batch=False, last_batch=True)  # the generator's own batch
    g = Phase("Gmain", "generator", lambda b: {}, "loss/g")
    assert g.due(3, critic_batch=True, last_batch=True)
    assert not g.due(3, critic_batch=True, last_batch=False)
    assert step.gain == 16.0 and g.gain == 1.0
    with pytest.raises(ValueError, match="every=0"):
        Phase("x", "g", lambda b: {}, "t", every=0)


class _ConditionalScheme(AdversarialModule):
    """A toy scheme: D steps only on even iterations (a phase condition), G three times per
    iteration (a repeated phase); it records every step and what it logs."""

    def __init__(self) -> None:
        super().__init__(optimizers={"generator": functools.partial(torch.optim.SGD, lr=0.1),
                                     "discriminator": functools.partial(torch.optim.SGD, lr=0.1)},
                         log_every=4)
        self.generator, self.discriminator = nn.Linear(2, 2), nn.Linear(2, 1)
        self.calls: list[tuple[str, int]] = []
        self.logged: list[dict] = []
        self.generator_weights: list[torch.Tensor] = []
        self.discriminator_weights: list[torch.Tensor] = []

    def optimizer_groups(self):
        return {"generator": self.generator.parameters(),
                "discriminator": self.discriminator.parameters()}

    def phases(self):
        return [Phase("Dmain", "discriminator", self.d_step, "loss/d", critic=True,
                      condition=lambda: self.iteration % 2 == 0),
                Phase("Gmain", "generator", self.g_step, "loss/g", repeat=3)]

    def d_step(self, batch):
        self.calls.append(("D", self.iteration))
        return {"loss/d": self.discriminator(batch[0]).mean()}

    def g_step(self, batch):
        self.calls.append(("G", self.iteration))
        self.generator_weights.append(self.generator.weight.detach().clone())
        return {"loss/g": -self.discriminator(self.generator(batch[0])).mean()}

    def on_train_batch_end(self, *args) -> None:
        self.discriminator_weights.append(self.discriminator.weight.detach().clone())

    def log_metrics(self, metrics):
        self.logged.append(metrics)


def test_conditional_phases_skip_their_step_and_repeated_phases_step_each_time():
    module = _ConditionalScheme()
    module.budget = 4
    loader = DataLoader(TensorDataset(torch.randn(64, 2)), batch_size=8)
    pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False).fit(module, loader)
    assert [c for c in module.calls if c[0] == "D"] == [("D", 0), ("D", 2)]
    assert [c for c in module.calls if c[0] == "G"] == [("G", i) for i in range(4) for _ in range(3)]
    # every repeat steps G's optimizer: each G step sees the weights the previous one left
    g = module.generator_weights
    assert all(not torch.equal(a, b) for a, b in zip(g, g[1:]))
    # D's weights move on the iterations it ran (0 and 2), not on those it skipped (1 and 3)
    d = module.discriminator_weights
    assert torch.equal(d[0], d[1]) and not torch.equal(d[1], d[2]) and torch.equal(d[2], d[3])
    assert module.logged[0]["phase/Dmain_ran"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="repeat=0"):
        Phase("x", "g", lambda b: {}, "t", repeat=0)


def test_lazy_phases_rescale_their_optimizer_as_the_official_code():
    # stylegan2-ada training_loop.py: mb_ratio = k / (k + 1); lr * mb_ratio, beta ** mb_ratio.
    phases = [Phase("Dmain", "discriminator", lambda b: {}, "loss/d", critic=True),
              Phase("Dreg", "discriminator", lambda b: {}, "r1", every=16, lazy=True)]
    assert lazy_ratio(phases, "discriminator") == 16 / 17 and lazy_ratio(phases, "generator") == 1
    optimizer = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=0.002, betas=(0.0, 0.99))
    rescale_for_lazy_phases(optimizer, 16 / 17)
    group = optimizer.param_groups[0]
    assert group["lr"] == pytest.approx(0.002 * 16 / 17)
    assert group["betas"] == pytest.approx((0.0, 0.99 ** (16 / 17)))


def test_optimizer_groups_must_match_the_optim_config(tmp_path):
    cfg = make_cfg(tmp_path, *TINY_DCGAN, "+optim.mapping={_target_:torch.optim.Adam,_partial_:true}",
                   "iterations=1")
    with pytest.raises(ConfigError, match="optim.mapping: this scheme has no such optimizer group"):
        run(cfg)


# ----------------------------------------------------------------------------- frozen nets
class _WithFrozen(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.generator = nn.Linear(2, 2)
        self.frozen = FrozenNets({"vgg": nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))})


def test_frozen_nets_are_never_saved_trained_or_strictly_required():
    module = _WithFrozen()
    assert list(module.state_dict()) == ["generator.weight", "generator.bias"]
    other = _WithFrozen()
    assert not other.load_state_dict(module.state_dict(), strict=True).missing_keys
    other.train()
    assert not other.frozen.vgg.training  # eval mode: fixed BN statistics
    assert not any(p.requires_grad for p in other.frozen.parameters())
    other.frozen["extra"] = nn.Linear(1, 1)
    assert not other.frozen["extra"].weight.requires_grad


# ----------------------------------------------------------------------------- visuals
def test_every_visual_kind_renders_and_unknown_kinds_are_an_error():
    grid = render(Visual("images", torch.zeros(6, 1, 4, 4), nrow=3)).pixels
    assert grid.shape == (3, 2 * 6 + 2, 3 * 6 + 2) and grid.min() >= 0 and grid.max() <= 1
    scatter = render(Visual("points", torch.randn(50, 2))).pixels
    assert scatter.shape[0] == 3 and scatter.shape[1] > 50
    with pytest.raises(ValueError, match="no renderer for visuals of kind 'video'"):
        render(Visual("video", torch.zeros(1, 3, 2, 4, 4)))


def test_toy_samples_are_drawn_not_skipped(tmp_path):
    from tests.conftest import TINY_TOY
    module = build_module(make_cfg(tmp_path, *TINY_TOY))
    inputs = module.visual_inputs(None, 100, 8, torch.Generator().manual_seed(0))
    (visual,) = module.visuals(inputs).values()
    assert visual.kind == "points" and render(visual).pixels.shape[0] == 3


# ----------------------------------------------------------------------------- the D entry point
class _Double(nn.Module):
    def forward(self, x):
        return x * 2


def test_the_augmentation_applies_to_every_discriminator_input_and_penalty(tmp_path):
    cfg = make_cfg(tmp_path, *TINY_DCGAN, "augment=diffaugment", "loss=wgan_gp", "iterations=1")
    module = build_module(cfg)
    module.augment = _Double()
    seen = []
    module.discriminator.register_forward_pre_hook(lambda m, args: seen.append(args[0].abs().max()))
    x = torch.full((4, 1, 8, 8), 0.25)
    module.discriminate(x)
    assert seen[-1] == pytest.approx(0.5)


def test_ada_p_is_logged_and_saved(tmp_path):
    from gan_lab.augment import AdaptiveAugment
    run(make_cfg(tmp_path, *TINY_DCGAN, "augment=ada", "augment.speed_kimg=0.01",
                 "iterations=8", "model.log_every=4"))
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert "augment.p" in ckpt["state_dict"]
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "augment/p" in header and "augment/rt" in header
    assert isinstance(build_module(ckpt_cfg(ckpt)).augment, AdaptiveAugment)


def ckpt_cfg(ckpt):
    from omegaconf import OmegaConf
    return OmegaConf.create(ckpt["gan_lab"]["config"])


# ----------------------------------------------------------------------------- update orders
def _fit_one_iteration(module, a, b):
    module.budget = 1
    trainer = pl.Trainer(accelerator="cpu", max_steps=STEP_BOUND, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.fit(module, train_dataloaders=DataLoader(TensorDataset(a, b), batch_size=len(a)))


def _images(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(2, 3, 16, 16, generator=g) * 2 - 1,
            torch.rand(2, 3, 16, 16, generator=g) * 2 - 1)


def _assert_same_weights(one: nn.Module, two: nn.Module) -> None:
    for (name, x), y in zip(one.state_dict().items(), two.state_dict().values(), strict=True):
        assert torch.allclose(x, y, atol=1e-6, rtol=1e-5), name


def test_pix2pix_updates_d_then_g_through_one_forward_as_the_reference():
    # junyanz pix2pix_model.py optimize_parameters: forward(); D step on fake_B.detach(); then
    # G step (D frozen) through the same fake_B, judged by the D just updated.
    torch.manual_seed(0)
    module = Pix2Pix(UnetGenerator(3, 3, image_size=16, width=4, dropout=0.0),
                     PatchDiscriminator(6, width=4, n_layers=1), AdversarialLoss("nsgan"),
                     optimizers={"generator": ADAM, "discriminator": ADAM})
    reference = copy.deepcopy(module)
    a, b = _images()
    _fit_one_iteration(module, a, b)

    g, d, loss = reference.generator["AtoB"], reference.discriminator["B"], reference.loss
    opt_g, opt_d = ADAM(g.parameters()), ADAM(d.parameters())
    fake = g(a)
    real_scores, fake_scores = d(torch.cat([a, b], 1)), d(torch.cat([a, fake.detach()], 1))
    opt_d.zero_grad()
    loss.discriminator_loss(real_scores, fake_scores).backward()
    opt_d.step()
    d.requires_grad_(False)
    opt_g.zero_grad()
    (loss.generator_loss(d(torch.cat([a, fake], 1))) + 100 * (fake - b).abs().mean()).backward()
    opt_g.step()
    _assert_same_weights(module.generator, reference.generator)
    _assert_same_weights(module.discriminator, reference.discriminator)


def test_cyclegan_updates_g_then_d_as_the_reference():
    torch.manual_seed(0)
    module = CycleGAN(ResnetGenerator(3, 3, width=4, n_blocks=1),
                      ResnetGenerator(3, 3, width=4, n_blocks=1),
                      PatchDiscriminator(3, width=4, n_layers=1),
                      PatchDiscriminator(3, width=4, n_layers=1), AdversarialLoss("lsgan"),
                      pool_size=0, identity_weight=0.0,
                      optimizers={"generator": ADAM, "discriminator": ADAM})
    reference = copy.deepcopy(module)
    a, b = _images()
    _fit_one_iteration(module, a, b)

    g, f = reference.generator["AtoB"], reference.generator["BtoA"]
    d_a, d_b, loss = reference.discriminator["A"], reference.discriminator["B"], reference.loss
    opt_g, opt_d = ADAM(reference.generator.parameters()), ADAM(reference.discriminator.parameters())
    fake_b, fake_a = g(a), f(b)
    reference.discriminator.requires_grad_(False)
    opt_g.zero_grad()
    (loss.generator_loss(d_b(fake_b)) + loss.generator_loss(d_a(fake_a))
     + 10 * ((f(fake_b) - a).abs().mean() + (g(fake_a) - b).abs().mean())).backward()
    opt_g.step()
    reference.discriminator.requires_grad_(True)
    opt_d.zero_grad()
    (loss.discriminator_loss(d_b(b), d_b(fake_b.detach()))
     + loss.discriminator_loss(d_a(a), d_a(fake_a.detach()))).backward()
    opt_d.step()
    _assert_same_weights(module.generator, reference.generator)
    _assert_same_weights(module.discriminator, reference.discriminator)


# ----------------------------------------------------------------------------- DCGAN
def test_dcgan_parameter_counts_match_pytorch_examples():
    # pytorch/examples dcgan/main.py at 64 px, nz 100, ngf = ndf = 64, nc 3: no bias on G's last
    # transposed conv nor on D's first and last convs.
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(DCGANGenerator(100, 64, 3, 64)) == 3_576_704
    assert count(DCGANDiscriminator(64, 3, 64)) == 2_765_568


def test_dcgan_makes_and_judges_non_square_images():
    g, d = DCGANGenerator(16, [16, 32], 1, 8), DCGANDiscriminator([16, 32], 1, 8)
    images = g(torch.randn(3, 16))
    assert images.shape == (3, 1, 16, 32) and d(images).shape == (3,)
    with pytest.raises(ValueError, match="image_size=\\[24, 32\\]"):
        DCGANGenerator(16, [24, 32], 1, 8)


# ----------------------------------------------------------------------------- penalties and BN
def _per_sample_gp_terms(critic, x):
    norms = []
    for i in range(len(x)):
        xi = x[i:i + 1].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(xi).sum(), xi)
        norms.append(grad.flatten().norm())
    return torch.stack(norms)


@pytest.mark.parametrize("norm", ["layer", "none"])
def test_penalties_on_a_batch_norm_free_critic_are_per_sample(norm):
    torch.manual_seed(0)
    critic = DCGANDiscriminator(16, 1, 8, norm=norm)
    x = torch.randn(8, 1, 16, 16)
    expected = _per_sample_gp_terms(critic, x)
    assert r1_penalty(critic, x).item() == pytest.approx(expected.square().mean().item(), rel=1e-5)
    torch.manual_seed(1)
    eps = torch.rand(8, 1, 1, 1)
    x_hat = eps * x + (1 - eps) * x.flip(0)
    torch.manual_seed(1)
    gp = gradient_penalty(critic, x, x.flip(0))
    norms = _per_sample_gp_terms(critic, x_hat)
    assert gp.item() == pytest.approx((norms - 1).square().mean().item(), rel=1e-5)


def test_penalties_on_a_batch_norm_critic_are_refused_in_one_line(tmp_path):
    torch.manual_seed(0)
    critic = DCGANDiscriminator(16, 1, 8, norm="batch")
    x = torch.randn(8, 1, 16, 16)
    # Why: with batch norm the sum's gradient is not the per-sample one.
    assert r1_penalty(critic, x).item() != pytest.approx(
        _per_sample_gp_terms(critic, x).square().mean().item(), rel=1e-3)
    assert make_cfg(tmp_path, "loss=wgan_gp").model.discriminator.norm == "layer"
    assert make_cfg(tmp_path, "loss=nsgan").model.discriminator.norm == "batch"
    cfg = make_cfg(tmp_path, *TINY_DCGAN, "data.image_size=16", "loss=wgan_gp",
                   "model.discriminator.norm=batch", "iterations=1")
    with pytest.raises(ConfigError, match="BatchNorm2d, which mixes the samples of a batch"):
        run(cfg)
    assert make_cfg(tmp_path, "model=pix2pix", "loss.r1_gamma=1").model.discriminator.norm == "layer"
    cfg = make_cfg(tmp_path, "model=pix2pix", "loss.r1_gamma=1", "model.discriminator.norm=batch",
                   "iterations=1")
    with pytest.raises(ConfigError, match="discriminator B has BatchNorm2d"):
        run(cfg)

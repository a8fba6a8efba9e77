"""Tests for gan_lab.losses: objectives, penalties, weight clipping and AdversarialLoss."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gan_lab.losses import (
    OBJECTIVES,
    AdversarialLoss,
    clip_weights_,
    gradient_penalty,
    r1_penalty,
)

# Scores used for the hand-computed objective values.
REAL = [0.5, -1.0, 2.0]
FAKE = [-0.3, 1.5]


def _mean(values):
    return sum(values) / len(values)


def _sp(x):
    """softplus by hand: log(1 + e^x)."""
    return math.log(1.0 + math.exp(x))


def _t(values):
    return torch.tensor(values, dtype=torch.float64)


# --------------------------------------------------------------------------- objectives

# D(x) = sigmoid(s): -log D(x) = log(1 + e^-s), -log(1 - D(x)) = log(1 + e^s).
_BCE_D = _mean([math.log(1 + math.exp(-r)) for r in REAL]) + _mean(
    [math.log(1 + math.exp(f)) for f in FAKE]
)
EXPECTED = {
    # saturating G: E[log(1 - sigmoid(f))] = E[log(e^-f / (1 + e^-f))]
    "minimax": (_BCE_D, _mean([math.log(1 - 1 / (1 + math.exp(-f))) for f in FAKE])),
    # non-saturating G: E[-log sigmoid(f)]
    "nsgan": (_BCE_D, _mean([-math.log(1 / (1 + math.exp(-f))) for f in FAKE])),
    "wasserstein": (_mean(FAKE) - _mean(REAL), -_mean(FAKE)),
    "lsgan": (
        0.5 * _mean([(r - 1) ** 2 for r in REAL]) + 0.5 * _mean([f**2 for f in FAKE]),
        0.5 * _mean([(f - 1) ** 2 for f in FAKE]),
    ),
    "hinge": (
        _mean([max(0.0, 1 - r) for r in REAL]) + _mean([max(0.0, 1 + f) for f in FAKE]),
        -_mean(FAKE),
    ),
}


def test_objective_names():
    assert set(OBJECTIVES) == {"minimax", "nsgan", "wasserstein", "lsgan", "hinge"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_objective_values_match_hand_computation(name):
    d_fn, g_fn = OBJECTIVES[name]
    want_d, want_g = EXPECTED[name]
    assert d_fn(_t(REAL), _t(FAKE)).item() == pytest.approx(want_d, rel=1e-12, abs=1e-12)
    assert g_fn(_t(FAKE)).item() == pytest.approx(want_g, rel=1e-12, abs=1e-12)


def test_hand_values_sanity():
    # A few spelled-out numbers so the hand formulas above are themselves pinned.
    assert EXPECTED["wasserstein"] == pytest.approx((0.6 - 0.5, -0.6))
    assert EXPECTED["hinge"][0] == pytest.approx((0.5 + 2.0 + 0.0) / 3 + (0.7 + 2.5) / 2)
    assert EXPECTED["minimax"][0] == pytest.approx(
        (_sp(-0.5) + _sp(1.0) + _sp(-2.0)) / 3 + (_sp(-0.3) + _sp(1.5)) / 2
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_objectives_reduce_any_shape(name):
    d_fn, g_fn = OBJECTIVES[name]
    real = torch.randn(4, 1, 3, 3, dtype=torch.float64)
    fake = torch.randn(4, 1, 3, 3, dtype=torch.float64)
    d, g = d_fn(real, fake), g_fn(fake)
    assert d.dim() == 0 and g.dim() == 0
    assert d.item() == pytest.approx(d_fn(real.flatten(), fake.flatten()).item())
    assert g.item() == pytest.approx(g_fn(fake.flatten()).item())


@pytest.mark.parametrize("name", ["minimax", "nsgan"])
def test_probabilistic_objectives_are_stable_for_extreme_logits(name):
    d_fn, g_fn = OBJECTIVES[name]
    real = torch.tensor([-200.0, 200.0], requires_grad=True)
    fake = torch.tensor([200.0, -200.0], requires_grad=True)
    d, g = d_fn(real, fake), g_fn(fake)
    assert torch.isfinite(d) and torch.isfinite(g)
    assert d.item() == pytest.approx(200.0, rel=1e-6)  # (200 + 0)/2 + (200 + 0)/2
    (d + g).backward()
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()


def test_objectives_promote_half_precision_scores():
    d_fn, g_fn = OBJECTIVES["nsgan"]
    real = torch.tensor(REAL, dtype=torch.bfloat16)
    fake = torch.tensor(FAKE, dtype=torch.bfloat16)
    assert d_fn(real, fake).dtype == torch.float32
    assert g_fn(fake).dtype == torch.float32


# --------------------------------------------------------------------------- critics


class LinearCritic(nn.Module):
    """D(x) = x.flatten(1) @ w: the input gradient is w for every sample."""

    def __init__(self, dim: int, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.w = nn.Parameter(torch.randn(dim, generator=gen))

    def forward(self, x):
        return x.flatten(1) @ self.w


class TanhCritic(nn.Module):
    """D(x) = sum_j tanh(x.flatten(1) @ W)_j."""

    def __init__(self, dim: int, hidden: int = 5, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.W = nn.Parameter(torch.randn(dim, hidden, generator=gen) / math.sqrt(dim))

    def forward(self, x):
        return torch.tanh(x.flatten(1) @ self.W).sum(dim=1)


def _per_sample_grads(critic: TanhCritic, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Independent per-sample input gradients: central finite differences in float64.

    Each sample is evaluated on its own (no batch sum), one coordinate at a time.
    """
    weight = critic.W.detach().double()
    flat = x.detach().double().flatten(1)

    def single(sample):
        return torch.tanh(sample @ weight).sum().item()

    grads = torch.zeros_like(flat)
    for i, sample in enumerate(flat):
        for j in range(sample.numel()):
            step = torch.zeros_like(sample)
            step[j] = h
            grads[i, j] = (single(sample + step) - single(sample - step)) / (2 * h)
    return grads.view_as(x).float()


def _data(shape=(4, 2, 3, 3), seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)


# --------------------------------------------------------------------------- gradient penalty


def test_gradient_penalty_linear_critic_is_exact():
    real, fake = _data()
    critic = LinearCritic(real[0].numel())
    want = (critic.w.detach().norm().item() - 1.0) ** 2
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(want, rel=1e-5)
    want0 = critic.w.detach().norm().item() ** 2
    got0 = gradient_penalty(critic, real, fake, center=0.0).item()
    assert got0 == pytest.approx(want0, rel=1e-5)


def test_gradient_penalty_nonlinear_critic_matches_finite_differences():
    real, fake = _data()
    critic = TanhCritic(real[0].numel())
    torch.manual_seed(123)
    got = gradient_penalty(critic, real, fake)
    # Redraw the same interpolation factors: one U[0,1] per sample.
    torch.manual_seed(123)
    eps = torch.rand(real.shape[0], 1, 1, 1)
    x_hat = eps * real + (1 - eps) * fake
    grads = _per_sample_grads(critic, x_hat)
    norms = grads.flatten(1).norm(dim=1)
    want = ((norms - 1.0) ** 2).mean()
    assert got.item() == pytest.approx(want.item(), rel=1e-5)
    # Analytic check of the per-sample gradient itself: W @ (1 - tanh^2(W^T x)).
    pre = x_hat.flatten(1) @ critic.W.detach()
    analytic = (1 - torch.tanh(pre) ** 2) @ critic.W.detach().T
    torch.testing.assert_close(grads.flatten(1), analytic, rtol=1e-5, atol=1e-6)


def test_gradient_penalty_uses_one_factor_per_sample():
    # D(x) = 0.5 * ||x||^2 has grad x. With real = +1 and fake = -1 everywhere, a single eps per
    # sample gives x_hat = (2 eps - 1) * ones, so ||grad|| = |2 eps - 1| * sqrt(d) exactly.
    shape = (5, 2, 3, 3)
    d = 2 * 3 * 3
    real, fake = torch.ones(shape), -torch.ones(shape)

    def critic(x):
        return 0.5 * x.flatten(1).pow(2).sum(dim=1)

    torch.manual_seed(7)
    got = gradient_penalty(critic, real, fake)
    torch.manual_seed(7)
    eps = torch.rand(shape[0]).tolist()
    want = _mean([(abs(2 * e - 1) * math.sqrt(d) - 1) ** 2 for e in eps])
    assert got.item() == pytest.approx(want, rel=1e-5)


def test_gradient_penalty_is_differentiable_wrt_critic_weights():
    real, fake = _data()
    dim = real[0].numel()
    critic = nn.Sequential(nn.Flatten(), nn.Linear(dim, 8), nn.Tanh(), nn.Linear(8, 1))
    gp = gradient_penalty(critic, real, fake)
    gp.backward()
    for name, param in critic.named_parameters():
        if name == "3.bias":  # the output bias does not affect the input gradient
            continue
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_gradient_penalty_weight_gradient_is_exact_for_linear_critic():
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    real, fake = _data()
    critic = LinearCritic(real[0].numel())
    gradient_penalty(critic, real, fake).backward()
    w = critic.w.detach()
    want = 2 * (w.norm() - 1) * w / w.norm()
    torch.testing.assert_close(critic.w.grad, want, rtol=1e-5, atol=1e-6)


def test_gradient_penalty_does_not_reach_generator():
    real, _ = _data()
    gen_param = nn.Parameter(torch.randn(real.shape))
    fake = torch.tanh(gen_param)
    critic = TanhCritic(real[0].numel())
    gradient_penalty(critic, real, fake).backward()
    assert gen_param.grad is None
    assert critic.W.grad is not None


def test_gradient_penalty_under_bf16_autocast_matches_float32():
    # Big enough that running this critic in bf16 would move the penalty by ~1e-3, far beyond
    # the 1e-5 tolerance: the test fails if the penalty stops disabling autocast.
    real, fake = _data(shape=(8, 3, 8, 8))
    dim = real[0].numel()
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(dim, 64), nn.Tanh(), nn.Linear(64, 1))
    torch.manual_seed(5)
    ref = gradient_penalty(critic, real, fake)
    torch.manual_seed(5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = gradient_penalty(critic, real, fake)
    assert got.dtype == torch.float32
    assert abs(got.item() - ref.item()) < 1e-5
    # bf16 inputs (e.g. a generator output under autocast) are cast to float32 too.
    fake_bf16 = fake.bfloat16()
    torch.manual_seed(5)
    ref16 = gradient_penalty(critic, real, fake_bf16.float())
    torch.manual_seed(5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got16 = gradient_penalty(critic, real, fake_bf16)
    assert got16.dtype == torch.float32
    assert abs(got16.item() - ref16.item()) < 1e-5


def test_gradient_penalty_rejects_shape_mismatch():
    critic = LinearCritic(4)
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(critic, torch.randn(2, 4), torch.randn(3, 4))


# --------------------------------------------------------------------------- R1


def test_r1_linear_critic_is_squared_norm():
    real, _ = _data()
    critic = LinearCritic(real[0].numel())
    want = critic.w.detach().pow(2).sum().item()
    assert r1_penalty(critic, real).item() == pytest.approx(want, rel=1e-5)


def test_r1_nonlinear_critic_matches_finite_differences():
    real, _ = _data()
    critic = TanhCritic(real[0].numel())
    grads = _per_sample_grads(critic, real)
    want = grads.flatten(1).pow(2).sum(dim=1).mean()
    assert r1_penalty(critic, real).item() == pytest.approx(want.item(), rel=1e-5)


def test_r1_is_differentiable_and_autocast_safe():
    real, _ = _data()
    critic = TanhCritic(real[0].numel())
    ref = r1_penalty(critic, real)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = r1_penalty(critic, real)
    assert got.dtype == torch.float32
    assert abs(got.item() - ref.item()) < 1e-5
    got.backward()
    assert critic.W.grad is not None and critic.W.grad.abs().sum() > 0


# --------------------------------------------------------------------------- weight clipping


def test_clip_weights_clamps_every_parameter():
    module = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.linspace(-2, 2, p.numel()).view_as(p))
    before = [p.detach().clone() for p in module.parameters()]
    clip_weights_(module, 0.5)
    for old, p in zip(before, module.parameters()):
        assert p.abs().max().item() <= 0.5
        torch.testing.assert_close(p.detach(), old.clamp(-0.5, 0.5))
        assert p.requires_grad


def test_clip_weights_rejects_non_positive():
    with pytest.raises(ValueError, match="must be > 0"):
        clip_weights_(nn.Linear(2, 2), 0.0)


# --------------------------------------------------------------------------- AdversarialLoss


def test_adversarial_loss_dispatches_to_objective():
    for name in OBJECTIVES:
        loss = AdversarialLoss(objective=name)
        assert loss.objective == name
        want_d, want_g = EXPECTED[name]
        d = loss.discriminator_loss(_t(REAL), _t(FAKE))
        assert d.item() == pytest.approx(want_d)
        assert loss.generator_loss(_t(FAKE)).item() == pytest.approx(want_g)


def test_adversarial_loss_defaults():
    loss = AdversarialLoss()
    assert loss.objective == "nsgan"
    real, fake = _data()
    assert loss.penalties(LinearCritic(real[0].numel()), real, fake) == {}
    module = nn.Linear(2, 2)
    with torch.no_grad():
        module.weight.fill_(3.0)
    loss.after_discriminator_step(module)
    assert module.weight.min().item() == 3.0  # no clipping by default


def test_adversarial_loss_penalty_weights_and_keys():
    real, fake = _data()
    critic = LinearCritic(real[0].numel())
    norm = critic.w.detach().norm().item()

    gp_only = AdversarialLoss("wasserstein", gp_weight=10.0).penalties(critic, real, fake)
    assert set(gp_only) == {"gp"}
    assert gp_only["gp"].item() == pytest.approx(10.0 * (norm - 1.0) ** 2, rel=1e-5)

    gp_zero = AdversarialLoss("wasserstein", gp_weight=2.0, gp_center=0.0)
    assert gp_zero.penalties(critic, real, fake)["gp"].item() == pytest.approx(
        2.0 * norm**2, rel=1e-5
    )

    r1_only = AdversarialLoss("nsgan", r1_gamma=4.0).penalties(critic, real, fake)
    assert set(r1_only) == {"r1"}
    assert r1_only["r1"].item() == pytest.approx(4.0 / 2 * norm**2, rel=1e-5)

    both = AdversarialLoss("hinge", gp_weight=1.0, r1_gamma=1.0).penalties(critic, real, fake)
    assert set(both) == {"gp", "r1"}
    sum(both.values()).backward()
    assert critic.w.grad is not None and critic.w.grad.abs().sum() > 0


def test_adversarial_loss_weight_clip():
    loss = AdversarialLoss("wasserstein", weight_clip=0.01)
    module = nn.Linear(5, 3)
    with torch.no_grad():
        module.weight.fill_(1.0)
        module.bias.fill_(-1.0)
    loss.after_discriminator_step(module)
    assert torch.all(module.weight == 0.01)
    assert torch.all(module.bias == -0.01)


def test_adversarial_loss_accepts_ints_from_config():
    loss = AdversarialLoss("wasserstein", gp_weight=10, gp_center=0, r1_gamma=0, weight_clip=1)
    assert loss.gp_weight == 10.0 and loss.gp_center == 0.0 and loss.weight_clip == 1.0
    assert "wasserstein" in repr(loss)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"objective": "foo"},
            "loss.objective='foo' is not one of: hinge, lsgan, minimax, nsgan, rpgan, wasserstein",
        ),
        ({"gp_weight": -1}, "loss.gp_weight=-1 must be >= 0"),
        ({"r1_gamma": -0.5}, "loss.r1_gamma=-0.5 must be >= 0"),
        ({"weight_clip": 0}, "loss.weight_clip=0 must be > 0 or null"),
        ({"weight_clip": -0.1}, "loss.weight_clip=-0.1 must be > 0 or null"),
        ({"gp_weight": "ten"}, "loss.gp_weight='ten' must be a number >= 0"),
        ({"gp_weight": float("inf")}, "loss.gp_weight=inf must be a finite number >= 0"),
        ({"gp_center": float("nan")}, "loss.gp_center=nan must be a finite number"),
    ],
)
def test_adversarial_loss_validation_messages(kwargs, message):
    with pytest.raises(ValueError) as info:
        AdversarialLoss(**kwargs)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- one D forward for
# R1 / R2 (the official R3GAN's D phase: penalties from the logits of the adversarial loss)


class _CountingCritic(nn.Module):
    """A small conv critic (no batch mixing) that counts its forward calls."""

    def __init__(self, augment=None):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.Softplus(), nn.Flatten(),
                                 nn.Linear(4 * 4 * 4, 1))
        self.augment = augment or (lambda x: x)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.net(self.augment(x)).squeeze(1)


def _d_grads(loss_terms, critic):
    total = loss_terms[0] + sum(loss_terms[1].values())
    return torch.autograd.grad(total, list(critic.parameters()))


@pytest.mark.parametrize("gammas", [(0.3, 0.7), (0.5, 0.0), (0.0, 0.2)])
def test_shared_forward_equals_the_two_forward_penalties(gammas):
    r1, r2 = gammas
    real, fake = torch.randn(5, 2, 4, 4), torch.randn(5, 2, 4, 4)
    critic = _CountingCritic()
    shared = AdversarialLoss("rpgan", r1_gamma=r1, r2_gamma=r2)
    separate = AdversarialLoss("rpgan", r1_gamma=r1, r2_gamma=r2, share_forward=False)
    assert shared.shares_forward and not separate.shares_forward
    one = shared.discriminator_terms(critic, real, fake)
    assert critic.calls == 2  # once on the reals, once on the fakes: no penalty forward
    critic.calls = 0
    two = separate.discriminator_terms(critic, real, fake)
    assert critic.calls == 2 + (r1 > 0) + (r2 > 0)  # the two-forward path: one per penalty
    assert set(one[1]) == set(two[1]) == {n for n, g in (("r1", r1), ("r2", r2)) if g > 0}
    torch.testing.assert_close(one[0], two[0])
    for name in one[1]:
        torch.testing.assert_close(one[1][name], two[1][name])
    torch.testing.assert_close(one[2], two[2])
    torch.testing.assert_close(one[3], two[3])
    # the same gradients for D's parameters (the penalties' double backprop included)
    for a, b in zip(_d_grads(one, critic), _d_grads(two, critic), strict=True):
        torch.testing.assert_close(a, b)
    # the values by the definition: gamma / 2 * E||grad_x D(x)||^2
    x = real.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x)
    if r1:
        assert one[1]["r1"].item() == pytest.approx(r1 / 2 * g.flatten(1).square().sum(1).mean()
                                                    .item(), rel=1e-5)


def test_shared_forward_penalizes_the_gradient_before_the_augmentation():
    # D(x) = <w, aug(x)> with aug(x) = 2x: the gradient w.r.t. the critic's (un-augmented)
    # input is 2w, as the official code's grad of D(augment(x)) w.r.t. x; w.r.t. the augmented
    # input it would be w.
    critic = _CountingCritic(augment=lambda x: 2 * x)
    critic.net = nn.Sequential(nn.Flatten(), nn.Linear(32, 1, bias=False))
    w2 = critic.net[1].weight.detach().square().sum().item()
    loss = AdversarialLoss("rpgan", r1_gamma=1.0, r2_gamma=1.0)
    _, terms, _, _ = loss.discriminator_terms(critic, torch.randn(3, 2, 4, 4),
                                              torch.randn(3, 2, 4, 4))
    assert terms["r1"].item() == pytest.approx(0.5 * 4 * w2, rel=1e-5)
    assert terms["r2"].item() == pytest.approx(0.5 * 4 * w2, rel=1e-5)


def test_shared_forward_keeps_fakes_attached_to_the_generator():
    # Simultaneous updates score fakes that carry G's graph: R2 is taken at them as they are
    # and G's loss still reaches G through the same scores.
    critic = _CountingCritic()
    g_param = torch.ones((), requires_grad=True)
    fake = torch.randn(4, 2, 4, 4) * g_param
    loss = AdversarialLoss("rpgan", r1_gamma=0.1, r2_gamma=0.1)
    adversarial, terms, real_scores, fake_scores = loss.discriminator_terms(
        critic, torch.randn(4, 2, 4, 4), fake)
    (g_grad,) = torch.autograd.grad(loss.generator_loss(fake_scores, real_scores), g_param,
                                    retain_graph=True)
    assert g_grad.abs() > 0 and torch.isfinite(terms["r2"])
    detached = loss.discriminator_terms(critic, torch.randn(4, 2, 4, 4), fake.detach())
    assert torch.isfinite(detached[1]["r2"])


def test_other_penalties_keep_their_own_forward_beside_the_shared_one():
    critic = _CountingCritic()
    loss = AdversarialLoss("wasserstein", gp_weight=10.0, r1_gamma=1.0, drift=0.001)
    _, terms, real_scores, _ = loss.discriminator_terms(critic, torch.randn(3, 2, 4, 4),
                                                        torch.randn(3, 2, 4, 4))
    assert set(terms) == {"drift", "gp", "r1"} and critic.calls == 3  # real, fake, GP's xhat
    torch.testing.assert_close(terms["drift"], 0.001 * real_scores.square().mean())
    plain = AdversarialLoss("nsgan")
    assert not plain.shares_forward
    critic.calls = 0
    assert plain.discriminator_terms(critic, torch.randn(3, 2, 4, 4),
                                     torch.randn(3, 2, 4, 4))[1] == {} and critic.calls == 2

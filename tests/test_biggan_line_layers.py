"""The layers of the BigGAN line on tiny inputs: spectral normalization (Miyato et al. 2018,
Alg. 1), SAGAN self-attention (Zhang et al. 2019, eqs. 1-3) and conditional batch norm."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from gan_lab.nets.attention import SelfAttention
from gan_lab.nets.conditional_norm import ClassConditionalBatchNorm2d, LinearConditionalBatchNorm2d
from gan_lab.nets.spectral import is_spectrally_normalised, spectral_norm, spectral_norm_all


def _normalize(x):
    return x / x.norm().clamp_min(1e-12)


def test_spectral_norm_is_one_power_iteration_per_training_forward():
    torch.manual_seed(0)
    layer = spectral_norm(nn.Conv2d(3, 4, 3))
    sn = layer.parametrizations.weight[0]
    w = layer.parametrizations.weight.original.detach().reshape(4, -1)
    v = sn._v.clone()
    layer(torch.randn(1, 3, 5, 5))
    # Alg. 1's power iteration, u <- W v / ||W v||, v <- W^T u / ||W^T u|| (torch alternates
    # from the stored v; the paper writes the same alternation from u), then sigma = u^T W v
    # and W_SN = W / sigma.
    u = _normalize(w @ v)
    v = _normalize(w.t() @ u)
    assert torch.allclose(sn._u, u, atol=1e-6) and torch.allclose(sn._v, v, atol=1e-6)
    sigma = u @ w @ v
    layer.eval()   # reading the weight in training mode would run another iteration
    assert torch.allclose(layer.weight.reshape(4, -1), w / sigma, atol=1e-6)
    # Eval mode: no iteration, the stored u is used as is.
    before = sn._u.clone()
    layer(torch.randn(1, 3, 5, 5))
    assert torch.equal(sn._u, before)


def test_spectral_norm_converges_to_unit_spectral_norm_and_is_in_the_state_dict():
    torch.manual_seed(1)
    layer = spectral_norm(nn.Linear(6, 5))
    for _ in range(50):
        layer(torch.randn(2, 6))
    assert abs(float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2)) - 1) < 1e-4
    keys = set(layer.state_dict())
    assert {"parametrizations.weight.0._u", "parametrizations.weight.0._v",
            "parametrizations.weight.original"} <= keys
    # A copy loaded from the state dict computes the same normalised weight (exact resume).
    twin = spectral_norm(nn.Linear(6, 5))
    twin.load_state_dict(layer.state_dict())
    layer.eval(), twin.eval()
    assert torch.equal(twin.weight, layer.weight)


def test_spectral_norm_all_covers_every_weighted_layer_once():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), spectral_norm(nn.Linear(2, 2)),
                        nn.Embedding(3, 2))
    spectral_norm_all(net)
    assert all(is_spectrally_normalised(m) for m in (net[0], net[2], net[3]))
    assert len(net[2].parametrizations.weight) == 1   # not normalised twice
    assert spectral_norm(nn.Linear(2, 2), enabled=False).__class__ is nn.Linear


def _naive_attention(block: SelfAttention, x):
    """Eqs. 1-3 written out position by position (pool=False, no spectral norm)."""
    b, c, h, w = x.shape
    flat = x.flatten(2)                                   # (B, C, N)
    f = torch.einsum("oc,bcn->bon", block.query.weight[:, :, 0, 0], flat)
    g = torch.einsum("oc,bcn->bon", block.key.weight[:, :, 0, 0], flat)
    hv = torch.einsum("oc,bcn->bon", block.value.weight[:, :, 0, 0], flat)
    out = torch.zeros(b, c, h * w)
    for j in range(h * w):
        scores = torch.stack([(f[:, :, j] * g[:, :, i]).sum(1) for i in range(h * w)], dim=1)
        beta = F.softmax(scores, dim=1)                    # beta_{j,i} over i
        attended = (beta[:, None, :] * hv).sum(2)          # sum_i beta_{j,i} h(x_i)
        out[:, :, j] = attended @ block.out.weight[:, :, 0, 0].t()
    return x + block.gamma * out.view(b, c, h, w)


def test_self_attention_matches_the_papers_equations_and_starts_as_identity():
    torch.manual_seed(2)
    block = SelfAttention(16, spectral_norm=False, pool=False)
    x = torch.randn(2, 16, 3, 4)
    assert torch.equal(block(x), x)                       # gamma = 0 at the start
    with torch.no_grad():
        block.gamma.fill_(0.7)
    assert torch.allclose(block(x), _naive_attention(block, x), atol=1e-5)


def test_pooled_self_attention_attends_to_the_pooled_positions():
    torch.manual_seed(3)
    pooled = SelfAttention(8, spectral_norm=False, pool=True)
    with torch.no_grad():
        pooled.gamma.fill_(1.0)
    x = torch.randn(1, 8, 4, 4)
    # Keys and values max-pooled 2x2: a constant within every 2x2 cell leaves them unchanged,
    # so the block equals the unpooled one on the pooled map's 4 positions repeated.
    unpooled = copy.deepcopy(pooled)
    unpooled.pool = False
    cells = F.interpolate(torch.randn(1, 8, 2, 2), scale_factor=2, mode="nearest")
    assert torch.allclose(pooled(cells), unpooled(cells), atol=1e-5)
    assert pooled(x).shape == x.shape and not torch.allclose(pooled(x), unpooled(x))


def test_conditional_batch_norms():
    torch.manual_seed(4)
    x, labels = torch.randn(4, 3, 2, 2), torch.tensor([0, 1, 1, 2])
    norm = ClassConditionalBatchNorm2d(3, num_classes=3)
    with torch.no_grad():
        norm.gain.weight.uniform_(0.5, 1.5)
        norm.bias.weight.normal_()
    plain = F.batch_norm(x, None, None, training=True, eps=1e-5)
    expected = plain * norm.gain.weight[labels][:, :, None, None] \
        + norm.bias.weight[labels][:, :, None, None]
    assert torch.allclose(norm(x, labels), expected, atol=1e-5)
    assert isinstance(ClassConditionalBatchNorm2d(3).norm, nn.BatchNorm2d)
    assert ClassConditionalBatchNorm2d(3).norm.affine        # unconditional: plain affine BN
    linear = LinearConditionalBatchNorm2d(3, condition_dim=5, spectral_norm=False)
    c = torch.randn(4, 5)
    gain, bias = 1 + c @ linear.gain.weight.t(), c @ linear.bias.weight.t()
    assert torch.allclose(linear(x, c), plain * gain[:, :, None, None] + bias[:, :, None, None],
                          atol=1e-5)

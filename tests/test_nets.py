"""Fast checks of gan_lab.nets: shapes, packing order, maxout, parameter counts, init."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch
from torch import nn

from gan_lab.nets import (
    DCGANDiscriminator,
    DCGANGenerator,
    Maxout,
    MLPDiscriminator,
    MLPGenerator,
    init_dcgan_weights_,
    pack,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ----------------------------------------------------------------------------- pack


def test_pack_identity_for_m1():
    x = torch.randn(5, 3)
    assert pack(x, 1) is x


def test_pack_flat_order():
    x = torch.arange(12.0).reshape(6, 2)
    expected = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]])
    assert torch.equal(pack(x, 3), expected)
    assert torch.equal(pack(x, 2), torch.cat([x[0::2], x[1::2]], dim=1))


def test_pack_image_order():
    x = torch.arange(8 * 3 * 2 * 2, dtype=torch.float32).reshape(8, 3, 2, 2)
    packed = pack(x, 4)
    assert packed.shape == (2, 12, 2, 2)
    for i in range(2):
        expected = torch.cat([x[4 * i + j] for j in range(4)], dim=0)
        assert torch.equal(packed[i], expected)


def test_pack_error():
    with pytest.raises(ValueError, match="multiple of model.packing") as info:
        pack(torch.zeros(10, 2), 4)
    msg = str(info.value)
    assert "10" in msg and "4" in msg and "\n" not in msg
    with pytest.raises(ValueError):
        pack(torch.zeros(4, 2), 0)


# ----------------------------------------------------------------------------- maxout


def test_maxout_matches_hand_computation():
    layer = Maxout(1, 2, 2, pieces=3)  # one replica
    with torch.no_grad():
        # rows = affine outputs; unit 0 uses rows 0..2, unit 1 uses rows 3..5
        layer.linear.weight.copy_(
            torch.tensor(
                [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [2.0, 0.0], [0.0, -2.0], [1.0, 1.0]]
            ).T[None]
        )
        layer.linear.bias.copy_(torch.tensor([0.0, 0.5, 0.0, -1.0, 0.0, 3.0])[None, None])
    x = torch.tensor([[1.0, 2.0], [-3.0, 0.5]])
    # sample 0: unit 0 max(1, 2.5, -3) = 2.5; unit 1 max(1, -4, 6) = 6
    # sample 1: unit 0 max(-3, 1, 2.5) = 2.5; unit 1 max(-7, -1, 0.5) = 0.5
    expected = torch.tensor([[2.5, 6.0], [2.5, 0.5]])
    assert torch.allclose(layer(x), expected)


def test_maxout_param_count_and_bad_pieces():
    assert sum(p.numel() for p in Maxout(1, 7, 5, 4).parameters()) == 7 * 5 * 4 + 5 * 4
    assert sum(p.numel() for p in Maxout(3, 7, 5, 4).parameters()) == 3 * (7 * 5 * 4 + 5 * 4)
    with pytest.raises(ValueError):
        Maxout(1, 2, 2, 0)


# ----------------------------------------------------------------------------- MLPs


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_mlp_generator_shapes_and_params():
    g = MLPGenerator()
    assert g(torch.randn(16, 2)).shape == (16, 2)
    # hidden Linear without bias (BatchNorm shift replaces it), BN scale + shift, output Linear
    sizes = [2, 400, 400, 400, 400]
    expected = sum(a * b + 2 * b for a, b in pairwise(sizes)) + 400 * 2 + 2
    assert _n_params(g) == expected

    g = MLPGenerator(latent_dim=3, out_features=5, hidden=[8, 6], batch_norm=False)
    assert g(torch.randn(4, 3)).shape == (4, 5)
    assert _n_params(g) == (3 * 8 + 8) + (8 * 6 + 6) + (6 * 5 + 5)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in g.modules())


def test_mlp_generator_accepts_listconfig():
    omegaconf = pytest.importorskip("omegaconf")
    hidden = omegaconf.OmegaConf.create({"h": [16, 16]}).h
    g = MLPGenerator(hidden=hidden)
    assert g.hidden == [16, 16]
    d = MLPDiscriminator(hidden=hidden)
    assert d.hidden == [16, 16]


@pytest.mark.parametrize("packing", [1, 2, 4])
def test_mlp_discriminator_maxout(packing):
    d = MLPDiscriminator(packing=packing)
    x = pack(torch.randn(8, 2), packing)
    assert d(x).shape == (8 // packing,)
    w = 2 * packing
    expected = (w * 200 * 5 + 200 * 5) + 2 * (200 * 200 * 5 + 200 * 5) + (200 + 1)
    assert _n_params(d) == expected
    assert sum(isinstance(m, Maxout) for m in d.modules()) == 3


def test_mlp_discriminator_leaky_relu_path():
    d = MLPDiscriminator(in_features=3, hidden=(10, 7), maxout_pieces=1, packing=2)
    assert not any(isinstance(m, Maxout) for m in d.modules())
    assert sum(isinstance(m, nn.LeakyReLU) for m in d.modules()) == 2
    assert d(torch.randn(5, 6)).shape == (5,)
    assert _n_params(d) == (6 * 10 + 10) + (10 * 7 + 7) + (7 + 1)


def test_mlp_discriminator_wrong_width():
    d = MLPDiscriminator(packing=2)
    with pytest.raises(ValueError, match="pack"):
        d(torch.randn(4, 2))


def test_mlp_init_std():
    g = MLPGenerator()
    w = g.net[3].weight  # second hidden Linear (400 x 400)
    assert abs(w.std().item() - 0.02) < 0.002


# ----------------------------------------------------------------------------- DCGAN


@pytest.mark.parametrize("image_size", [8, 16, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_generator_shape_and_range(image_size, channels):
    g = DCGANGenerator(latent_dim=16, image_size=image_size, channels=channels, width=8)
    out = g(torch.randn(4, 16) * 10)
    assert out.shape == (4, channels, image_size, image_size)
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert (g.latent_dim, g.image_size, g.channels) == (16, (image_size, image_size), channels)


@pytest.mark.parametrize("image_size", [8, 16, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("packing", [1, 2, 4])
def test_dcgan_discriminator_shape(image_size, channels, packing):
    d = DCGANDiscriminator(image_size=image_size, channels=channels, width=8, packing=packing)
    x = pack(torch.randn(8, channels, image_size, image_size), packing)
    assert d(x).shape == (8 // packing,)
    assert (d.image_size, d.channels) == ((image_size, image_size), channels)


def test_dcgan_64_matches_paper_widths():
    g = DCGANGenerator()
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [512, 256, 128, 64, 3]
    assert isinstance(list(g.modules())[-1], nn.Tanh)
    d = DCGANDiscriminator()
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    # BN everywhere except G's output and D's input layer
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g.modules()) == 4
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 3
    assert isinstance(d.net[1], nn.LeakyReLU)


@pytest.mark.parametrize("cls", [DCGANGenerator, DCGANDiscriminator])
@pytest.mark.parametrize("bad", [20, 4, 0, 48, 96])
def test_dcgan_bad_image_size(cls, bad):
    with pytest.raises(ValueError) as info:
        cls(image_size=bad)
    assert str(info.value) == (
        f"image_size={bad}: DCGAN makes images of 4 * 2^k pixels, k >= 1 (8, 16, 32, 64, ...), "
        "or [height, width] of such sides (e.g. [32, 64])"
    )


def test_dcgan_discriminator_wrong_channels():
    d = DCGANDiscriminator(image_size=16, channels=3, width=8, packing=2)
    with pytest.raises(ValueError, match="pack"):
        d(torch.randn(4, 3, 16, 16))


def test_dcgan_init_statistics():
    g = DCGANGenerator()
    d = DCGANDiscriminator()
    for net in (g, d):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.weight.numel() > 10_000:
                assert abs(m.weight.std().item() - 0.02) < 0.002
                assert abs(m.weight.mean().item()) < 0.002
            if isinstance(m, nn.BatchNorm2d):
                assert abs(m.weight.mean().item() - 1.0) < 0.01
                assert 0.01 < m.weight.std().item() < 0.03
                assert torch.all(m.bias == 0)


def test_init_dcgan_weights_on_plain_module():
    net = nn.Sequential(nn.Linear(300, 300), nn.BatchNorm1d(300))
    assert init_dcgan_weights_(net) is net
    assert abs(net[0].weight.std().item() - 0.02) < 0.002
    assert torch.all(net[0].bias == 0)
    assert abs(net[1].weight.mean().item() - 1.0) < 0.01

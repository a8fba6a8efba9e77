"""SNGAN (ResNet and standard CNN), SAGAN and BigGAN nets: shapes, official parameter counts,
spectral norm, attention, conditioning and BigGAN's skip-z."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_lab.nets import (
    BigGANDiscriminator,
    BigGANGenerator,
    ResNetDiscriminator,
    ResNetGenerator,
    SNGANCNNDiscriminator,
    SNGANCNNGenerator,
)
from gan_lab.nets.attention import SelfAttention
from gan_lab.nets.spectral import is_spectrally_normalised


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def weighted_layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]


@pytest.mark.parametrize("size", [16, 32, 48, 64])
def test_output_shapes(size):
    torch.manual_seed(0)
    z = torch.randn(2, 24)
    nets = [(ResNetGenerator(24, size, 1, width=8), ResNetDiscriminator(size, 1, width=8)),
            (SNGANCNNGenerator(24, size, 1, width=32), SNGANCNNDiscriminator(size, 1, width=32))]
    if size != 48:  # BigGAN's layouts are for powers of two
        nets.append((BigGANGenerator(24 if size == 16 else 25 if size == 64 else 24, size, 1,
                                     width=4, attention=None),
                     BigGANDiscriminator(size, 1, width=4, attention=None)))
    for g, d in nets:
        x = g(torch.randn(2, g.latent_dim) if g.latent_dim != 24 else z)
        assert x.shape == (2, 1, size, size) and x.abs().max() <= 1
        assert d(x).shape == (2,)
        with pytest.raises(ValueError, match="expects input"):
            d(torch.randn(2, 3, size, size))


def test_sngan_resnet_parameter_counts():
    # Counts of the chainer pfnet-research/sngan_projection nets, written out layer by layer
    # from gen_models/resnet_32.py, dis_models/snresnet_32.py, resblocks.py (3x3 convs with
    # bias, BN gamma/beta, no bias on snresnet_32's last linear): G 32 px, ch 256, z 128:
    # linear 128*4096+4096 + 3 blocks * (2*(256*256*9+256) + 256*256+256 + 2*512) + BN 512
    # + conv 256*3*9+3; D 32 px, ch 128: 151,680 + 311,680 + 2*295,168 + 128.
    assert count(ResNetGenerator(128, 32, 3)) == 4_276_739
    assert count(ResNetDiscriminator(32, 3)) == 1_053_824
    # ImageNet 128 px projection nets (gen_models/resnet.py, dis_models/snresnet.py, ch 64,
    # 1000 classes, categorical conditional BN in G), same layer-by-layer formula
    # (G 41,996,931 and D 30,041,857 parameters: checked once, left out here for speed.)
    # resnet_64.py / snresnet_64.py, unconditional.
    assert count(ResNetGenerator(128, 64, 3)) == 12_220_675
    assert count(ResNetDiscriminator(64, 3)) == 10_141_441


def test_biggan_parameter_counts(monkeypatch):
    monkeypatch.setattr(nn.init, "orthogonal_", lambda t, *a, **k: t)  # QR of big weights: slow
    # Counted by instantiating ajbrock/BigGAN-PyTorch's BigGAN.Generator / Discriminator
    # (G_shared, hier, shared_dim 128): the 128 px ImageNet launch setting (ch 96, dim_z 120,
    # attention 64, 1000 classes) and 32 px, ch 64, dim_z 128, no attention, 10 classes (the
    # official CIFAR launch script passes neither --G_shared nor --hier: G 4,304,387, tested in
    # test_official_biggan_sngan.py).
    assert count(BigGANGenerator(120, 128, 3, 96, 1000, 128, 64)) == 70_433_988
    assert count(BigGANDiscriminator(128, 3, 96, 1000, 64)) == 87_982_370
    assert count(BigGANGenerator(128, 32, 3, 64, 10, 128, None)) == 4_373_251
    assert count(BigGANDiscriminator(32, 3, 64, 10, None)) == 4_207_361


def test_every_discriminator_layer_is_spectrally_normalised():
    nets = [ResNetDiscriminator(32, 3, width=8, num_classes=5, attention=16),
            SNGANCNNDiscriminator(32, 3, width=32, num_classes=5),
            BigGANDiscriminator(32, 3, width=4, num_classes=5, attention=16)]
    for d in nets:
        assert all(is_spectrally_normalised(m) for m in weighted_layers(d)), type(d).__name__
    # BigGAN's G too, except its shared class embedding (as the official code).
    g = BigGANGenerator(24, 32, 3, width=4, num_classes=5, attention=16)
    plain = [m for m in weighted_layers(g) if not is_spectrally_normalised(m)]
    assert plain == [g.shared]
    sagan_g = ResNetGenerator(16, 32, 3, width=8, spectral_norm=True)
    assert all(is_spectrally_normalised(m) for m in weighted_layers(sagan_g))
    assert not any(is_spectrally_normalised(m) for m in weighted_layers(ResNetGenerator(16, 32, 3, 8)))


def test_attention_placement_and_identity_start():
    g = ResNetGenerator(16, 32, 1, width=8, attention=16, spectral_norm=True)
    d = ResNetDiscriminator(32, 1, width=8, attention=16, wide=True)
    assert isinstance(g.attention, SelfAttention) and g.attention_after == 1   # 4 -> 8 -> 16
    assert isinstance(d.attention, SelfAttention) and d.attention_after == 0   # 32 -> 16
    assert g.attention.gamma.item() == 0.0 and d.attention.gamma.item() == 0.0
    x = torch.randn(2, 8, 16, 16)
    assert torch.equal(g.attention(x), x)
    assert ResNetGenerator(16, 32, 1, width=8).attention is None
    with pytest.raises(ValueError, match="no generator block outputs 64x64"):
        ResNetGenerator(16, 32, 1, width=8, attention=64)
    at_input = ResNetGenerator(16, 16, 1, width=8, attention=4)   # SAGAN preset at 16 px
    assert at_input.attention_after == -1 and at_input(torch.randn(2, 16)).shape == (2, 1, 16, 16)
    big = BigGANGenerator(24, 32, 1, width=4, attention=16)
    assert big.attention_after == 1 and big.attention.gamma.item() == 0.0


def test_conditional_generators_depend_on_labels():
    torch.manual_seed(0)
    z = torch.randn(4, 24)
    for g in (ResNetGenerator(24, 16, 1, width=8, num_classes=3),
              SNGANCNNGenerator(24, 16, 1, width=32, num_classes=3),
              BigGANGenerator(24, 16, 1, width=4, num_classes=3, attention=None)):
        with torch.no_grad():
            # different gains per class (ones at init for SNGAN's class BN: perturb them)
            for p in g.parameters():
                p.add_(0.1 * torch.randn_like(p))
            g.eval()
            a = g(z, torch.zeros(4, dtype=torch.long))
            b = g(z, torch.ones(4, dtype=torch.long))
        assert not torch.allclose(a, b), type(g).__name__
        with pytest.raises(ValueError, match="pass labels"):
            g(z)


def test_projection_score_is_unconditional_part_plus_inner_product():
    torch.manual_seed(0)
    for d in (ResNetDiscriminator(16, 1, width=8, num_classes=3),
              BigGANDiscriminator(16, 1, width=4, num_classes=3, attention=None)):
        d.eval()
        x, y = torch.randn(4, 1, 16, 16), torch.tensor([0, 1, 2, 1])
        with torch.no_grad():
            phi = d.features(x)
            expected = d.linear(phi).flatten() + (d.embed(y) * phi).sum(dim=1)
            assert torch.allclose(d(x, y), expected, atol=1e-5)
    cnn = SNGANCNNDiscriminator(16, 1, width=32, num_classes=3).eval()
    with torch.no_grad():
        assert not torch.allclose(cnn(x, torch.zeros(4, dtype=torch.long)),
                                  cnn(x, torch.ones(4, dtype=torch.long)))


def test_biggan_skip_z_reaches_every_block():
    torch.manual_seed(0)
    g = BigGANGenerator(25, 64, 1, width=2, num_classes=3, attention=None).eval()
    assert g.z_chunks == 5 and g.chunk_size == 5 and g.latent_dim == 25
    z, y = torch.randn(2, 25), torch.tensor([0, 2])
    with torch.no_grad():
        base = g(z, y)
        for chunk in range(g.z_chunks):
            moved = z.clone()
            moved[:, chunk * 5:(chunk + 1) * 5] += 1.0
            assert not torch.allclose(g(moved, y), base), f"chunk {chunk} has no effect"
    with pytest.raises(ValueError, match="equal chunks"):
        BigGANGenerator(128, 64, 1, width=2)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="4 \\* 2\\^k or 6 \\* 2\\^k"):
        ResNetGenerator(16, 40, 1, width=8)
    with pytest.raises(ValueError, match="8 \\* M_g"):
        SNGANCNNDiscriminator(20, 1)
    with pytest.raises(ValueError, match="BigGAN's layouts"):
        BigGANDiscriminator(48, 1, width=4, attention=None)

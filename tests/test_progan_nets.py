"""ProGAN nets (gan_lab.nets.progan): parameter counts, growing protocol, layer maths."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gan_lab.nets.equalized import EqualizedConv2d, EqualizedLinear, MinibatchStddev, PixelNorm
from gan_lab.nets.progan import (
    ProGANDiscriminator,
    ProGANGenerator,
    images_at_level,
    max_level,
    resolution_at,
)

# Small nets: 16 px (L = 2), nf(stage) = min(64 / 2**stage, 16) -> 16, 16, 16, 8 for stages
# 0..3; block k has nf(k + 1) maps (16, 16, 8).
TINY = dict(image_size=16, fmap_base=64, fmap_max=16)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def nf(stage: int, base: int = 8192, maximum: int = 512) -> int:
    return min(int(base / 2.0**stage), maximum)


# ----------------------------------------------------------------------------- parameter counts


def official_progan_g_params(res_log2: int = 10, channels: int = 3) -> int:
    """Trainable variables of G_paper (tkarras/progressive_growing_of_gans, networks.py), read
    layer by layer from the code; `res` is log2 of a block's resolution, 2..res_log2."""
    total = 512 * nf(1) * 16 + nf(1)            # 4x4/Dense: latent -> nf(1)*16, bias per map
    total += nf(1) * nf(1) * 9 + nf(1)          # 4x4/Conv
    for res in range(3, res_log2 + 1):          # Conv0_up (fused transposed conv), Conv1
        total += nf(res - 2) * nf(res - 1) * 9 + nf(res - 1)
        total += nf(res - 1) * nf(res - 1) * 9 + nf(res - 1)
    total += sum(nf(res - 1) * channels + channels for res in range(2, res_log2 + 1))  # ToRGB
    return total


def official_progan_d_params(res_log2: int = 10, channels: int = 3) -> int:
    """Trainable variables of D_paper, read likewise (mbstd adds one input map to 4x4/Conv)."""
    total = sum(channels * nf(res - 1) + nf(res - 1) for res in range(2, res_log2 + 1))  # FromRGB
    for res in range(3, res_log2 + 1):          # Conv0, Conv1_down
        total += nf(res - 1) * nf(res - 1) * 9 + nf(res - 1)
        total += nf(res - 1) * nf(res - 2) * 9 + nf(res - 2)
    total += (nf(1) + 1) * nf(1) * 9 + nf(1)    # 4x4/Conv after minibatch stddev
    total += nf(1) * 16 * nf(0) + nf(0)         # 4x4/Dense0
    total += nf(0) * 1 + 1                      # 4x4/Dense1 (label_size = 0)
    return total


def test_parameter_counts_at_1024_match_official_code_and_paper():
    g, d = ProGANGenerator(), ProGANDiscriminator()
    assert official_progan_g_params() == 23_079_115
    assert official_progan_d_params() == 23_087_249
    assert count(g) == 23_079_115
    assert count(d) == 23_087_249
    # Karras et al. 2018, appendix A, table 2: 23.1M parameters in each network.
    assert round(count(g) / 1e6, 1) == 23.1
    assert round(count(d) / 1e6, 1) == 23.1


def test_parameter_counts_small_config():
    g = ProGANGenerator(latent_dim=8, **TINY, channels=1)
    d = ProGANDiscriminator(**TINY, channels=1)
    # G: dense 8 -> 16 maps of 4x4 (+16 biases), 4x4 conv 16->16, block 1 (16->16, 16->16),
    # block 2 (16->8, 8->8), toRGBs from 16, 16 and 8 maps.
    g_expected = ((8 * 256 + 16) + (16 * 16 * 9 + 16) + 2 * (16 * 16 * 9 + 16)
                  + (16 * 8 * 9 + 8) + (8 * 8 * 9 + 8) + (16 + 1) * 2 + (8 + 1))
    assert count(g) == g_expected == 10_811
    # D: fromRGBs to 16, 16, 8 maps; block 2 (8->8, 8->16), block 1 (16->16, 16->16), the
    # 4x4 block (17 input maps with the stddev map), dense 256 -> 16 -> 1.
    d_expected = ((16 + 16) * 2 + (8 + 8) + (8 * 8 * 9 + 8) + (8 * 16 * 9 + 16)
                  + 2 * (16 * 16 * 9 + 16) + (17 * 16 * 9 + 16) + (256 * 16 + 16) + (16 + 1))
    assert count(d) == d_expected


# ----------------------------------------------------------------------------- level helpers


def test_level_helpers():
    assert [max_level(s) for s in (8, 16, 1024)] == [1, 2, 8]
    assert [resolution_at(v) for v in (0, 0.5, 1, 1.01, 2, 8)] == [4, 8, 8, 16, 16, 1024]


@pytest.mark.parametrize("size", [4, 12, 48, 0, -8, 8.0, True, "16"])
def test_bad_image_size(size):
    with pytest.raises(ValueError, match="image_size"):
        max_level(size)
    with pytest.raises(ValueError, match="image_size"):
        ProGANGenerator(image_size=size)
    with pytest.raises(ValueError, match="image_size"):
        ProGANDiscriminator(image_size=size)


def test_images_at_level_hand_made():
    x = torch.arange(64.0).reshape(1, 1, 8, 8)  # image_size 8, L = 1
    assert torch.equal(images_at_level(x, 1), x)
    assert torch.equal(images_at_level(x, 1.0), x)
    # Level 0: 2x2 means; the top-left block is (0 + 1 + 8 + 9) / 4.
    low = images_at_level(x, 0)
    assert low.shape == (1, 1, 4, 4)
    assert low[0, 0, 0].tolist() == [4.5, 6.5, 8.5, 10.5]
    assert low[0, 0, :, 0].tolist() == [4.5, 20.5, 36.5, 52.5]
    # Level 0.5: lerp(coarse, fine, 0.5) at 8 px, coarse = 2x2 mean repeated.
    half = images_at_level(x, 0.5)
    assert half.shape == (1, 1, 8, 8)
    assert half[0, 0, :2, :2].tolist() == [[2.25, 2.75], [6.25, 6.75]]
    # On 16 px images level 0.5 first pools to 8 px.
    big = F.interpolate(x, scale_factor=2, mode="nearest")
    assert torch.equal(images_at_level(big, 0.5), half)
    assert torch.equal(images_at_level(big, 1), x)


def test_images_at_level_errors():
    with pytest.raises(ValueError, match="level"):
        images_at_level(torch.zeros(1, 3, 8, 8), 1.5)
    with pytest.raises(ValueError, match="level"):
        images_at_level(torch.zeros(1, 3, 8, 8), -0.5)
    with pytest.raises(ValueError, match="square"):
        images_at_level(torch.zeros(1, 3, 8, 16), 1)


# ----------------------------------------------------------------------------- growing protocol


def test_generator_shapes_per_level():
    g = ProGANGenerator(latent_dim=8, **TINY)
    z = torch.randn(2, 8)
    for level, side in [(0, 4), (0.5, 8), (1, 8), (1.75, 16), (2, 16), (None, 16)]:
        assert g(z, level=level).shape == (2, 3, side, side)


def test_generator_fade_in_blend():
    g = ProGANGenerator(latent_dim=8, **TINY)
    z = torch.randn(2, 8)
    old = F.interpolate(g(z, level=1), scale_factor=2, mode="nearest")  # toRGB_1 upsampled
    new = g(z, level=2)                                                   # toRGB_2(block_2)
    assert torch.allclose(g(z, level=1.25), 0.75 * old + 0.25 * new, atol=1e-5)
    assert torch.allclose(g(z, level=1 + 1e-7), old, atol=1e-5)     # alpha -> 0
    assert torch.allclose(g(z, level=2 - 1e-7), new, atol=1e-5)     # alpha -> 1


def test_generator_unused_blocks_get_no_gradient():
    g = ProGANGenerator(latent_dim=8, **TINY)
    g(torch.randn(2, 8), level=0.5).square().mean().backward()
    assert g.blocks[1].conv0.weight.grad is not None and g.to_rgb[0].weight.grad is not None
    assert g.blocks[2].conv0.weight.grad is None and g.to_rgb[2].weight.grad is None


def test_discriminator_fade_in_blend():
    d = ProGANDiscriminator(**TINY)
    x = torch.randn(4, 3, 16, 16)
    # Level 1.25: lerp(fromRGB_1(avgpool2(x)), block_2(fromRGB_2(x)), 0.25), then blocks 1, 0.
    mixed = torch.lerp(d.from_rgb[1](F.avg_pool2d(x, 2)), d.blocks[2](d.from_rgb[2](x)), 0.25)
    assert torch.allclose(d(x, level=1.25), d.blocks[0](d.blocks[1](mixed)), atol=1e-5)
    assert torch.allclose(d(x, level=1 + 1e-7), d(F.avg_pool2d(x, 2), level=1), atol=1e-5)
    full = d.blocks[0](d.blocks[1](d.blocks[2](d.from_rgb[2](x))))
    assert torch.allclose(d(x, level=2 - 1e-7), full, atol=1e-5)
    assert torch.allclose(d(x), full, atol=1e-6)
    assert d(x).shape == (4,)
    assert d(torch.randn(4, 3, 4, 4), level=0).shape == (4,)


def test_discriminator_takes_g_output_and_reals_at_each_level():
    g, d = ProGANGenerator(latent_dim=8, **TINY), ProGANDiscriminator(**TINY)
    reals = torch.randn(4, 3, 16, 16)
    for level in (0, 0.3, 1, 1.6, 2):
        fake = g(torch.randn(4, 8), level=level)
        real = images_at_level(reals, level)
        assert fake.shape == real.shape
        assert d(fake, level=level).shape == d(real, level=level).shape == (4,)


def test_level_and_shape_errors():
    g, d = ProGANGenerator(latent_dim=8, **TINY), ProGANDiscriminator(**TINY)
    for level in (-0.1, 2.5, float("nan")):
        with pytest.raises(ValueError, match="level"):
            g(torch.randn(2, 8), level=level)
        with pytest.raises(ValueError, match="level"):
            d(torch.randn(2, 3, 16, 16), level=level)
    with pytest.raises(ValueError, match=r"expects images \(B, 3, 8, 8\)"):
        d(torch.randn(2, 3, 16, 16), level=1)
    with pytest.raises(ValueError, match="expects z"):
        g(torch.randn(2, 9))


def test_unconditional_only():
    with pytest.raises(ValueError, match="num_classes"):
        ProGANGenerator(latent_dim=8, **TINY, num_classes=10)
    with pytest.raises(ValueError, match="num_classes"):
        ProGANDiscriminator(**TINY, num_classes=10)
    g, d = ProGANGenerator(latent_dim=8, **TINY), ProGANDiscriminator(**TINY)
    with pytest.raises(ValueError, match="labels must be None"):
        g(torch.randn(2, 8), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must be None"):
        d(torch.randn(2, 3, 16, 16), torch.zeros(2, dtype=torch.long))


# ----------------------------------------------------------------------------- layer maths


def test_pixel_norm_unit_mean_square():
    x = torch.randn(3, 7, 5, 5) * 10
    y = PixelNorm()(x)
    assert torch.allclose(y.square().mean(dim=1), torch.ones(3, 5, 5), atol=1e-5)


def test_generator_features_are_pixel_normalized():
    g = ProGANGenerator(latent_dim=8, **TINY)
    outputs = []
    for block in g.blocks:
        block.register_forward_hook(lambda m, i, o: outputs.append(o))
    g(torch.randn(2, 8))
    assert len(outputs) == 3
    for out in outputs:
        assert torch.allclose(out.square().mean(dim=1), torch.ones_like(out[:, 0]), atol=1e-4)


@pytest.mark.parametrize("gain,lr_multiplier", [(1.0, 1.0), (math.sqrt(2), 1.0), (1.0, 0.01)])
def test_equalized_linear_scale(gain, lr_multiplier):
    layer = EqualizedLinear(512, 256, bias=False, gain=gain, lr_multiplier=lr_multiplier)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(256, 512))  # N(0, 1)-stored weights
    effective = layer(torch.eye(512)).T            # rows: W_eff
    expected = gain / math.sqrt(512) * lr_multiplier
    assert torch.allclose(effective, layer.weight * expected, rtol=1e-5, atol=1e-12)
    assert abs(effective.std().item() / expected - 1) < 0.02


def test_equalized_conv_scale_and_official_gains():
    conv = EqualizedConv2d(64, 32, 3, bias=False, gain=math.sqrt(2))
    delta = torch.zeros(64, 64, 3, 3)
    delta[torch.arange(64), torch.arange(64), 1, 1] = 1  # input c = delta at the centre
    kernel = conv(delta).permute(1, 0, 2, 3).flip(2, 3)  # (out, in, 3, 3) effective weights
    expected = math.sqrt(2) / math.sqrt(64 * 9)
    assert torch.allclose(kernel, conv.weight * expected, atol=1e-6)
    assert abs(kernel.std().item() / expected - 1) < 0.03
    # The official G_paper gains: dense to 4x4 sqrt(2)/4, convs sqrt(2), toRGB 1.
    g = ProGANGenerator()
    assert math.isclose(g.blocks[0].dense.weight_gain, math.sqrt(2) / 4 / math.sqrt(512))
    assert math.isclose(g.blocks[3].conv1.weight_gain, math.sqrt(2) / math.sqrt(512 * 9))
    assert math.isclose(g.to_rgb[8].weight_gain, 1 / math.sqrt(16))


def test_minibatch_stddev_hand_computed():
    # Batch of 4, group size 2: sample i is in group i mod 2, so groups {0, 2} and {1, 3}.
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 4.0], [1.0, 3.0]]).reshape(4, 2, 1, 1)
    y = MinibatchStddev(group_size=2)(x)
    assert y.shape == (4, 3, 1, 1)
    assert torch.equal(y[:, :2], x)
    # Group {0, 2}: stds 1 and 2 -> 1.5. Group {1, 3}: stds 0 (+ sqrt(1e-8)) and 1 -> ~0.5.
    assert torch.allclose(y[:, 2].flatten(), torch.tensor([1.5, 0.50005, 1.5, 0.50005]))
    d = ProGANDiscriminator(**TINY, mbstd_group_size=0)
    assert d.blocks[0].mbstd is None and d.blocks[0].conv.in_channels == 16

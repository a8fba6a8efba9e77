"""Fast checks of the StyleGAN2 nets (gan_lab.nets.stylegan2) and FIR resampling
(gan_lab.nets.filters): hand-computed filters, demodulation maths, shapes (square and
non-square), truncation, noise modes, bf16 autocast, official parameter counts, conditioning,
the official-weights importer, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_lab.nets.equalized import MappingNetwork
from gan_lab.nets.filters import (
    conv2d_resample,
    downsample2d,
    setup_filter,
    upfirdn2d,
    upsample2d,
)
from gan_lab.nets.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator, modulated_conv2d

# Parameter counts of the official NVlabs/stylegan2-ada-pytorch nets (commit d72cc7d), obtained
# by building training/networks.py's Generator / Discriminator on CPU and summing
# p.numel() over .parameters():
#   config F (stylegan2): Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024,
#     img_channels=3), Discriminator(c_dim=0, img_resolution=1024, img_channels=3)
#     (channel_base 32768, channel_max 512, 8 mapping layers)
#   cifar config of its train.py (cfg_specs['cifar'] with --cond=1): c_dim=10,
#     img_resolution=32, img_channels=3, channel_base 32768 (fmaps=1), channel_max 512,
#     G mapping_kwargs=dict(num_layers=2) (map=2), D epilogue mbstd_group_size=32 and
#     D architecture='orig' (train.py: "disable residual skip connections"); D's label mapping
#     keeps the default 8 layers. The same D with the default 'resnet' architecture (not the
#     official cifar D) has 23,876,096 parameters, with 'skip' 23,095,808; unconditional
#     (c_dim=0) the orig D has 20,720,641 and G 19,947,539.
OFFICIAL_G_PARAMS_1024 = 30_370_060
OFFICIAL_D_PARAMS_1024 = 29_012_513
OFFICIAL_G_PARAMS_CIFAR = 20_215_315
OFFICIAL_D_PARAMS_CIFAR = 23_089_664            # architecture='orig', the official cifar D
OFFICIAL_D_PARAMS_CIFAR_SETTING = {"orig": 23_089_664, "resnet": 23_876_096, "skip": 23_095_808}
OFFICIAL_PARAMS_CIFAR_UNCONDITIONAL = {"G": 19_947_539, "D": 20_720_641}

TINY = dict(channel_base=256, channel_max=16)    # 4 px: 16 ch, 8: 16, 16: 16, 32: 8, 64: 4
TAPS = [0.25, 0.75, 0.75, 0.25]                  # [1, 3, 3, 1] / 8 times the per-axis gain 2


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _tiny_g(**kwargs) -> StyleGAN2Generator:
    g = StyleGAN2Generator(**{**dict(z_dim=16, w_dim=16, image_size=16), **TINY, **kwargs})
    with torch.no_grad():   # noise strengths start at 0: make the noise visible
        for name, p in g.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.5)
    return g


# ----------------------------------------------------------------------------- FIR filters


def test_setup_filter_is_normalized_binomial():
    f = setup_filter()
    assert torch.allclose(f, torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64)
    assert f.dtype == torch.float32 and f.sum().item() == pytest.approx(1.0)


def test_upsample_of_delta_is_the_filter():
    # Zero insertion puts input pixel i at 2i; filtering spreads it over 2i-1 .. 2i+2.
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0
    y = upsample2d(x, setup_filter())
    expected = torch.zeros(10, 10)
    expected[3:7, 3:7] = torch.outer(torch.tensor(TAPS), torch.tensor(TAPS))
    assert y.shape == (1, 1, 10, 10)
    assert torch.allclose(y[0, 0], expected)
    assert y.sum().item() == pytest.approx(4.0)    # one input pixel -> 4 pixels of its value


def test_constant_image_stays_constant_inside():
    f = setup_filter()
    up = upsample2d(torch.ones(1, 2, 4, 4), f)
    edge = torch.tensor([0.75] + [1.0] * 6 + [0.75])     # zero padding shows at the border
    assert torch.allclose(up, torch.outer(edge, edge).expand(1, 2, 8, 8))
    down = downsample2d(torch.ones(1, 2, 8, 8), f)
    edge = torch.tensor([7 / 8, 1.0, 1.0, 7 / 8])
    assert torch.allclose(down, torch.outer(edge, edge).expand(1, 2, 4, 4))


def test_downsample_of_delta_hand_computed():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 4, 3] = 1.0
    y = downsample2d(x, setup_filter())
    # Per axis: output j sees input 2j - 1 .. 2j + 2 with weights [1, 3, 3, 1] / 8.
    rows = torch.tensor([0.0, 1 / 8, 3 / 8, 0.0])         # input 4: j=1 (tap 1), j=2 (tap 3)
    cols = torch.tensor([0.0, 3 / 8, 1 / 8, 0.0])         # input 3: j=1 (tap 3), j=2 (tap 1)
    assert torch.allclose(y[0, 0], torch.outer(rows, cols))


def test_upfirdn2d_non_square_sizes_and_crop():
    x = torch.randn(2, 3, 4, 8)
    f = setup_filter()
    assert upsample2d(x, f).shape == (2, 3, 8, 16)
    assert downsample2d(x, f).shape == (2, 3, 2, 4)
    # negative padding crops: identity filter, crop one pixel left and two at the bottom
    one = torch.ones(1, 1)
    assert torch.equal(upfirdn2d(x, one, padding=(-1, 0, 0, -2)), x[:, :, :2, 1:])


@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_resample_matches_the_definition(groups):
    # Definition (padding 1 of the 3x3 conv plus the filter's own): up = zero insertion, pad
    # (3, 2), FIR (gain 4), true convolution; down = pad (2, 2), FIR, correlation, every 2nd pixel.
    f = setup_filter()
    x = torch.randn(2, 4, 6, 10)
    w = torch.randn(6, 4 // groups, 3, 3)
    up = conv2d_resample(x, w, f, up=2, padding=1, groups=groups)
    ref = upfirdn2d(x, f, up=2, padding=(3, 2, 3, 2), gain=4)
    ref = F.conv2d(ref, w.flip([2, 3]), groups=groups)
    assert up.shape == (2, 6, 12, 20) and torch.allclose(up, ref, atol=1e-5)
    down = conv2d_resample(x, w, f, down=2, padding=1, groups=groups)
    ref = F.conv2d(upfirdn2d(x, f, padding=2), w, groups=groups)[:, :, ::2, ::2]
    assert down.shape == (2, 6, 3, 5) and torch.allclose(down, ref, atol=1e-5)


# ----------------------------------------------------------------------------- modulation


def test_demodulation_gives_unit_output_variance():
    # Eq. 2-3: sum_ik w''_ijk^2 = 1, so i.i.d. unit-variance inputs give unit-variance outputs
    # whatever the styles (far from the zero-padded border).
    x = torch.randn(4, 64, 24, 24)
    weight = torch.randn(16, 64, 3, 3)
    styles = torch.rand(4, 64) * 4 + 0.1
    y = modulated_conv2d(x, weight, styles, padding=1)[:, :, 1:-1, 1:-1]
    var = y.var(dim=(2, 3))
    assert var.mean().item() == pytest.approx(1.0, abs=0.05)
    assert var.min().item() > 0.8 and var.max().item() < 1.2
    # Without demodulation the variance follows the styles and the weights.
    y = modulated_conv2d(x, weight, styles, demodulate=False, padding=1)
    assert y.var().item() > 10


@pytest.mark.parametrize("up", [1, 2])
def test_fused_and_unfused_modulated_conv_agree(up):
    x = torch.randn(3, 8, 5, 7)
    weight, styles = torch.randn(6, 8, 3, 3), torch.randn(3, 8)
    kw = dict(up=up, resample_filter=setup_filter(), padding=1)
    a = modulated_conv2d(x, weight, styles, fused=False, **kw)
    b = modulated_conv2d(x, weight, styles, fused=True, **kw)
    assert a.shape == (3, 6, 5 * up, 7 * up) and torch.allclose(a, b, atol=1e-5)


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("size, shape", [(16, (16, 16)), ([32, 64], (32, 64)), ([64, 32], (64, 32))])
def test_generator_and_discriminator_shapes(size, shape):
    g = _tiny_g(image_size=size)
    d = StyleGAN2Discriminator(image_size=size, **TINY)
    assert isinstance(g.mapping, MappingNetwork)
    assert g.image_shape == d.image_shape == (3, *shape)
    side = min(shape)
    assert g.num_ws == 2 * (side.bit_length() - 2)        # 2 per block, 4 px .. side
    const = g.synthesis.blocks[0].const
    assert const.shape[1:] == (4 * shape[0] // side, 4 * shape[1] // side)   # 4x8 for 32x64
    x = g(torch.randn(4, 16))
    assert x.shape == (4, 3, *shape) and torch.isfinite(x).all()
    scores = d(x)
    assert scores.shape == (4,) and torch.isfinite(scores).all()
    ws = torch.randn(2, g.num_ws, 16)
    assert g.synthesis(ws, noise_mode="none").shape == (2, 3, *shape)


def test_full_size_attributes():
    g = StyleGAN2Generator()
    assert (g.num_ws, g.z_dim, g.w_dim, g.image_shape) == (18, 512, 512, (3, 1024, 1024))
    assert [b.conv1.weight.shape[0] for b in g.synthesis.blocks] == [512] * 5 + [256, 128, 64, 32]


def test_every_parameter_gets_a_finite_gradient():
    g = _tiny_g(image_size=[8, 16], num_classes=2)
    d = StyleGAN2Discriminator(image_size=[8, 16], num_classes=2, **TINY)
    labels = torch.tensor([0, 1, 1, 0])
    d(g(torch.randn(4, 16), labels), labels).sum().backward()
    for name, p in [*g.named_parameters(), *d.named_parameters()]:
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


# ----------------------------------------------------------------------------- truncation, noise


def test_truncation_psi_zero_gives_w_avg():
    g = _tiny_g()
    g.mapping.w_avg.copy_(torch.randn(16))
    ws = g.mapping(torch.randn(5, 16), truncation_psi=0.0)
    assert torch.allclose(ws, g.mapping.w_avg.expand(5, g.num_ws, 16))
    img = g(torch.randn(3, 16), truncation_psi=0.0, noise_mode="const")
    assert torch.allclose(img, img[:1].expand_as(img), atol=1e-5)    # every z: the same image
    # cutoff: only the first layers are truncated
    ws = g.mapping(torch.randn(2, 16), truncation_psi=0.0, truncation_cutoff=2)
    assert torch.allclose(ws[:, :2], g.mapping.w_avg.expand(2, 2, 16))
    assert not torch.allclose(ws[:, 2:], g.mapping.w_avg.expand(2, g.num_ws - 2, 16))


def test_update_w_avg_moves_towards_the_batch_mean():
    g = _tiny_g(w_avg_beta=0.5)
    z = torch.randn(8, 16)
    w = g.mapping(z)[:, 0].mean(dim=0)
    g(z, update_w_avg=True)
    assert torch.allclose(g.mapping.w_avg, 0.5 * w, atol=1e-6)


def test_noise_modes():
    g = _tiny_g()
    z = torch.randn(2, 16)
    const = g(z, noise_mode="const")
    assert torch.equal(const, g(z, noise_mode="const"))
    assert not torch.allclose(g(z, noise_mode="random"), g(z, noise_mode="random"))
    none = g(z, noise_mode="none")
    assert torch.equal(none, g(z, noise_mode="none")) and not torch.allclose(none, const)
    assert g.synthesis.blocks[1].conv0.noise_const.shape == (8, 8)     # saved with the net
    assert "synthesis.blocks.1.conv0.noise_const" in g.state_dict()


def test_fused_modconv_synthesis_agrees():
    g = _tiny_g(image_size=[8, 16])
    ws = torch.randn(3, g.num_ws, 16)
    a = g.synthesis(ws, noise_mode="const")
    b = g.synthesis(ws, noise_mode="const", fused_modconv=True)
    assert torch.allclose(a, b, atol=1e-4)


# ----------------------------------------------------------------------------- bf16


def test_bf16_autocast_finite_and_close():
    g = _tiny_g(num_classes=3)
    d = StyleGAN2Discriminator(image_size=16, num_classes=3, **TINY)
    z, labels = torch.randn(4, 16), torch.tensor([0, 1, 2, 1])
    with torch.no_grad():
        ref_img = g(z, labels, noise_mode="const")
        ref_score = d(ref_img, labels)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            img = g(z, labels, noise_mode="const")
            score = d(ref_img, labels)
    assert torch.isfinite(img).all() and torch.isfinite(score).all()
    assert (img.float() - ref_img).abs().max().item() < 0.1 * ref_img.abs().max().item()
    assert (score - ref_score).abs().max().item() < 0.1 * ref_score.abs().max().item() + 1e-2


# ----------------------------------------------------------------------------- official counts


def test_parameter_counts_match_official():
    assert _count(StyleGAN2Generator()) == OFFICIAL_G_PARAMS_1024
    assert _count(StyleGAN2Discriminator()) == OFFICIAL_D_PARAMS_1024
    g = StyleGAN2Generator(image_size=32, num_classes=10, mapping_layers=2)
    d = StyleGAN2Discriminator(image_size=32, num_classes=10, mbstd_group_size=32,
                               architecture="orig")
    assert _count(g) == OFFICIAL_G_PARAMS_CIFAR
    assert _count(d) == OFFICIAL_D_PARAMS_CIFAR
    for architecture, count in OFFICIAL_D_PARAMS_CIFAR_SETTING.items():
        d = StyleGAN2Discriminator(image_size=32, num_classes=10, architecture=architecture)
        assert _count(d) == count, architecture
    assert _count(StyleGAN2Generator(image_size=32, mapping_layers=2)) == \
        OFFICIAL_PARAMS_CIFAR_UNCONDITIONAL["G"]
    assert _count(StyleGAN2Discriminator(image_size=32, architecture="orig")) == \
        OFFICIAL_PARAMS_CIFAR_UNCONDITIONAL["D"]


@pytest.mark.parametrize("architecture", ["resnet", "orig", "skip"])
def test_discriminator_architectures(architecture):
    d = StyleGAN2Discriminator(image_size=[16, 32], architecture=architecture, **TINY)
    x = torch.randn(4, 3, 16, 32, requires_grad=True)
    scores = d(x)
    assert scores.shape == (4,) and torch.isfinite(scores).all()
    scores.sum().backward()
    assert x.grad.abs().sum() > 0
    # resnet: a 1x1 skip per block; skip: a fromRGB per block and in the epilogue; orig: neither
    has = {name.split(".")[-2] for name, _ in d.named_parameters()}
    assert ("skip" in has) == (architecture == "resnet")
    assert all((b.fromrgb is not None) == (i == 0 or architecture == "skip")
               for i, b in enumerate(d.blocks))
    assert (d.epilogue.fromrgb is not None) == (architecture == "skip")
    with pytest.raises(ValueError, match="architecture='deep'"):
        StyleGAN2Discriminator(image_size=16, architecture="deep", **TINY)


# ----------------------------------------------------------------------------- conditioning


def test_conditional_generator_and_discriminator():
    g = _tiny_g(num_classes=4)
    d = StyleGAN2Discriminator(image_size=16, num_classes=4, cmap_dim=8, **TINY)
    labels = torch.tensor([0, 3, 1, 2])
    x = g(torch.randn(4, 16), labels)
    scores = d(x, labels)
    assert x.shape == (4, 3, 16, 16) and scores.shape == (4,) and torch.isfinite(scores).all()
    assert not torch.allclose(scores, d(x, labels.flip(0)))       # the label matters
    assert d.epilogue.out.out_features == 8 and d.cmap_dim == 8
    assert StyleGAN2Discriminator(image_size=16, num_classes=4, **TINY).cmap_dim == 16   # 4 px ch
    with pytest.raises(ValueError, match="labels"):
        g(torch.randn(2, 16))
    with pytest.raises(ValueError, match="labels"):
        d(x)


# ----------------------------------------------------------------------------- official weights

# Keys and shapes of the official nets' state dicts (Generator(z_dim=4, c_dim=2, w_dim=6,
# img_resolution=8, img_channels=3, mapping_kwargs=dict(num_layers=2),
# synthesis_kwargs=dict(channel_base=32, channel_max=16)) and Discriminator(c_dim=2,
# img_resolution=8, img_channels=3, channel_base=32, channel_max=16, cmap_dim=5)), printed from
# the official code. Maps official name -> (our name, shape).
_F = (4, 4)
OFFICIAL_G_KEYS = {
    "synthesis.b4.const": ("synthesis.blocks.0.const", (8, 4, 4)),
    "synthesis.b4.resample_filter": (None, _F),
    "synthesis.b4.conv1.weight": ("synthesis.blocks.0.conv1.weight", (8, 8, 3, 3)),
    "synthesis.b4.conv1.noise_strength": ("synthesis.blocks.0.conv1.noise_strength", ()),
    "synthesis.b4.conv1.bias": ("synthesis.blocks.0.conv1.bias", (8,)),
    "synthesis.b4.conv1.resample_filter": (None, _F),
    "synthesis.b4.conv1.noise_const": ("synthesis.blocks.0.conv1.noise_const", (4, 4)),
    "synthesis.b4.conv1.affine.weight": ("synthesis.blocks.0.conv1.affine.weight", (8, 6)),
    "synthesis.b4.conv1.affine.bias": ("synthesis.blocks.0.conv1.affine.bias", (8,)),
    "synthesis.b4.torgb.weight": ("synthesis.blocks.0.torgb.weight", (3, 8, 1, 1)),
    "synthesis.b4.torgb.bias": ("synthesis.blocks.0.torgb.bias", (3,)),
    "synthesis.b4.torgb.affine.weight": ("synthesis.blocks.0.torgb.affine.weight", (8, 6)),
    "synthesis.b4.torgb.affine.bias": ("synthesis.blocks.0.torgb.affine.bias", (8,)),
    "synthesis.b8.resample_filter": (None, _F),
    "synthesis.b8.conv0.weight": ("synthesis.blocks.1.conv0.weight", (4, 8, 3, 3)),
    "synthesis.b8.conv0.noise_strength": ("synthesis.blocks.1.conv0.noise_strength", ()),
    "synthesis.b8.conv0.bias": ("synthesis.blocks.1.conv0.bias", (4,)),
    "synthesis.b8.conv0.resample_filter": (None, _F),
    "synthesis.b8.conv0.noise_const": ("synthesis.blocks.1.conv0.noise_const", (8, 8)),
    "synthesis.b8.conv0.affine.weight": ("synthesis.blocks.1.conv0.affine.weight", (8, 6)),
    "synthesis.b8.conv0.affine.bias": ("synthesis.blocks.1.conv0.affine.bias", (8,)),
    "synthesis.b8.conv1.weight": ("synthesis.blocks.1.conv1.weight", (4, 4, 3, 3)),
    "synthesis.b8.conv1.noise_strength": ("synthesis.blocks.1.conv1.noise_strength", ()),
    "synthesis.b8.conv1.bias": ("synthesis.blocks.1.conv1.bias", (4,)),
    "synthesis.b8.conv1.resample_filter": (None, _F),
    "synthesis.b8.conv1.noise_const": ("synthesis.blocks.1.conv1.noise_const", (8, 8)),
    "synthesis.b8.conv1.affine.weight": ("synthesis.blocks.1.conv1.affine.weight", (4, 6)),
    "synthesis.b8.conv1.affine.bias": ("synthesis.blocks.1.conv1.affine.bias", (4,)),
    "synthesis.b8.torgb.weight": ("synthesis.blocks.1.torgb.weight", (3, 4, 1, 1)),
    "synthesis.b8.torgb.bias": ("synthesis.blocks.1.torgb.bias", (3,)),
    "synthesis.b8.torgb.affine.weight": ("synthesis.blocks.1.torgb.affine.weight", (4, 6)),
    "synthesis.b8.torgb.affine.bias": ("synthesis.blocks.1.torgb.affine.bias", (4,)),
    "mapping.w_avg": ("mapping.w_avg", (6,)),
    "mapping.embed.weight": ("mapping.embed.weight", (6, 2)),
    "mapping.embed.bias": ("mapping.embed.bias", (6,)),
    "mapping.fc0.weight": ("mapping.layers.0.weight", (6, 10)),
    "mapping.fc0.bias": ("mapping.layers.0.bias", (6,)),
    "mapping.fc1.weight": ("mapping.layers.1.weight", (6, 6)),
    "mapping.fc1.bias": ("mapping.layers.1.bias", (6,)),
}
OFFICIAL_D_KEYS = {
    "b8.resample_filter": (None, _F),
    "b8.fromrgb.weight": ("blocks.0.fromrgb.weight", (4, 3, 1, 1)),
    "b8.fromrgb.bias": ("blocks.0.fromrgb.bias", (4,)),
    "b8.fromrgb.resample_filter": (None, _F),
    "b8.conv0.weight": ("blocks.0.conv0.weight", (4, 4, 3, 3)),
    "b8.conv0.bias": ("blocks.0.conv0.bias", (4,)),
    "b8.conv0.resample_filter": (None, _F),
    "b8.conv1.weight": ("blocks.0.conv1.weight", (8, 4, 3, 3)),
    "b8.conv1.bias": ("blocks.0.conv1.bias", (8,)),
    "b8.conv1.resample_filter": (None, _F),
    "b8.skip.weight": ("blocks.0.skip.weight", (8, 4, 1, 1)),
    "b8.skip.resample_filter": (None, _F),
    "mapping.embed.weight": ("mapping.embed.weight", (5, 2)),
    "mapping.embed.bias": ("mapping.embed.bias", (5,)),
    **{f"mapping.fc{i}.{p}": (f"mapping.layers.{i}.{p}", (5, 5) if p == "weight" else (5,))
       for i in range(8) for p in ("weight", "bias")},
    "b4.conv.weight": ("epilogue.conv.weight", (8, 9, 3, 3)),
    "b4.conv.bias": ("epilogue.conv.bias", (8,)),
    "b4.conv.resample_filter": (None, _F),
    "b4.fc.weight": ("epilogue.fc.weight", (8, 128)),
    "b4.fc.bias": ("epilogue.fc.bias", (8,)),
    "b4.out.weight": ("epilogue.out.weight", (5, 8)),
    "b4.out.bias": ("epilogue.out.bias", (5,)),
}


# The same Discriminator with architecture='orig' lacks the 1x1 skip; with 'skip' it has a
# fromRGB in the epilogue too (training/networks.py, DiscriminatorBlock / DiscriminatorEpilogue).
OFFICIAL_D_KEYS_ORIG = {k: v for k, v in OFFICIAL_D_KEYS.items() if not k.startswith("b8.skip")}
OFFICIAL_D_KEYS_SKIP = {**OFFICIAL_D_KEYS_ORIG,
                        "b4.fromrgb.weight": ("epilogue.fromrgb.weight", (8, 3, 1, 1)),
                        "b4.fromrgb.bias": ("epilogue.fromrgb.bias", (8,)),
                        "b4.fromrgb.resample_filter": (None, _F)}


@pytest.mark.parametrize("cls, keys", [(StyleGAN2Generator, OFFICIAL_G_KEYS),
                                       (StyleGAN2Discriminator, OFFICIAL_D_KEYS),
                                       (StyleGAN2Discriminator, OFFICIAL_D_KEYS_ORIG),
                                       (StyleGAN2Discriminator, OFFICIAL_D_KEYS_SKIP)])
def test_from_official_state_dict_maps_every_tensor(cls, keys):
    official = {k: torch.randn(shape) for k, (_, shape) in keys.items()}
    net = cls.from_official_state_dict(official)
    if cls is StyleGAN2Discriminator:
        expected = ("skip" if keys is OFFICIAL_D_KEYS_SKIP else
                    "orig" if keys is OFFICIAL_D_KEYS_ORIG else "resnet")
        assert net.architecture == expected
    ours = net.state_dict()
    for key, (name, _) in keys.items():
        if name is not None:
            assert torch.equal(ours[name], official[key]), key
    mapped = {name for name, _ in keys.values() if name}
    assert set(ours) - mapped <= {"mapping.w_avg"}      # D's mapping keeps an unused w_avg
    if cls is StyleGAN2Generator:
        assert (net.z_dim, net.w_dim, net.num_classes, net.image_shape) == (4, 6, 2, (3, 8, 8))
        assert net(torch.randn(2, 4), torch.tensor([0, 1])).shape == (2, 3, 8, 8)
    else:
        assert (net.num_classes, net.cmap_dim, net.image_shape) == (2, 5, (3, 8, 8))
        assert net(torch.randn(2, 3, 8, 8), torch.tensor([0, 1])).shape == (2,)


def test_from_official_state_dict_rejects_other_dicts():
    with pytest.raises(ValueError, match="official StyleGAN2"):
        StyleGAN2Generator.from_official_state_dict({"weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="official StyleGAN2"):
        StyleGAN2Discriminator.from_official_state_dict({"weight": torch.zeros(1)})


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("size", [48, 2, 0, [32, 48], [2, 4], [16, 16, 16], 32.0, "64", True])
def test_bad_image_size_is_a_one_line_value_error(size):
    for cls in (StyleGAN2Generator, StyleGAN2Discriminator):
        with pytest.raises(ValueError, match="image_size=") as err:
            cls(image_size=size, **TINY)
        assert "\n" not in str(err.value)


def test_image_size_accepts_integer_types_and_pairs():
    assert StyleGAN2Generator(image_size=np.int64(8), **TINY).image_shape == (3, 8, 8)
    assert StyleGAN2Discriminator(image_size=(np.int64(8), 16), **TINY).image_shape == (3, 8, 16)


def test_shape_and_mode_errors():
    g = _tiny_g()
    d = StyleGAN2Discriminator(image_size=[16, 32], **TINY)
    with pytest.raises(ValueError, match=r"\(B, 3, 16, 32\)"):
        d(torch.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match="input of shape"):
        d(torch.randn(3, 16, 32))
    with pytest.raises(ValueError, match="ws of shape"):
        g.synthesis(torch.randn(2, g.num_ws + 1, 16))
    with pytest.raises(ValueError, match="noise_mode"):
        g(torch.randn(2, 16), noise_mode="fixed")
    with pytest.raises(ValueError, match="z of shape"):
        g(torch.randn(2, 8))
    with pytest.raises(ValueError, match="at least 8 px"):
        StyleGAN2Discriminator(image_size=4)

"""StyleGAN v1 nets (gan_lab.nets.stylegan): parameter counts, noise, truncation, style mixing,
AdaIN, blur, growing protocol."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gan_lab.nets.progan import ProGANDiscriminator, images_at_level
from gan_lab.nets.stylegan import (
    AdaIN,
    Blur,
    StyleGANDiscriminator,
    StyleGANGenerator,
)

# Small nets: 16 px (L = 2), blocks with 16, 16, 8 maps, 6 synthesis layers, 2-layer mapping.
TINY_G = dict(z_dim=8, w_dim=8, image_size=16, mapping_layers=2, fmap_base=64, fmap_max=16)
TINY_D = dict(image_size=16, fmap_base=64, fmap_max=16)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def nf(stage: int) -> int:
    return min(int(8192 / 2.0**stage), 512)


def tiny_generator(noise_weight: float | None = 1.0) -> StyleGANGenerator:
    """A tiny G with non-zero noise weights (they start at 0) so the noise is visible."""
    g = StyleGANGenerator(**TINY_G)
    if noise_weight is not None:
        for layer in g.layers:
            torch.nn.init.constant_(layer.noise.weight, noise_weight)
    return g


# ----------------------------------------------------------------------------- parameter counts


def official_synthesis_params(res_log2: int = 10, w_dim: int = 512, channels: int = 3) -> int:
    """Trainable variables of G_synthesis (NVlabs/stylegan, training/networks_stylegan.py), read
    layer by layer: each layer epilogue has a noise weight and a bias per map and a StyleMod
    dense w -> 2 * maps (+ bias); the noise maps themselves are not trainable."""
    def epilogue(maps: int) -> int:
        return maps + maps + (w_dim * 2 * maps + 2 * maps)
    total = nf(1) * 16 + epilogue(nf(1))                    # 4x4/Const (1, nf(1), 4, 4)
    total += nf(1) * nf(1) * 9 + epilogue(nf(1))            # 4x4/Conv (no own bias)
    for res in range(3, res_log2 + 1):                      # Conv0_up, Conv1
        total += nf(res - 2) * nf(res - 1) * 9 + epilogue(nf(res - 1))
        total += nf(res - 1) * nf(res - 1) * 9 + epilogue(nf(res - 1))
    total += sum(nf(res - 1) * channels + channels for res in range(2, res_log2 + 1))  # ToRGB
    return total


def test_parameter_counts_at_1024_match_official():
    g = StyleGANGenerator()
    mapping = 8 * (512 * 512 + 512)                         # G_mapping: 8 dense layers
    assert count(g.mapping) == mapping == 2_101_248
    assert count(g) - count(g.mapping) == official_synthesis_params() == 24_118_379
    # The official README prints "Total 26219627" for the FFHQ 1024x1024 generator Gs;
    # the StyleGAN paper gives 26.2M for its generator.
    assert count(g) == 26_219_627
    assert g.num_ws == 18
    # D_basic has the same layers as ProGAN's D_paper (the blur has no parameters):
    # 23.1M as the StyleGAN paper and ProGAN's table 2.
    d = StyleGANDiscriminator()
    assert count(d) == count(ProGANDiscriminator()) == 23_087_249
    # Buffers: the const-noise maps and w_avg are not parameters.
    assert sum(b.numel() for n, b in g.named_buffers() if "noise_const" in n) == 2 * sum(
        (4 * 2**k) ** 2 for k in range(9))


def test_parameter_counts_small_config():
    g = StyleGANGenerator(**TINY_G, channels=1)
    mapping = 2 * (8 * 8 + 8)
    epilogue = lambda maps: 2 * maps + 8 * 2 * maps + 2 * maps  # noqa: E731
    synthesis = (16 * 16 + epilogue(16) + 16 * 16 * 9 + epilogue(16)      # block 0
                 + 16 * 16 * 9 + epilogue(16) + 16 * 16 * 9 + epilogue(16)  # block 1
                 + 16 * 8 * 9 + epilogue(8) + 8 * 8 * 9 + epilogue(8)      # block 2
                 + (16 + 1) * 2 + (8 + 1))                                # toRGBs
    assert count(g) == mapping + synthesis
    assert g.num_ws == 6 and g.mapping.num_ws == 6


# ----------------------------------------------------------------------------- layers


def test_adain_maths_tiny():
    adain = AdaIN(channels=2, w_dim=4)
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [2.0, 2.0]]]])  # (1, 2, 2, 2)
    w = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    # At init the style is the identity: scale bias 1, shift 0, zero style input.
    torch.nn.init.zeros_(adain.scale.weight)
    torch.nn.init.zeros_(adain.shift.weight)
    a = 1.5 / math.sqrt(1.25)  # channel 0: mean 2.5, variance 1.25
    normalized = torch.tensor([[[[-a, -a / 3], [a / 3, a]], [[-1.0, -1.0], [1.0, 1.0]]]])
    assert torch.allclose(adain(x, w), normalized, atol=1e-6)
    # Style from w: effective weight = stored / sqrt(w_dim) = stored / 2, w = e_0.
    with torch.no_grad():
        adain.scale.weight[:, 0] = torch.tensor([2.0, -4.0])  # y_s = 1 + (1, -2) = (2, -1)
        adain.shift.weight[:, 0] = torch.tensor([1.0, 0.0])   # y_b = (0.5, 0)
    expected = normalized * torch.tensor([2.0, -1.0])[None, :, None, None]
    expected = expected + torch.tensor([0.5, 0.0])[None, :, None, None]
    assert torch.allclose(adain(x, w), expected, atol=1e-6)


def test_blur_filter():
    delta = torch.zeros(1, 2, 5, 5)
    delta[:, :, 2, 2] = 1
    f = torch.tensor([1.0, 2.0, 1.0])
    kernel = (f[:, None] * f[None, :]) / 16
    out = Blur()(delta)
    assert torch.allclose(out[0, 0, 1:4, 1:4], kernel) and torch.allclose(out[0, 1, 1:4, 1:4], kernel)
    assert out.sum().item() == pytest.approx(2.0)
    flat = Blur()(torch.full((1, 1, 6, 6), 3.0))
    assert torch.allclose(flat[0, 0, 1:5, 1:5], torch.full((4, 4), 3.0))  # interior kept


def test_noise_weights_start_at_zero_and_const_input_at_one():
    g = StyleGANGenerator(**TINY_G)
    assert all(torch.equal(layer.noise.weight, torch.zeros_like(layer.noise.weight))
               for layer in g.layers)
    assert torch.equal(g.const, torch.ones_like(g.const))
    assert [tuple(layer.noise.noise_const.shape[-2:]) for layer in g.layers] == [
        (4, 4), (4, 4), (8, 8), (8, 8), (16, 16), (16, 16)]
    assert all(torch.equal(layer.adain.scale.bias, torch.ones_like(layer.adain.scale.bias))
               for layer in g.layers)


def test_noise_modes():
    g = tiny_generator()
    ws = g.mapping(torch.randn(2, 8))
    assert torch.equal(g.synthesis(ws, noise_mode="const"), g.synthesis(ws, noise_mode="const"))
    assert torch.equal(g.synthesis(ws, noise_mode="none"), g.synthesis(ws, noise_mode="none"))
    assert not torch.allclose(g.synthesis(ws), g.synthesis(ws))          # random: fresh noise
    assert not torch.allclose(g.synthesis(ws, noise_mode="const"),
                              g.synthesis(ws, noise_mode="none"))
    z = torch.randn(2, 8)
    assert torch.equal(g(z, noise_mode="const"), g(z, noise_mode="const"))
    with pytest.raises(ValueError, match="noise_mode"):
        g.synthesis(ws, noise_mode="fixed")


# ----------------------------------------------------------------------------- truncation


def test_truncation_psi0_gives_w_avg_below_cutoff():
    g = tiny_generator()
    g.mapping.w_avg.copy_(torch.randn(8))
    z = torch.randn(3, 8)
    plain = g.mapping(z)
    ws = g.mapping(z, truncation_psi=0.0, truncation_cutoff=2)
    assert torch.allclose(ws[:, :2], g.mapping.w_avg.expand(3, 2, 8))
    assert torch.equal(ws[:, 2:], plain[:, 2:])
    # With psi = 0 on all layers every z gives the same image (const noise).
    images = g(z, truncation_psi=0.0, noise_mode="const")
    assert torch.allclose(images, images[:1].expand_as(images), atol=1e-5)
    assert not torch.allclose(g(z, noise_mode="const")[0], g(z, noise_mode="const")[1])


def test_update_w_avg():
    g = tiny_generator()
    before = g.mapping.w_avg.clone()
    g(torch.randn(4, 8), noise_mode="const")
    assert torch.equal(g.mapping.w_avg, before)
    g(torch.randn(4, 8), noise_mode="const", update_w_avg=True)
    assert not torch.equal(g.mapping.w_avg, before)


# ----------------------------------------------------------------------------- style mixing


def layer_outputs(g: StyleGANGenerator, ws: torch.Tensor) -> list[torch.Tensor]:
    outputs: list[torch.Tensor] = []
    hooks = [layer.register_forward_hook(lambda m, i, o: outputs.append(o)) for layer in g.layers]
    g.synthesis(ws, noise_mode="const")
    for hook in hooks:
        hook.remove()
    return outputs


def test_layer_i_reads_ws_row_i():
    g = tiny_generator()
    ws = g.mapping(torch.randn(2, 8))
    base = layer_outputs(g, ws)
    for i in range(g.num_ws):
        changed = ws.clone()
        changed[:, i] = torch.randn(2, 8)
        outs = layer_outputs(g, changed)
        for j in range(g.num_ws):
            same = torch.equal(outs[j], base[j])
            assert same == (j < i), (i, j)   # layers before i untouched, i and after changed


def test_style_mixing_keeps_coarse_layers():
    g = tiny_generator()
    ws1, ws2 = g.mapping(torch.randn(2, 8)), g.mapping(torch.randn(2, 8))
    cutoff = 2                                      # block 0 from ws1, blocks 1, 2 from ws2
    mixed = torch.cat([ws1[:, :cutoff], ws2[:, cutoff:]], dim=1)
    a, b = layer_outputs(g, ws1), layer_outputs(g, mixed)
    assert all(torch.equal(a[j], b[j]) for j in range(cutoff))
    assert not torch.allclose(g.synthesis(ws1, noise_mode="const"),
                              g.synthesis(mixed, noise_mode="const"))


# ----------------------------------------------------------------------------- growing protocol


def test_generator_shapes_and_fade_in():
    g = tiny_generator()
    ws = g.mapping(torch.randn(2, 8))
    for level, side in [(0, 4), (0.5, 8), (1, 8), (1.5, 16), (2, 16), (None, 16)]:
        assert g.synthesis(ws, level=level).shape == (2, 3, side, side)
    synth = lambda level: g.synthesis(ws, level=level, noise_mode="const")  # noqa: E731
    old = F.interpolate(synth(1), scale_factor=2, mode="nearest")
    new = synth(2)
    assert torch.allclose(synth(1.25), 0.75 * old + 0.25 * new, atol=1e-5)
    assert torch.allclose(synth(1 + 1e-7), old, atol=1e-5)
    assert torch.allclose(synth(2 - 1e-7), new, atol=1e-5)
    assert torch.allclose(synth(0.5), 0.5 * F.interpolate(synth(0), scale_factor=2) + 0.5 * synth(1),
                          atol=1e-5)


def test_generator_unused_layers_get_no_gradient():
    g = tiny_generator()
    g(torch.randn(2, 8), level=1).square().mean().backward()
    assert g.layers[3].conv.weight.grad is not None and g.to_rgb[1].weight.grad is not None
    assert g.layers[4].conv.weight.grad is None and g.to_rgb[2].weight.grad is None
    assert g.to_rgb[0].weight.grad is None


def test_discriminator_blur_and_fade_in():
    d = StyleGANDiscriminator(**TINY_D)
    assert isinstance(d.blocks[1].blur, Blur) and isinstance(d.blocks[2].blur, Blur)
    x = torch.randn(4, 3, 16, 16)
    mixed = torch.lerp(d.from_rgb[1](F.avg_pool2d(x, 2)), d.blocks[2](d.from_rgb[2](x)), 0.25)
    assert torch.allclose(d(x, level=1.25), d.blocks[0](d.blocks[1](mixed)), atol=1e-5)
    assert torch.allclose(d(x, level=1 + 1e-7), d(F.avg_pool2d(x, 2), level=1), atol=1e-5)
    # The blur makes it differ from ProGAN's D with the same weights.
    p = ProGANDiscriminator(**TINY_D)
    p.load_state_dict(d.state_dict())
    assert not torch.allclose(p(x), d(x))


def test_g_and_d_at_each_level():
    g, d = tiny_generator(), StyleGANDiscriminator(**TINY_D)
    reals = torch.randn(4, 3, 16, 16)
    for level in (0, 0.4, 1, 1.5, 2):
        fake = g(torch.randn(4, 8), level=level)
        assert fake.shape == images_at_level(reals, level).shape
        assert d(fake, level=level).shape == (4,)


def test_errors():
    with pytest.raises(ValueError, match="image_size"):
        StyleGANGenerator(**{**TINY_G, "image_size": 24})
    with pytest.raises(ValueError, match="image_size"):
        StyleGANDiscriminator(image_size=4)
    with pytest.raises(ValueError, match="num_classes"):
        StyleGANGenerator(**TINY_G, num_classes=3)
    g, d = tiny_generator(), StyleGANDiscriminator(**TINY_D)
    with pytest.raises(ValueError, match="level"):
        g(torch.randn(2, 8), level=2.5)
    with pytest.raises(ValueError, match="level"):
        d(torch.randn(2, 3, 16, 16), level=-1)
    with pytest.raises(ValueError, match=r"expects images \(B, 3, 4, 4\)"):
        d(torch.randn(2, 3, 16, 16), level=0)
    with pytest.raises(ValueError, match=r"ws of shape \(B, 6, 8\)"):
        g.synthesis(torch.randn(2, 8))
    with pytest.raises(ValueError, match="labels must be None"):
        g(torch.randn(2, 8), torch.zeros(2, dtype=torch.long))

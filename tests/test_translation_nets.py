"""Fast checks of the image-to-image translation nets: pix2pix U-Net and PatchGAN, CycleGAN ResNet.

Shapes, the U-Net skips and dropout, measured PatchGAN receptive fields, the ResNet blocks,
norm and padding options, the N(0, 0.02) initialisation and the error messages.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_lab.nets import PatchDiscriminator, ResnetGenerator, UnetGenerator
from gan_lab.nets.norm import conv_bias, norm_layer
from gan_lab.nets.patchgan import receptive_field
from gan_lab.nets.resnet_translator import ResnetBlock

NORM_TYPES = {"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d}
NORM_ERROR = "norm='bad': must be one of batch, instance, layer, none"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _count(net: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in net.modules())


def _norms(net: nn.Module) -> int:
    return _count(net, nn.BatchNorm2d) + _count(net, nn.InstanceNorm2d)


def _one_line_error(fn, match: str) -> str:
    with pytest.raises(ValueError, match=match) as info:
        fn()
    assert "\n" not in str(info.value)
    return str(info.value)


def _check_bias_rule(net: nn.Module, norm: str) -> None:
    """A conv directly followed by BatchNorm has no bias; with instance or no norm it has one."""
    mods = list(net.modules())
    for a, b in zip(mods, mods[1:]):
        if isinstance(a, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(b, NORM_TYPES.get(norm, ())):
            assert (a.bias is None) == (norm == "batch")


# ----------------------------------------------------------------------------- norm


def test_norm_layer_kinds():
    bn = norm_layer("batch", 8)
    assert isinstance(bn, nn.BatchNorm2d) and bn.affine and bn.track_running_stats
    inorm = norm_layer("instance", 8)
    assert isinstance(inorm, nn.InstanceNorm2d)
    assert not inorm.affine and not inorm.track_running_stats
    assert not list(inorm.parameters()) and not list(inorm.buffers())
    assert isinstance(norm_layer("none", 8), nn.Identity)
    assert conv_bias("instance") and conv_bias("none") and not conv_bias("batch")


def test_norm_errors_name_key_and_choices():
    _one_line_error(lambda: norm_layer("bad", 4), NORM_ERROR)
    _one_line_error(lambda: conv_bias("bad"), NORM_ERROR)
    msg = _one_line_error(lambda: norm_layer("group", 4, key="model.generator.norm"), "group")
    assert msg.startswith("model.generator.norm='group'")


@pytest.mark.parametrize(
    "make",
    [
        lambda: UnetGenerator(image_size=32, width=4, norm="bad"),
        lambda: PatchDiscriminator(width=4, norm="bad"),
        lambda: ResnetGenerator(width=4, n_blocks=1, norm="bad"),
    ],
)
def test_nets_reject_bad_norm(make):
    _one_line_error(make, NORM_ERROR)


# ----------------------------------------------------------------------------- U-Net


@pytest.mark.parametrize(
    "image_size, num_downs, depth", [(256, None, 8), (128, None, 7), (32, None, 5), (512, None, 8),
                                     (64, 4, 4), (4, None, 2)],
)
def test_unet_depth(image_size, num_downs, depth):
    net = UnetGenerator(image_size=image_size, num_downs=num_downs, width=2)
    assert net.num_downs == depth and net.size_multiple == 2**depth
    assert len(net.encoder) == len(net.decoder) == depth


@pytest.mark.parametrize(
    "cin, cout, image_size, num_downs, shape, norm",
    [
        (3, 3, 32, None, (32, 32), "batch"),
        (1, 2, 64, 4, (64, 48), "instance"),
        (4, 3, 32, 5, (64, 96), "none"),
        (3, 3, 256, None, (256, 256), "batch"),
    ],
)
def test_unet_shapes_and_norms(cin, cout, image_size, num_downs, shape, norm):
    net = UnetGenerator(cin, cout, image_size, num_downs, width=4, norm=norm)
    y = net(torch.randn(2, cin, *shape))
    assert y.shape == (2, cout, *shape)
    assert y.abs().max() < 1
    # Every encoder layer but the first and the bottleneck is normalised, and every decoder
    # layer but the output one.
    n = net.num_downs
    expected = 0 if norm == "none" else (n - 2) + (n - 1)
    assert _norms(net) == expected
    if norm != "none":
        assert _count(net, NORM_TYPES[norm]) == expected
    _check_bias_rule(net, norm)


def test_unet_first_and_innermost_encoder_layers_have_no_norm():
    net = UnetGenerator(image_size=64, width=4)
    assert isinstance(net.encoder[0], nn.Conv2d)
    assert _norms(net.encoder[0]) == 0 and _norms(net.encoder[-1]) == 0
    assert all(_count(block, nn.BatchNorm2d) == 1 for block in net.encoder[1:-1])
    assert all(_count(block, nn.LeakyReLU) == 1 for block in net.encoder[1:])
    assert all(_count(block, nn.ReLU) == 1 for block in net.decoder)
    assert isinstance(net.decoder[-1][-1], nn.Tanh)


def test_unet_channel_widths_are_capped():
    net = UnetGenerator(image_size=256, width=4)
    widths = [m.out_channels for m in net.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert widths == [4, 8, 16, 32, 32, 32, 32, 32]


def test_unet_dropout_in_three_innermost_decoder_layers():
    net = UnetGenerator(image_size=256, width=2)
    drops = [m for m in net.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 3 and all(m.p == 0.5 for m in drops)
    assert [_count(block, nn.Dropout) for block in net.decoder] == [1, 1, 1, 0, 0, 0, 0, 0]
    assert _count(net.encoder, nn.Dropout) == 0
    assert _count(UnetGenerator(image_size=256, width=2, dropout=0), nn.Dropout) == 0
    custom = UnetGenerator(image_size=32, width=2, dropout=0.2)
    assert [m.p for m in custom.modules() if isinstance(m, nn.Dropout)] == [0.2] * 3


def test_unet_skips_concatenate_mirrored_encoder_layers():
    net = UnetGenerator(image_size=32, width=4).eval()
    n = net.num_downs
    enc_out: dict[int, torch.Tensor] = {}
    matched: list[int] = []
    for i, block in enumerate(net.encoder):
        block.register_forward_hook(lambda m, a, out, i=i: enc_out.__setitem__(i, out.detach()))
    for j, block in enumerate(net.decoder):

        def pre(m, args, j=j):
            if j == 0:  # the bottleneck itself, no concatenation
                assert torch.equal(args[0], enc_out[n - 1])
                return
            skip = enc_out[n - 1 - j]
            assert args[0].shape[1] == 2 * skip.shape[1]
            assert torch.equal(args[0][:, : skip.shape[1]], skip)
            matched.append(j)

        block.register_forward_pre_hook(pre)
    net(torch.randn(2, 3, 32, 32))
    assert matched == list(range(1, n))


def test_unet_output_depends_on_input_through_skips_alone():
    # Zero the second encoder conv: everything below the first skip is then constant, so any
    # dependence of the output on the input must come through the outermost skip connection.
    net = UnetGenerator(image_size=32, width=4, norm="none").eval()
    conv = net.encoder[1][1]
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
    x = torch.randn(1, 3, 32, 32)
    x2 = x.clone()
    x2[0, :, 17, 9] += 3.0  # one pixel: high frequency content
    y, y2 = net(x), net(x2)
    changed = (y - y2).abs().sum(dim=1)[0] > 0
    assert changed.any()
    # Through the first skip (a 4x4 conv then a 4x4 transposed conv) the change stays local.
    rows, cols = changed.nonzero(as_tuple=True)
    assert rows.min() >= 17 - 4 and rows.max() <= 17 + 4
    assert cols.min() >= 9 - 4 and cols.max() <= 9 + 4


def test_unet_bad_sizes():
    msg = _one_line_error(lambda: UnetGenerator(image_size=100), "image_size=100")
    assert "num_downs" in msg
    msg = _one_line_error(lambda: UnetGenerator(image_size=48, num_downs=5), "image_size=48")
    assert "num_downs=5" in msg and "32" in msg
    _one_line_error(lambda: UnetGenerator(image_size=32, num_downs=1), "num_downs=1")
    _one_line_error(lambda: UnetGenerator(image_size=32, dropout=1.0), "dropout=1.0")
    net = UnetGenerator(image_size=32, width=2)
    _one_line_error(lambda: net(torch.randn(1, 3, 32, 40)), "multiples of 2\\^num_downs = 32")


# ----------------------------------------------------------------------------- PatchGAN


@pytest.mark.parametrize(
    "n_layers, size, out", [(3, 256, 30), (3, 64, 6), (1, 64, 30), (0, 64, 64), (5, 256, 6)],
)
def test_patch_shapes(n_layers, size, out):
    net = PatchDiscriminator(in_channels=6, width=4, n_layers=n_layers)
    assert net(torch.randn(2, 6, size, size)).shape == (2, 1, out, out)


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_patch_layout(norm):
    net = PatchDiscriminator(in_channels=3, width=4, n_layers=3, norm=norm)
    layers = list(net.net)
    assert isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.LeakyReLU)
    assert layers[1].negative_slope == 0.2
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride, c.padding) for c in convs] == [
        (4, (4, 4), (2, 2), (1, 1)),
        (8, (4, 4), (2, 2), (1, 1)),
        (16, (4, 4), (2, 2), (1, 1)),
        (32, (4, 4), (1, 1), (1, 1)),
        (1, (4, 4), (1, 1), (1, 1)),
    ]
    assert isinstance(layers[-1], nn.Conv2d)  # raw scores, no sigmoid
    assert _count(net, nn.Sigmoid) == 0
    assert _norms(net) == (0 if norm == "none" else 3)
    _check_bias_rule(net, norm)
    y = net(torch.randn(2, 3, 64, 64) * 50)
    assert y.shape == (2, 1, 6, 6)


def test_patch_channels_capped_and_pixelgan():
    deep = PatchDiscriminator(width=2, n_layers=5)
    assert max(m.out_channels for m in deep.modules() if isinstance(m, nn.Conv2d)) == 16
    pixel = PatchDiscriminator(width=4, n_layers=0)
    convs = [m for m in pixel.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [(4, (1, 1)), (8, (1, 1)), (1, (1, 1))]
    assert _count(pixel, nn.BatchNorm2d) == 1


def _measured_receptive_field(n_layers: int) -> int:
    net = PatchDiscriminator(in_channels=2, width=4, n_layers=n_layers).double().eval()
    size = 2 * receptive_field(n_layers) + 16
    x = torch.randn(1, 2, size, size, dtype=torch.float64, requires_grad=True)
    y = net(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    seen = x.grad.abs().sum(dim=(0, 1)) > 0
    rows, cols = seen.nonzero(as_tuple=True)
    side = int(rows.max() - rows.min() + 1)
    # A full square window away from the borders (so padding did not clip it).
    assert int(cols.max() - cols.min() + 1) == side
    assert int(seen.sum()) == side * side
    assert rows.min() > 0 and cols.min() > 0 and rows.max() < size - 1 and cols.max() < size - 1
    return side


def test_patch_receptive_field_70():
    assert _measured_receptive_field(3) == 70 == PatchDiscriminator().receptive_field


@pytest.mark.parametrize("n_layers, expected", [(0, 1), (1, 16), (2, 34), (3, 70), (4, 142)])
def test_patch_receptive_field_measured(n_layers, expected):
    assert receptive_field(n_layers) == expected
    assert _measured_receptive_field(n_layers) == expected


@pytest.mark.parametrize("n_layers, side", [(0, 1), (1, 6), (2, 12), (3, 24), (4, 48)])
def test_patch_min_input_size(n_layers, side):
    net = PatchDiscriminator(in_channels=1, width=2, n_layers=n_layers)
    assert net.min_size == side
    assert net(torch.randn(2, 1, side, 2 * side)).shape[:3] == (2, 1, 1)
    _one_line_error(lambda: net(torch.randn(2, 1, side - 1, 40)), f"sides >= {side}")


def test_patch_bad_arguments():
    _one_line_error(lambda: PatchDiscriminator(n_layers=-1), "n_layers=-1")
    _one_line_error(lambda: receptive_field(-1), "n_layers=-1")
    _one_line_error(lambda: PatchDiscriminator(width=0), "width=0")


# ----------------------------------------------------------------------------- ResNet


@pytest.mark.parametrize(
    "cin, cout, shape, n_blocks, norm",
    [(3, 3, (64, 64), 2, "instance"), (1, 2, (32, 48), 0, "batch"), (3, 1, (36, 20), 1, "none")],
)
def test_resnet_shapes_and_norms(cin, cout, shape, n_blocks, norm):
    net = ResnetGenerator(cin, cout, width=4, n_blocks=n_blocks, norm=norm)
    assert net.size_multiple == 4
    y = net(torch.randn(2, cin, *shape))
    assert y.shape == (2, cout, *shape)
    assert y.abs().max() < 1
    expected = 0 if norm == "none" else 5 + 2 * n_blocks
    assert _norms(net) == expected
    _check_bias_rule(net, norm)


def test_resnet_layout():
    net = ResnetGenerator(width=4, n_blocks=9)
    blocks = [m for m in net.modules() if isinstance(m, ResnetBlock)]
    assert len(blocks) == 9
    assert _count(net, nn.ReflectionPad2d) == 2 + 2 * 9
    convs = [m for m in net.net if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (4, 7, 1), (8, 3, 2), (16, 3, 2), (8, 3, 2), (4, 3, 2), (3, 7, 1),
    ]
    assert all(c.out_channels == 16 for b in blocks for c in b.modules() if isinstance(c, nn.Conv2d))
    ups = [c for c in convs if isinstance(c, nn.ConvTranspose2d)]
    assert all(c.padding == (1, 1) and c.output_padding == (1, 1) for c in ups)
    assert isinstance(net.net[-1], nn.Tanh)
    assert _count(net, nn.Dropout) == 0
    assert _count(ResnetGenerator(width=4, n_blocks=3, dropout=0.5), nn.Dropout) == 3
    for m in net.modules():
        if isinstance(m, nn.InstanceNorm2d):
            assert not m.affine and not m.track_running_stats
    assert not list(net.buffers())


def test_resnet_block_is_residual():
    block = ResnetBlock(8)
    last_conv = [m for m in block.modules() if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        last_conv.weight.zero_()
        last_conv.bias.zero_()
    x = torch.randn(2, 8, 6, 6)
    assert torch.equal(block(x), x)


def test_resnet_paddings():
    zero = ResnetGenerator(width=4, n_blocks=2, padding="zero")
    assert _count(zero, nn.ReflectionPad2d) == _count(zero, nn.ReplicationPad2d) == 0
    assert zero(torch.randn(1, 3, 16, 16)).shape == (1, 3, 16, 16)
    rep = ResnetGenerator(width=4, n_blocks=2, padding="replicate")
    assert _count(rep, nn.ReplicationPad2d) == 6 and _count(rep, nn.ReflectionPad2d) == 0
    _one_line_error(
        lambda: ResnetGenerator(padding="circular"),
        "padding='circular': must be one of reflect, replicate, zero",
    )


def test_resnet_bad_arguments():
    net = ResnetGenerator(width=2, n_blocks=0)
    _one_line_error(lambda: net(torch.randn(1, 3, 30, 32)), "multiples of 4")
    _one_line_error(lambda: ResnetGenerator(n_blocks=-1), "n_blocks=-1")
    _one_line_error(lambda: ResnetGenerator(dropout=-0.1), "dropout=-0.1")


# ----------------------------------------------------------------------------- init


@pytest.mark.parametrize(
    "make",
    [
        lambda: UnetGenerator(image_size=64, width=16),
        lambda: PatchDiscriminator(width=16),
        lambda: ResnetGenerator(width=16, n_blocks=2),
    ],
)
def test_init_statistics(make):
    net = make()
    weights, biases, scales = [], [], []
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            weights.append(m.weight.flatten())
            if m.bias is not None:
                biases.append(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            scales.append(m.weight)
            biases.append(m.bias)
    w = torch.cat(weights)
    assert w.numel() > 10_000
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 1e-3
    assert all((b == 0).all() for b in biases)
    if scales:
        s = torch.cat(scales)
        assert abs(s.mean().item() - 1) < 0.01 and 0.01 < s.std().item() < 0.03

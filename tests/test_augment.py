"""Discriminator augmentations: DiffAugment's ops, ADA's pipeline and its p controller."""

from __future__ import annotations

import itertools

import pytest
import torch

from gan_lab.augment import AdaptiveAugment, Augment, DiffAugment, NoAugment
from gan_lab.augment.ada import GROUPS, OPS, SYM6, warp_wavelet
from gan_lab.augment.diffaugment import (
    adjust_brightness,
    adjust_contrast,
    adjust_saturation,
    cutout,
    translate,
)


def _images(n=4, c=3, h=8, w=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w, generator=g) * 2 - 1


def _seeded(module, x, seed):
    torch.manual_seed(seed)
    return module(x)


# -- protocol --------------------------------------------------------------------------------


def test_protocol_defaults_and_no_augment():
    x = _images()
    assert NoAugment()(x) is x
    base = Augment()
    assert base.observe(torch.ones(3)) is None
    assert base.metrics() == {}
    with pytest.raises(NotImplementedError):
        base(x)


# -- DiffAugment -------------------------------------------------------------------------------


def test_diffaugment_policy_words():
    assert DiffAugment().policy == ("color", "translation", "cutout")
    assert DiffAugment(["cutout", " color "]).policy == ("cutout", "color")
    x = _images()
    assert torch.equal(DiffAugment("")(x), x)
    with pytest.raises(ValueError, match=r"'colour'.*color, translation, cutout"):
        DiffAugment("colour,translation")


def test_brightness_adds_a_per_sample_constant():
    x = _images(n=2)
    out = adjust_brightness(x, torch.tensor([0.25, -0.5]))
    torch.testing.assert_close(out[0], x[0] + 0.25)
    torch.testing.assert_close(out[1], x[1] - 0.5)


def test_saturation_scales_around_the_channel_mean():
    x = torch.tensor([1.0, 0.0, -1.0]).view(1, 3, 1, 1).repeat(3, 1, 1, 1)  # channel mean 0
    x[:, :, 0, 0] += 0.5  # channel mean 0.5
    out = adjust_saturation(x, torch.tensor([0.0, 1.0, 2.0]))
    torch.testing.assert_close(out[0].flatten(), torch.full((3,), 0.5))  # grey
    torch.testing.assert_close(out[1], x[1])
    torch.testing.assert_close(out[2].flatten(), torch.tensor([2.5, 0.5, -1.5]))


def test_contrast_scales_around_the_image_mean():
    x = torch.tensor([[0.0, 1.0], [2.0, 3.0]]).view(1, 1, 2, 2)  # mean 1.5
    out = adjust_contrast(x, torch.tensor([0.5]))
    torch.testing.assert_close(out, torch.tensor([[0.75, 1.25], [1.75, 2.25]]).view(1, 1, 2, 2))


def test_random_color_draws_the_paper_ranges():
    # One channel: saturation is a no-op, so out = c * (x + b - mean) + mean + b per sample.
    x = _images(n=64, c=1)
    torch.manual_seed(0)
    out = DiffAugment("color")(x)
    b = out.mean(dim=(1, 2, 3)) - x.mean(dim=(1, 2, 3))
    c = out.std(dim=(1, 2, 3)) / x.std(dim=(1, 2, 3))
    assert b.abs().max() <= 0.5 and b.abs().max() > 0.3
    assert c.min() >= 0.5 - 1e-5 and c.max() <= 1.5 + 1e-5
    centred = (out - out.mean(dim=(1, 2, 3), keepdim=True)) / c.view(-1, 1, 1, 1)
    torch.testing.assert_close(centred, x - x.mean(dim=(1, 2, 3), keepdim=True))


def test_translate_moves_pixels_and_zero_fills():
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4)
    out = translate(x, torch.tensor([[1, -1]]))  # one row down, one column left
    expected = torch.tensor(
        [[0, 0, 0, 0], [2, 3, 4, 0], [6, 7, 8, 0], [10, 11, 12, 0]], dtype=torch.float
    )
    assert torch.equal(out[0, 0], expected)


@pytest.mark.parametrize("h,w", [(8, 8), (8, 16)])
def test_random_translation_is_one_allowed_shift_per_sample(h, w):
    x = torch.arange(1.0, 1 + 32 * 2 * h * w).view(32, 2, h, w)  # unique, non-zero values
    torch.manual_seed(1)
    out = DiffAugment("translation")(x)
    my, mx = round(h / 8), round(w / 8)  # 1/8 of each side
    seen = set()
    for i in range(len(x)):
        matches = [
            (dy, dx)
            for dy, dx in itertools.product(range(-my, my + 1), range(-mx, mx + 1))
            if torch.equal(out[i : i + 1], translate(x[i : i + 1], torch.tensor([[dy, dx]])))
        ]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 3  # shifts really are random per sample


def test_cutout_zeroes_exactly_the_square():
    x = torch.ones(2, 1, 8, 8)
    out = cutout(x, torch.tensor([[2, 3], [-2, 6]]), (4, 4))
    expected = torch.ones(2, 8, 8)
    expected[0, 2:6, 3:7] = 0
    expected[1, 0:2, 6:8] = 0  # clipped at the border
    assert torch.equal(out[:, 0], expected)


@pytest.mark.parametrize("h,w", [(8, 8), (8, 12), (7, 7)])
def test_random_cutout_is_a_half_side_square_clipped_to_the_image(h, w):
    x = torch.ones(64, 1, h, w)
    torch.manual_seed(2)
    out = DiffAugment("cutout")(x)
    sh, sw = int(h / 2 + 0.5), int(w / 2 + 0.5)
    full = 0
    for i in range(len(x)):
        zero = out[i, 0] == 0
        rows = zero.any(dim=1).nonzero().flatten()
        cols = zero.any(dim=0).nonzero().flatten()
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        assert int(zero.sum()) == (r1 - r0) * (c1 - c0)  # one filled rectangle
        assert r1 - r0 == sh or r0 == 0 or r1 == h  # full height unless clipped
        assert c1 - c0 == sw or c0 == 0 or c1 == w
        assert r1 - r0 <= sh and c1 - c0 <= sw
        full += bool(r1 - r0 == sh and c1 - c0 == sw)
    assert full > 10


def test_diffaugment_gradients_and_seeding():
    aug = DiffAugment()
    x = _images(n=8).requires_grad_(True)
    out = _seeded(aug, x, 3)
    assert out.shape == x.shape
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    y = x.detach()
    assert torch.equal(_seeded(aug, y, 3), _seeded(aug, y, 3))
    assert not torch.equal(_seeded(aug, y, 3), _seeded(aug, y, 4))


# -- ADA: the pipeline -------------------------------------------------------------------------


def test_ada_ops_selection():
    assert AdaptiveAugment().ops == GROUPS["bgc"] == OPS[:12] and OPS[12] == "cutout"
    assert AdaptiveAugment(ops="bgc,cutout").ops == OPS
    assert AdaptiveAugment(ops="xflip").ops == ("xflip",)
    assert AdaptiveAugment(ops=["hue", "blit"]).ops == ("xflip", "rotate90", "xint", "hue")
    with pytest.raises(ValueError, match=r"'flip'.*xflip.*bgc"):
        AdaptiveAugment(ops="flip")
    with pytest.raises(ValueError, match="interval"):
        AdaptiveAugment(interval=0)
    with pytest.raises(ValueError, match="p_init"):
        AdaptiveAugment(p_init=1.5)


@pytest.mark.parametrize("c", [1, 3])
def test_ada_p_zero_is_exactly_the_identity(c):
    x = _images(n=8, c=c)
    assert torch.equal(_seeded(AdaptiveAugment(p_init=0.0), x, 0), x)


def test_ada_xflip_at_p_one_mirrors_or_keeps_each_image():
    # Appendix B: an applied xflip draws i ~ U{0, 1}, so at p = 1 half the images are mirrored.
    # Bilinear resampling: exact blits (the official wavelet resampling is exact only up to its
    # filter's asymmetry, see test_wavelet_resampling_*).
    x = _images(n=32, c=1, h=8, w=6)
    out = _seeded(AdaptiveAugment(p_init=1.0, ops="xflip", resample="bilinear"), x, 0)
    flipped = [torch.allclose(o, xi.flip(-1), atol=1e-5) for o, xi in zip(out, x)]
    kept = [torch.equal(o, xi) for o, xi in zip(out, x)]
    assert all(f != k for f, k in zip(flipped, kept))
    assert 4 < sum(flipped) < 28


def test_ada_rotate90_gives_the_four_rotations():
    x = _images(n=32, c=1)
    out = _seeded(AdaptiveAugment(p_init=1.0, ops="rotate90", resample="bilinear"), x, 0)
    seen = set()
    for o, xi in zip(out, x):
        k = [k for k in range(4) if torch.allclose(o, torch.rot90(xi, k, (1, 2)), atol=1e-5)]
        assert len(k) == 1
        seen.add(k[0])
    assert seen == {0, 1, 2, 3}


def test_ada_integer_translation_on_non_square_images():
    # Integer shifts of up to 1/8 of each side: checks the pixel <-> grid coordinate mapping.
    h, w = 8, 16
    x = _images(n=16, c=1, h=h, w=w)
    out = _seeded(AdaptiveAugment(p_init=1.0, ops="xint"), x, 0)
    seen = set()
    for o, xi in zip(out, x):
        matches = []
        for dy, dx in itertools.product(range(-1, 2), range(-2, 3)):
            ys, xs = slice(max(dy, 0), h + min(dy, 0)), slice(max(dx, 0), w + min(dx, 0))
            src = xi[:, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)]
            if torch.allclose(o[:, ys, xs], src, atol=1e-5):
                matches.append((dy, dx))
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 3


def test_ada_color_ops_keep_their_invariants():
    x = _images(n=16, c=3)
    torch.manual_seed(0)
    # Hue rotation and saturation act off the luma axis: each pixel's channel mean stays.
    out = AdaptiveAugment(p_init=1.0, ops="hue,saturation")(x)
    torch.testing.assert_close(out.mean(dim=1), x.mean(dim=1))
    assert not torch.allclose(out, x)
    # Brightness shifts every value of a sample by one constant.
    out = AdaptiveAugment(p_init=1.0, ops="brightness")(x)
    diff = (out - x).flatten(1)
    torch.testing.assert_close(diff, diff[:, :1].expand_as(diff))
    # Contrast multiplies by one positive factor per sample.
    out = AdaptiveAugment(p_init=1.0, ops="contrast")(x)
    ratio = (out / x).flatten(1)
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio))
    assert (ratio > 0).all()


def test_ada_grey_images_get_luma_flip_but_not_hue_or_saturation():
    x = _images(n=32, c=1)
    assert torch.equal(_seeded(AdaptiveAugment(p_init=1.0, ops="hue,saturation"), x, 0), x)
    out = _seeded(AdaptiveAugment(p_init=1.0, ops="lumaflip"), x, 0)
    negated = [torch.allclose(o, -xi, atol=1e-5) for o, xi in zip(out, x)]
    kept = [torch.equal(o, xi) for o, xi in zip(out, x)]
    assert all(a != b for a, b in zip(negated, kept)) and 4 < sum(negated) < 28


@pytest.mark.parametrize("c,h,w", [(1, 16, 16), (3, 16, 16), (1, 16, 32), (3, 16, 32)])
def test_ada_full_pipeline_shapes_seeding_and_gradients(c, h, w):
    aug = AdaptiveAugment(p_init=1.0)
    x = _images(n=4, c=c, h=h, w=w).requires_grad_(True)
    out = _seeded(aug, x, 5)
    assert out.shape == x.shape and torch.isfinite(out).all()
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    y = x.detach()
    assert torch.equal(_seeded(aug, y, 5), _seeded(aug, y, 5))
    assert not torch.equal(_seeded(aug, y, 5), _seeded(aug, y, 6))


def test_ada_supports_r1_double_backprop():
    # Gradient penalties differentiate D(augment(x)) w.r.t. x and backprop through that.
    conv = torch.nn.Conv2d(1, 1, 3)
    x = _images(n=4, c=1).requires_grad_(True)
    torch.manual_seed(0)
    scores = conv(AdaptiveAugment(p_init=1.0)(x)).sum()
    (grad,) = torch.autograd.grad(scores, x, create_graph=True)
    grad.square().sum().backward()
    assert torch.isfinite(conv.weight.grad).all() and conv.weight.grad.abs().sum() > 0


# -- ADA: the official pipeline's options (stylegan2-ada-pytorch training/augment.py) -----------


def _sym6():
    taps = torch.tensor(SYM6, dtype=torch.float32)
    return taps / taps.sum()


def _translation(n, dx, dy):
    """g_inv (output pixel -> input pixel) of a shift by (dx, dy) pixels."""
    return torch.tensor([[1.0, 0.0, -dx], [0.0, 1.0, -dy], [0.0, 0.0, 1.0]]).expand(n, 3, 3)


def test_sym6_is_the_orthogonal_wavelet_low_pass():
    # The official Hz_geom: 12 taps, sum sqrt(2) and unit norm before normalising, orthogonal to
    # its even shifts (what makes upsample -> downsample the identity).
    taps = torch.tensor(SYM6, dtype=torch.float64)
    assert len(SYM6) == 12
    assert taps.sum().item() == pytest.approx(2**0.5, abs=1e-12)
    assert taps.square().sum().item() == pytest.approx(1.0, abs=1e-12)
    for shift in (2, 4, 6, 8, 10):
        assert (taps[shift:] * taps[:-shift]).sum().item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("c,h,w", [(1, 8, 8), (3, 8, 12)])
def test_wavelet_resampling_identity_reproduces_the_input(c, h, w):
    # Reflect pad, 2x up with sym6, grid_sample at the 2x pixel centres, 2x down: the identity
    # up to float rounding (the filter is an orthogonal wavelet's), borders included.
    x = _images(n=3, c=c, h=h, w=w)
    out = warp_wavelet(x, torch.eye(3).expand(3, 3, 3), _sym6())
    assert out.shape == x.shape
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_wavelet_integer_translation_is_a_roll_in_the_interior():
    x = _images(n=2, c=3, h=8, w=12)
    out = warp_wavelet(x, _translation(2, 2, -1), _sym6())
    # output(y, x) = input(y + 1, x - 2): a roll by (-1, 2) away from the rolled-in borders
    rolled = torch.roll(x, shifts=(-1, 2), dims=(2, 3))
    torch.testing.assert_close(out[:, :, :-1, 2:], rolled[:, :, :-1, 2:], atol=1e-5, rtol=0)
    # the rows and columns shifted in come from reflection padding (no edge repeat)
    torch.testing.assert_close(out[:, :, :-1, 1], x[:, :, 1:, 1], atol=1e-5, rtol=0)
    # a half-pixel shift is not a roll: the filter interpolates
    half = warp_wavelet(x, _translation(2, 0.5, 0), _sym6())
    assert (half - x).abs().max() > 0.1


def test_wavelet_resampling_is_anti_aliased_and_differentiable():
    # A smooth image mirrored by the wavelet path is close to the exact mirror (the filter is
    # only nearly symmetric; on pixel noise the official path differs from a mirror too).
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
    smooth = torch.sin(2 * xx + yy).view(1, 1, 16, 16)
    flip = torch.tensor([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]).expand(1, 3, 3)
    out = warp_wavelet(smooth, flip, _sym6())
    assert (out - smooth.flip(-1)).abs().max() < 0.05  # 0.03 here; pixel noise: 0.1 and more
    # Double backprop, for R1 through the augmentation.
    conv = torch.nn.Conv2d(1, 1, 3)
    x = smooth.clone().requires_grad_(True)
    rot = torch.tensor([[0.8, -0.6, 0.3], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]]).expand(1, 3, 3)
    (grad,) = torch.autograd.grad(conv(warp_wavelet(x, rot, _sym6())).sum(), x,
                                  create_graph=True)
    grad.square().sum().backward()
    assert conv.weight.grad.abs().sum() > 0


def test_ada_strengths_scale_each_ops_probability():
    x = _images(n=4000, c=1, h=4, w=4)
    half = _seeded(AdaptiveAugment(p_init=1.0, ops="lumaflip", strengths={"lumaflip": 0.5}), x, 0)
    negated = torch.isclose(half, -x, atol=1e-6).flatten(1).all(dim=1).float().mean()
    # applied with probability 0.5, and an applied luma flip flips with probability 1/2
    assert 0.2 < negated.item() < 0.3
    off = AdaptiveAugment(p_init=1.0, ops="bgc", strengths={"xflip": 0, "rotate90": 0, "xint": 0,
                                                            "scale": 0, "rotate": 0, "aniso": 0,
                                                            "xfrac": 0, "brightness": 0,
                                                            "contrast": 0, "lumaflip": 0})
    assert torch.equal(_seeded(off, x[:8], 0), x[:8])
    with pytest.raises(ValueError, match=r"strengths.cutout: not an op.*augment.ops"):
        AdaptiveAugment(ops="bgc", strengths={"cutout": 1.0})
    with pytest.raises(ValueError, match=r"strengths.hue=-1"):
        AdaptiveAugment(strengths={"hue": -1})
    with pytest.raises(ValueError, match="resample='nearest'"):
        AdaptiveAugment(resample="nearest")


def test_ada_cutout_zeroes_half_side_squares():
    x = torch.ones(64, 3, 8, 8)
    out = _seeded(AdaptiveAugment(p_init=1.0, ops="cutout"), x, 0)
    zeros = (out == 0).all(dim=1)  # [N, H, W]
    assert ((out == 0) | (out == 1)).all() and zeros.any()
    for mask in zeros:
        rows, cols = mask.any(dim=1), mask.any(dim=0)
        # an axis-aligned box of at most half the side (4 pixels), clipped by the border
        assert rows.sum() <= 4 and cols.sum() <= 4
        assert torch.equal(mask, rows[:, None] & cols[None, :])
    assert torch.equal(_seeded(AdaptiveAugment(p_init=0.0, ops="cutout"), x, 0), x)


def test_r3gan_pipeline_is_the_official_augment_pipe():
    # brownvc/R3GAN train.py: AugmentPipe(xflip=1, rotate90=1, xint=1, scale=1, rotate=1,
    # aniso=1, xfrac=1, brightness=0.5, contrast=0.5, lumaflip=0.5, hue=0.5, saturation=0.5,
    # cutout=1); conf/augment/ada_r3gan.yaml
    from hydra.utils import instantiate

    from tests.conftest import make_cfg

    aug = instantiate(make_cfg("/tmp/run", "augment=ada_r3gan").augment)
    official = {"xflip": 1, "rotate90": 1, "xint": 1, "scale": 1, "rotate": 1, "aniso": 1,
                "xfrac": 1, "brightness": 0.5, "contrast": 0.5, "lumaflip": 0.5, "hue": 0.5,
                "saturation": 0.5, "cutout": 1}
    assert aug.strength == official
    assert aug.fixed_p == 0.0 and aug.cutout_size == 0.5 and aug.resample == "wavelet"
    x = _images(n=4, c=3, h=16, w=16)
    aug.p.fill_(0.55)
    assert _seeded(aug, x, 0).shape == x.shape


# -- ADA: the p controller (sec. 3) ------------------------------------------------------------


def _scores(*signs):
    return torch.tensor(signs, dtype=torch.float).view(-1, 1) * 3.0


def test_ada_p_rises_when_rt_is_above_target():
    aug = AdaptiveAugment(target=0.6, interval=2, speed_kimg=1, p_init=0.5)
    aug.observe(_scores(1, 1, 1, 1, 1))
    assert float(aug.p) == 0.5 and int(aug.observations) == 1  # not due yet
    aug.observe(_scores(1, 1, 1, 1, -1))  # r_t = 8/10 > 0.6; 10 images seen
    assert float(aug.p) == pytest.approx(0.5 + 10 / 1000)
    assert aug.metrics() == {"augment/p": pytest.approx(0.51), "augment/rt": pytest.approx(0.8)}
    assert int(aug.sign_sum) == int(aug.sign_count) == int(aug.images_seen) == 0
    assert int(aug.observations) == 0


def test_ada_extra_forward_joins_rt_but_is_not_a_step():
    # StyleGAN2's Dreg scores the same reals again: its signs join r_t's mean, but the official
    # loop counts neither another D step nor its images.
    aug = AdaptiveAugment(target=0.6, interval=2, speed_kimg=1, p_init=0.5)
    aug.observe(_scores(1, 1, 1, 1, 1))
    aug.observe(_scores(-1, -1, -1, -1, -1), counts_step=False)
    assert float(aug.p) == 0.5 and int(aug.observations) == 1 and int(aug.images_seen) == 5
    aug.observe(_scores(1, 1, 1, 1, 1))  # due: r_t = (5 - 5 + 5) / 15 = 1/3 < 0.6, 10 images
    assert float(aug.rt) == pytest.approx(1 / 3)
    assert float(aug.p) == pytest.approx(0.5 - 10 / 1000)


def test_ada_p_falls_when_rt_is_below_target_and_stays_at_target():
    aug = AdaptiveAugment(target=0.6, interval=1, speed_kimg=0.5, p_init=0.5)
    aug.observe(_scores(1, -1, 1, -1))  # r_t = 0
    assert float(aug.p) == pytest.approx(0.5 - 4 / 500)
    p = float(aug.p)
    aug.observe(_scores(1, 1, 1, 1, -1))  # r_t = 0.6 exactly: no move
    assert float(aug.p) == p and float(aug.rt) == pytest.approx(0.6)


def test_ada_p_is_clamped_to_the_unit_interval():
    up = AdaptiveAugment(interval=1, speed_kimg=0.001, p_init=0.9)
    up.observe(_scores(1, 1))
    assert float(up.p) == 1.0
    down = AdaptiveAugment(interval=1, speed_kimg=0.001, p_init=0.1)
    down.observe(_scores(-1, -1))
    assert float(down.p) == 0.0


def test_ada_counts_images_not_patch_scores():
    # PatchGAN-like scores [N, 1, 2, 2]: r_t over all scores, the step over the N images.
    aug = AdaptiveAugment(target=0.0, interval=1, speed_kimg=1, p_init=0.5)
    aug.observe(torch.tensor([1.0, 1.0, 1.0, -1.0]).view(1, 1, 2, 2).repeat(3, 1, 1, 1))
    assert float(aug.rt) == pytest.approx(0.5)
    assert float(aug.p) == pytest.approx(0.5 + 3 / 1000)


def test_ada_fixed_p_measures_but_never_moves():
    aug = AdaptiveAugment(interval=1, speed_kimg=0.001, p_init=0.0, fixed_p=0.3)
    aug.observe(_scores(1, 1, 1))
    assert float(aug.p) == pytest.approx(0.3) and float(aug.rt) == 1.0


def test_ada_state_dict_round_trip_mid_interval():
    aug = AdaptiveAugment(interval=3, speed_kimg=1, p_init=0.2)
    for signs in [(1, 1, 1, 1), (1, -1, 1, 1), (1, 1, 1, 1), (-1, 1, 1, 1)]:
        aug.observe(_scores(*signs))
    state = aug.state_dict()
    assert {"p", "rt", "sign_sum", "sign_count", "images_seen", "observations"} <= set(state)
    resumed = AdaptiveAugment(interval=3, speed_kimg=1, p_init=0.0)
    resumed.load_state_dict(state)
    for name, value in state.items():
        assert torch.equal(resumed.state_dict()[name], value), name
    assert int(resumed.observations) == 1 and int(resumed.sign_sum) == 2
    for module in (aug, resumed):  # both finish the interval identically
        module.observe(_scores(1, 1, -1, -1))
        module.observe(_scores(1, 1, 1, 1))
    assert torch.equal(aug.p, resumed.p) and torch.equal(aug.rt, resumed.rt)


def test_ada_observe_all_reduces_under_torch_distributed():
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("no gloo backend")
    torch.distributed.init_process_group(
        "gloo", store=torch.distributed.HashStore(), rank=0, world_size=1
    )
    try:
        aug = AdaptiveAugment(interval=1, speed_kimg=1, p_init=0.5)
        aug.observe(_scores(1, 1))
        assert float(aug.p) == pytest.approx(0.502)
    finally:
        torch.distributed.destroy_process_group()

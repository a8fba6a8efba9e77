"""Discriminator augmentations: DiffAugment's ops, ADA's pipeline and its p controller."""

from __future__ import annotations

import itertools

import pytest
import torch

from gan_lab.augment import AdaptiveAugment, Augment, DiffAugment, NoAugment
from gan_lab.augment.ada import OPS
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
    assert AdaptiveAugment().ops == OPS and len(OPS) == 12
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
    x = _images(n=32, c=1, h=8, w=6)
    out = _seeded(AdaptiveAugment(p_init=1.0, ops="xflip"), x, 0)
    flipped = [torch.allclose(o, xi.flip(-1), atol=1e-5) for o, xi in zip(out, x)]
    kept = [torch.equal(o, xi) for o, xi in zip(out, x)]
    assert all(f != k for f, k in zip(flipped, kept))
    assert 4 < sum(flipped) < 28


def test_ada_rotate90_gives_the_four_rotations():
    x = _images(n=32, c=1)
    out = _seeded(AdaptiveAugment(p_init=1.0, ops="rotate90"), x, 0)
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

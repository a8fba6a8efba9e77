"""Augmentations by sample kind (issue 22, item 6): images as before, clips with one transform
per clip for all its frames, voxels (DiffAugment's translation and cutout on three axes), the
one-line refusals, and the choice of augmentation per critic."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from gan_lab.augment import AdaptiveAugment, Augment, DiffAugment, NoAugment
from gan_lab.augment.base import augment_for_critic, augment_input, augment_metrics, per_clip
from gan_lab.augment.diffaugment import cutout, translate
from gan_lab.kinds import SampleKind

R3GAN_STRENGTHS = dict(brightness=0.5, contrast=0.5, lumaflip=0.5, hue=0.5, saturation=0.5)


def _uniform(*shape, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g) * 2 - 1


def _seeded(module, x, seed, **kw):
    torch.manual_seed(seed)
    return module(x, **kw)


# -- images: unchanged ------------------------------------------------------------------------

# Digests of each augmentation's output on _uniform(shape) after torch.manual_seed(7), taken
# from the code before the kinds existed (commit 0c0b8b3): sum(out * linspace(-1, 1)),
# sum(|out|), the number of exact zeros, and the next torch.rand() (the RNG draws consumed).
IMAGE_DIGESTS = {
    "diffaugment": (24.531125565143263, 255.12550697475672, 276, 0.7652736902236938),
    "diffaugment-grey": (-27.80653463449251, 238.76370330154896, 0, 0.7652736902236938),
    "ada-bgc": (-238.5673450534864, 2097.0878732576966, 0, 0.4180375933647156),
    "ada-bgc-grey-bilinear": (16.622611446727547, 291.9258779758675, 0, 0.5998914241790771),
    "ada-r3gan": (-26.997026172745027, 469.97913232271094, 132, 0.08401864767074585),
}
IMAGE_CASES = {
    "diffaugment": (lambda: DiffAugment(), (4, 3, 8, 8)),
    "diffaugment-grey": (lambda: DiffAugment("translation,cutout,color"), (4, 1, 9, 12)),
    "ada-bgc": (lambda: AdaptiveAugment(p_init=1.0), (4, 3, 16, 16)),
    "ada-bgc-grey-bilinear": (lambda: AdaptiveAugment(p_init=0.7, resample="bilinear"),
                              (4, 1, 16, 12)),
    "ada-r3gan": (lambda: AdaptiveAugment(ops="bgc,cutout", fixed_p=0.55,
                                          strengths=R3GAN_STRENGTHS), (6, 3, 8, 8)),
}


@pytest.mark.parametrize("name", sorted(IMAGE_CASES))
@pytest.mark.parametrize("kind", [None, SampleKind.IMAGES, "images"])
def test_images_are_augmented_as_before_the_kinds(name, kind):
    make, shape = IMAGE_CASES[name]
    x = _uniform(*shape)
    kw = {} if kind is None else {"kind": kind}
    y = _seeded(make(), x, 7, **kw).double()
    after = torch.rand(()).item()
    weighted, total, zeros, rng = IMAGE_DIGESTS[name]
    assert after == rng  # the same draws, in the same number
    assert int((y == 0).sum()) == zeros
    weights = torch.linspace(-1, 1, y.numel(), dtype=torch.float64).view_as(y)
    # Bit-for-bit on this machine (checked against saved outputs when the kinds came in); a
    # float tolerance here so that another CPU's summation order does not fail it.
    assert (y * weights).sum().item() == pytest.approx(weighted, rel=1e-6, abs=1e-6)
    assert y.abs().sum().item() == pytest.approx(total, rel=1e-6)


def test_per_clip_repeats_each_clips_draw_for_its_frames():
    v = torch.tensor([1.0, 2.0])
    assert per_clip(v, 1) is v
    assert per_clip(v, 3).tolist() == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]


# -- clips: one transform per clip --------------------------------------------------------------

CLIP_AUGMENTS = {
    "diffaugment": lambda: DiffAugment(),
    "ada-bgc-cutout": lambda: AdaptiveAugment(p_init=1.0, ops="bgc,cutout"),
    "ada-bilinear": lambda: AdaptiveAugment(p_init=0.8, resample="bilinear"),
    "ada-r3gan": lambda: AdaptiveAugment(ops="bgc,cutout", fixed_p=0.55,
                                         strengths=R3GAN_STRENGTHS),
}


@pytest.mark.parametrize("name", sorted(CLIP_AUGMENTS))
@pytest.mark.parametrize("c", [1, 3])
def test_a_clip_of_equal_frames_stays_a_clip_of_equal_frames(name, c):
    frame = _uniform(6, 1, c, 8, 8)
    clip = frame.expand(6, 4, c, 8, 8).contiguous()
    out = _seeded(CLIP_AUGMENTS[name](), clip, 0, kind=SampleKind.CLIPS)
    assert out.shape == clip.shape
    for t in range(1, 4):
        assert torch.equal(out[:, t], out[:, 0])
    assert not torch.allclose(out, clip)  # something was augmented
    # Per frame, the draws would differ: as images, the 24 frames are not all alike per clip.
    frames = _seeded(CLIP_AUGMENTS[name](), clip.flatten(0, 1), 0).view_as(clip)
    assert not all(torch.equal(frames[:, t], frames[:, 0]) for t in range(1, 4))


@pytest.mark.parametrize("name", sorted(CLIP_AUGMENTS))
def test_each_frame_gets_the_transform_its_clip_would_get_as_an_image(name):
    # One draw per clip, in the order of the images' draws: frame t of every clip is augmented
    # exactly as the batch of the clips' frames t would be as images under the same seed.
    clip = _uniform(5, 3, 3, 8, 12)
    out = _seeded(CLIP_AUGMENTS[name](), clip, 3, kind="clips")
    for t in range(3):
        torch.testing.assert_close(out[:, t], _seeded(CLIP_AUGMENTS[name](), clip[:, t], 3),
                                   atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(CLIP_AUGMENTS))
def test_clip_augmentation_is_differentiable_twice(name):
    # Gradient penalties differentiate D(augment(x)) w.r.t. x and back-propagate that.
    conv = nn.Conv3d(2, 1, 3)
    clip = _uniform(2, 4, 2, 8, 8).requires_grad_(True)
    torch.manual_seed(0)
    out = CLIP_AUGMENTS[name]()(clip, kind=SampleKind.CLIPS)
    scores = conv(out.transpose(1, 2)).sum()  # a video critic reads (N, C, T, H, W)
    (grad,) = torch.autograd.grad(scores, clip, create_graph=True)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    grad.square().sum().backward()
    assert torch.isfinite(conv.weight.grad).all() and conv.weight.grad.abs().sum() > 0


def test_ada_on_clips_leaves_its_p_bookkeeping_alone():
    aug = AdaptiveAugment(p_init=0.3, interval=2, speed_kimg=0.1)
    before = {k: v.clone() for k, v in aug.state_dict().items()}
    aug(_uniform(4, 3, 3, 8, 8), kind=SampleKind.CLIPS)
    after = aug.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # augmenting moves nothing
    for _ in range(2):  # a video critic's scores: one per clip
        aug.observe(torch.ones(4, 1))
    assert float(aug.rt) == 1.0 and float(aug.p) == pytest.approx(0.3 + 8 / 100)


# -- voxels: DiffAugment's translation and cutout on three axes ---------------------------------


def _shifted(v, dz, dy, dx):
    """``v`` (C, D, H, W) moved by (dz, dy, dx) voxels with zero fill, by slicing."""
    out = torch.zeros_like(v)
    d, h, w = v.shape[1:]
    dst = tuple(slice(max(s, 0), n + min(s, 0)) for s, n in zip((dz, dy, dx), (d, h, w)))
    src = tuple(slice(max(-s, 0), n + min(-s, 0)) for s, n in zip((dz, dy, dx), (d, h, w)))
    out[(slice(None), *dst)] = v[(slice(None), *src)]
    return out


def test_translate_moves_voxels_by_integer_offsets_on_all_three_axes():
    v = torch.arange(2 * 4 * 5 * 6, dtype=torch.float32).view(1, 2, 4, 5, 6) + 1
    v = v.repeat(3, 1, 1, 1, 1)
    shift = torch.tensor([[1, -2, 3], [0, 0, 0], [-3, 4, -5]])
    out = translate(v, shift)
    for i, (dz, dy, dx) in enumerate(shift.tolist()):
        assert torch.equal(out[i], _shifted(v[i], dz, dy, dx))


def test_cutout_zeroes_a_clipped_box_of_voxels():
    v = torch.ones(1, 1, 6, 6, 6)
    out = cutout(v, torch.tensor([[-1, 2, 4]]), (3, 3, 3))
    expected = torch.ones_like(v)
    expected[0, 0, 0:2, 2:5, 4:6] = 0
    assert torch.equal(out, expected)


@pytest.mark.parametrize("d,h,w", [(8, 8, 8), (8, 16, 24)])
def test_random_voxel_translation_is_one_allowed_shift_per_sample_and_differentiable(d, h, w):
    n = 24
    v = (_uniform(n, 1, d, h, w) + 1.5).requires_grad_(True)  # > 0: zeros mark uncovered voxels
    out = _seeded(DiffAugment("translation"), v, 0, kind=SampleKind.VOXELS)
    limits = [int(side * 0.125 + 0.5) for side in (d, h, w)]
    seen = []
    for o, vi in zip(out.detach(), v.detach()):
        moves = [s for s in itertools.product(*(range(-m, m + 1) for m in limits))
                 if torch.equal(o, _shifted(vi, *s))]
        assert len(moves) == 1
        seen.append(moves[0])
    for axis in range(3):  # every axis moves, both ways
        assert any(s[axis] > 0 for s in seen) and any(s[axis] < 0 for s in seen)
    # A gather: the gradient of sum(out) is 1 on each voxel that was kept, 0 on those shifted out.
    out.sum().backward()
    for g, s in zip(v.grad, seen):
        kept = _shifted(_shifted(torch.ones_like(g), *s), *(-k for k in s))
        assert torch.equal(g, kept)


def test_random_voxel_cutout_is_a_half_side_box():
    v = torch.ones(32, 1, 8, 8, 12)
    out = _seeded(DiffAugment("cutout"), v, 0, kind="voxels")
    for o in out[:, 0]:
        zero = (o == 0).nonzero()
        lo, hi = zero.min(dim=0).values, zero.max(dim=0).values + 1
        assert int((hi - lo).prod()) == zero.shape[0]  # one box
        assert ((hi - lo) <= torch.tensor([4, 4, 6])).all()


def test_voxel_policies_seed_like_the_rest():
    aug = DiffAugment("translation,cutout")
    v = _uniform(4, 2, 8, 8, 8)
    assert torch.equal(_seeded(aug, v, 3, kind="voxels"), _seeded(aug, v, 3, kind="voxels"))
    assert not torch.equal(_seeded(aug, v, 3, kind="voxels"), _seeded(aug, v, 4, kind="voxels"))


# -- refusals, one line each --------------------------------------------------------------------


def _one_line_error(fn, match):
    with pytest.raises(ValueError, match=match) as info:
        fn()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("aug", [DiffAugment(), AdaptiveAugment(p_init=1.0)])
def test_a_five_d_input_declared_as_images_is_refused(aug):
    _one_line_error(lambda: aug(_uniform(2, 3, 3, 8, 8)),
                    r"augment=(diffaugment|ada): a 5-D input \(2, 3, 3, 8, 8\) declared as "
                    r"images.*kind.*clips.*voxels")


def test_a_rank_that_does_not_fit_the_kind_is_refused():
    _one_line_error(lambda: DiffAugment()(_uniform(2, 3, 8, 8), kind="clips"),
                    r"augment=diffaugment: clips are \(N, T, C, H, W\) batches, got a 4-D")
    _one_line_error(lambda: DiffAugment("translation")(_uniform(2, 3, 8, 8), kind="voxels"),
                    r"voxels are \(N, C, D, H, W\) batches, got a 4-D")
    _one_line_error(lambda: DiffAugment()(_uniform(64, 2)), r"images are \(N, C, H, W\)")


def test_colour_on_voxels_is_refused_naming_the_policy():
    _one_line_error(lambda: DiffAugment()(_uniform(2, 1, 8, 8, 8), kind=SampleKind.VOXELS),
                    r"augment.policy=color,translation,cutout: 'color' does not apply to "
                    r"voxels.*translation, cutout")
    assert DiffAugment().check_kind("clips") is SampleKind.CLIPS
    assert DiffAugment("cutout,translation").check_kind("voxels") is SampleKind.VOXELS


def test_ada_refuses_voxels_and_both_refuse_points_and_tokens():
    _one_line_error(lambda: AdaptiveAugment()(_uniform(2, 1, 8, 8, 8), kind="voxels"),
                    r"augment=ada .*voxels \(N, C, D, H, W\): its pipeline is 2-D; use "
                    r"augment=diffaugment augment.policy=translation,cutout")
    for aug, kind in itertools.product([DiffAugment(), AdaptiveAugment()], ["points", "tokens"]):
        _one_line_error(lambda aug=aug, kind=kind: aug.check_kind(kind),
                        rf"does not apply to {kind}.*augment=none")
    with pytest.raises(ValueError, match="'video'"):
        DiffAugment().check_kind("video")  # not a SampleKind


def test_the_identity_passes_any_kind_and_shape():
    for x, kind in [(_uniform(64, 2), "points"), (_uniform(2, 3, 3, 8, 8), None),
                    (_uniform(2, 1, 4, 4, 4), "voxels"), (torch.arange(6).view(2, 3), "tokens")]:
        assert NoAugment()(x, kind=kind) is x
    with pytest.raises(NotImplementedError):  # the base declares images and leaves transform
        Augment()(_uniform(2, 3, 8, 8))
    _one_line_error(lambda: Augment()(_uniform(2, 3, 3, 8, 8), kind="clips"),
                    r"augment=augment \(Augment\) does not apply to clips")


# -- per-critic augmentation --------------------------------------------------------------------


def test_augment_for_critic_picks_the_critics_own_or_the_schemes():
    default, video = DiffAugment(), AdaptiveAugment()
    per_critic = nn.ModuleDict({"video": video})
    assert augment_for_critic(default) is default
    assert augment_for_critic(default, "image") is default
    assert augment_for_critic(default, "image", per_critic) is default  # not listed: the scheme's
    assert augment_for_critic(default, "video", per_critic) is video
    assert augment_for_critic(default, None, per_critic) is default
    identity = augment_for_critic(default, "image", {"image": None})  # None: no augmentation
    x = _uniform(2, 3, 8, 8)
    assert isinstance(identity, NoAugment) and identity(x) is x


def test_augment_metrics_name_each_critics_own():
    default = AdaptiveAugment(p_init=0.25)
    video = AdaptiveAugment(p_init=0.5)
    metrics = augment_metrics(default, {"video": video, "image": None, "same": default})
    assert metrics == {"augment/p": 0.25, "augment/rt": 0.0, "augment/video/p": 0.5,
                       "augment/video/rt": 0.0}
    assert augment_metrics(NoAugment()) == {}


def test_augment_input_tells_an_augment_the_kind_and_a_plain_module_nothing():
    clip = _uniform(2, 3, 3, 8, 8)
    torch.manual_seed(0)
    expected = DiffAugment()(clip, kind="clips")
    torch.manual_seed(0)
    assert torch.equal(augment_input(DiffAugment(), clip, SampleKind.CLIPS), expected)
    x = _uniform(2, 3, 8, 8)
    torch.manual_seed(0)
    expected = DiffAugment()(x)
    torch.manual_seed(0)
    assert torch.equal(augment_input(DiffAugment(), x), expected)  # None: images

    class Double(nn.Module):  # any x -> x map (tests plug such modules in)
        def forward(self, x):
            return x * 2

    assert torch.equal(augment_input(Double(), x), x * 2)
    assert torch.equal(augment_input(Double(), clip, "clips"), clip * 2)


class _TwoCriticScheme(nn.Module):
    """MoCoGAN's critics (Tulyakov et al. 2018): D_I reads single frames, D_V whole clips.
    ``discriminate`` is the body proposed for AdversarialModule.discriminate."""

    def __init__(self, augment, critic_augments):
        super().__init__()
        self.augment = augment
        self.critic_augments = critic_augments
        self.discriminator = nn.Conv2d(3, 1, 3)  # D_I
        self.video_critic = nn.Conv3d(3, 1, 3)  # D_V, on (N, C, T, H, W)

    def discriminate(self, x, *args, net=None, kind=None, critic=None, **kwargs):
        net = self.discriminator if net is None else net
        augment = augment_for_critic(self.augment, critic, self.critic_augments)
        return net(augment_input(augment, x, kind), *args, **kwargs)


def test_two_critics_each_see_their_own_augmentation_and_layout():
    seen = {}

    def record(name):
        return lambda module, inputs: seen.__setitem__(name, inputs[0].detach().clone())

    scheme = _TwoCriticScheme(DiffAugment("translation"), nn.ModuleDict({"image": NoAugment()}))
    scheme.discriminator.register_forward_pre_hook(record("image"))
    scheme.video_critic.register_forward_pre_hook(record("video"))
    clip = _uniform(2, 4, 3, 8, 8) + 2  # > 0: zeros mark shifted-in pixels
    frames = clip[:, 0]
    scheme.discriminate(frames, critic="image")
    assert torch.equal(seen["image"], frames)  # D_I: no augmentation
    torch.manual_seed(0)

    class Transposed(nn.Module):  # D_V reads (N, C, T, H, W)
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x.transpose(1, 2))

    scores = scheme.discriminate(clip, net=Transposed(scheme.video_critic),
                                 kind=SampleKind.CLIPS, critic="video")
    assert scores.shape[:2] == (2, 1)
    video = seen["video"].transpose(1, 2)  # back to (N, T, C, H, W)
    assert not torch.equal(video, clip)  # D_V: the scheme's augmentation, one shift per clip
    zeros = video == 0
    assert all(torch.equal(zeros[:, t], zeros[:, 0]) for t in range(4))
    with pytest.raises(ValueError, match="declared as images"):
        scheme.discriminate(clip, net=Transposed(scheme.video_critic), critic="video")

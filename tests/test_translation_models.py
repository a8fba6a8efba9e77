"""pix2pix and CycleGAN training schemes: their objectives on tiny inputs, the image pool, the
learning-rate schedule, and the translation protocol."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from gan_lab.losses import AdversarialLoss
from gan_lab.models import CycleGAN, ImagePool, Pix2Pix
from gan_lab.models.schedules import ConstantThenLinear, constant_then_linear
from gan_lab.nets import PatchDiscriminator, ResnetGenerator, UnetGenerator

ADAM = functools.partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))


def _pix2pix(**kwargs) -> Pix2Pix:
    torch.manual_seed(0)
    return Pix2Pix(UnetGenerator(3, 3, image_size=16, width=4),
                   PatchDiscriminator(6, width=4, n_layers=1),
                   AdversarialLoss("nsgan"), optimizers={"generator": ADAM, "discriminator": ADAM}, **kwargs)


def _cyclegan(**kwargs) -> CycleGAN:
    torch.manual_seed(0)
    return CycleGAN(ResnetGenerator(3, 3, width=4, n_blocks=1), ResnetGenerator(3, 3, width=4, n_blocks=1),
                    PatchDiscriminator(3, width=4, n_layers=1), PatchDiscriminator(3, width=4, n_layers=1),
                    AdversarialLoss("lsgan"), optimizers={"generator": ADAM, "discriminator": ADAM}, **kwargs)


def _batch(n: int = 2, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return (torch.rand(n, 3, size, size, generator=g) * 2 - 1,
            torch.rand(n, 3, size, size, generator=g) * 2 - 1)


def test_pix2pix_generator_objective_is_cgan_plus_lambda_l1():
    module = _pix2pix(l1_weight=100.0)
    a, b = _batch()
    torch.manual_seed(3)
    terms = module.generator_step((a, b))
    torch.manual_seed(3)  # the same dropout masks
    fake = module.generator["AtoB"](a)
    scores = module.discriminator["B"](torch.cat([a, fake], 1))
    adversarial = nn.functional.softplus(-scores).mean()  # -log sigmoid(D(x, G(x)))
    l1 = (fake - b).abs().mean()
    assert torch.allclose(terms["loss/g_l1"], l1)
    assert torch.allclose(terms["loss/g_adv"], adversarial)
    assert torch.allclose(terms["loss/g"], adversarial + 100.0 * l1)


def test_pix2pix_discriminator_judges_input_output_pairs_with_the_fake_of_the_g_step():
    module = _pix2pix()
    a, b = _batch()
    module.prepare_batch((a, b))  # the batch's one forward pass: fake_B = G(A)
    fake = module._fake.detach().clone()
    terms = module.discriminator_step((a, b))
    real_scores = module.discriminator["B"](torch.cat([a, b], 1))
    fake_scores = module.discriminator["B"](torch.cat([a, fake], 1))
    expected = (nn.functional.softplus(-real_scores).mean()
                + nn.functional.softplus(fake_scores).mean())
    assert torch.allclose(terms["loss/d"], expected)


def test_pix2pix_ablations_are_weights():
    a, b = _batch()
    l1_only = _pix2pix(adversarial_weight=0.0).generator_step((a, b))
    assert "loss/g_adv" not in l1_only
    assert torch.allclose(l1_only["loss/g"], 100.0 * l1_only["loss/g_l1"])
    cgan_only = _pix2pix(l1_weight=0.0).generator_step((a, b))
    assert torch.allclose(cgan_only["loss/g"], cgan_only["loss/g_adv"])
    with pytest.raises(ValueError, match="model.l1_weight and model.adversarial_weight"):
        _pix2pix(l1_weight=0.0, adversarial_weight=0.0)


def test_cyclegan_generator_objective_follows_eq_3_with_identity_loss():
    module = _cyclegan(cycle_weight=10.0, identity_weight=0.5, adversarial_weight=2.0)
    a, b = _batch()
    terms = module.generator_step((a, b))
    g, f = module.generator["AtoB"], module.generator["BtoA"]
    d_a, d_b = module.discriminator["A"], module.discriminator["B"]
    fake_b, fake_a = g(a), f(b)
    mse = lambda s: (s - 1).pow(2).mean()  # noqa: E731 - the paper's G term, sec. 4
    cycle = (f(fake_b) - a).abs().mean() + (g(fake_a) - b).abs().mean()
    identity = (f(a) - a).abs().mean() + (g(b) - b).abs().mean()
    expected = mse(d_b(fake_b)) + mse(d_a(fake_a)) + 10.0 * cycle + 0.5 * 10.0 * identity
    assert torch.allclose(terms["loss/g"], expected, atol=1e-6)


def test_cyclegan_identity_loss_needs_equal_channels():
    torch.manual_seed(0)
    module = CycleGAN(ResnetGenerator(1, 3, width=4, n_blocks=1),
                      ResnetGenerator(3, 1, width=4, n_blocks=1),
                      PatchDiscriminator(1, width=4, n_layers=1),
                      PatchDiscriminator(3, width=4, n_layers=1),
                      AdversarialLoss("lsgan"), optimizers={"generator": ADAM, "discriminator": ADAM})
    a, b = torch.zeros(1, 1, 16, 16), torch.zeros(1, 3, 16, 16)
    with pytest.raises(ValueError, match="model.identity_weight"):
        module.generator_step((a, b))
    module.identity_weight = 0.0
    assert "loss/identity_A" not in module.generator_step((a, b))


def test_cyclegan_discriminators_train_on_the_pools():
    module = _cyclegan(pool_size=3)
    a, b = _batch(n=2)
    module.generator_step((a, b))
    module.discriminator_step((a, b))
    assert int(module.pools["A"].count) == 2 and int(module.pools["B"].count) == 2
    assert module._fakes == {}


def test_image_pool_fills_then_swaps_half_the_time():
    torch.manual_seed(0)
    pool = ImagePool(4)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool(first), first)  # filling: the images pass through and are kept
    assert torch.equal(pool.images, first)
    swapped = 0
    for step in range(200):
        new = torch.full((1, 1, 1, 1), 100.0 + step)
        out = pool(new)
        swapped += int(out.item() != new.item())
    assert 70 < swapped < 130  # p = 1/2
    assert int(pool.count) == 4


def test_image_pool_survives_a_state_dict_round_trip():
    torch.manual_seed(0)
    pool = ImagePool(5)
    pool(torch.randn(3, 2, 4, 4))
    restored = ImagePool(5)
    restored.load_state_dict(pool.state_dict())
    assert torch.equal(restored.images, pool.images) and int(restored.count) == 3
    assert torch.equal(ImagePool(0)(torch.ones(2, 1, 1, 1)), torch.ones(2, 1, 1, 1))
    with pytest.raises(ValueError, match="model.pool_size"):
        ImagePool(-1)


def test_constant_then_linear_decay_reaches_zero_at_the_end():
    factor = ConstantThenLinear(total=10, constant=4)
    assert [factor(i) for i in (0, 3, 4, 7, 10, 12)] == [1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = constant_then_linear(optimizer, iterations=4, decay_fraction=0.5)
    lrs = []
    for _ in range(4):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs == [1.0, 1.0, 1.0, 0.5] and optimizer.param_groups[0]["lr"] == 0.0
    with pytest.raises(ValueError, match="decay_fraction"):
        constant_then_linear(optimizer, iterations=4, decay_fraction=1.5)


def test_translate_pads_sizes_the_generator_cannot_take_and_leaves_state_alone():
    module = _pix2pix(inference="train")  # U-Net of depth 4: sides must be multiples of 16
    buffers = {k: v.clone() for k, v in module.generator.named_buffers()}
    image = torch.rand(1, 3, 21, 35) * 2 - 1
    rng = torch.get_rng_state()
    out = module.translate(image)
    assert out.shape == (1, 3, 21, 35)
    assert torch.equal(module.translate(image), out)  # fixed dropout masks at evaluation
    assert torch.equal(torch.get_rng_state(), rng)  # the training RNG stream is untouched
    for name, buffer in module.generator.named_buffers():
        assert torch.equal(buffer, buffers[name])
    with pytest.raises(ValueError, match="direction='BtoA'"):
        module.translate(image, "BtoA")
    cycle = _cyclegan()
    assert cycle.translate(torch.zeros(2, 3, 10, 6), "BtoA").shape == (2, 3, 10, 6)


def test_extra_critic_steps_make_their_own_fakes():
    module = _cyclegan(n_critic=3)
    a, b = _batch()
    terms = module.discriminator_step((a, b))  # a D-only step: no fakes from a G step
    assert torch.isfinite(terms["loss/d"]) and int(module.pools["A"].count) == 2

"""The trained-generator protocol (gan_lab.protocols.TrainedGenerator) that inversion, dissection
and steering use: ``synthesize`` from z / w / w+ codes is ``sample`` with gradients (one code
path), on the EMA generator when there is one, in eval mode; the latent spaces, w_avg, the
mapping, named feature layers and noise buffers of every GAN scheme."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_lab import cost
from gan_lab.building import build_module
from gan_lab.config import config_dir
from gan_lab.kinds import SampleKind, SampleSpec
from gan_lab.models import GAN
from gan_lab.models.styles import to_w_plus
from gan_lab.protocols import TrainedGenerator
from tests.conftest import TINY_DCGAN, make_cfg

TINY_STYLEGAN2 = ["model=stylegan2", "data.image_size=8", "data.batch_size=4",
                  "model.latent_dim=8", "model.generator.w_dim=8",
                  "model.generator.channel_base=32", "model.generator.channel_max=8",
                  "model.generator.mapping_layers=2"]
MODELS = sorted(p.stem for p in (Path(config_dir()) / "model").glob("*.yaml"))


def _module(tmp_path, *overrides: str):
    torch.manual_seed(0)
    return build_module(make_cfg(tmp_path, *overrides))


def _recorder(seen: dict, name: str):
    """A forward hook that keeps the module's output under ``name``."""
    return lambda _module, _inputs, output: seen.__setitem__(name, output)


def _seeded(fn, *args, seed: int = 7, **kwargs):
    """``fn(*args, **kwargs)`` from a fixed global seed (per-layer noise, random labels)."""
    torch.manual_seed(seed)
    return fn(*args, **kwargs)


# ----------------------------------------------------------------------------- plain generators
def test_a_plain_generator_synthesizes_z_as_sample_does_with_gradients(tmp_path):
    module = _module(tmp_path, *TINY_DCGAN)
    assert isinstance(module, TrainedGenerator)
    assert module.spaces == ("z",) and module.w_avg is None and module.noise_buffers() == {}
    assert module.code_shape("z") == (16,)
    z = module.noise(4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(module.synthesize(z), module.sample(noise=z))
    codes = z.clone().requires_grad_(True)
    images = module.synthesize(codes)
    assert images.requires_grad and images.shape == (4, 1, 8, 8)
    images.square().sum().backward()
    assert codes.grad is not None and codes.grad.abs().sum() > 0
    assert not module.sample(noise=codes).requires_grad  # sample: no graph


def test_a_space_the_generator_lacks_is_one_clear_error(tmp_path):
    module = _module(tmp_path, *TINY_DCGAN)
    z = module.noise(2)
    for space in ("w", "w+"):
        with pytest.raises(ValueError, match=rf"^space='{space}\+?': DCGANGenerator has the latent "
                                             "space z only; w and w\\+ are a style generator's"):
            module.synthesize(z, space=space)
    with pytest.raises(ValueError, match=r"^space='q': must be one of z \("):
        module.synthesize(z, space="q")
    with pytest.raises(ValueError, match="^space='w'"):
        module.mapping(z)
    with pytest.raises(ValueError, match="^space='w'"):
        module.code_shape("w")
    with pytest.raises(ValueError, match="takes no sampling options"):
        module.synthesize(z, truncation_psi=0.5)  # the sample command's DCGAN error, kept


def test_synthesis_runs_the_ema_generator_in_eval_mode_and_restores_the_mode(tmp_path):
    module = _module(tmp_path, *TINY_DCGAN, "model.ema_decay=0.999")
    module.update_ema()  # the first update copies G: the EMA generator is ready
    with torch.no_grad():
        for p in module.generator.parameters():
            p.add_(0.1)
    ema = module.generator_ema.module
    ema.train()
    stats = [b.clone() for b in ema.buffers()]
    z = module.noise(4)
    codes = z.clone().requires_grad_(True)
    images = module.synthesize(codes)
    assert ema.training  # its mode is restored
    assert all(torch.equal(a, b) for a, b in zip(stats, ema.buffers()))  # eval: BN stats kept
    ema.eval()
    assert torch.equal(images.detach(), ema(z))
    assert not torch.equal(images.detach(), module.generator.eval()(z))
    assert torch.equal(images.detach(), module.sample(noise=z))
    images.sum().backward()  # the EMA copy is frozen; the gradient reaches the codes
    assert codes.grad.abs().sum() > 0
    assert all(p.grad is None for p in ema.parameters())
    assert list(module.feature_layers().values())[0] in set(ema.modules())


def test_a_conditional_generator_takes_its_labels_as_the_condition(tmp_path):
    module = _module(tmp_path, *TINY_DCGAN, "model=cgan")
    z, labels = module.noise(4), torch.tensor([0, 1, 2, 3])
    synthesized = module.synthesize(z, condition=labels)
    assert torch.equal(synthesized, module.sample(noise=z, labels=labels))
    with pytest.raises(ValueError, match="conditional on 10 classes: pass condition="):
        module.synthesize(z)
    plain = _module(tmp_path, *TINY_DCGAN)
    with pytest.raises(ValueError, match="unconditional: it takes no condition"):
        plain.synthesize(z, condition=labels)


def test_replicas_synthesize_as_they_sample(tmp_path):
    module = _module(tmp_path, "experiment=toy", "model.generator.hidden=[8]",
                     "model.discriminator.hidden=[8]", "model.replicas=2", "data.replicas=2")
    z = module.noise(6)
    out = module.synthesize(z)
    assert out.shape == (2, 3, 2) and torch.equal(out, module.sample(noise=z))
    assert module.sample(3).shape == (2, 3, 2)


# ----------------------------------------------------------------------------- style generators
def test_a_style_generator_synthesizes_z_w_and_w_plus_as_sample_does(tmp_path):
    module = _module(tmp_path, *TINY_STYLEGAN2)
    module.train()  # training mode: synthesis still runs without mixing or w_avg tracking
    assert module.spaces == ("z", "w", "w+")
    net = module.sampling_generator()
    assert module.code_shape("z") == (8,) and module.code_shape("w") == (8,)
    assert module.code_shape("w+") == (net.num_ws, 8)
    net.mapping.w_avg.normal_()
    w_avg = net.mapping.w_avg.clone()
    z = module.noise(3, generator=torch.Generator().manual_seed(2))
    w = module.mapping(z)
    w_plus = to_w_plus(net, z, None)
    assert w.shape == (3, 8) and torch.equal(w_plus, w[:, None].expand_as(w_plus))
    assert torch.equal(module.w_plus(z), w_plus)
    expected = _seeded(module.sample, noise=z)  # fresh per-layer noise from the seed
    for codes, space in ((z, "z"), (w, "w"), (w_plus, "w+")):
        assert torch.equal(_seeded(module.synthesize, codes, space), expected), space
        assert torch.equal(_seeded(module.sample, noise=codes, space=space), expected), space
        const = module.synthesize(codes, space, noise_mode="const")
        assert torch.equal(const, module.sample(noise=z, noise_mode="const")), space
    truncated = module.synthesize(z, truncation_psi=0.5, noise_mode="const")
    assert torch.equal(truncated, module.sample(noise=z, truncation_psi=0.5, noise_mode="const"))
    assert not torch.equal(truncated, module.synthesize(z, noise_mode="const"))
    assert torch.equal(net.mapping.w_avg, w_avg) and torch.equal(module.w_avg, w_avg)
    assert module.generator.training


@pytest.mark.parametrize("space", ["z", "w", "w+"])
def test_gradients_reach_the_codes_of_every_space(tmp_path, space):
    module = _module(tmp_path, *TINY_STYLEGAN2)
    z = module.noise(2)
    codes = {"z": z, "w": module.mapping(z).detach(),
             "w+": to_w_plus(module.sampling_generator(), z, None).detach()}[space]
    codes = codes.clone().requires_grad_(True)
    images = module.synthesize(codes, space, noise_mode="const")
    images.square().mean().backward()
    assert codes.grad is not None and codes.grad.shape == codes.shape
    assert codes.grad.abs().sum() > 0
    z = z.clone().requires_grad_(True)
    module.mapping(z).sum().backward()  # the mapping is differentiable too
    assert z.grad.abs().sum() > 0


def test_w_avg_is_a_copy_and_the_noise_buffers_are_live(tmp_path):
    module = _module(tmp_path, *TINY_STYLEGAN2)
    net = module.sampling_generator()
    module.w_avg.fill_(3.0)
    assert not torch.equal(net.mapping.w_avg, torch.full_like(net.mapping.w_avg, 3.0))
    buffers = module.noise_buffers()
    assert buffers and all(name.endswith(".noise_const") for name in buffers)
    assert "synthesis.blocks.0.conv1.noise_const" in buffers
    named = dict(net.named_buffers())
    assert all(buffer is named[name] for name, buffer in buffers.items())
    with torch.no_grad():
        for p in net.parameters():  # noise strengths start at 0: give the noise a say
            if p.dim() == 0:
                p.fill_(1.0)
    z = module.noise(2)
    before = module.synthesize(z, noise_mode="const")
    buffers["synthesis.blocks.1.conv1.noise_const"].add_(1.0)
    assert not torch.equal(before, module.synthesize(z, noise_mode="const"))


def test_style_feature_layers_are_named_by_resolution_and_hookable(tmp_path):
    module = _module(tmp_path, *TINY_STYLEGAN2)
    layers = module.feature_layers()
    assert list(layers) == ["b4", "b8"]
    seen = {}
    handles = [layer.register_forward_hook(_recorder(seen, name)) for name, layer in layers.items()]
    try:
        codes = module.noise(2).requires_grad_(True)
        module.synthesize(codes)
    finally:
        for handle in handles:
            handle.remove()
    assert seen["b4"].shape[0] == 2 and seen["b4"].shape[-2:] == (4, 4)
    assert seen["b8"].shape[-2:] == (8, 8) and seen["b8"].requires_grad


def test_a_conditional_style_generator_needs_its_labels_in_z_only(tmp_path):
    module = _module(tmp_path, *TINY_STYLEGAN2, "model.num_classes=10")
    z, labels = module.noise(2), torch.tensor([3, 4])
    with pytest.raises(ValueError, match="pass condition="):
        module.synthesize(z)
    w = module.mapping(z, labels)
    assert torch.equal(module.synthesize(w, "w", noise_mode="const"),
                       module.synthesize(z, condition=labels, noise_mode="const"))
    with pytest.raises(ValueError, match=r"^sample\(n\) draws z codes"):
        module.sample(2, space="w")


# ----------------------------------------------------------------------------- every GAN model
def _quick_module(tmp_path, model: str):
    quick = cost.quick_overrides(make_cfg(tmp_path, f"model={model}")) or []
    return _module(tmp_path, f"model={model}", *quick)


GROWING = ("progan", "stylegan")  # ProgressiveGAN: blocks above the current level do not run


@pytest.mark.parametrize("model", MODELS)
def test_every_gan_model_synthesizes_what_it_samples(tmp_path, model):
    module = _quick_module(tmp_path, model)
    assert isinstance(module, TrainedGenerator) == isinstance(module, GAN)
    if not isinstance(module, GAN):
        return  # translators, SinGAN: no trained-generator protocol
    z = module.noise(2, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1]) if module.num_classes else None
    codes = z.clone().requires_grad_(True)
    out = _seeded(module.synthesize, codes, condition=labels)
    assert torch.equal(out.detach(), _seeded(module.sample, noise=z, labels=labels))
    out.float().square().sum().backward()
    assert codes.grad.abs().sum() > 0


@pytest.mark.parametrize("model", MODELS)
def test_every_gan_model_names_feature_layers_that_its_synthesis_runs(tmp_path, model):
    module = _quick_module(tmp_path, model)
    if not isinstance(module, GAN):
        return
    layers = module.feature_layers()
    assert layers, f"{model}: no feature layers"
    generator = module.sampling_generator()
    assert all(layer in set(generator.modules()) for layer in layers.values())
    seen: dict[str, torch.Tensor] = {}
    handles = [layer.register_forward_hook(_recorder(seen, name)) for name, layer in layers.items()]
    try:
        labels = torch.tensor([0, 1]) if module.num_classes else None
        module.synthesize(module.noise(2), condition=labels)
    finally:
        for handle in handles:
            handle.remove()
    assert list(seen) == (list(layers)[:len(seen)] if model in GROWING else list(layers))
    assert seen and all(isinstance(out, torch.Tensor) and out.shape[0] == 2
                        for out in seen.values())
    style = module.spaces == ("z", "w", "w+")
    assert style == (model in ("stylegan", "stylegan2"))
    assert bool(module.noise_buffers()) == style and (module.w_avg is not None) == style


# ----------------------------------------------------------------------------- visuals
def test_visuals_take_their_kind_from_the_sample_spec(tmp_path):
    module = _module(tmp_path, *TINY_DCGAN)
    inputs = module.visual_inputs(None, 4, 2, torch.Generator().manual_seed(0))
    module.sample_spec = None  # a checkpoint written before the specs: from the samples' shape
    assert module.visuals(inputs)["samples"].kind == SampleKind.IMAGES
    module.sample_spec = SampleSpec(SampleKind.POINTS, (1, 8, 8))  # the spec wins
    assert module.visuals(inputs)["samples"].kind == SampleKind.POINTS
    toy = _module(tmp_path, "experiment=toy", "model.generator.hidden=[8]",
                  "model.discriminator.hidden=[8]")
    toy.sample_spec = None
    visual = toy.visuals(toy.visual_inputs(None, 4, 2, torch.Generator()))["samples"]
    assert visual.kind == SampleKind.POINTS and visual.kind == "points"

"""BigGAN and SNGAN against their official code (issue 21, paper-faithful defaults).

- BigGAN: the nets' conditioning and init options at the settings of ajbrock/BigGAN-PyTorch's
  launch scripts, checked by parameter count (counted by instantiating that repository's
  ``BigGAN.Generator`` / ``Discriminator``), and the presets ``experiment=biggan_cifar10`` /
  ``biggan_imagenet128`` key by key against the scripts' flags.
- SNGAN: ``experiment=sngan_cifar10`` key by key against pfnet-research/sngan_projection's
  ``configs/sn_cifar10_unconditional.yml``, and its linear lr decay against chainer's
  ``LinearShift``.
- The GAN scheme's options these need: ``model.fake_labels``, ``model.generator_batch_factor``
  and the base's ``fresh_generator_batch``.
"""

from __future__ import annotations

import functools

import lightning.pytorch as pl
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gan_lab.building import build_module
from gan_lab.config import ConfigError, validate
from gan_lab.losses import AdversarialLoss
from gan_lab.models import GAN
from gan_lab.nets import BigGANDiscriminator, BigGANGenerator
from gan_lab.nets.biggan import ClassEmbeddingBatchNorm2d, biggan_init_
from gan_lab.nets.spectral import is_spectrally_normalised
from gan_lab.train import STEP_BOUND
from tests.conftest import make_cfg
from tests.test_biggan_scheme import _D as LinearCritic


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def raw_weight(layer: nn.Module) -> torch.Tensor:
    return layer.parametrizations.weight.original if is_spectrally_normalised(layer) else layer.weight


# ----------------------------------------------------------------------------- BigGAN nets
def test_official_cifar_generator_count_without_hier_and_shared():
    # BigGAN-PyTorch's Generator(G_ch=64, dim_z=128, resolution=32, G_attn='0', n_classes=10)
    # with G_shared=False, hier=False (scripts/launch_cifar_ema.sh passes neither flag): the whole
    # z into the linear (128 -> 4*4*256), every ccbn a pair of nn.Embedding(10, C).
    g = BigGANGenerator(128, 32, 3, 64, 10, attention=None, hierarchical=False,
                        shared_embedding=False, init="N02")
    assert count(g) == 4_304_387
    assert g.linear.in_features == 128 and g.shared is None and g.z_chunks == 1
    assert count(BigGANDiscriminator(32, 3, 64, 10, None, init="N02")) == 4_207_361
    # the other two official combinations at 32 px (--G_shared --shared_dim 128, with and
    # without --hier), same count of that repository's Generator
    assert count(BigGANGenerator(128, 32, 3, 64, 10, 128, None)) == 4_373_251
    assert count(BigGANGenerator(128, 32, 3, 64, 10, 128, None, hierarchical=False)) == 4_668_163


def test_per_bn_class_embeddings_are_offsets_from_one_and_plain():
    torch.manual_seed(0)
    g = BigGANGenerator(16, 16, 1, width=2, num_classes=3, attention=None, hierarchical=False,
                        shared_embedding=False, init="N02")
    norms = [m for m in g.modules() if isinstance(m, ClassEmbeddingBatchNorm2d)]
    assert len(norms) == 2 * len(g.blocks)
    norm = norms[0]
    with torch.no_grad():
        norm.gain.weight.zero_()
        norm.bias.weight.zero_()
        norm.gain.weight[1] = 0.5
        x = torch.randn(4, norm.norm.num_features, 2, 2)
        out = norm(x, torch.tensor([0, 1, 0, 1]))
        plain = nn.functional.batch_norm(x, None, None, training=True)
    assert torch.allclose(out[0::2], plain[0::2], atol=1e-5)          # gain 1 + 0
    assert torch.allclose(out[1::2], 1.5 * plain[1::2], atol=1e-5)    # gain 1 + 0.5
    # G's embeddings are never spectrally normalised (official which_embedding = nn.Embedding);
    # every conv and linear is.
    for m in g.modules():
        if isinstance(m, nn.Embedding):
            assert not is_spectrally_normalised(m)
        elif isinstance(m, (nn.Conv2d, nn.Linear)):
            assert is_spectrally_normalised(m)
    # labels change the output, and the whole z reaches it through the one linear
    g.eval()
    z = torch.randn(2, 16)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.1 * torch.randn_like(p))
        a, b = g(z, torch.tensor([0, 0])), g(z, torch.tensor([2, 2]))
        moved = z.clone()
        moved[:, -1] += 1.0
        assert not torch.allclose(a, b) and not torch.allclose(g(moved, torch.tensor([0, 0])), a)


def test_non_hierarchical_generators_take_any_latent_size():
    shared = BigGANGenerator(25, 32, 1, width=2, num_classes=3, attention=None,
                             hierarchical=False)
    assert shared.z_chunks == 1 and shared.linear.in_features == 25
    assert shared.blocks[0].norm1.gain.in_features == 128        # the shared embedding alone
    assert shared(torch.randn(2, 25), torch.tensor([0, 1])).shape == (2, 1, 32, 32)
    plain = BigGANGenerator(25, 32, 1, width=2, attention=None, hierarchical=False)
    assert plain(torch.randn(2, 25)).shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match="hierarchical=true needs .*shared_embedding=true"):
        BigGANGenerator(24, 32, 1, width=2, num_classes=3, shared_embedding=False)
    with pytest.raises(ValueError, match="init='he' is not one of: ortho, N02, xavier"):
        BigGANGenerator(24, 32, 1, width=2, init="he")
    with pytest.raises(ValueError, match="model.discriminator.init='he'"):
        BigGANDiscriminator(32, 1, width=2, init="he")


@pytest.mark.parametrize("net", ["G", "D"])
def test_init_styles_touch_weights_only(net):
    # BigGAN-PyTorch's init_weights: every Conv2d / Linear / Embedding weight by the style;
    # biases and BN affine parameters keep torch's defaults.
    def build(init):
        torch.manual_seed(0)
        if net == "G":
            return BigGANGenerator(64, 32, 3, width=16, num_classes=10, attention=16, init=init)
        return BigGANDiscriminator(32, 3, width=16, num_classes=10, attention=16, init=init)

    for init in ("N02", "ortho", "xavier"):
        model = build(init)
        layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
        big = [raw_weight(m) for m in layers if raw_weight(m).numel() >= 4096]
        assert big
        for w in big:
            flat = w.detach().reshape(w.shape[0], -1)
            if init == "N02":
                assert abs(flat.std().item() - 0.02) < 0.003 and abs(flat.mean().item()) < 0.003
            elif init == "ortho":
                small = flat if flat.shape[0] <= flat.shape[1] else flat.t()
                assert torch.allclose(small @ small.t(), torch.eye(small.shape[0]), atol=1e-4)
            else:
                fan_in, fan_out = flat.shape[1], flat.shape[0]
                if w.dim() == 4:
                    fan_in, fan_out = w[0].numel(), w.shape[0] * w[0, 0].numel()
                bound = (6.0 / (fan_in + fan_out)) ** 0.5
                assert flat.abs().max() <= bound + 1e-6 and flat.abs().max() > 0.8 * bound
        for m in layers:
            bias = getattr(m, "bias", None)
            if isinstance(bias, torch.Tensor):   # torch's default, not zeroed
                bound = 1.0 / raw_weight(m)[0].numel() ** 0.5
                assert bias.abs().max() <= bound + 1e-6 and bias.abs().sum() > 0
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d) and m.affine:
                assert torch.equal(m.weight, torch.ones_like(m.weight))
                assert torch.equal(m.bias, torch.zeros_like(m.bias))
    # D: every layer spectrally normalised, the projection embedding included
    if net == "D":
        assert all(is_spectrally_normalised(m) for m in build("N02").modules()
                   if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)))
    with pytest.raises(ValueError, match="init='kaiming'"):
        biggan_init_(nn.Linear(2, 2), "kaiming")


# ----------------------------------------------------------------------------- presets
def check_preset(cfg, official: dict) -> None:
    got = {key: OmegaConf.select(cfg, key) for key in official}
    got = {k: OmegaConf.to_container(v) if OmegaConf.is_config(v) else v for k, v in got.items()}
    wrong = {k: (got[k], v) for k, v in official.items() if got[k] != v}
    assert not wrong, f"preset value != official value: {wrong}"


# scripts/launch_cifar_ema.sh, and utils.py's parser defaults for the flags it does not pass
OFFICIAL_BIGGAN_CIFAR10 = {
    "model._target_": "gan_lab.models.BigGAN",
    "data._target_": "gan_lab.data.CIFAR10DataModule",   # --dataset C10
    "data.image_size": 32,                                # C10: 32 px
    "model.num_classes": 10,                              # utils.nclass_dict['C10']
    "data.batch_size": 50,                                # --batch_size 50
    "model.n_critic": 4,                                  # --num_D_steps 4
    "model.accumulate": 1,                                # --num_G/D_accumulations 1
    "optim.generator.lr": 2e-4,                           # --G_lr 2e-4
    "optim.discriminator.lr": 2e-4,                       # --D_lr 2e-4
    "optim.generator.betas": [0.0, 0.999],                # --G_B1 0.0 / --G_B2 0.999 (defaults)
    "optim.discriminator.betas": [0.0, 0.999],            # --D_B1 0.0 / --D_B2 0.999 (defaults)
    "model.ema_decay": 0.9999,                            # --ema, --ema_decay default 0.9999
    "model.ema_start": 1000,                              # --ema_start 1000
    "model.ortho_weight": 0.0,                            # --G_ortho 0.0
    "model.latent_dim": 128,                              # --dim_z default 128
    "model.generator.width": 64,                          # --G_ch default 64
    "model.discriminator.width": 64,                      # --D_ch default 64
    "model.generator.attention": None,                    # --G_attn 0
    "model.discriminator.attention": None,                # --D_attn 0
    "model.generator.hierarchical": False,                # no --hier
    "model.generator.shared_embedding": False,            # no --G_shared
    "model.generator.init": "N02",                        # --G_init N02
    "model.discriminator.init": "N02",                    # --D_init N02
    "model.fake_labels": "uniform",                       # train_fns.py: y_.sample_()
    "loss.objective": "hinge",                            # losses.py: loss_hinge_dis / _gen
    "seed": 0,                                            # --seed 0
    # --num_epochs 500 over 50,000 images, num_D_steps * batch_size = 200 read per iteration
    # (train.py D_batch_size; drop_last): 500 * 250
    "iterations": 125_000,
}


def test_biggan_cifar10_preset_is_the_official_launch_script():
    cfg = make_cfg("/tmp/run", "experiment=biggan_cifar10")
    check_preset(cfg, OFFICIAL_BIGGAN_CIFAR10)
    validate(cfg)
    module = build_module(cfg)   # full widths: N02 init is quick
    assert count(module.generator) == 4_304_387       # BigGAN-PyTorch's G at these flags
    assert count(module.discriminator) == 4_207_361   # and its D
    assert module.n_critic == 4 and module.fake_label_source == "uniform"
    assert module.ema_start == 1000 and module.ema_decay == 0.9999
    opt_g, opt_d = module.configure_optimizers()[0]
    assert opt_g.defaults["lr"] == opt_d.defaults["lr"] == 2e-4


OFFICIAL_BIGGAN_IMAGENET128 = {
    "model._target_": "gan_lab.models.BigGAN",
    "data._target_": "gan_lab.data.ImageFolderDataModule",   # --dataset I128_hdf5 (no ImageNet
    "data.image_size": 128,                                   # module: an image folder, 128 px,
    "data.labels": True,                                      # classes from sub-folders)
    "model.num_classes": 1000,                                # utils.nclass_dict['I128']
    "model.n_critic": 1,                                      # --num_D_steps 1
    "model.accumulate": 8,                                    # --num_G/D_accumulations 8
    "optim.generator.lr": 1e-4,                               # --G_lr 1e-4
    "optim.discriminator.lr": 4e-4,                           # --D_lr 4e-4
    "optim.generator.betas": [0.0, 0.999],                    # --G_B1 default 0, --G_B2 0.999
    "optim.discriminator.betas": [0.0, 0.999],                # --D_B1 default 0, --D_B2 0.999
    "optim.generator.eps": 1e-6,                              # --adam_eps 1e-6
    "optim.discriminator.eps": 1e-6,                          # --adam_eps 1e-6
    "model.ema_decay": 0.9999,                                # --ema, --ema_decay default
    "model.ema_start": 20_000,                                # --ema_start 20000
    "model.ortho_weight": 0.0,                                # --G_ortho 0.0
    "model.latent_dim": 120,                                  # --dim_z 120
    "model.generator.width": 96,                              # --G_ch 96
    "model.discriminator.width": 96,                          # --D_ch 96
    "model.generator.attention": 64,                          # --G_attn 64
    "model.discriminator.attention": 64,                      # --D_attn 64
    "model.generator.hierarchical": True,                     # --hier
    "model.generator.shared_embedding": True,                 # --G_shared
    "model.generator.shared_dim": 128,                        # --shared_dim 128
    "model.generator.init": "ortho",                          # --G_init ortho
    "model.discriminator.init": "ortho",                      # --D_init ortho
    "model.fake_labels": "uniform",                           # train_fns.py: y_.sample_()
    "loss.objective": "hinge",
    "seed": 0,                                                # --seed 0
    "iterations": 150_000,   # README: "train to 150k iterations" (the script sets no bound)
}


def test_biggan_imagenet128_preset_is_the_official_launch_script():
    cfg = make_cfg("/tmp/run", "experiment=biggan_imagenet128")
    check_preset(cfg, OFFICIAL_BIGGAN_IMAGENET128)
    # --batch_size 256 with 8 accumulations: 2048 images per step (train.py D_batch_size)
    assert cfg.data.batch_size == 256 * 8 and cfg.data.batch_size // cfg.model.accumulate == 256
    with pytest.raises(ConfigError, match="data.path is required"):   # no ImageNet data module
        validate(cfg)
    validate(make_cfg("/tmp/run", "experiment=biggan_imagenet128", "data.path=/data/imagenet"))
    narrow = make_cfg("/tmp/run", "experiment=biggan_imagenet128", "model.generator.width=8",
                      "model.discriminator.width=8", "model.num_classes=5")
    module = build_module(narrow)
    assert module.n_critic == 1 and module.accumulate == 8
    assert module.generator.z_chunks == 6 and module.generator.chunk_size == 20
    assert module.generator.attention_after is not None and module.discriminator.attention is not None
    opt_g, opt_d = module.configure_optimizers()[0]
    assert (opt_g.defaults["lr"], opt_d.defaults["lr"]) == (1e-4, 4e-4)
    assert opt_g.defaults["eps"] == opt_d.defaults["eps"] == 1e-6
    # the 128 px nets at full width: BigGAN-PyTorch's counts (its BigGAN.py instantiated)
    # are in test_biggan_line_nets.py (G 70,433,988 / D 87,982,370).


# configs/sn_cifar10_unconditional.yml (and updater.py, train.py)
OFFICIAL_SNGAN_CIFAR10 = {
    "model._target_": "gan_lab.models.GAN",
    "data._target_": "gan_lab.data.CIFAR10DataModule",   # dataset: datasets/cifar10.py
    "data.image_size": 32,
    "data.batch_size": 64,                                # batchsize: 64
    "iterations": 50_000,                                 # iteration: 50000
    "model.n_critic": 5,                                  # updater args n_dis: 5
    "model.generator_batch_factor": 2,                    # n_gen_samples: 128 = 2 x 64
    "model.num_classes": 0,                               # n_classes: 0 (unconditional)
    "model.latent_dim": 128,                              # generator args dim_z: 128
    "model.generator.width": 256,                         # generator args ch: 256
    "model.discriminator.width": 128,                     # discriminator args ch: 128
    "model.discriminator.spectral_norm": True,            # dis_models/snresnet_32.py
    "loss.objective": "hinge",                            # updater args loss_type: hinge
    "optim.generator.lr": 2e-4,                           # adam alpha: 0.0002
    "optim.discriminator.lr": 2e-4,
    "optim.generator.betas": [0.0, 0.9],                  # adam beta1: 0.0, beta2: 0.9
    "optim.discriminator.betas": [0.0, 0.9],
    "optim.schedulers.generator.decay_fraction": 1.0,     # iteration_decay_start: 0
    "optim.schedulers.discriminator.decay_fraction": 1.0,
    "model.ema_decay": None,                              # no EMA in the chainer code
    "seed": 0,                                            # seed: 0
}


def linear_shift(t: int, value_range=(2e-4, 0.0), time_range=(0, 50_000)) -> float:
    """chainer.training.extensions.LinearShift's value after t updates (the official lr)."""
    (v1, v2), (t1, t2) = value_range, time_range
    if t <= t1:
        return v1
    if t >= t2:
        return v2
    return v1 + (t - t1) / (t2 - t1) * (v2 - v1)


def test_sngan_cifar10_preset_is_the_official_config():
    cfg = make_cfg("/tmp/run", "experiment=sngan_cifar10")
    check_preset(cfg, OFFICIAL_SNGAN_CIFAR10)
    validate(cfg)
    module = build_module(cfg)
    # dis_models/snresnet_32.py and gen_models/resnet_32.py at ch 128 / 256
    assert count(module.generator) == 4_276_739 and count(module.discriminator) == 1_053_824
    assert module.n_critic == 5 and module.generator_batch_factor == 2
    optimizers, schedulers = module.configure_optimizers()
    for optimizer, scheduler in zip(optimizers, schedulers, strict=True):
        assert optimizer.defaults["lr"] == 2e-4 and optimizer.defaults["betas"] == (0.0, 0.9)
        for t in (0, 1, 12_345, 25_000, 49_999, 50_000):
            assert 2e-4 * scheduler.lr_lambdas[0](t) == pytest.approx(linear_shift(t), abs=1e-15)


def test_sngan_defaults_follow_the_official_updater():
    cfg = make_cfg("/tmp/run", "model=sngan", "model.generator.width=8",
                   "model.discriminator.width=8")
    assert cfg.model.fake_labels == "uniform"          # updater.py: sample_categorical
    assert cfg.model.n_critic == 5 and cfg.loss.objective == "hinge"
    assert cfg.optim.generator.lr == cfg.optim.discriminator.lr == 2e-4
    # train.py's LinearShift to 0 over the whole run, and updater.py's n_gen_samples = 2 x batch
    assert cfg.optim.schedulers.generator.decay_fraction == 1.0
    assert cfg.optim.schedulers.discriminator.iterations == cfg.iterations
    assert cfg.model.generator_batch_factor == 2


# ----------------------------------------------------------------------------- base options
class _G(nn.Module):
    """Records the size of every noise batch and the labels it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(2, 3)
        self.calls: list[tuple[int, torch.Tensor | None]] = []

    def forward(self, z, labels=None):
        self.calls.append((z.shape[0], None if labels is None else labels.clone()))
        return self.net(z)


_D = LinearCritic  # a 3 -> 1 linear critic (tests/test_biggan_scheme.py)


def _gan(loss: str = "hinge", **options) -> GAN:
    sgd = functools.partial(torch.optim.SGD, lr=0.1)
    return GAN(_G(), _D(), AdversarialLoss(loss), latent_dim=2,
               optimizers={"generator": sgd, "discriminator": sgd}, **options)


def test_fake_labels_uniform_are_independent_of_the_real_batch():
    torch.manual_seed(0)
    real = torch.randn(400, 3)
    labels = torch.zeros(400, dtype=torch.long)     # a real batch of class 0 only
    batch = (real, labels)
    uniform = _gan(num_classes=4, fake_labels="uniform")
    uniform.discriminator_step(batch)
    uniform.generator_step(batch)
    for n, given in uniform.generator.calls:
        assert n == 400
        counts = torch.bincount(given, minlength=4)
        assert (counts > 60).all(), counts           # all four classes, about 100 each
    # two draws differ: drawn anew, not a fixed permutation
    assert not torch.equal(uniform.generator.calls[0][1], uniform.generator.calls[1][1])
    same = _gan(num_classes=4, fake_labels="batch")
    same.discriminator_step(batch)
    same.generator_step(batch)
    assert all(torch.equal(given, labels) for _, given in same.generator.calls)
    with pytest.raises(ValueError, match="model.fake_labels='random'"):
        _gan(num_classes=4, fake_labels="random")


def test_generator_batch_factor_doubles_the_generator_step_only():
    module = _gan(num_classes=3, fake_labels="batch", generator_batch_factor=2)
    batch = (torch.randn(4, 3), torch.tensor([0, 1, 2, 1]))
    module.discriminator_step(batch)
    terms = module.generator_step(batch)
    (d_n, _), (g_n, g_labels) = module.generator.calls
    assert (d_n, g_n) == (4, 8)                     # D's fakes: the batch; G's: twice it
    assert torch.equal(g_labels, torch.tensor([0, 1, 2, 1, 0, 1, 2, 1]))
    assert terms["loss/g"].shape == ()
    with pytest.raises(ValueError, match="model.generator_batch_factor=2: the loss pairs"):
        _gan("rpgan", generator_batch_factor=2)
    with pytest.raises(ValueError, match="model.generator_batch_factor=0"):
        _gan(generator_batch_factor=0)


class _Recording(GAN):
    """Records the first value of every real batch each phase step sees (the batch's index)."""

    seen: list[tuple[str, int]]

    def discriminator_step(self, batch):
        self.seen.append(("D", int(batch[0][0, 0])))
        return super().discriminator_step(batch)

    def generator_step(self, batch):
        self.seen.append(("G", int(batch[0][0, 0])))
        return super().generator_step(batch)


@pytest.mark.parametrize("fresh", [True, False])
def test_fresh_generator_batch_gives_the_generator_its_own_batch(fresh):
    torch.manual_seed(0)
    sgd = functools.partial(torch.optim.SGD, lr=0.1)
    module = _Recording(_G(), _D(), AdversarialLoss("hinge"), latent_dim=2, n_critic=2,
                        optimizers={"generator": sgd, "discriminator": sgd},
                        fresh_generator_batch=fresh)
    module.seen = []
    module.budget = 2
    # 8 batches of 2 rows; every row of batch b holds the value b
    data = torch.arange(8.0).repeat_interleave(2)[:, None].expand(16, 3).contiguous()
    trainer = pl.Trainer(accelerator="cpu", max_steps=STEP_BOUND, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.fit(module, train_dataloaders=DataLoader(TensorDataset(data), batch_size=2))
    assert module.iteration == 2
    if fresh:   # n_critic + 1 batches an iteration: D on the first two, G on the third
        assert module.seen == [("D", 0), ("D", 1), ("G", 2), ("D", 3), ("D", 4), ("G", 5)]
        assert module.batches == 6
    else:       # G shares the critic's last batch
        assert module.seen == [("D", 0), ("D", 1), ("G", 1), ("D", 2), ("D", 3), ("G", 3)]
        assert module.batches == 4

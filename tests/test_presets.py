"""Paper presets (``experiment=<name>``, conf/experiment/*.yaml).

(a) every preset composes (a ``???`` path given a temporary folder) and names the official code
it mirrors and the paper's number it targets; (b) every preset builds its LightningModule (the
slow paper widths narrowed); (c) the DCGAN, WGAN-GP, pix2pix and CycleGAN presets match the
official values key by key, each commented with the official file and the line or flag it
comes from (Newmu/dcgan_code, igul222/improved_wgan_training, junyanz/pytorch-CycleGAN-and-
pix2pix); (d) the README's "Paper presets" table and Config groups row list every preset.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import nn
from torch.nn.utils import parametrize

from gan_lab.building import build_module
from gan_lab.config import config_dir, validate
from tests.conftest import REPO, make_cfg

PRESETS = sorted(path.stem for path in (Path(config_dir()) / "experiment").glob("*.yaml"))
# Presets that predate the `# official:` / `# paper:` header (expected to fail that check until
# their author adds the two lines; the check passes for them as soon as they do).
HEADER_PENDING: set[str] = set()

# Narrow widths for building paper-sized nets fast, by generator class; a key is overridden only
# where the composed preset has it (tests/test_config.py NARROW and the nets' tests use these).
NARROW = {
    "gan_lab.nets.ResNetGenerator": {"model.generator.width": 16,
                                     "model.discriminator.width": 16},
    "gan_lab.nets.BigGANGenerator": {"model.generator.width": 8,
                                     "model.discriminator.width": 8},
    "gan_lab.nets.R3GANGenerator": {"model.generator.width": 16,
                                    "model.generator.cardinality": 2,
                                    "model.discriminator.width": 16,
                                    "model.discriminator.cardinality": 2},
    # channel counts min(base / resolution, max): lowering only the max keeps every layer >= 1
    "gan_lab.nets.StyleGAN2Generator": {"model.generator.channel_max": 16,
                                        "model.discriminator.channel_max": 16},
    "gan_lab.nets.ProGANGenerator": {"model.generator.fmap_max": 16,
                                     "model.discriminator.fmap_max": 16},
}
# This file's own four presets are built at their paper widths (their parameter counts are
# compared with the official nets').
MINE = ("dcgan_lsun_bedroom64", "wgan_gp_cifar10", "pix2pix_facades", "cyclegan_horse2zebra")


def preset_cfg(name: str, tmp_path: Path, *overrides: str) -> DictConfig:
    """The composed ``experiment=name``, its mandatory (``???``) paths given ``tmp_path``."""
    cfg = make_cfg(tmp_path / "run", f"experiment={name}", *overrides)
    missing = sorted(OmegaConf.missing_keys(cfg))
    fill = []
    for key in missing:
        assert key.rsplit(".", 1)[-1] in ("path", "root", "dir"), (
            f"experiment={name} leaves {key} to the user; only paths may be left as ???")
        fill.append(f"{key}={tmp_path}")
    if fill:
        cfg = make_cfg(tmp_path / "run", f"experiment={name}", *fill, *overrides)
    return cfg


def narrow(cfg: DictConfig) -> list[str]:
    rules = NARROW.get(OmegaConf.select(cfg, "model.generator._target_", default=None), {})
    return [f"{key}={value}" for key, value in rules.items()
            if OmegaConf.select(cfg, key, default=None) is not None]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """name -> (cfg, module) of this file's presets at their paper widths, built once."""
    cache: dict[str, tuple[DictConfig, nn.Module]] = {}

    def get(name: str):
        if name not in cache:
            cfg = preset_cfg(name, tmp_path_factory.mktemp(name))
            cache[name] = (cfg, build_module(cfg))
        return cache[name]

    return get


def value(cfg: DictConfig, key: str):
    found = OmegaConf.select(cfg, key, throw_on_missing=True)
    if isinstance(found, (DictConfig, ListConfig)):
        return OmegaConf.to_container(found, resolve=True)
    return found


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------------------------
# (a) composition and the source header


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_composes_and_names_its_source(name, tmp_path):
    cfg = preset_cfg(name, tmp_path)
    OmegaConf.to_container(cfg, resolve=True)   # every interpolation resolves
    validate(cfg)                               # the checks a run makes before training
    assert int(cfg.iterations) > 0
    text = (Path(config_dir()) / "experiment" / f"{name}.yaml").read_text()
    assert text.splitlines()[0] == "# @package _global_"
    if name in HEADER_PENDING:
        pytest.xfail(f"{name}.yaml predates the '# official:' / '# paper:' header")
    official = re.findall(r"^# official: [\w.-]+/[\w.-]+[ /]\S", text, flags=re.M)
    paper = re.findall(r"^# paper: (\S.*)$", text, flags=re.M)
    assert len(official) == 1, f"{name}.yaml: one line '# official: <owner/repo> <path> [config]'"
    assert len(paper) == 1, f"{name}.yaml: one line '# paper: <the number it targets>'"


# ---------------------------------------------------------------------------------------------
# (b) every preset builds its module


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_builds(name, tmp_path, built):
    if name in MINE:
        _, module = built(name)
    else:
        module = build_module(preset_cfg(name, tmp_path, *narrow(preset_cfg(name, tmp_path))))
    module.check_optimizers()
    optimizers, _ = module.configure_optimizers()
    assert optimizers


# ---------------------------------------------------------------------------------------------
# (c) the official values, key by key

DCGAN = {   # Newmu/dcgan_code faces/train_uncond_dcgan.py
    "data.batch_size": 128,                    # nbatch = 128 (line 41)
    "data.image_size": 64,                     # npx = 64 (line 42)
    "data.channels": 3,                        # nc = 3 (line 40)
    "model.latent_dim": 100,                   # nz = 100 (line 43)
    "model.generator.width": 128,              # ngf = 128 (line 44)
    "model.discriminator.width": 128,          # ndf = 128 (line 45)
    "model.discriminator.norm": "batch",       # batchnorm in discrim (lines 119-121)
    "model.n_critic": 1,                       # k = 1 D update per G update (line 36)
    "loss.objective": "nsgan",                 # bce; G against ones (lines 134-136)
    "loss.gp_weight": 0.0,
    "loss.r1_gamma": 0.0,
    "optim.generator.lr": 2e-4,                # lr = 0.0002 (line 49)
    "optim.discriminator.lr": 2e-4,
    "optim.generator.betas": [0.5, 0.999],     # b1 = 0.5 (line 39); lib/updates.py Adam b2=0.999
    "optim.discriminator.betas": [0.5, 0.999],
    "optim.generator.weight_decay": 1e-5,      # l2 = 1e-5 (line 37), Regularizer(l2=l2)
    "optim.discriminator.weight_decay": 1e-5,  # (lines 144-145)
    "optim.schedulers.generator": None,        # niter_decay = 0 (line 48): constant lr
    "optim.schedulers.discriminator": None,
    # 5 epochs (the paper's fig. 3) of LSUN bedrooms' 3,033,042 images in batches of 128
    # (ceil: fuel's ShuffledScheme keeps the last partial batch), each batch a G or a D update
    # in turn (line 203: n_updates % (k+1)), so half of them are G updates.
    "iterations": 5 * math.ceil(3_033_042 / 128) // 2,
}

WGAN_GP = {   # igul222/improved_wgan_training gan_cifar_resnet.py, CONDITIONAL = False
    "data.batch_size": 64,                     # BATCH_SIZE = 64 (line 36), the critic batch
    "model.generator_batch_factor": 2,         # GEN_BS_MULTIPLE = 2 (line 37)
    "iterations": 100_000,                     # ITERS = 100000 (line 38)
    "model.generator.width": 128,              # DIM_G = 128 (line 39)
    "model.discriminator.width": 128,          # DIM_D = 128 (line 40)
    "model.discriminator.spectral_norm": False,  # NORMALIZATION_D = False (line 42)
    "optim.generator.lr": 2e-4,                # LR = 2e-4 (line 44)
    "optim.discriminator.lr": 2e-4,
    "optim.generator.betas": [0.0, 0.9],       # AdamOptimizer(beta1=0., beta2=0.9) (line 305)
    "optim.discriminator.betas": [0.0, 0.9],   # (line 306)
    "model.n_critic": 5,                       # N_CRITIC = 5 (line 46)
    "model.num_classes": 0,                    # CONDITIONAL = False (line 49): unsupervised
    "model.latent_dim": 128,                   # tf.random_normal([n_samples, 128]) (line 153)
    "data.image_size": 32,                     # reshape to [-1, 3, 32, 32] (line 166)
    "data.channels": 3,
    "loss.objective": "wasserstein",           # mean(D(fake)) - mean(D(real)) (line 222)
    "loss.gp_weight": 10.0,                    # 10 * mean((slopes - 1)^2) (line 264)
    "loss.weight_clip": None,
}

PIX2PIX = {   # junyanz/pytorch-CycleGAN-and-pix2pix scripts/train_pix2pix.sh (+ option defaults)
    "data.name": "facades",                    # --dataroot ./datasets/facades
    "data.layout": "aligned",                  # --dataset_mode aligned
    "data.direction": "BtoA",                  # --direction BtoA
    "data.batch_size": 1,                      # --batch_size 1 (options/base_options.py)
    "data.load_size": 286,                     # --load_size 286 (base_options.py)
    "data.image_size": 256,                    # --crop_size 256 (base_options.py)
    "data.preprocess": "resize_and_crop",      # --preprocess resize_and_crop (base_options.py)
    "data.flip": True,                         # --no_flip not given (base_options.py)
    "loss.objective": "nsgan",                 # --gan_mode vanilla (pix2pix_model.py defaults)
    "model.adversarial_weight": 1.0,           # loss_G = loss_G_GAN + loss_G_L1 (pix2pix_model.py)
    "model.l1_weight": 100.0,                  # --lambda_L1 100
    "model.n_critic": 1,                       # optimize_parameters: one D, one G step
    "model.generator.num_downs": 8,            # --netG unet_256: UnetGenerator(num_downs=8)
    "model.generator.width": 64,               # --ngf 64 (base_options.py)
    "model.generator.norm": "batch",           # --norm batch
    "model.generator.dropout": 0.5,            # no --no_dropout: nn.Dropout(0.5) in the U-Net
    "model.discriminator.n_layers": 3,         # --netD basic = NLayerDiscriminator(n_layers=3)
    "model.discriminator.width": 64,           # --ndf 64 (base_options.py)
    "model.discriminator.norm": "batch",       # --norm batch
    "optim.generator.lr": 2e-4,                # --lr 0.0002 (options/train_options.py)
    "optim.discriminator.lr": 2e-4,
    "optim.generator.betas": [0.5, 0.999],     # --beta1 0.5; Adam betas=(opt.beta1, 0.999)
    "optim.discriminator.betas": [0.5, 0.999],
    # --n_epochs 100 + --n_epochs_decay 100 (train_options.py) epochs of facades' 400 training
    # pairs at batch 1
    "iterations": (100 + 100) * 400,
}

CYCLEGAN = {   # junyanz/pytorch-CycleGAN-and-pix2pix scripts/train_cyclegan.sh on horse2zebra
    "data.name": "horse2zebra",                # --dataroot ./datasets/horse2zebra
    "data.layout": "unpaired",                 # --dataset_mode unaligned (base_options.py)
    "data.direction": "AtoB",                  # --direction AtoB (base_options.py)
    "data.batch_size": 1,                      # --batch_size 1 (base_options.py)
    "data.load_size": 286,                     # --load_size 286
    "data.image_size": 256,                    # --crop_size 256
    "data.preprocess": "resize_and_crop",      # --preprocess resize_and_crop
    "data.flip": True,                         # --no_flip not given
    "loss.objective": "lsgan",                 # --gan_mode lsgan (options/train_options.py)
    # networks.GANLoss('lsgan') is nn.MSELoss, G's term the full MSE; gan_lab's lsgan G term is
    # half of it, so 2 restores the official balance with the L1 terms
    "model.adversarial_weight": 2.0,
    "model.cycle_weight": 10.0,                # --lambda_A 10, --lambda_B 10 (cycle_gan_model.py)
    "model.identity_weight": 0.5,              # --lambda_identity 0.5 (cycle_gan_model.py)
    "model.pool_size": 50,                     # --pool_size 50 (train_cyclegan.sh)
    "model.n_critic": 1,                       # optimize_parameters: G step, then the D step
    "model.generator_ab.n_blocks": 9,          # --netG resnet_9blocks (base_options.py)
    "model.generator_ab.width": 64,            # --ngf 64
    "model.generator_ab.norm": "instance",     # --norm instance (base_options.py)
    "model.generator_ab.dropout": 0.0,         # --no_dropout (train_cyclegan.sh)
    "model.generator_ab.padding": "reflect",   # ResnetGenerator(padding_type='reflect')
    "model.generator_ba.n_blocks": 9,
    "model.generator_ba.norm": "instance",
    "model.discriminator_a.n_layers": 3,       # --netD basic, --n_layers_D 3
    "model.discriminator_a.width": 64,         # --ndf 64
    "model.discriminator_a.norm": "instance",  # --norm instance
    "model.discriminator_b.n_layers": 3,
    "model.discriminator_b.norm": "instance",
    "optim.generator.lr": 2e-4,                # --lr 0.0002 (train_options.py)
    "optim.discriminator.lr": 2e-4,
    "optim.generator.betas": [0.5, 0.999],     # --beta1 0.5; Adam betas=(opt.beta1, 0.999)
    "optim.discriminator.betas": [0.5, 0.999],
    # --n_epochs 100 + --n_epochs_decay 100; an unaligned epoch is max(A_size, B_size)
    # (data/unaligned_dataset.py __len__): 1,067 horses (trainA), 1,334 zebras (trainB)
    "iterations": (100 + 100) * max(1067, 1334),
}

OFFICIAL = {"dcgan_lsun_bedroom64": DCGAN, "wgan_gp_cifar10": WGAN_GP,
            "pix2pix_facades": PIX2PIX, "cyclegan_horse2zebra": CYCLEGAN}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_preset_matches_the_official_values(name, built):
    cfg, module = built(name)
    wrong = {key: (value(cfg, key), expected) for key, expected in OFFICIAL[name].items()
             if value(cfg, key) != pytest.approx(expected)}
    assert not wrong, f"experiment={name}: (preset, official) differ at {wrong}"
    # the optimizers the module builds carry them
    optimizers, _ = module.configure_optimizers()
    for group, optimizer in zip(("generator", "discriminator"), optimizers, strict=True):
        assert optimizer.defaults["lr"] == pytest.approx(OFFICIAL[name][f"optim.{group}.lr"])
        assert list(optimizer.defaults["betas"]) == pytest.approx(
            OFFICIAL[name][f"optim.{group}.betas"])


def lr_factors(module: nn.Module, at: list[int]) -> list[list[float]]:
    """The lr factor of each built scheduler (G's, D's) at the given iterations."""
    _, schedulers = module.configure_optimizers()
    return [[scheduler.lr_lambdas[0](i) for i in at] for scheduler in schedulers]


def test_wgan_gp_lr_decays_linearly_from_the_start(built):
    # gan_cifar_resnet.py line 282: decay = max(0, 1 - iteration / ITERS), both optimizers
    # (lines 305-306)
    at = [0, 1, 25_000, 50_000, 99_999, 100_000]
    factors = lr_factors(built("wgan_gp_cifar10")[1], at)
    assert len(factors) == 2
    for per_group in factors:
        assert per_group == pytest.approx([max(0.0, 1 - i / 100_000) for i in at])


@pytest.mark.parametrize("name, epoch", [("pix2pix_facades", 400),
                                         ("cyclegan_horse2zebra", 1334)])
def test_translation_lr_follows_the_official_linear_policy(name, epoch, built):
    # models/networks.py get_scheduler, lr_policy linear: stepped once per epoch, factor
    # 1 - max(0, k + epoch_count - n_epochs) / (n_epochs_decay + 1) in epoch k (0-based),
    # epoch_count 1, n_epochs = n_epochs_decay = 100. Ours decays per iteration to exactly 0:
    # within 1% of it at every epoch start.
    at = [k * epoch for k in range(200)]
    official = [1 - max(0, k + 1 - 100) / 101 for k in range(200)]
    for per_group in lr_factors(built(name)[1], at):
        assert per_group == pytest.approx(official, abs=0.01)
        assert per_group[:100] == [1.0] * 100


def test_dcgan_nets_have_the_official_channels(built):
    _, module = built("dcgan_lsun_bedroom64")
    g = [m.out_channels for m in module.generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    d = [m.out_channels for m in module.discriminator.modules() if isinstance(m, nn.Conv2d)]
    # faces/train_uncond_dcgan.py: gw -> ngf*8 at 4x4, gw2-gw4 -> ngf*4, *2, *1, gwx -> nc
    # (lines 79-91); dw -> ndf, dw2-dw4 -> ndf*2, *4, *8, dwy -> 1 (lines 93-103)
    assert g == [1024, 512, 256, 128, 3]
    assert d == [128, 256, 512, 1024, 1]
    # Adam's l2 (line 37) on every parameter of both nets
    for optimizer in module.configure_optimizers()[0]:
        assert optimizer.defaults["weight_decay"] == pytest.approx(1e-5)


def test_wgan_gp_nets_match_the_official_resnets(built):
    _, module = built("wgan_gp_cifar10")
    # gan_cifar_resnet.py Generator (lines 151-163): Linear 128 -> 4*4*128, three up blocks
    # (two 3x3 convs, a 1x1 shortcut, two batch norms each), batch norm, 3x3 conv to RGB; all
    # with biases: 1,204,483 parameters.
    assert count(module.generator) == 1_204_483
    assert any(isinstance(m, nn.BatchNorm2d) for m in module.generator.modules())  # line 41
    # Discriminator (lines 139-149, 165-174): the optimized block, one down block, two plain
    # blocks, Linear 128 -> 1 with a bias: 1,053,825 parameters; gan_lab's last linear has no
    # bias (it sum-pools as SNGAN where the official code averages, line 172).
    assert count(module.discriminator) == 1_053_825 - 1
    norms = (nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm2d)
    assert not any(isinstance(m, norms) for m in module.discriminator.modules())  # line 42
    assert not any(parametrize.is_parametrized(m) for m in module.discriminator.modules())


def test_translators_have_the_official_parameter_counts(built):
    # The counts of the official nets (models/networks.py), as BaseModel.print_networks prints
    # them: unet_256 with batch norm 54.414 M (54,413,955), the 70x70 PatchGAN on 6 channels
    # with batch norm 2.769 M; resnet_9blocks with instance norm 11.378 M, the PatchGAN on 3
    # channels with instance norm 2.765 M.
    _, pix2pix = built("pix2pix_facades")
    (g,) = pix2pix.generator.values()
    (d,) = pix2pix.discriminator.values()
    # gan_lab's U-Net gives its first and its bottleneck encoder convs a bias (64 + 512); the
    # official UnetSkipConnectionBlock builds every downconv with bias=use_bias (False under
    # batch norm). The rest is the same.
    assert count(g) == 54_413_955 + 64 + 512
    assert count(d) == 2_768_705
    _, cyclegan = built("cyclegan_horse2zebra")
    assert [count(net) for net in cyclegan.generator.values()] == [11_378_179] * 2
    assert [count(net) for net in cyclegan.discriminator.values()] == [2_764_737] * 2
    assert [pool.size for pool in cyclegan.pools.values()] == [50, 50]   # --pool_size 50


def test_pix2pix_has_no_image_pool(built):
    # --pool_size 0 (train_pix2pix.sh): D sees the current fakes, gan_lab's pix2pix behaviour
    cfg, module = built("pix2pix_facades")
    assert "pool_size" not in cfg.model
    assert not any(type(m).__name__ == "ImagePool" for m in module.modules())


# ---------------------------------------------------------------------------------------------
# (d) the README


def test_readme_lists_every_preset():
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Paper presets\n", 1)
    assert len(section) == 2, "README.md: a '## Paper presets' section"
    table = section[1].split("\n## ", 1)[0]
    row = next(line for line in readme.splitlines() if line.startswith("| `experiment` |"))
    for name in PRESETS:
        assert f"experiment={name}" in table, f"README Paper presets: no row for {name}"
        assert f"`{name}`" in row, f"README Config groups: `experiment` row lacks {name}"


"""The Karras family's presets and defaults against the official code, key by key.

Each preset (conf/experiment/<name>.yaml) and model default is composed as the CLI would, and its
values are compared with a dict of the official values, each commented with the file (and the
config or argument) it comes from:

- SG2A: NVlabs/stylegan2-ada-pytorch, commit d72cc7d (train.py cfg_specs; training/
  training_loop.py training_loop() defaults; training/loss.py StyleGAN2Loss defaults).
- SG1: NVlabs/stylegan, train.py (the 'sgan' FFHQ config, '-8gpu') and training/
  training_loop.py (training_schedule / training_loop defaults).
- PG: tkarras/progressive_growing_of_gans, config.py (preset-v1-1gpu, '-fp32') and train.py
  (TrainingSchedule / train_progressive_gan defaults), loss.py, networks.py.

Then each preset builds its module (with narrow widths where the full nets are slow) and, for
the CIFAR-10 preset, the full nets' parameter counts are the official ones.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hydra.utils import instantiate

from gan_lab.building import build_module
from gan_lab.config import config_dir, validate
from gan_lab.models.progressive import GrowthSchedule
from gan_lab.nets.progan import resolution_at
from tests.conftest import make_cfg

# ----------------------------------------------------------------------------- official values
# Values of stylegan2-ada-pytorch train.py / training_loop.py / loss.py shared by its configs.
SG2A_COMMON = {
    "model.latent_dim": 512,                        # train.py G_kwargs z_dim=512
    "model.generator.w_dim": 512,                   # train.py G_kwargs w_dim=512
    "model.generator.channel_max": 512,             # train.py channel_max = 512
    "model.r1_every": 16,                           # training_loop.py D_reg_interval=16
    "model.pl_every": 4,                            # training_loop.py G_reg_interval=4
    "model.pl_batch_shrink": 2,                     # loss.py StyleGAN2Loss pl_batch_shrink=2
    "model.pl_decay": 0.01,                         # loss.py StyleGAN2Loss pl_decay=0.01
    "model.n_critic": 1,                            # training_loop.py: one Dmain per batch
    "optim.generator.betas": [0.0, 0.99],           # train.py G_opt_kwargs betas=[0,0.99]
    "optim.discriminator.betas": [0.0, 0.99],       # train.py D_opt_kwargs betas=[0,0.99]
    "optim.generator.eps": 1e-8,                    # train.py G_opt_kwargs eps=1e-8
    "optim.discriminator.eps": 1e-8,                # train.py D_opt_kwargs eps=1e-8
    "loss.objective": "nsgan",                      # loss.py: softplus(-D(G(z))), softplus(D(x))
}

OFFICIAL = {
    "stylegan2_cifar10": {
        **SG2A_COMMON,
        "data._target_": "gan_lab.data.CIFAR10DataModule",  # --data=cifar10.zip
        "data.image_size": 32,                       # CIFAR-10 resolution
        "model.num_classes": 10,                     # --cond=1
        "model.fake_labels": "uniform",              # training_loop.py all_gen_c (random labels)
        "data.batch_size": 64,                       # cfg_specs['cifar'] mb=64
        "model.discriminator.mbstd_group_size": 32,  # cfg_specs['cifar'] mbstd=32
        "model.generator.channel_base": 32768,       # cfg_specs['cifar'] fmaps=1 -> 32768
        "optim.generator.lr": 0.0025,                # cfg_specs['cifar'] lrate=0.0025
        "optim.discriminator.lr": 0.0025,            # cfg_specs['cifar'] lrate=0.0025
        "model.r1_gamma": 0.01,                      # cfg_specs['cifar'] gamma=0.01
        "model.ema_kimg": 500.0,                     # cfg_specs['cifar'] ema=500
        "model.ema_rampup": 0.05,                    # cfg_specs['cifar'] ramp=0.05
        "model.generator.mapping_layers": 2,         # cfg_specs['cifar'] map=2
        "model.pl_weight": 0.0,                      # train.py: cifar pl_weight = 0
        "model.style_mixing": 0.0,                   # train.py: cifar style_mixing_prob = 0
        "model.discriminator.architecture": "orig",  # train.py: cifar D architecture = 'orig'
        "augment._target_": "gan_lab.augment.AdaptiveAugment",  # train.py: aug='ada' default
        "augment.target": 0.6,                       # train.py: args.ada_target = 0.6
        "augment.interval": 4,                       # training_loop.py ada_interval=4
        "augment.speed_kimg": 500,                   # training_loop.py ada_kimg=500
        "kimg": 100000,                              # cfg_specs['cifar'] kimg=100000
    },
    "stylegan2_ffhq256": {
        **SG2A_COMMON,
        "data._target_": "gan_lab.data.ImageFolderDataModule",  # --data=<ffhq256 folder>
        "data.image_size": 256,
        "model.num_classes": 0,                      # --cond=False
        "data.batch_size": 64,                       # cfg_specs['paper256'] mb=64
        "model.discriminator.mbstd_group_size": 8,   # cfg_specs['paper256'] mbstd=8
        "model.generator.channel_base": 16384,       # cfg_specs['paper256'] fmaps=0.5
        "optim.generator.lr": 0.0025,                # cfg_specs['paper256'] lrate=0.0025
        "optim.discriminator.lr": 0.0025,
        "model.r1_gamma": 1.0,                       # cfg_specs['paper256'] gamma=1
        "model.ema_kimg": 20.0,                      # cfg_specs['paper256'] ema=20
        "model.ema_rampup": None,                    # cfg_specs['paper256'] ramp=None
        "model.generator.mapping_layers": 8,         # cfg_specs['paper256'] map=8
        "model.pl_weight": 2.0,                      # loss.py StyleGAN2Loss pl_weight=2
        "model.style_mixing": 0.9,                   # loss.py StyleGAN2Loss style_mixing_prob=0.9
        "model.discriminator.architecture": "resnet",  # networks.py Discriminator default
        "augment": None,                             # --aug=noaug
        "kimg": 25000,                               # cfg_specs['paper256'] kimg=25000
    },
}
OFFICIAL["stylegan2_ada_limited"] = {
    **OFFICIAL["stylegan2_ffhq256"],                 # --cfg=paper256
    "augment._target_": "gan_lab.augment.AdaptiveAugment",  # --aug=ada
    "augment.target": 0.6,                           # --target=0.6
    "augment.interval": 4,                           # training_loop.py ada_interval=4
    "augment.speed_kimg": 500,                       # training_loop.py ada_kimg=500
    "augment.p_init": 0.0,                           # training_loop.py augment_p=0
}
del OFFICIAL["stylegan2_ada_limited"]["augment"]
OFFICIAL["progan_celebahq"] = {
    "data._target_": "gan_lab.data.ImageFolderDataModule",  # tfrecord_dir='celebahq'
    "data.image_size": 1024,                         # CelebA-HQ 1024x1024
    "data.batch_size": 16,                           # preset-v1-1gpu minibatch_base = 16
    "model.batch_sizes": {256: 14, 512: 6, 1024: 3},  # preset-v1-1gpu minibatch_dict
    "model.stable_kimg": 800,                        # preset-v1-1gpu lod_training_kimg = 800
    "model.fade_kimg": 800,                          # preset-v1-1gpu lod_transition_kimg = 800
    "model.start_level": 0,                          # train.py lod_initial_resolution=4
    "model.lr_by_resolution": None,                  # preset-v1-1gpu: no G_lrate_dict
    "model.discriminator.mbstd_group_size": 16,      # preset-v1-1gpu D.mbstd_group_size = 16
    "model.generator.fmap_base": 8192,               # networks.py G_paper fmap_base=8192
    "model.generator.fmap_max": 512,                 # networks.py G_paper fmap_max=512
    "model.latent_dim": 512,                         # networks.py G_paper latent_size nf(0)=512
    "model.ema_decay": 0.999,                        # train.py G_smoothing=0.999
    "model.ema_kimg": None,                          # (a constant beta, not a half-life)
    "model.n_critic": 1,                             # train.py D_repeats=1
    "model.reset_optimizers": True,                  # train.py reset_opt_for_new_lod=True
    "optim.generator.lr": 0.001,                     # train.py G_lrate_base=0.001
    "optim.discriminator.lr": 0.001,                 # train.py D_lrate_base=0.001
    "optim.generator.betas": [0.0, 0.99],            # config.py G_opt beta1=0.0, beta2=0.99
    "optim.discriminator.betas": [0.0, 0.99],        # config.py D_opt beta1=0.0, beta2=0.99
    "optim.generator.eps": 1e-8,                     # config.py G_opt epsilon=1e-8
    "optim.discriminator.eps": 1e-8,                 # config.py D_opt epsilon=1e-8
    "loss.objective": "wasserstein",                 # loss.py G_wgan_acgan / D_wgangp_acgan
    "loss.gp_weight": 10.0,                          # loss.py D_wgangp_acgan wgan_lambda=10.0
    "loss.drift": 0.001,                             # loss.py D_wgangp_acgan wgan_epsilon=0.001
    "kimg": 19000,                                   # preset-v1-1gpu total_kimg = 19000
}
# The model defaults themselves (no preset).
OFFICIAL_DEFAULTS = {
    "stylegan": {
        "model.start_level": 1,                      # SG1 train.py lod_initial_resolution = 8
        "model.stable_kimg": 600,                    # SG1 training_loop.py lod_training_kimg=600
        "model.fade_kimg": 600,                      # SG1 training_loop.py lod_transition_kimg=600
        # SG1 train.py '-8gpu': minibatch_dict {4: 512, 8: 256, 16: 128, 32: 64, 64: 32},
        # minibatch_base = 32 (global batch over 8 GPUs)
        "model.batch_sizes": {4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 32, 256: 32,
                              512: 32, 1024: 32},
        # SG1 train.py G_lrate_dict = D_lrate_dict
        "model.lr_by_resolution": {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003},
        "optim.generator.lr": 0.001,                 # SG1 training_loop.py G_lrate_base=0.001
        "optim.discriminator.lr": 0.001,             # SG1 training_loop.py D_lrate_base=0.001
        "optim.generator.betas": [0.0, 0.99],        # SG1 train.py G_opt beta1=0.0, beta2=0.99
        "optim.generator.eps": 1e-8,                 # SG1 train.py G_opt epsilon=1e-8
        "model.ema_kimg": 10.0,                      # SG1 training_loop.py G_smoothing_kimg=10.0
        "model.style_mixing": 0.9,                   # SG1 networks_stylegan.py style_mixing_prob
        "model.generator.mapping_layers": 8,         # SG1 networks_stylegan.py mapping_layers=8
        "model.generator.mapping_lr_multiplier": 0.01,  # SG1 networks_stylegan.py mapping_lrmul
        "model.discriminator.mbstd_group_size": 4,   # SG1 networks_stylegan.py D_basic
        "loss.objective": "nsgan",                   # SG1 train.py G_logistic_nonsaturating
        "loss.r1_gamma": 10.0,                       # SG1 train.py D_logistic_simplegp r1_gamma
        "model.reset_optimizers": True,              # SG1 training_loop.py reset_opt_for_new_lod
    },
    "progan": {
        "data.batch_size": 16,                       # PG train.py minibatch_base=16
        "model.batch_sizes": None,                   # PG train.py minibatch_dict={} (the
                                                     # config.py fp32 memory caps left out)
        "model.stable_kimg": 600,                    # PG train.py lod_training_kimg=600
        "model.fade_kimg": 600,                      # PG train.py lod_transition_kimg=600
        "model.start_level": 0,                      # PG train.py lod_initial_resolution=4
        "model.ema_decay": 0.999,                    # PG train.py G_smoothing=0.999
        "model.n_critic": 1,                         # PG train.py D_repeats=1
        "optim.generator.lr": 0.001,                 # PG train.py G_lrate_base=0.001
        "optim.generator.betas": [0.0, 0.99],        # PG config.py G_opt beta1=0.0, beta2=0.99
        "optim.generator.eps": 1e-8,                 # PG config.py G_opt epsilon=1e-8
        "loss.gp_weight": 10.0,                      # PG loss.py wgan_lambda=10.0
        "loss.drift": 0.001,                         # PG loss.py wgan_epsilon=0.001
        "model.discriminator.mbstd_group_size": 4,   # PG networks.py D_paper mbstd_group_size=4
    },
    "stylegan2": {
        "model.fake_labels": "uniform",              # SG2A training_loop.py all_gen_c
        "model.r1_every": 16,                        # SG2A training_loop.py D_reg_interval=16
        "model.pl_every": 4,                         # SG2A training_loop.py G_reg_interval=4
        "model.discriminator.architecture": "resnet",  # SG2A networks.py Discriminator default
    },
}
# Parameter counts of the official nets at the cifar preset's settings (training/networks.py
# built on CPU: Generator(z_dim=512, w_dim=512, c_dim=10, img_resolution=32, img_channels=3,
# mapping num_layers=2), Discriminator(c_dim=10, img_resolution=32, img_channels=3,
# architecture='orig', mbstd_group_size=32); channel_base 32768, channel_max 512).
OFFICIAL_CIFAR_PARAMS = {"generator": 20_215_315, "discriminator": 23_089_664}

PATHS = ["data.path=/nonexistent"]  # folder presets need a path to compose and build
NARROW = {   # building the full nets of the big presets is slow; the schemes are the same
    "stylegan2_ffhq256": ["model.generator.channel_base=512", "model.generator.channel_max=8"],
    "stylegan2_ada_limited": ["model.generator.channel_base=512",
                              "model.generator.channel_max=8"],
    "progan_celebahq": ["model.generator.fmap_max=4"],
    "stylegan2_cifar10": ["model.generator.channel_base=64", "model.generator.channel_max=8"],
}


def _get(cfg, dotted: str):
    node = cfg
    for key in dotted.split("."):
        if node is None or key not in node:
            return "<missing>"
        node = node[key]
    return node


def _value(cfg, key: str, module=None):
    if key == "kimg":   # the budget: iterations x the batch sizes of the schedule
        return _images_in_budget(cfg) / 1000
    value = _get(cfg, key)
    if hasattr(value, "items"):
        return {int(k) if str(k).isdigit() else k: v for k, v in value.items()}
    if hasattr(value, "__iter__") and not isinstance(value, str):
        return list(value)
    return value


def _images_in_budget(cfg) -> int:
    """The real images the run's ``iterations`` show D (ProGAN: through its growing schedule,
    batch by batch as ProgressiveGAN counts them, jumping over the batches of one size)."""
    model = cfg.model
    loaded = int(cfg.data.batch_size)
    if "stable_kimg" not in model:
        return int(cfg.iterations) * loaded
    schedule = GrowthSchedule(int(math.log2(int(cfg.data.image_size))) - 2, model.stable_kimg,
                              model.fade_kimg, model.start_level)
    sizes = {int(k): int(v) for k, v in (model.batch_sizes or {}).items()}
    stable, period = int(model.stable_kimg * 1000), int((model.stable_kimg + model.fade_kimg) * 1000)
    images, left = 0, int(cfg.iterations)
    while left > 0:
        size = min(sizes.get(resolution_at(schedule.level(images)), loaded), loaded)
        # the batch size can change only once the images shown pass a fade's start
        start = images // period * period + stable
        boundary = start if images <= start else start + period
        steps = min(left, (boundary - images) // size + 1)
        images, left = images + steps * size, left - steps
    return images


def _compare(cfg, official: dict) -> list[str]:
    wrong = []
    for key, expected in official.items():
        got = _value(cfg, key)
        if key == "kimg":   # within one batch of the official total
            ok = expected <= got < expected + int(cfg.data.batch_size) / 1000
        elif expected is None:      # unset or null alike (e.g. no augment group)
            ok = got in (None, "<missing>")
        elif isinstance(expected, float):
            ok = isinstance(got, (int, float)) and got == pytest.approx(expected)
        else:
            ok = got == expected
        if not ok:
            wrong.append(f"{key}: {got!r}, official {expected!r}")
    return wrong


@pytest.mark.parametrize("preset", sorted(OFFICIAL))
def test_preset_matches_the_official_config(tmp_path, preset):
    extra = [] if preset == "stylegan2_cifar10" else PATHS
    cfg = make_cfg(tmp_path, f"experiment={preset}", *extra)
    assert _compare(cfg, OFFICIAL[preset]) == []
    validate(cfg)
    lines = (Path(config_dir()) / "experiment" / f"{preset}.yaml").read_text().splitlines()
    assert lines[1].startswith("# official: "), lines[1]   # the official file it mirrors


@pytest.mark.parametrize("model", sorted(OFFICIAL_DEFAULTS))
def test_model_defaults_match_the_official_code(tmp_path, model):
    cfg = make_cfg(tmp_path, f"model={model}")
    assert _compare(cfg, OFFICIAL_DEFAULTS[model]) == []


def test_the_comparison_can_fail(tmp_path):
    cfg = make_cfg(tmp_path, "experiment=stylegan2_cifar10", "model.r1_gamma=10",
                   "iterations=1000", "model.discriminator.architecture=resnet")
    wrong = _compare(cfg, OFFICIAL["stylegan2_cifar10"])
    assert [w.split(":")[0] for w in wrong] == ["model.r1_gamma",
                                                "model.discriminator.architecture", "kimg"]


@pytest.mark.parametrize("preset", sorted(OFFICIAL))
def test_preset_builds_its_module(tmp_path, preset):
    extra = [] if preset == "stylegan2_cifar10" else PATHS
    cfg = make_cfg(tmp_path, f"experiment={preset}", *extra, *NARROW[preset])
    module = build_module(cfg)
    assert type(module).__name__ == ("ProgressiveGAN" if preset.startswith("progan")
                                     else "StyleGAN2")
    module.check_optimizers()
    if preset.startswith("stylegan2"):
        assert module.discriminator.architecture == cfg.model.discriminator.architecture
        assert type(module.augment).__name__ == ("AdaptiveAugment" if cfg.get("augment")
                                                 else "NoAugment")


def test_cifar_preset_adam_is_rescaled_for_both_lazy_intervals(tmp_path):
    # training_loop.py: for G (reg interval 4) and D (16), mb_ratio = k / (k + 1), lr * ratio,
    # betas ** ratio, whatever the weights (cifar: pl_weight 0, so Greg never runs).
    cfg = make_cfg(tmp_path, "experiment=stylegan2_cifar10", *NARROW["stylegan2_cifar10"])
    module = build_module(cfg)
    opt_g, opt_d = module.configure_optimizers()[0]
    assert opt_g.param_groups[0]["lr"] == pytest.approx(0.0025 * 4 / 5)
    assert opt_g.param_groups[0]["betas"] == pytest.approx((0.0, 0.99 ** (4 / 5)))
    assert opt_d.param_groups[0]["lr"] == pytest.approx(0.0025 * 16 / 17)
    assert opt_d.param_groups[0]["betas"] == pytest.approx((0.0, 0.99 ** (16 / 17)))
    phases = {p.name: p for p in module.phase_list}
    assert not phases["Greg"].enabled and phases["Dreg"].enabled


def test_cifar_preset_nets_have_the_official_parameter_counts(tmp_path):
    cfg = make_cfg(tmp_path, "experiment=stylegan2_cifar10")
    for name, count in OFFICIAL_CIFAR_PARAMS.items():
        net = instantiate(cfg.model[name])
        assert sum(p.numel() for p in net.parameters()) == count, name


def test_progan_budget_is_the_official_kimg_through_the_schedule(tmp_path):
    cfg = make_cfg(tmp_path, "experiment=progan_celebahq", *PATHS)
    images = _images_in_budget(cfg)
    # the last iteration crosses 19,000 kimg (the official loop stops at cur_nimg >= total)
    assert images >= 19_000_000 and images - 3 < 19_000_000


def test_cifar_preset_trains_a_few_iterations_on_a_cifar_layout(tmp_path):
    # The preset end to end at narrow widths: conditional, uniform fake labels, the orig D, ADA,
    # R1 every 16 (due at iteration 0), path length off.
    from tests.conftest import train
    from tests.test_standard_datasets import write_cifar
    write_cifar(tmp_path / "cifar")
    train(tmp_path / "run", "experiment=stylegan2_cifar10", *NARROW["stylegan2_cifar10"],
          f"data.root={tmp_path / 'cifar'}", "data.download=false", "data.batch_size=4",
          "model.generator.mapping_layers=1", "iterations=2", "model.log_every=1",
          "callbacks.progress=null", "trainer.enable_progress_bar=false",
          "callbacks.samples=null")
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "loss/d_r1" in header and "loss/g_pl" not in header

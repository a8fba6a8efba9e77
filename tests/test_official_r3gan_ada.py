"""conf/experiment/r3gan_cifar10.yaml against the official run (brownvc/R3GAN train.py
--preset=CIFAR10 with its README's command), key by key, and the module it builds."""

from __future__ import annotations

import math

import pytest

from gan_lab.augment import AdaptiveAugment
from gan_lab.building import build_module
from tests.conftest import make_cfg

# Official values, each with the line it comes from (brownvc/R3GAN).
OFFICIAL = {
    "data.batch_size": 512,  # README: python train.py ... --batch=512 ... --preset=CIFAR10
    "data.image_size": 32,  # CIFAR-10 32x32 (dataset_tool output)
    "model.num_classes": 10,  # README: --cond=1 (labels of CIFAR-10's 10 classes)
    "model.latent_dim": 64,  # train.py CIFAR10: NoiseDimension = 64
    "model.generator.width": 768,  # WidthPerStage = [3 * x // 4 for x in [1024, 1024, 1024, 1024]]
    "model.generator.cardinality": 96,  # CardinalityPerStage = [3 * x for x in [32, 32, 32, 32]]
    "model.generator.blocks": 2,  # BlocksPerStage = [2 * x for x in [1, 1, 1, 1]]
    "model.generator.expansion_factor": 2,  # c.G_kwargs.ExpansionFactor = 2
    "model.generator.embedding_dim": 64,  # c.G_kwargs.ConditionEmbeddingDimension = NoiseDimension
    "model.discriminator.embedding_dim": 768,  # c.D_kwargs.ConditionEmbeddingDimension = WidthPerStage[0]
    "model.discriminator.width": 768,  # c.D_kwargs.WidthPerStage = [*reversed(WidthPerStage)]
    "model.discriminator.cardinality": 96,  # c.D_kwargs.CardinalityPerStage = reversed(...)
    "model.discriminator.blocks": 2,  # c.D_kwargs.BlocksPerStage = reversed(...)
    "model.schedule_kimg": 20000.0,  # decay_nimg = 2e7 (total_nimg of every scheduler)
    "model.lr_start": 2e-4,  # c.lr_scheduler = {'base_value': 2e-4, ...}
    "model.lr_end": 5e-5,  # c.lr_scheduler = {..., 'final_value': 5e-5, ...}
    "model.beta2_start": 0.9,  # c.beta2_scheduler = {'base_value': 0.9, ...}
    "model.beta2_end": 0.99,  # c.beta2_scheduler = {..., 'final_value': 0.99, ...}
    "model.gamma_start": 0.05,  # c.gamma_scheduler = {'base_value': 0.05, ...}
    "model.gamma_end": 0.005,  # c.gamma_scheduler = {..., 'final_value': 0.005, ...}
    "model.ema_kimg_start": 0.0,  # c.ema_scheduler = {'base_value': 0, ...}
    "model.ema_kimg_end": 5000.0,  # ema_nimg = 5000 * 1000
    "model.aug_p_start": 0.0,  # c.aug_scheduler = {'base_value': 0, ...}
    "model.aug_p_end": 0.55,  # c.aug_scheduler = {..., 'final_value': 0.55, ...}
    "model.n_critic": 1,  # training_loop.py: phases D then G, once per iteration
    "model.fresh_generator_batch": True,  # training_loop.py: D_img and G_img, two next() calls
    "optim.generator.betas": [0.0, 0.9],  # G_opt_kwargs betas=[0,0]; beta2 from beta2_scheduler
    "optim.discriminator.betas": [0.0, 0.9],  # D_opt_kwargs betas=[0,0]; beta2 likewise
    "optim.generator.eps": 1e-8,  # c.G_opt_kwargs = ... eps=1e-8
    "optim.discriminator.eps": 1e-8,  # c.D_opt_kwargs = ... eps=1e-8
    "loss.objective": "rpgan",  # R3GAN/Trainer.py: softplus(-(RealLogits - FakeLogits))
    "loss.share_forward": True,  # Trainer.py: R1/R2 from the D phase's own logits
    "augment.ops": "bgc,cutout",  # AugmentPipe(xflip=1, ..., saturation=0.5, cutout=1)
    "augment.strengths": {"brightness": 0.5, "contrast": 0.5, "lumaflip": 0.5, "hue": 0.5,
                          "saturation": 0.5},  # AugmentPipe(brightness=0.5, ..., saturation=0.5)
    "augment.cutout_size": 0.5,  # augment.py: AugmentPipe(cutout_size=0.5) default
    "augment.resample": "wavelet",  # augment.py: Hz_geom = wavelets['sym6'], upfirdn2d
    "iterations": math.ceil(20000 * 1000 / 512),  # no --kimg: gan_lab stops at decay_nimg
}


def _get(cfg, key):
    node = cfg
    for part in key.split("."):
        node = node[part] if part in node else None
        if node is None:
            return None
    return node


def test_preset_matches_the_official_cifar10_run_key_by_key():
    cfg = make_cfg("/tmp/run", "experiment=r3gan_cifar10")
    assert cfg.data._target_ == "gan_lab.data.CIFAR10DataModule"  # --data=cifar10.zip
    assert cfg.model._target_ == "gan_lab.models.R3GAN"
    wrong = {}
    for key, official in OFFICIAL.items():
        value = _get(cfg, key)
        if key == "loss.share_forward" and value is None:
            value = True  # AdversarialLoss's default
        value = value if not hasattr(value, "items") else dict(value)
        value = list(value) if hasattr(value, "__len__") and key.endswith("betas") else value
        if value != pytest.approx(official) if isinstance(official, float) else value != official:
            wrong[key] = (value, official)
    assert not wrong, f"preset value != official value: {wrong}"


def test_preset_builds_the_official_scheme_with_narrow_nets():
    cfg = make_cfg("/tmp/run", "experiment=r3gan_cifar10", "model.generator.width=16",
                   "model.generator.cardinality=4", "model.generator.blocks=1",
                   "model.discriminator.embedding_dim=16")
    module = build_module(cfg)
    assert module.fresh_generator_batch and module.batches_per_iteration == 2
    assert isinstance(module.augment, AdaptiveAugment) and module.augment.fixed_p == 0.0
    assert module.augment.strength["hue"] == 0.5 and module.augment.strength["cutout"] == 1.0
    assert module.loss.shares_forward and module.loss.r1_gamma == module.loss.r2_gamma == 0.05
    # schedules at the start, halfway (10,000 kimg = 19,531.25 iterations) and the end
    assert module.schedule(0, 512) == pytest.approx(
        {"lr": 2e-4, "beta2": 0.9, "gamma": 0.05, "ema_kimg": 0.0, "aug_p": 0.0})
    assert module.schedule(1, 10_000_000)["aug_p"] == pytest.approx(0.275)
    assert module.schedule(cfg.iterations, 512) == pytest.approx(
        {"lr": 5e-5, "beta2": 0.99, "gamma": 0.005, "ema_kimg": 5000.0, "aug_p": 0.55})
    assert module.generator.embedding_dim == 64 and module.num_classes == 10

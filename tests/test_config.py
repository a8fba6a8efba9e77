"""Every option of every config group composes and builds (config tests)."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from gan_lab.building import build, build_module
from gan_lab.config import ConfigError, config_dir, validate
from tests.conftest import make_cfg

CONF = __import__("pathlib").Path(config_dir())


def options(group: str) -> list[str]:
    # Names starting with "_" are bases that other options include, not options themselves.
    return sorted(p.stem for p in (CONF / group).glob("*.yaml") if not p.stem.startswith("_"))


def test_default_composition():
    cfg = make_cfg("/tmp/run")
    assert cfg.model._target_ == "gan_lab.models.GAN"
    assert cfg.loss.objective == "nsgan"
    assert cfg.data._target_ == "gan_lab.data.DigitsDataModule"
    assert cfg.model.generator.image_size == cfg.data.image_size


# Narrow widths for the nets whose paper widths take seconds to build (R3GAN's 20M parameters).
NARROW = {"r3gan": ["model.generator.width=16", "model.generator.cardinality=2"],
          "biggan": ["model.generator.width=8"],
          "sngan": ["model.generator.width=16", "model.discriminator.width=16"],
          "sagan": ["model.generator.width=16", "model.discriminator.width=16"],
          "sngan_cnn": ["model.generator.width=64", "model.discriminator.width=64"]}


@pytest.mark.parametrize("loss", options("loss"))
@pytest.mark.parametrize("model", options("model"))
def test_every_model_with_every_loss_builds(model, loss):
    # each model on data it can train on: translators need a translation set
    data = {"toy_mlp": "ring", "pix2pix": "edges2digits", "cyclegan": "chalk2ink",
            "context_encoder": "photos_inpainting", "stargan": "digit_attributes",
            "spade": "textures", "singan": "single_image", "srgan": "photos_sr",
            "srresnet": "photos_sr", "seqgan": "oracle_lstm"}.get(model, "digits")
    cfg = make_cfg("/tmp/run", f"model={model}", f"loss={loss}", f"data={data}",
                   *NARROW.get(model, []))
    validate(cfg)
    if model == "stylegan2" and loss.startswith("wgan"):  # it brings its own lazy R1
        with pytest.raises(ConfigError, match="StyleGAN2 regularizes D itself"):
            build_module(cfg)
        return
    if model == "sngan" and loss == "rpgan":  # G's batch is twice D's: no real to pair with
        with pytest.raises(ConfigError, match="generator_batch_factor=2: the loss pairs"):
            build_module(cfg)
        return
    if model == "seqgan" and loss != "nsgan":  # its objectives are its own
        with pytest.raises(ConfigError, match="SeqGAN trains with its own objectives"):
            build_module(cfg)
        return
    module = build_module(cfg)
    assert module.loss.objective == cfg.loss.objective
    # Models whose paper fixes the D steps per G step keep them whatever the loss (the Karras
    # family and R3GAN 1, SNGAN 5, BigGAN 2); the others take the loss recipe's (wgan: 5).
    own = {"progan": 1, "stylegan": 1, "stylegan2": 1, "r3gan": 1, "sagan": 1, "sngan": 5,
           "sngan_cnn": 5, "biggan": 2, "singan": 3, "srresnet": 1}
    assert module.n_critic == own.get(model, 5 if loss.startswith("wgan") else 1)
    module.check_optimizers()
    # what the commands and evaluators may ask of it: generators sample, image-conditional
    # models translate, SinGAN does both
    translators = {"pix2pix", "cyclegan", "context_encoder", "stargan", "spade", "srgan",
                   "srresnet"}
    expected = ({"sample", "translate"} if model == "singan"
                else {"translate"} if model in translators else {"sample"})
    assert {name for name in ("sample", "translate") if module.speaks(name)} == expected


@pytest.mark.parametrize("optim", options("optim"))
def test_every_optimizer_builds(optim):
    # a scheme's own optimizer set (more groups than G and D) builds with that scheme
    scheme = {"adam_seqgan": ["model=seqgan", "data=oracle_lstm"]}.get(optim, [])
    cfg = make_cfg("/tmp/run", *scheme, f"optim={optim}")
    module = build_module(cfg)
    optimizers = dict(zip(module.optimizer_groups(), module.configure_optimizers()[0],
                          strict=True))
    for group, optimizer in optimizers.items():
        assert type(optimizer).__name__ == cfg.optim[group]._target_.split(".")[-1]
        assert optimizer.defaults["lr"] == cfg.optim[group].lr


# Sets that need files or a download have their own tests (test_image_folder.py,
# test_standard_datasets.py, test_translation_data.py); here the ones that ship with the packages.
NEEDS_FILES = {"image_folder", "mnist", "fashion_mnist", "cifar10",
               "unpaired_folder", "aligned_folder", "paired_folder", "horse2zebra", "apple2orange",
               "summer2winter_yosemite", "monet2photo", "facades", "maps", "cityscapes",
               "edges2shoes", "edges2handbags", "night2day", "paris_streetview",
               "inpainting_folder", "celeba", "cityscapes_labels", "ade20k", "coco_stuff", "div2k", "set5",
               "set14", "bsd100", "sr_folder"}


def _asks_for_a_path(data: str) -> bool:
    """A data set whose yaml leaves a value for the user to give (``path: ???``): files only
    a user has (a folder of voxel files)."""
    return bool(OmegaConf.missing_keys(make_cfg("/tmp/run", f"data={data}").data))


@pytest.mark.parametrize("data", [d for d in options("data")
                                  if d not in NEEDS_FILES and not _asks_for_a_path(d)])
def test_every_dataset_builds(data):
    datamodule = instantiate(make_cfg("/tmp/run", f"data={data}").data)
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    # label-map sets give (label map, image), super-resolution sets (low-res, high-res): the
    # image (what G makes) has the sample shape
    kind = getattr(datamodule, "batch_kind", None)
    images = batch[1] if kind in ("label maps", "super-resolution") else batch[0]
    assert tuple(images.shape[1:]) == tuple(datamodule.sample_shape)


@pytest.mark.parametrize("group", ["trainer", "logger", "callbacks", "eval", "experiment",
                                   "augment"])
def test_every_option_composes(group):
    for option in options(group):
        cfg = make_cfg("/tmp/run", f"{group}={option}")
        assert group == "experiment" or cfg[group] is not None
        if cfg.get("trainer", {}).get("accelerator") == "gpu" and not torch.cuda.is_available():
            with pytest.raises(ConfigError, match="no GPU is visible to torch on this machine"):
                validate(cfg)  # trainer=gpu on a machine without one: one line, before training
            continue
        if group == "experiment" and OmegaConf.is_missing(cfg.data, "path"):
            # presets on published data that does not ship (ImageNet, FFHQ, ...): the folder is
            # the user's, and without it the preset stops before training in one line
            with pytest.raises(ConfigError, match="data.path is required"):
                validate(cfg)
            cfg = make_cfg("/tmp/run", f"{group}={option}", "data.path=/tmp")
        validate(cfg)


def test_experiment_toy_is_a_diff_over_the_defaults():
    cfg = make_cfg("/tmp/run", "experiment=toy", "model.packing=3")
    assert cfg.model.generator._target_ == "gan_lab.nets.MLPGenerator"
    assert cfg.data.batch_size == 300  # 100 packs of 3
    assert cfg.optim.generator.betas == [0.8, 0.999]
    assert cfg.eval.objective == "toy/reverse_kl"


def test_wrong_types_and_ranges_are_one_line_errors():
    with pytest.raises(ConfigError, match=r"^model.packing=0: must be an integer >= 1$"):
        validate(make_cfg("/tmp/run", "model.packing=0"))
    with pytest.raises(ConfigError, match=r"model.ema_decay=1.5: must be null or a number"):
        validate(make_cfg("/tmp/run", "model.ema_decay=1.5"))
    with pytest.raises(ConfigError, match=r"^model.generator: .*image_size=12"):
        build(make_cfg("/tmp/run", "data.image_size=12"), "model.generator")

"""SRGAN / SRResNet (Ledig et al. 2017): the nets against the paper's layer list, pixel shuffle,
the VGG19 feature maps and content losses (stand-in weights), the Y-channel metrics, the data
(embedded photos, folders, DIV2K offline), the stage schedule, exact resume across the
SRResNet -> SRGAN switch, and the translate command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gan_lab.building import build_module
from gan_lab.config import ConfigError
from gan_lab.data.samples.image_folder import UnreadableImageWarning
from gan_lab.data.super_resolution import pairs as sr_data
from gan_lab.data.super_resolution.pairs import (
    DIV2KDataModule,
    PhotosSRDataModule,
    SRFolderDataModule,
    bicubic_downscale,
)
from gan_lab.losses.content import mse_content_loss, vgg_content_loss
from gan_lab.metrics.super_resolution import (
    SuperResolutionQuality,
    high_frequency_ratio,
    psnr_y,
    rgb_to_y,
    shave,
    ssim_y,
)
from gan_lab.models.srgan import SRGANLearningRate
from gan_lab.nets.srgan import SRGANDiscriminator, SRResNet, SubPixelUpsample
from gan_lab.nets.vgg import VGGFeatures, _vgg19_features, layer_names, load_vgg19
from gan_lab.train import run
from tests.conftest import assert_same_training_state, make_cfg, run_cli, train

QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false"]
# The embedded photos at x2 with 16 px HR crops, one residual block, width 4: a second a run.
TINY = ["model=srgan", "net_width=4", "model.generator.blocks=1", "data.scale=2",
        "data.crop_size=16", "data.batch_size=2", "data.eval_crop=24", *QUIET]


# ---------------------------------------------------------------------------- nets


def test_pixel_shuffle_puts_channel_4c_plus_2i_plus_j_at_2h_plus_i_2w_plus_j():
    x = torch.arange(8.0).view(1, 8, 1, 1)  # two output channels of four sub-pixels each
    out = F.pixel_shuffle(x, 2)
    assert out.shape == (1, 2, 2, 2)
    assert out[0, 0].tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert out[0, 1].tolist() == [[4.0, 5.0], [6.0, 7.0]]
    # the upsampling block: conv (here the identity on 1 -> 4 channels), shuffle, PReLU (0.25)
    block = SubPixelUpsample(1)
    with torch.no_grad():
        block.conv.weight.zero_()
        block.conv.bias.zero_()
        for c in range(4):
            block.conv.weight[c, 0, 1, 1] = 1.0  # centre tap: channel c copies the input
    image = torch.tensor([[[[1.0, -2.0]]]])
    assert block(image)[0, 0].tolist() == [[1.0, 1.0, -0.5, -0.5], [1.0, 1.0, -0.5, -0.5]]


def test_parameter_counts_at_the_papers_settings_match_the_layer_list():
    # Fig. 4 with Lornatang/SRGAN-PyTorch's choices: PReLU one slope, no conv bias before BN.
    head = 3 * 64 * 81 + 64 + 1                         # k9n64s1 + PReLU
    block = 2 * 64 * 64 * 9 + 2 * 2 * 64 + 1           # 2 x k3n64s1 (no bias), 2 BN, PReLU
    body_end = 64 * 64 * 9 + 2 * 64                     # k3n64s1 + BN
    upsample = 64 * 256 * 9 + 256 + 1                   # k3n256s1 + PReLU
    tail = 64 * 3 * 81 + 3                              # k9n3s1
    assert head + 16 * block + body_end + 2 * upsample + tail == 1_547_350
    assert sum(p.numel() for p in SRResNet(4, 64, 16).parameters()) == 1_547_350
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512),
             (512, 512)]
    weights = sum(i * o * 9 for i, o in convs) + 64     # only the first conv has a bias
    norms = sum(2 * o for _, o in convs[1:])
    dense = 512 * 6 * 6 * 1024 + 1024 + 1024 + 1        # 96 / 16 = 6
    assert weights + norms + dense == 23_563_649
    assert sum(p.numel() for p in SRGANDiscriminator(96, 64).parameters()) == 23_563_649


def test_srresnet_shapes_scales_and_bad_arguments():
    for scale, blocks in ((2, 1), (4, 2), (8, 3)):
        net = SRResNet(scale, width=4, blocks=1)
        assert len(net.upsample) == blocks
        assert net(torch.zeros(2, 3, 5, 7)).shape == (2, 3, 5 * scale, 7 * scale)
    with pytest.raises(ValueError, match="power of two"):
        SRResNet(3)
    with pytest.raises(ValueError, match="multiple of 16"):
        SRGANDiscriminator(40)
    critic = SRGANDiscriminator(16, width=4)
    assert critic(torch.zeros(3, 3, 16, 16)).shape == (3, 1)
    with pytest.raises(ValueError, match="judges 16x16"):
        critic(torch.zeros(1, 3, 32, 32))


# ---------------------------------------------------------------------------- VGG19


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A stand-in for torchvision's vgg19-dcbb9e9d.pth: random weights of the right shapes
    (the ``features.*`` entries; the classifier is never used), in a torch hub cache."""
    home = tmp_path_factory.mktemp("torch_home")
    path = home / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    path.parent.mkdir(parents=True)
    generator = torch.Generator().manual_seed(0)
    state = {f"features.{name}": 0.02 * torch.randn(value.shape, generator=generator)
             for name, value in _vgg19_features().state_dict().items()}
    torch.save(state, path)
    return path


def test_vgg_layers_are_named_as_the_papers():
    names = layer_names(_vgg19_features())
    assert len(names) == 37
    assert (names[0], names[1], names[4], names[8], names[35], names[36]) == (
        "conv1_1", "relu1_1", "pool1", "relu2_2", "relu5_4", "pool5")


def test_vgg19_loads_from_a_path_or_the_hub_cache_and_refuses_in_one_line(
        vgg_file, tmp_path, monkeypatch):
    features = load_vgg19(vgg_file)
    assert not any(p.requires_grad for p in features.parameters())
    state = torch.load(vgg_file, weights_only=True)
    assert torch.equal(features[34].weight, state["features.34.weight"])
    monkeypatch.setenv("TORCH_HOME", str(vgg_file.parent.parent.parent))
    assert torch.equal(load_vgg19(None)[0].weight, state["features.0.weight"])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ValueError, match="no VGG19 weights") as error:
        load_vgg19(None, download=False, key="model.vgg_weights")
    message = str(error.value)
    assert "\n" not in message and "vgg19-dcbb9e9d.pth" in message and str(tmp_path) in message
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, wrong)
    with pytest.raises(ValueError, match="is not a VGG19 weights file of torchvision") as error:
        load_vgg19(wrong)
    assert "\n" not in str(error.value)


def test_vgg_features_normalise_with_imagenet_statistics(vgg_file):
    features = load_vgg19(vgg_file)
    # an image at the ImageNet mean (in [-1, 1]) normalises to 0: conv1_1 gives its bias
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    at_mean = (2 * mean - 1).expand(1, 3, 4, 4)
    (conv,) = VGGFeatures(features, ["conv1_1"])(at_mean)
    bias = features[0].bias.view(1, -1, 1, 1).expand_as(conv)
    assert torch.allclose(conv, bias, atol=1e-6)
    # relu5_4 (VGG54) and relu2_2 (VGG22) are features[:36] and features[:9] of the input
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    vgg22, vgg54 = VGGFeatures(features, ["relu2_2", 35])(x)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    normalised = ((x + 1) / 2 - mean) / std
    assert torch.allclose(vgg54, features[:36](normalised), atol=1e-5)
    assert torch.allclose(vgg22, features[:9](normalised), atol=1e-5)
    with pytest.raises(ValueError, match="not one of"):
        VGGFeatures(features, ["relu6_1"])


def test_content_losses_by_hand():
    fake, real = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    real[0, 0, 0, 0] = 3.0
    assert mse_content_loss(fake, real).item() == pytest.approx((11 + 9) / 12)
    identity = lambda x: [x]  # noqa: E731 - feature maps = the images
    assert vgg_content_loss(identity, fake, 12.75 * torch.ones_like(fake)).item() == \
        pytest.approx(1.0)
    two_maps = lambda x: [x, 2 * x]  # noqa: E731
    assert vgg_content_loss(two_maps, fake, torch.ones_like(fake), scale=1.0,
                            weights=[1.0, 0.5]).item() == pytest.approx(1.0 + 0.5 * 4.0)


# ---------------------------------------------------------------------------- metrics


def test_y_channel_is_bt601_and_the_border_is_cropped():
    rgb = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    y = rgb_to_y(rgb.view(1, 3, 1, 4)).flatten().tolist()
    assert y == pytest.approx([16 + 65.481, 16 + 128.553, 16 + 24.966, 235.0])
    assert rgb_to_y(torch.zeros(1, 1, 1, 1)).item() == 16.0  # grey is R = G = B
    grid = torch.arange(36.0).view(1, 1, 6, 6)
    assert shave(grid, 2).flatten().tolist() == [14.0, 15.0, 20.0, 21.0]
    # PSNR on Y: one interior pixel off by dY = 10 of the 4 x 4 left after a 2-pixel border
    hr = torch.full((1, 3, 8, 8), 0.5)
    sr = hr.clone()
    sr[..., 3, 4] += 10 / 219  # grey g -> Y = 16 + 219 g
    assert psnr_y(sr, hr, 2).item() == pytest.approx(10 * math.log10(255**2 / (100 / 16)),
                                                     abs=1e-3)
    border_only = hr.clone()
    border_only[..., 0, :] = 1.0
    assert torch.isinf(psnr_y(border_only, hr, 2)).all()  # the border does not count
    image = torch.rand(2, 3, 16, 16)
    assert ssim_y(image, image, 2).tolist() == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="at least 11 pixels"):
        ssim_y(image, image, 4)


def test_high_frequency_ratio_counts_only_what_the_lr_image_cannot_hold():
    # Along x: a low frequency (2 cycles in 32 px) and a high one (8 cycles); scale 4 keeps up
    # to 1/8 cycle per pixel (4 cycles). A periodic Hann window spreads each over its two
    # neighbouring bins only, so the split is exact.
    x = torch.arange(32.0)
    low = 0.1 * torch.cos(2 * math.pi * 2 * x / 32)
    high = 0.1 * torch.cos(2 * math.pi * 8 * x / 32)
    image = lambda row: (0.5 + row).view(1, 1, 1, 32).expand(1, 3, 32, 32)  # noqa: E731
    hr = image(low + high)
    assert high_frequency_ratio(image(low + 0.5 * high), hr, 4).item() == pytest.approx(0.25)
    assert high_frequency_ratio(image(low), hr, 4).item() == pytest.approx(0.0, abs=1e-12)
    assert high_frequency_ratio(image(2 * low + high), hr, 4).item() == pytest.approx(1.0)


def test_lpips_runs_with_a_stand_in_backbone_and_refuses_without(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ValueError, match="squeezenet1_1-b8a52dc0.pth") as error:
        SuperResolutionQuality(lpips="squeeze")
    assert "\n" not in str(error.value)
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(torchvision.models.squeezenet1_1().state_dict(),
               tmp_path / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth")
    metric = SuperResolutionQuality(lpips="squeeze")._lpips
    image = torch.rand(1, 3, 32, 32)
    assert metric(image, image).item() == pytest.approx(0.0, abs=1e-6)
    assert metric(image, torch.rand(1, 3, 32, 32)).item() > 0


# ---------------------------------------------------------------------------- data


def test_photo_crops_pair_bicubic_lr_with_hr_and_evaluate_on_held_out_photos():
    data = PhotosSRDataModule(scale=4, crop_size=16, batch_size=4, repeats=2)
    assert data.batch_kind == "super-resolution"
    assert set(data.train_set.images.names).isdisjoint(data.eval_images.names)
    lr, hr = next(iter(data.train_dataloader()))
    assert lr.shape == (4, 3, 4, 4) and hr.shape == (4, 3, 16, 16)
    pixels = ((hr[0] + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    expected = torch.from_numpy(bicubic_downscale(pixels, 4).copy()).permute(2, 0, 1)
    assert torch.equal(((lr[0] + 1) * 127.5).round().byte(), expected)
    # crops are a function of (seed, epoch, position): the same index gives the same crop
    index = data.train_set.epoch_indices(torch.Generator().manual_seed(1))[0]
    assert torch.equal(data.train_set[index][1], data.train_set[index][1])
    lr_eval, hr_eval = data.eval_pairs()[0]  # chelsea, 300 x 451: cropped to 300 x 448
    assert data.eval_pairs().names[0] == "chelsea"
    assert hr_eval.shape == (3, 300, 448) and lr_eval.shape == (3, 75, 112)


def _write(folder, names, size=(40, 30)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(names))
    for name in names:
        Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(
            folder / name)


def test_folders_div2k_and_benchmarks_layouts_and_one_line_errors(tmp_path, monkeypatch):
    _write(tmp_path / "DIV2K" / "DIV2K_train_HR", ["0001.png", "0002.png", "0003.png"])
    _write(tmp_path / "DIV2K" / "DIV2K_valid_HR", ["0801.png"])
    # the SelfExSR packaging: only the *_HR images are the benchmark's
    _write(tmp_path / "Set5" / "image_SRF_2",
           ["img_001_SRF_2_HR.png", "img_001_SRF_2_LR.png", "img_001_SRF_2_bicubic.png"])
    (tmp_path / "DIV2K" / "DIV2K_train_HR" / "0004.png").write_text("not an image")
    common = dict(root=str(tmp_path), download=False, scale=2, crop_size=16, batch_size=2)
    with pytest.warns(UnreadableImageWarning, match="0004.png"):
        div2k = DIV2KDataModule(**common)
    assert len(div2k.train_set) == 3 and div2k.eval_pairs()[0][1].shape == (3, 30, 40)
    set5 = DIV2KDataModule(**common, eval_set="Set5")
    assert set5.eval_pairs().names == ["img_001_SRF_2_HR.png"]
    folders = SRFolderDataModule(str(tmp_path / "DIV2K"), str(tmp_path / "Set5"), scale=2,
                                 crop_size=16, batch_size=2)
    assert len(folders.train_set) == 4  # the DIV2K folders' images (recursive)

    def offline(url, root):
        raise OSError("network is unreachable")

    monkeypatch.setattr(sr_data, "download_archive", offline)
    errors = [
        (dict(common, root=str(tmp_path / "empty"), download=True), "DIV2K_train_HR.zip"),
        (dict(common, eval_set="Set14"), "put the Set14 HR images there"),
        (dict(common, crop_size=64), "no training image"),
        (dict(common, crop_size=15), "multiple of data.scale"),
        (dict(common, eval_set="Urban100"), "data.eval_set='Urban100'"),
        (dict(common, train_path=str(tmp_path / "nowhere")), "no such folder"),
    ]
    for kwargs, message in errors:
        with pytest.raises(ValueError, match=message) as error:
            DIV2KDataModule(**kwargs)
        assert "\n" not in str(error.value)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match="no images there"):
        SRFolderDataModule(str(tmp_path / "nothing"), str(tmp_path / "Set5"), scale=2,
                           crop_size=16, batch_size=2)


# ---------------------------------------------------------------------------- the scheme


def test_stage_schedule_learning_rate_and_update_order(tmp_path):
    cfg = make_cfg(tmp_path, *TINY, "model.pretrain_iterations=3", "iterations=9")
    module = build_module(cfg)
    assert [s.name for s in module.stages()] == ["pretrain", "adversarial"]
    assert [p.name for p in module.phases() if module.runs_now(p)] == ["Gpre"]
    module.stage = 1
    assert [p.name for p in module.phases() if module.runs_now(p)] == ["Dmain", "Gmain"]  # D, G
    # D's schedule counts the iterations of the stage D trains in: the same decay point
    d_schedule = SRGANLearningRate(9, 3, 0.5, 0.1, adversarial_only=True)
    assert [d_schedule(i) for i in range(6)] == [1.0] * 3 + [0.1] * 3
    # lr 1e-4 for [0, 6), 1e-5 from halfway through the adversarial stage [3, 9)
    schedule = SRGANLearningRate(9, 3, 0.5, 0.1)
    assert [schedule(i) for i in range(9)] == [1.0] * 6 + [0.1] * 3
    # eq. 3: content + 1e-3 * (-log D(G(x)))
    batch = (torch.rand(2, 3, 8, 8) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1)
    terms = module.generator_step(batch)
    expected = terms["loss/g_content"] + 1e-3 * terms["loss/g_adv"]
    assert terms["loss/g"].item() == pytest.approx(expected.item())
    scores = module.discriminator(module.generator(batch[0]))
    assert terms["loss/g_adv"].item() == pytest.approx(F.softplus(-scores).mean().item(),
                                                       rel=1e-5)
    srresnet = build_module(make_cfg(tmp_path, *TINY[1:], "model=srresnet"))
    assert list(srresnet.optimizer_groups()) == ["generator"]
    srresnet.iteration = 10**6
    assert [p.name for p in srresnet.phases()] == ["Gpre"]


def test_srgan_trains_on_the_embedded_photos_then_translates_from_the_checkpoint(tmp_path):
    objective = run(make_cfg(tmp_path / "run", *TINY, "iterations=4",
                             "model.pretrain_iterations=2", "eval=super_resolution",
                             "eval.every=4", "callbacks.samples.every=4"))
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert objective == results["sr/psnr_y"]
    for key in ("sr/ssim_y", "sr/hf_ratio", "sr/bicubic_psnr_y", "sr/bicubic_ssim_y"):
        assert key in results, key
    grid = Image.open(tmp_path / "run" / "samples" / "iter_0000004.png")
    assert grid.height > 3 * 24 > grid.height / 2  # LR, SR and HR rows of 24 px crops
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    state = torch.load(ckpt, weights_only=True)
    assert state["gan_lab"]["iteration"] == 4
    assert any(k.startswith("discriminator.") for k in state["state_dict"])

    inputs = tmp_path / "lr"
    inputs.mkdir()
    Image.new("RGB", (9, 7), (200, 30, 30)).save(inputs / "odd.png")
    Image.new("L", (6, 5), 90).save(inputs / "grey.jpg")
    out = tmp_path / "sr"
    translated = run_cli(f"ckpt={ckpt}", f"input={inputs}", f"out={out}", cwd=tmp_path,
                         module="gan_lab.translate")
    assert translated.returncode == 0, translated.stderr[-3000:]
    assert Image.open(out / "odd.png").size == (18, 14)  # x2
    assert Image.open(out / "grey.png").size == (12, 10)


def test_resume_in_the_srresnet_stage_crosses_into_srgan_exactly(tmp_path):
    common = [*TINY, "model.pretrain_iterations=3", "callbacks.samples=null",
              "callbacks.checkpoint.every_n_iterations=2", "optim.schedulers.generator.iterations=6"]
    train(tmp_path / "straight", *common, "iterations=6")
    train(tmp_path / "stopped", *common, "iterations=2")  # stopped in the SRResNet stage
    stopped = tmp_path / "stopped" / "checkpoints" / "last.ckpt"
    train(tmp_path / "resumed", *common, "iterations=6", f"ckpt_path={stopped}")
    straight = tmp_path / "straight" / "checkpoints" / "last.ckpt"
    resumed = tmp_path / "resumed" / "checkpoints" / "last.ckpt"
    assert_same_training_state(straight, resumed)
    one, two = (torch.load(p, weights_only=True) for p in (straight, resumed))
    assert one["lr_schedulers"] == two["lr_schedulers"]
    assert one["optimizer_states"][1]["state"]  # D was trained: the run crossed into SRGAN


def test_vgg54_content_loads_the_frozen_vgg_and_keeps_it_out_of_checkpoints(tmp_path, vgg_file):
    run(make_cfg(tmp_path / "vgg", *TINY, "model.content=vgg54", f"model.vgg_weights={vgg_file}",
                 "iterations=2", "model.pretrain_iterations=1", "callbacks.samples=null"))
    state = torch.load(tmp_path / "vgg" / "checkpoints" / "last.ckpt", weights_only=True)
    assert not any("frozen" in key or "vgg" in key for key in state["state_dict"])
    with pytest.raises(ConfigError, match="model.vgg_weights: no VGG19 weights") as error:
        run(make_cfg(tmp_path / "missing", *TINY, "model.content=vgg54",
                     f"model.vgg_weights={tmp_path / 'none.pth'}"))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("overrides", "message"), [
    ([*TINY, "model.discriminator.image_size=32"],
     "data.crop_size=16: the discriminator judges 32x32"),
    ([*TINY, "model.generator.scale=4"], "data.scale=2: the generator upscales 4x"),
    ([*TINY, "model.content=vgg11"], "model.content='vgg11'"),
    (["model=srgan", "data=digits"], "data.scale"),  # the nets read data.scale, data.crop_size
    (["model=pix2pix", "data=photos_sr"], "data.channels_a"),
])
def test_mismatched_model_data_and_eval_fail_with_one_line(tmp_path, overrides, message):
    with pytest.raises((ConfigError, ValueError), match=message) as error:
        run(make_cfg(tmp_path, *overrides, *QUIET))
    assert "\n" not in str(error.value)


def test_check_data_refuses_data_that_is_not_lr_hr_pairs(tmp_path):
    from gan_lab.data import DigitsDataModule

    module = build_module(make_cfg(tmp_path, *TINY))
    with pytest.raises(ValueError, match="learns from \\(LR, HR\\) image pairs, but the data "
                                         "gives samples; use a super-resolution set"):
        module.check_data(DigitsDataModule(image_size=8, batch_size=4))


def test_super_resolution_eval_refuses_other_data():
    with pytest.raises(ValueError, match="use an SR data set"):
        SuperResolutionQuality().prepare(object())

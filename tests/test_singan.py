"""SinGAN: the pyramid and widths against the official formulas, parameter counts of the official
nets, the noise amplitudes, the pixelwise gradient penalty, sampling at other sizes, injection,
SIFID and diversity, bad inputs, and exact resume across scales."""

from __future__ import annotations

import json
import math

import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from gan_lab.config import ConfigError
from gan_lab.data.single_image.image import SingleImageDataModule, source_size
from gan_lab.loading import load_module
from gan_lab.losses import AdversarialLoss
from gan_lab.metrics.sifid import (
    InceptionStem,
    SIFIDFeatures,
    diversity,
    random_stem,
    sifid,
)
from gan_lab.models.singan import PerScaleStep, SinGAN, pixelwise_gradient_penalty
from gan_lab.nets.singan import (
    SinGANDiscriminator,
    SinGANGenerator,
    fit_to_max_size,
    pyramid_geometry,
    resize,
    scale_widths,
)
from gan_lab.train import run
from gan_lab.translate import translation_options
from tests.conftest import make_cfg, run_cli, train

QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false"]
# The rocket photo scaled to 17x24, three scales (12x17, 15x21, 17x24), 4-channel nets.
TINY = ["model=singan", "data.max_size=24", "model.min_size=12", "model.nfc=4", "model.min_nfc=4",
        "callbacks.health=null", *QUIET]


def tiny_singan(source: tuple[int, int] = (16, 24), **options) -> SinGAN:
    """A SinGAN of a 16x24 image: scales 12x18, 14x21, 16x24 (see the pyramid test)."""
    settings = {"max_size": 24, "min_size": 12, "nfc": 4, "min_nfc": 4, **options}
    return SinGAN(AdversarialLoss("wasserstein", gp_weight=0.1), source_size=source,
                  optimizers={}, **settings)


def params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def identity_generators(module: SinGAN, scales=None) -> None:
    """Zero the last conv of these generators: G(z, x) = tanh(0) + x = x, whatever the noise."""
    for scale in range(module.num_scales) if scales is None else scales:
        torch.nn.init.zeros_(module.generator[scale].tail[0].weight)
        torch.nn.init.zeros_(module.generator[scale].tail[0].bias)


# ----------------------------------------------------------------------------- the pyramid
@pytest.mark.parametrize(("source", "min_size", "max_size", "factor", "sizes"), [
    # 427x640 (the rocket), official settings: num_scales = ceil(log_.75(25/427)) + 1 =
    # ceil(9.86) + 1 = 11; scale2stop = ceil(log_.75(250/640)) = ceil(3.27) = 4; stop_scale = 7.
    # The image: ceil(427 * 250/640) = ceil(166.8) = 167 x 250; r = (25/167)^(1/7) = 0.762386;
    # scale n: ceil(side * r^(7-n)), e.g. n=1: 167 * r^6 = 32.8 -> 33, 250 * r^6 = 49.1 -> 50.
    ((427, 640), 25, 250, 0.762386,
     [(25, 38), (33, 50), (44, 65), (57, 85), (75, 111), (98, 146), (128, 191), (167, 250)]),
    # 250x250: num_scales = ceil(log_.75(0.1)) + 1 = ceil(8.004) + 1 = 10; scale2stop = 0, so 11
    # scales; r = 0.1^(1/10) = 0.794328; 250 r^9 = 31.5 -> 32, 250 r^8 = 39.6 -> 40, ...
    ((250, 250), 25, 250, 0.794328,
     [(25, 25), (32, 32), (40, 40), (50, 50), (63, 63), (80, 80), (100, 100), (126, 126),
      (158, 158), (199, 199), (250, 250)]),
    # 24x20, min 12, max 24 (kept at its size): num_scales = ceil(log_.75(0.6)) + 1 =
    # ceil(1.78) + 1 = 3, stop_scale = 3; r = 0.6^(1/3) = 0.843433; 24 * 0.6 = 14.4 -> 15,
    # 20 * 0.6 = 12; 24 r^2 = 17.1 -> 18, 20 r^2 = 14.2 -> 15; 24 r = 20.2 -> 21, 20 r = 16.9 -> 17.
    ((24, 20), 12, 24, 0.843433, [(15, 12), (18, 15), (21, 17), (24, 20)]),
])
def test_pyramid_follows_the_official_adjust_scales2image(source, min_size, max_size, factor,
                                                           sizes):
    geometry = pyramid_geometry(*source, min_size=min_size, max_size=max_size)
    assert geometry.scale_factor == pytest.approx(factor, abs=1e-6)
    assert list(geometry.sizes) == sizes
    assert fit_to_max_size(427, 640, 250) == (167, 250)
    assert fit_to_max_size(100, 80, 250) == (100, 80)  # never enlarged


def test_widths_double_every_four_scales_up_to_128():
    assert [scale_widths(n)[0] for n in range(13)] == [32] * 4 + [64] * 4 + [128] * 5
    assert scale_widths(5, nfc=32, min_nfc=16) == (64, 32)


def test_parameter_counts_of_a_scale_at_the_official_settings():
    # models.py at nfc = min_nfc = 32: head ConvBlock(3, 32) = 3*32*9 + 32 (conv) + 2*32 (BN) =
    # 960; three body blocks ConvBlock(32, 32) = 32*32*9 + 32 + 64 = 9312 each; G's tail
    # Conv(32, 3) = 32*3*9 + 3 = 867, D's tail Conv(32, 1) = 289.
    assert params(SinGANGenerator(3, 32, 32)) == 960 + 3 * 9312 + 867 == 29763
    assert params(SinGANDiscriminator(3, 32, 32)) == 960 + 3 * 9312 + 289 == 29185
    # nfc 64 (scales 4-7): head 3*64*9 + 64 + 128 = 1920, blocks 64*64*9 + 64 + 128 = 37056.
    assert params(SinGANGenerator(3, 64, 64)) == 1920 + 3 * 37056 + (64 * 27 + 3) == 114819
    assert params(SinGANDiscriminator(3, 64, 64)) == 1920 + 3 * 37056 + (64 * 9 + 1) == 113665
    # nfc 128 (scale 8 on): head 3*128*9 + 128 + 256 = 3840, blocks 128*128*9 + 128 + 256.
    assert params(SinGANGenerator(3, 128, 128)) == 3840 + 3 * 147840 + (128 * 27 + 3) == 450819


def test_generator_is_residual_and_keeps_the_size_discriminator_scores_11px_patches():
    generator, critic = SinGANGenerator(3, 4, 4), SinGANDiscriminator(3, 4, 4)
    previous, noise = torch.rand(2, 3, 15, 12), torch.randn(2, 3, 15, 12)
    assert generator(noise, previous).shape == (2, 3, 15, 12)  # padded by 5 px first
    assert critic(previous).shape == (2, 1, 5, 2) and critic.receptive_field == 11
    torch.nn.init.zeros_(generator.tail[0].weight)
    torch.nn.init.zeros_(generator.tail[0].bias)
    assert torch.equal(generator(noise, previous), previous)  # tanh(0) + up(x_{n+1})


def test_per_scale_step_decay_restarts_at_each_scale():
    factor = PerScaleStep(2000, milestone=0.8, gamma=0.1)
    assert [factor(i) for i in (0, 1599, 1600, 1999, 2000, 3599, 3600)] == \
        [1.0, 1.0, 0.1, 0.1, 1.0, 1.0, 0.1]


def test_pixelwise_gradient_penalty_takes_the_norm_over_channels_per_pixel():
    # D(x) = w . x at each pixel: the gradient of the summed map is w at every pixel, so the
    # official penalty is (||w|| - 1)^2 = (5 - 1)^2 = 16 (a per-image norm would be 5 sqrt(HW)).
    weight = torch.tensor([3.0, 4.0, 0.0]).view(1, 3, 1, 1)

    def critic(x):
        return (x * weight).sum(1, keepdim=True)

    real, fake = torch.rand(1, 3, 6, 5), torch.rand(1, 3, 6, 5)
    assert float(pixelwise_gradient_penalty(critic, real, fake)) == pytest.approx(16.0)
    assert float(pixelwise_gradient_penalty(critic, real, fake, center=5.0)) == pytest.approx(0.0)


# ----------------------------------------------------------------------------- the schedule
def test_noise_amplitude_is_a_tenth_of_the_reconstruction_rmse():
    module = tiny_singan()
    assert module.sizes == ((12, 18), (14, 21), (16, 24))
    image = torch.full((1, 3, 16, 24), 0.5)
    module.start_scale(0, image)
    assert float(module.noise_amps[0]) == 1.0  # sigma at the coarsest
    # G_0 reconstructs a constant 0.2 (tail weights 0, bias atanh(0.2)): x_1 is 0.5 everywhere,
    # up(x^rec_0) is 0.2, so RMSE = 0.3 and sigma_1 = 0.1 * 0.3 = 0.03.
    torch.nn.init.zeros_(module.generator[0].tail[0].weight)
    torch.nn.init.constant_(module.generator[0].tail[0].bias, math.atanh(0.2))
    module.start_scale(1, image)
    assert float(module.noise_amps[1]) == pytest.approx(0.03, abs=1e-6)
    # scale 1 started from scale 0's weights (equal widths)
    for (name, a), b in zip(module.generator[1].state_dict().items(),
                            module.generator[0].state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert module.scale_started == 1


def test_a_scale_with_other_widths_starts_from_its_own_initialisation():
    module = tiny_singan(source=(64, 48), max_size=64, min_size=12)
    assert module.num_scales >= 6 and module.widths[3:5] == [4, 8]
    before = {k: v.clone() for k, v in module.generator[4].state_dict().items()}
    module.start_scale(4, torch.zeros(1, 3, 64, 48))
    after = module.generator[4].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


# ----------------------------------------------------------------------------- sampling
def test_samples_at_another_size_scale_every_scale_alike():
    module = tiny_singan()
    module.scale_started = 2
    sizes = module.sizes_for([16, 48])  # twice as wide: each scale's width doubles (rounded)
    assert sizes == ((12, 36), (14, 42), (16, 48))
    z = module.noise(3, torch.Generator().manual_seed(0), size=[16, 48])
    assert z.shape == (3, 1 * 12 * 36 + 3 * 14 * 42 + 3 * 16 * 48)
    maps = module.unflatten_noise(z, sizes)
    assert torch.equal(maps[0][:, 0], maps[0][:, 2])  # one noise channel at the coarsest
    assert module.sample(noise=z, size=[16, 48]).shape == (3, 3, 16, 48)
    assert module.sample(2).shape == (2, 3, 16, 24)
    with pytest.raises(ValueError, match="does not fit samples of 16x24") as error:
        module.sample(noise=z)  # codes drawn for another size
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="must be \\[height, width\\]"):
        module.sizes_for([16, 0])
    deep = tiny_singan(source=(64, 48), max_size=64)  # coarsest 17x13 of 64x48
    with pytest.raises(ValueError, match=r"size=\[1, 1\]: the coarsest scale would be 0x0"):
        deep.sizes_for([1, 1])


def test_generation_from_a_finer_scale_keeps_the_reconstructed_coarse_image():
    module = tiny_singan()
    module.scale_started = 2
    module.noise_amps.fill_(0.5)
    identity_generators(module, [1, 2])  # the finer scales pass their input on
    same = module.sample_from_scale(4, 1, torch.Generator().manual_seed(1))
    assert same.shape == (4, 3, 16, 24)
    assert diversity(same, same[0]) == 0.0  # all the reconstruction, upsampled
    assert torch.allclose(same[0], module.reconstruct()[0])
    varied = module.sample_from_scale(4, 0, torch.Generator().manual_seed(1))
    assert diversity(varied, same[0]) > 0.0
    with pytest.raises(ValueError, match=r"start_scale=3: must be in 0\.\.2"):
        module.sample_from_scale(2, 3)


def test_injection_replaces_the_coarser_image_at_the_chosen_scale():
    module = tiny_singan()
    module.scale_started = 2
    identity_generators(module)
    image = torch.rand(1, 3, 30, 40) * 2 - 1
    out = module.translate(image, "inject", scale=1)
    # Resized to the training size, to scale 0's size and up to scale 1's, then through the
    # (identity) finer scales: every step a bicubic resize clamped to [-1, 1].
    expected = resize(image, (16, 24)).clamp(-1, 1)
    for size in ((12, 18), (14, 21), (16, 24)):
        expected = resize(expected, size).clamp(-1, 1)
    assert torch.allclose(out, expected, atol=1e-6)
    module.generator[2].tail[0].bias.data.fill_(0.1)  # noise now matters at scale 2 ...
    module.noise_amps.fill_(0.3)
    torch.nn.init.normal_(module.generator[2].tail[0].weight, std=0.5)
    assert torch.equal(module.translate(image, "inject", scale=2),
                       module.translate(image, "inject", scale=2))  # ... but it is seeded
    for scale, message in ((0, "must be in 1..2"), (3, "must be in 1..2"), (None, "scale=null")):
        with pytest.raises(ValueError, match=message) as error:
            module.translate(image, "inject", scale=scale)
        assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="translates by inject"):
        module.translate(image, "AtoB", scale=1)
    with pytest.raises(ValueError, match=r"takes \(N, 3, H, W\)"):
        module.translate(image[:, :1], "inject", scale=1)


# ----------------------------------------------------------------------------- SIFID
def test_diversity_and_sifid_on_hand_made_examples():
    # Each pixel takes the values 0 and 2 over the two samples: std 1; the real image's pixels
    # are half 0, half 2: std 1.
    samples = torch.stack([torch.zeros(1, 2, 2), torch.full((1, 2, 2), 2.0)])
    real = torch.tensor([[[0.0, 2.0], [2.0, 0.0]]])
    assert diversity(samples, real) == pytest.approx(1.0)
    # SIFID of Gaussians: means 0 and 1 in each of 2 dims, equal covariances -> ||mu||^2 = 2.
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 2, generator=g, dtype=torch.float64)
    assert sifid(a, a) == pytest.approx(0.0, abs=1e-9)
    assert sifid(a, a + 1.0) == pytest.approx(2.0, abs=1e-6)


def test_sifid_features_use_inception_weights_when_present(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # an empty hub cache
    with pytest.raises(ValueError, match="inception_v3_google-0cc3c7bd.pth") as error:
        SIFIDFeatures("inception").prepare()
    assert "\n" not in str(error.value)
    fallback = SIFIDFeatures("auto")
    fallback.prepare()
    assert fallback.name == "random"
    # A stand-in weights file with torchvision's names: the stem's features come from it.
    stand_in = random_stem(192, seed=7)
    for index, bn in enumerate(m for m in stand_in.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.fill_(0.01 * index)
    weights = tmp_path / "inception.pth"
    torch.save({f"{k}": v for k, v in stand_in.state_dict().items()
                if not k.endswith("num_batches_tracked")}, weights)
    features = SIFIDFeatures("inception", weights=str(weights))
    images = torch.rand(2, 3, 40, 36) * 2 - 1
    maps = features(images)
    assert features.name == "inception" and len(maps) == 2
    eight_bit = torch.round((images + 1) * 127.5) / 127.5 - 1  # read as the official reads PNGs
    with torch.no_grad():
        expected = stand_in(eight_bit)  # 40x36 -> 19x17 -> 17x15 -> pool 8x7 -> 6x5 positions
    assert maps[0].shape == (6 * 5, 192)
    assert torch.allclose(maps[1], expected[1].flatten(1).t().double(), atol=1e-4)
    text = tmp_path / "notes.pth"
    text.write_text("not weights")
    with pytest.raises(ValueError, match="eval.sifid_weights: .*notes.pth is not a") as error:
        SIFIDFeatures("auto", weights=str(text)).prepare()
    assert "\n" not in str(error.value)
    assert isinstance(InceptionStem(64)(images), torch.Tensor)


# ----------------------------------------------------------------------------- data
def test_single_image_data_reads_a_file_and_scales_it_like_the_official(tmp_path):
    file = tmp_path / "photo.png"
    Image.new("RGB", (640, 427), (255, 0, 0)).save(file)
    data = SingleImageDataModule(path=str(file), max_size=250)
    assert data.source_size == source_size(path=str(file)) == (427, 640)
    assert data.image.shape == (3, 167, 250) and data.image_shape == (167, 250)
    assert torch.allclose(data.image[:, 10, 10], torch.tensor([1.0, -1.0, -1.0]))
    batch = next(iter(data.train_dataloader()))
    assert batch[0].shape == (1, 3, 167, 250)
    grey = SingleImageDataModule(photo="camera", max_size=32, channels=1)
    assert grey.image.shape == (1, 32, 32)


@pytest.mark.parametrize(("options", "message"), [
    ({"path": "/no/such/file.png"}, "data.path='/no/such/file.png': no such file"),
    ({"path": "."}, "is a folder"),
    ({"path": None, "photo": None}, "both null"),
    ({"path": None, "photo": "moonlight"}, "data.photo='moonlight': not one of"),
    ({"max_size": 0}, "data.max_size=0"),
])
def test_bad_data_options_fail_in_one_line(options, message):
    with pytest.raises(ValueError, match=message) as error:
        SingleImageDataModule(**options)
    assert "\n" not in str(error.value)


def test_an_unreadable_image_file_fails_in_one_line(tmp_path):
    file = tmp_path / "broken.jpg"
    file.write_text("not an image")
    with pytest.raises(ValueError, match="not an image PIL can read") as error:
        SingleImageDataModule(path=str(file))
    assert "\n" not in str(error.value)
    assert source_size(path=str(file)) is None  # a checkpoint supplies the size then


def test_model_options_that_cannot_work_fail_in_one_line(tmp_path):
    with pytest.raises(ValueError, match="model.min_size=8: the coarsest scale is 8x12"):
        tiny_singan(min_size=8)
    with pytest.raises(ValueError, match=r"below the training image's \(8 px: a 30x1000 image"):
        pyramid_geometry(30, 1000)  # 250 px long: 8 px short, under the 25 px coarsest side
    with pytest.raises(ValueError, match="model.gp_norm='sample'"):
        tiny_singan(gp_norm="sample")
    with pytest.raises(ConfigError, match="data=single_image") as error:
        run(make_cfg(tmp_path, "model=singan", "data=digits"))
    assert "\n" not in str(error.value)


# ----------------------------------------------------------------------------- end to end
def test_resume_mid_scale_and_on_a_scale_boundary_is_exact(tmp_path):
    common = [*TINY, "model.iterations_per_scale=3", "callbacks.samples=null"]
    train(tmp_path / "straight", *common, "iterations=5")
    train(tmp_path / "cut", *common, "iterations=2")        # stopped inside scale 0
    last = tmp_path / "cut" / "checkpoints" / "last.ckpt"
    train(tmp_path / "cut", *common, "iterations=3", f"ckpt_path={last}")  # on the boundary
    boundary = torch.load(last, weights_only=True)
    assert boundary["gan_lab"]["scale_started"] == 0 and boundary["gan_lab"]["iteration"] == 3
    train(tmp_path / "cut", *common, "iterations=5", f"ckpt_path={last}")  # into scale 1
    straight = torch.load(tmp_path / "straight" / "checkpoints" / "last.ckpt", weights_only=True)
    resumed = torch.load(last, weights_only=True)
    assert straight["gan_lab"]["scale_started"] == resumed["gan_lab"]["scale_started"] == 1
    assert float(straight["state_dict"]["noise_amps"][1]) > 0
    for key, value in straight["state_dict"].items():  # all scales' nets, sigma_n, z*
        assert torch.equal(value, resumed["state_dict"][key]), key
    for opt_a, opt_b in zip(straight["optimizer_states"], resumed["optimizer_states"],
                            strict=True):
        assert opt_a["state"].keys() == opt_b["state"].keys()
        for index, state in opt_a["state"].items():
            for name, tensor in state.items():
                assert torch.equal(tensor, opt_b["state"][index][name]), (index, name)
    assert straight["lr_schedulers"] == resumed["lr_schedulers"]
    assert straight["state_dict"]["source_hw"].tolist() == [427, 640]


def test_training_scores_and_the_commands_work_from_the_checkpoint_alone(tmp_path):
    run_dir = tmp_path / "run"
    train(run_dir, *TINY, "model.iterations_per_scale=2", "data.max_size=40", "eval=singan",
          "eval.metrics.singan.extractor.features=random", "eval.metrics.singan.num_samples=3",
          "eval.metrics.singan.start_scales=[0,1]", "callbacks.samples.every=2")
    results = json.loads((run_dir / "results.json").read_text())
    # 40 px: the rocket at 27x40; scale2stop = ceil(log_.75(40/640)) = ceil(9.64) = 10 and
    # num_scales = ceil(log_.75(12/427)) + 1 = 14: five scales of 2 iterations, then it stops.
    assert results["iteration"] == 10
    for key in ("singan/sifid_random_from0", "singan/sifid_random_from1",
                "singan/diversity_from0", "singan/diversity_from1"):
        assert math.isfinite(results[key]) and results[key] >= 0, key
    assert (run_dir / "eval" / "final_from1.png").is_file()
    assert (run_dir / "samples" / "reconstruction_iter_0000010.png").is_file()
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    sampled = run_cli(f"ckpt={ckpt}", "n=2", "options.size=[30,70]", "interpolation_rows=1",
                      "interpolation_steps=2", f"out={tmp_path / 'samples'}", cwd=tmp_path,
                      module="gan_lab.sample")
    assert sampled.returncode == 0, sampled.stderr[-2000:]
    assert Image.open(tmp_path / "samples" / "images" / "000001.png").size == (70, 30)
    # The translate command's path (gan_lab.translate.main), in this process: the checkpoint
    # alone (the data's image renamed away), the option the model names, the default reader.
    moved = tmp_path / "elsewhere"
    module, _ = load_module(ckpt)
    assert module.sizes[-1] == (27, 40) and module.top_scale == 4
    options = translation_options(module, OmegaConf.create({"options": {"scale": 2}}))
    paint = module.translation_input(Image.new("RGB", (50, 31), (90, 140, 200)), "inject")
    assert module.translate(paint, "inject", **options).shape == (1, 3, 27, 40)
    with pytest.raises(ConfigError, match=r"options.mask='m.png': a SinGAN does not take mask "
                                          r"\(its translate options: options.scale\)"):
        translation_options(module, OmegaConf.create({"options": {"mask": "m.png", "scale": 2}}))
    image = tmp_path / "photo.png"  # a model of a file that is gone rebuilds from the checkpoint
    Image.new("RGB", (60, 45), (10, 200, 30)).save(image)
    train(tmp_path / "file_run", *TINY, f"data.path={image}", "model.iterations_per_scale=1",
          "callbacks.samples=null")
    image.rename(moved)
    file_module, cfg = load_module(tmp_path / "file_run" / "checkpoints" / "last.ckpt")
    assert cfg.data.path == str(image) and file_module.source_size == (45, 60)
    assert file_module.sample(2).shape == (2, 3, 18, 24)  # 45x60 at data.max_size=24

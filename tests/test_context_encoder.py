"""Context encoders (Pathak et al. 2016): the masked losses and masks on tiny inputs, the
channel-wise fully connected layer, parameter counts at the official settings, the inpainting
metrics, the data sets, the scheme (update order, translate with masks), training end to end with
exact resume, the translate command, and the one-line errors for bad inputs."""

from __future__ import annotations

import json
import math

import pytest
import torch
from PIL import Image

from gan_lab.config import ConfigError
from gan_lab.data.samples.inpainting import (
    InpaintingFolderDataModule,
    ParisStreetViewDataModule,
    PhotoCropsDataModule,
    grid_crops,
    split_photo,
)
from gan_lab.losses import AdversarialLoss
from gan_lab.losses.masked import (
    center_mask,
    context_weights,
    overlap_weights,
    random_block_masks,
    random_region_masks,
    weighted_l2,
)
from gan_lab.metrics.inpainting import gradient_energy, hole_errors, laplacian_energy
from gan_lab.models.context_encoder import ContextEncoder
from gan_lab.nets.context_encoder import (
    ChannelWiseFC,
    ContextEncoderDiscriminator,
    ContextEncoderGenerator,
)
from gan_lab.train import run
from tests.conftest import assert_same_training_state, make_cfg, run_cli, train

QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false"]
# 16 px crops of the embedded photos, 8 px hole, 4-channel nets: about a second per run.
TINY_MODEL = ["model=context_encoder", "net_width=4", "data.image_size=16",
              "data.batch_size=4", "model.overlap=1", *QUIET]
TINY = [*TINY_MODEL, "data.train_crops=16"]


def _count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# ----------------------------------------------------------------------------- masks and loss
def test_center_mask_and_its_overlap_shrunk_input_hole():
    hole = center_mask(8, 4)
    assert hole[0, 0].nonzero().tolist() == [[r, c] for r in range(2, 6) for c in range(2, 6)]
    inner = center_mask(8, 4, overlap=1)  # train.lua fills the hole shrunk by overlapPred
    assert inner[0, 0].nonzero().tolist() == [[3, 3], [3, 4], [4, 3], [4, 4]]


def test_weighted_l2_puts_ten_times_the_weight_on_the_overlap_border():
    # A 4x4 predicted centre with a 1-pixel overlap: 12 border pixels at weight 10, 4 inside.
    weights = overlap_weights(4, 1, 10.0)
    assert weights[0, 0].tolist() == [[10, 10, 10, 10], [10, 1, 1, 10], [10, 1, 1, 10],
                                      [10, 10, 10, 10]]
    target = torch.zeros(1, 1, 4, 4)
    prediction = torch.zeros(1, 1, 4, 4, requires_grad=True)
    with torch.no_grad():
        prediction[0, 0, 0, 0] = 0.5   # border: 10 * 0.25
        prediction[0, 0, 1, 1] = 2.0   # inside:  1 * 4
        prediction[0, 0, 2, 2] = -1.0  # inside:  1 * 1
    loss = weighted_l2(prediction, target, weights)
    assert loss.item() == pytest.approx((10 * 0.25 + 4.0 + 1.0) / 16)
    loss.backward()
    # train.lua: df_dg_l2 (2 (x - y) / N) times wtl2Matrix
    assert prediction.grad[0, 0, 0, 0].item() == pytest.approx(10 * 2 * 0.5 / 16)
    assert prediction.grad[0, 0, 1, 1].item() == pytest.approx(2 * 2.0 / 16)
    assert prediction.grad[0, 0, 3, 3].item() == 0.0


def test_context_weights_of_random_masks():
    masks = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    assert context_weights(masks, 10.0)[0, 0].tolist() == [[1, 10], [10, 1]]
    assert context_weights(masks, 0.0)[0, 0].tolist() == [[1, 0], [0, 1]]  # eq. (1): hole only
    # weighted over 3 channels: ((1 - 0)^2 * 1 + (3 - 0)^2 * 10) * 3 channels / 12 elements
    prediction = torch.tensor([[[[1.0, 3.0], [0.0, 0.0]]]]).expand(1, 3, 2, 2)
    loss = weighted_l2(prediction, torch.zeros(1, 3, 2, 2), context_weights(masks, 10.0))
    assert loss.item() == pytest.approx((1 + 90) * 3 / 12)


def test_random_blocks_cover_at_most_a_quarter_and_random_regions_a_fifth_to_three_tenths():
    generator = torch.Generator().manual_seed(0)
    blocks = random_block_masks(6, 32, 8, generator=generator)
    coverage = blocks.mean(dim=(1, 2, 3))
    assert bool((coverage > 0).all()) and bool((coverage <= 0.25).all())
    assert len({tuple(m.flatten().tolist()) for m in blocks}) == 6  # one draw per image
    regions = random_region_masks(6, 32, generator=torch.Generator().manual_seed(1))
    share = regions.mean(dim=(1, 2, 3))
    assert bool((share > 0.2).all()) and bool((share < 0.3).all())
    again = random_region_masks(6, 32, generator=torch.Generator().manual_seed(1))
    assert torch.equal(regions, again)  # a pure function of the generator
    assert set(regions.unique().tolist()) == {0.0, 1.0}


# ----------------------------------------------------------------------------- nets
def test_channel_wise_fc_connects_each_map_only_within_itself():
    layer = ChannelWiseFC(channels=2, size=2)
    assert _count(layer) == 2 * 2 ** 4  # m n^4 (a fully connected layer: m^2 n^4 = 128)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0] = torch.eye(4)                           # map 0: identity
        layer.weight[1, 0] = torch.tensor([1.0, 2.0, 3.0, 4.0])  # map 1: out[0] = 1a+2b+3c+4d
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[1.0, 1.0], [1.0, 2.0]]]])
    out = layer(x)
    assert out[0, 0].tolist() == [[1, 2], [3, 4]]
    assert out[0, 1].tolist() == [[1 + 2 + 3 + 8, 0], [0, 0]]
    changed = x.clone()
    changed[0, 0] += 5.0  # a change in map 0 never reaches map 1
    assert torch.equal(layer(changed)[0, 1], out[0, 1])


def _conv(c_in: int, c_out: int) -> int:
    return c_in * c_out * 16  # 4x4 kernels, no bias (train.lua zeroes every conv bias)


def test_parameter_counts_at_the_official_settings():
    # train.lua, 128 px crops, nef = ngf = ndf = 64, nBottleneck 4000, 3 channels, layer by layer
    # (BatchNorm: 2 per channel). With Torch's (zeroed) conv biases add 5,987 to G and 961 to D.
    encoder = (_conv(3, 64) + _conv(64, 64) + 2 * 64 + _conv(64, 128) + 2 * 128
               + _conv(128, 256) + 2 * 256 + _conv(256, 512) + 2 * 512)
    bottleneck = _conv(512, 4000) + 2 * 4000 + _conv(4000, 512) + 2 * 512
    decoder = (_conv(512, 256) + 2 * 256 + _conv(256, 128) + 2 * 128 + _conv(128, 64) + 2 * 64
               + _conv(64, 3))
    with torch.device("meta"):  # counts without allocating 71M weights
        official = ContextEncoderGenerator(128, 64, "center", bottleneck="conv")
        channel_fc = ContextEncoderGenerator(128, 64, "center", bottleneck="channel_fc")
        random = ContextEncoderGenerator(128, 64, "random_region", bottleneck="conv")
        critic = ContextEncoderDiscriminator(128, 64, "center")
    assert _count(official) == encoder + bottleneck + decoder == 71_124_544
    # sec. 3.1: 512 maps of 4x4, m n^4 = 131,072 weights, then a 1x1 convolution 512 -> 512
    assert _count(channel_fc) == (encoder + 512 * 4 ** 4 + 2 * 512 + 512 * 512 + 2 * 512
                                  + decoder) == 5_974_784
    # train_random.lua: a 128 px output needs one more 64 -> 64 up-convolution
    assert _count(random) == encoder + bottleneck + decoder + _conv(64, 64) + 2 * 64
    assert _count(critic) == (_conv(3, 64) + _conv(64, 128) + 2 * 128 + _conv(128, 256)
                              + 2 * 256 + _conv(256, 512) + 2 * 512 + _conv(512, 1)) == 2_765_568


def test_generator_outputs_the_hole_or_the_whole_image():
    x = torch.zeros(2, 3, 32, 32)
    assert ContextEncoderGenerator(32, 16, "center", width=4)(x).shape == (2, 3, 16, 16)
    assert ContextEncoderGenerator(32, 16, "random_region", width=4)(x).shape == (2, 3, 32, 32)
    assert ContextEncoderDiscriminator(32, 16, "center", width=4)(x[..., :16, :16]).shape == (2,)


# ----------------------------------------------------------------------------- metrics
def test_hole_metrics_on_a_hand_computed_example():
    real = torch.zeros(1, 1, 4, 4)
    filled = real.clone()
    filled[0, 0, 1, 1], filled[0, 0, 1, 2] = 0.5, 0.1  # in the hole
    filled[0, 0, 0, 0] = 1.0                           # outside: not scored
    hole = center_mask(4, 2)
    l1, l2 = hole_errors(filled, real, hole)
    assert l1.item() == pytest.approx((0.5 + 0.1) / 4)
    assert l2.item() == pytest.approx((0.25 + 0.01) / 4)
    # gradient energy: pairs inside the 2x2 hole: (1,1)-(1,2), (2,1)-(2,2) across, two down
    energy, count = gradient_energy(filled, hole)
    assert count.item() == 4
    assert energy.item() == pytest.approx(0.4 ** 2 + 0.5 ** 2 + 0.1 ** 2)
    # Laplacian: only pixels whose 3x3 window is inside the hole count; a 2x2 hole has none,
    # a 3x3 hole one (its centre)
    assert laplacian_energy(filled, hole)[1].item() == 0
    ramp = torch.zeros(1, 1, 5, 5)
    ramp[0, 0, 2, 2] = 1.0
    value, cells = laplacian_energy(ramp, center_mask(5, 3))
    assert cells.item() == 1 and value.item() == pytest.approx(16.0)  # (-4 * 1)^2


# ----------------------------------------------------------------------------- data
def test_photo_crops_hold_out_a_band_never_trained_on():
    columns = torch.arange(100.0).expand(1, 40, 100)  # each pixel holds its column
    train, held = split_photo(columns, 16, 0.25)
    assert train.max() < held.min()  # disjoint bands across the longer side
    assert held.shape[-1] == 25 and train.shape[-1] == 75
    crops = grid_crops(held, 16)
    # half a crop apart, the last flush with the edge: rows 0, 8, 16, 24; columns 0, 8, 9
    assert {tuple(c.shape) for c in crops} == {(1, 16, 16)} and len(crops) == 4 * 3
    data = PhotoCropsDataModule(image_size=16, batch_size=4, train_crops=8)
    assert data.load_size == round(16 * 350 / 128)  # the official 350 for 128 crops
    assert data.sample_shape == (3, 16, 16) and len(data.eval_set()) > 14
    batch = next(iter(data.train_dataloader()))[0]
    assert batch.shape == (4, 3, 16, 16) and batch.min() >= -1 and batch.max() <= 1


def _write_images(folder, count: int, size=(40, 30)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(count)
    for i in range(count):
        pixels = torch.randint(0, 256, (size[1], size[0], 3), generator=generator)
        Image.fromarray(pixels.to(torch.uint8).numpy()).save(folder / f"{i:03d}.png")


def test_folder_and_paris_layouts(tmp_path):
    _write_images(tmp_path / "folder", 10)
    data = InpaintingFolderDataModule(str(tmp_path / "folder"), image_size=16, batch_size=2)
    assert len(data.files) == 9 and len(data.eval_files) == 1  # 10 % held out
    assert not set(data.files) & set(data.eval_files)
    assert data.eval_set()[0][0].shape == (3, 16, 16)
    with pytest.raises(ValueError, match="paris_eval_gt") as error:
        ParisStreetViewDataModule(str(tmp_path), image_size=16)
    assert "\n" not in str(error.value) and "on request" in str(error.value)
    _write_images(tmp_path / "paris" / "paris_train_original", 3, (60, 34))
    _write_images(tmp_path / "paris" / "paris_eval_gt", 2, (23, 23))
    paris = ParisStreetViewDataModule(str(tmp_path / "paris"), image_size=16, batch_size=2)
    assert paris.load_size == 44 and paris.eval_load_size == 16  # held-out images whole
    assert len(paris.eval_set()) == 2


# ----------------------------------------------------------------------------- the scheme
def _tiny_model(mask: str = "center", adversarial_weight: float = 0.001) -> ContextEncoder:
    generator = ContextEncoderGenerator(16, 8, mask, width=4)
    critic = ContextEncoderDiscriminator(16, 8, mask, width=4)
    return ContextEncoder(generator, critic, AdversarialLoss("nsgan"), mask=mask, hole_size=8,
                          overlap=1, adversarial_weight=adversarial_weight,
                          optimizers={"generator": torch.optim.Adam,
                                      "discriminator": torch.optim.Adam})


def test_update_order_and_the_joint_loss():
    model = _tiny_model()
    assert [p.name for p in model.phases()] == ["Dmain", "Gmain"]  # train.lua: D, then G
    assert [p.name for p in _tiny_model(adversarial_weight=0).phases()] == ["Gmain"]  # L2 only
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    model.prepare_batch((images,))
    fake = model._step["fake"]
    terms = model.generator_step((images,))
    real = images[..., 4:12, 4:12]
    l2 = weighted_l2(fake, real, overlap_weights(8, 1, 10.0))
    adversarial = torch.nn.functional.softplus(-model.discriminator(fake)).mean()
    assert terms["loss/g"].item() == pytest.approx(0.999 * l2.item() + 0.001 * adversarial.item(),
                                                   rel=1e-5)
    # G's input: the hole shrunk by the overlap holds the mean pixel, the rest is the image
    holes = model.input_holes(model.draw_masks(2))
    context = model.context(images, holes)
    assert torch.equal(context[..., 5, 5], torch.tensor([117.0, 104.0, 123.0]).expand(2, 3)
                       / 127.5 - 1)
    assert torch.equal(context[..., 4, 4], images[..., 4, 4])  # the overlap border stays real


def test_translate_fills_only_the_hole_and_refuses_masks_it_cannot_fill():
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    centre = _tiny_model()
    own = centre.translate(images)
    inner = center_mask(16, 8, 1).bool().expand_as(images)
    assert torch.equal(own[~inner], images[~inner]) and not torch.equal(own[inner], images[inner])
    inside = center_mask(16, 4)  # inside the central 8x8 square: fine
    filled = centre.translate(images, mask=inside)
    assert torch.equal(filled[~inside.bool().expand_as(images)],
                       images[~inside.bool().expand_as(images)])
    corner = torch.zeros(1, 1, 16, 16)
    corner[..., 0, 0] = 1
    with pytest.raises(ValueError, match="predicts only the central 8x8 square"):
        centre.translate(images, mask=corner)
    with pytest.raises(ValueError, match="the mask is 8x8 pixels but the image is 16x16"):
        centre.translate(images, mask=torch.ones(1, 1, 8, 8))
    with pytest.raises(ValueError, match="fills 16x16 images"):
        centre.translate(torch.zeros(1, 3, 20, 16))
    region = _tiny_model("random_region")
    out = region.translate(images, mask=corner)  # any shape
    assert torch.equal(out[..., 1:, :], images[..., 1:, :])
    assert torch.equal(region.translate(images), region.translate(images))  # a fixed own mask


# ----------------------------------------------------------------------------- end to end
def test_trains_on_the_embedded_photos_and_scores_the_hole(tmp_path):
    objective = run(make_cfg(tmp_path, *TINY, "iterations=4", "eval=inpainting", "eval.every=2",
                             "callbacks.samples.every=4"))
    results = json.loads((tmp_path / "results.json").read_text())
    assert objective == results["inpainting/mean_l2"]
    for key in ("inpainting/mean_l1", "inpainting/psnr", "inpainting/gradient_energy_ratio",
                "inpainting/laplacian_energy_ratio"):
        assert math.isfinite(results[key]), key
    assert results["inpainting/psnr"] == pytest.approx(
        10 * math.log10(1 / results["inpainting/mean_l2"]), abs=6)  # same scale, not the same
    grid = Image.open(tmp_path / "samples" / "iter_0000004.png")
    assert grid.height > 3 * 16  # rows: masked input, filled, original


def test_resume_is_exact_with_random_region_masks(tmp_path):
    common = [*TINY, "model.mask=random_region", "callbacks.checkpoint.every_n_iterations=2",
              "callbacks.samples=null"]
    train(tmp_path / "straight", *common, "iterations=4")
    train(tmp_path / "first", *common, "iterations=2")
    half = tmp_path / "first" / "checkpoints" / "last.ckpt"
    train(tmp_path / "resumed", *common, "iterations=4", f"ckpt_path={half}")
    assert_same_training_state(tmp_path / "straight" / "checkpoints" / "last.ckpt",
                               tmp_path / "resumed" / "checkpoints" / "last.ckpt")


@pytest.mark.slow
def test_translate_command_with_a_mask_file(tmp_path):
    run(make_cfg(tmp_path / "train", *TINY, "model.mask=random_block", "iterations=1",
                 "callbacks.samples=null"))
    ckpt = tmp_path / "train" / "checkpoints" / "last.ckpt"
    _write_images(tmp_path / "inputs", 2, (16, 16))
    mask = torch.zeros(16, 16, dtype=torch.uint8)
    mask[2:6, 9:14] = 255
    Image.fromarray(mask.numpy()).save(tmp_path / "mask.png")
    out = tmp_path / "filled"
    done = run_cli(f"ckpt={ckpt}", f"input={tmp_path / 'inputs'}", f"out={out}",
                   f"options.mask={tmp_path / 'mask.png'}", cwd=tmp_path,
                   module="gan_lab.translate")
    assert done.returncode == 0, done.stderr[-2000:]
    source = torch.tensor(list(Image.open(tmp_path / "inputs" / "000.png").getdata()))
    filled = torch.tensor(list(Image.open(out / "000.png").getdata()))
    outside = (mask.flatten() == 0)
    assert (filled[outside] - source[outside]).abs().max() <= 1  # only the hole is replaced
    Image.fromarray(mask[:8, :8].numpy()).save(tmp_path / "small.png")
    wrong = run_cli(f"ckpt={ckpt}", f"input={tmp_path / 'inputs'}",
                    f"options.mask={tmp_path / 'small.png'}",
                    cwd=tmp_path, module="gan_lab.translate")
    assert wrong.returncode == 2 and "the mask is 8x8 pixels but the image is 16x16" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("overrides", "message"), [
    (["model.hole_size=16"], r"model.hole_size=16 must be smaller than data.image_size=16"),
    (["model.mask=square"], r"model.mask='square': must be one of center, random_block"),
    (["model.hole_size=12"], r"model.hole_size=12: the centre generator outputs the hole"),
    (["data=paris_streetview", "data.root=/nonexistent"],
     r"data.root='/nonexistent': no images in .*paris_train_original"),
    (["data=chalk2ink"], r"data.channels"),
])
def test_bad_inputs_fail_before_training_with_one_line(tmp_path, overrides, message):
    tiny = TINY if len(overrides) == 1 and overrides[0].startswith("model.") else TINY_MODEL
    with pytest.raises((ConfigError, ValueError), match=message) as error:
        run(make_cfg(tmp_path, *tiny, *overrides))
    assert "\n" not in str(error.value)

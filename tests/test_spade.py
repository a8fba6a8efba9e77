"""SPADE (Park et al. 2019): the normalization's maths on hand-computed inputs, the blocks and the
parameter counts of the official architecture, the multi-scale discriminator, the objective and
update order, the label-map data (embedded, pix2pix's view of it, the published layouts), the
segmentation score, training end to end with exact resume, and the translate command."""

from __future__ import annotations

import functools
import json
import math

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gan_lab.config import ConfigError
from gan_lab.data.label_maps.base import colourize, instance_edges, label_palette
from gan_lab.data.label_maps.folders import LabelMapFolderDataModule
from gan_lab.data.label_maps.textures import MATERIALS, TextureScenesDataModule, texture_scenes
from gan_lab.losses import AdversarialLoss
from gan_lab.metrics.segmentation import SegmentationTally, miou_and_accuracy
from gan_lab.models.spade import SPADE as SPADEModel
from gan_lab.nets.multiscale_patchgan import MultiscaleDiscriminator
from gan_lab.nets.spade import (
    SPADE,
    ConvEncoder,
    SPADEGenerator,
    SPADEResBlock,
    one_hot_semantics,
)
from gan_lab.nets.spectral import is_spectrally_normalised
from gan_lab.train import run
from tests.conftest import assert_same_training_state, make_cfg, run_cli

ADAM = functools.partial(torch.optim.Adam, lr=1e-4, betas=(0.0, 0.9))
QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false"]
TINY = ["model=spade", "net_width=2", "model.generator.spade_hidden=4", "data.num_train=24",
        "data.num_test=8", "data.batch_size=4", "model.discriminator.n_layers=2", *QUIET]
TINY_EVAL = ["eval=segmentation", "eval.classifier.width=2", "eval.classifier.epochs=1",
             "eval.segmenter.width=2", "eval.segmenter.epochs=1"]


# ----------------------------------------------------------------------------- SPADE maths
def _set_1x1(spade: SPADE, shared: list, gamma: list, beta: list) -> None:
    """Give a kernel-size-1 SPADE hand-chosen weights, zero biases."""
    with torch.no_grad():
        for conv, weight in ((spade.mlp_shared[0], shared), (spade.mlp_gamma, gamma),
                             (spade.mlp_beta, beta)):
            conv.weight.copy_(torch.tensor(weight, dtype=torch.float32)[..., None, None])
            conv.bias.zero_()


def test_spade_is_batch_norm_then_a_per_pixel_scale_and_bias_from_the_label_map():
    spade = SPADE(channels=1, label_channels=2, hidden=2, kernel_size=1)
    # shared = identity on the one-hot map; gamma / beta per class: 0.5, -1 / 0.25, 2
    _set_1x1(spade, [[1, 0], [0, 1]], [[0.5, -1.0]], [[0.25, 2.0]])
    x = torch.tensor([[[[1.0, 3.0]]], [[[5.0, 7.0]]]])  # (2, 1, 1, 2)
    seg = torch.zeros(2, 2, 1, 1)
    seg[0, 0] = 1  # sample 0 is class 0, sample 1 class 1 (one pixel, resized to 1x2)
    seg[1, 1] = 1
    out = spade(x, seg)
    # batch statistics over the batch and the pixels: mean 4, biased variance 5
    normed = (x - 4.0) / math.sqrt(5.0 + 1e-5)
    expected = torch.stack([normed[0] * 1.5 + 0.25, normed[1] * 0.0 + 2.0])
    assert torch.allclose(out, expected, atol=1e-6)
    # instance norm: each sample's own statistics (mean 2 / 6, variance 1)
    spade_in = SPADE(1, 2, hidden=2, kernel_size=1, norm="instance")
    _set_1x1(spade_in, [[1, 0], [0, 1]], [[0.5, -1.0]], [[0.25, 2.0]])
    normed = torch.tensor([[[[-1.0, 1.0]]], [[[-1.0, 1.0]]]]) / math.sqrt(1 + 1e-5)
    assert torch.allclose(spade_in(x, seg), torch.stack([normed[0] * 1.5 + 0.25,
                                                         normed[1] * 0 + 2.0]), atol=1e-5)


def test_spade_resizes_the_label_map_by_nearest_neighbour():
    spade = SPADE(channels=1, label_channels=2, hidden=2, kernel_size=1, norm="instance")
    _set_1x1(spade, [[1, 0], [0, 1]], [[0.0, 0.0]], [[10.0, 20.0]])  # beta marks the class
    seg = one_hot_semantics(torch.tensor([[[0, 1], [1, 0]]]), 2)  # 2x2 checkerboard
    out = spade(torch.zeros(1, 1, 4, 4), seg)  # zeros normalise to 0: out = beta
    expected = torch.tensor([[10.0, 10, 20, 20], [10, 10, 20, 20], [20, 20, 10, 10],
                             [20, 20, 10, 10]])
    assert torch.equal(out[0, 0], expected)


def test_one_hot_semantics_and_bad_label_values():
    labels = torch.tensor([[[0, 2], [1, 0]]])
    edges = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    semantics = one_hot_semantics(labels, 3, edges)
    assert semantics.shape == (1, 4, 2, 2)
    assert torch.equal(semantics[0, 2], torch.tensor([[0.0, 1.0], [0.0, 0.0]]))
    assert torch.equal(semantics[0, 3], edges[0, 0])
    with pytest.raises(ValueError, match="label value 3: this model knows the classes 0..2"):
        one_hot_semantics(torch.tensor([[[3]]]), 3)


def test_resblock_learns_its_shortcut_when_the_width_changes_with_spectral_norm_on_its_convs():
    same, change = SPADEResBlock(8, 8, 3, hidden=4), SPADEResBlock(8, 4, 3, hidden=4)
    assert not same.learned_shortcut and not hasattr(same, "conv_s")
    assert change.learned_shortcut and change.conv_s.bias is None
    assert change.conv_0.out_channels == 4 and change.norm_1.mlp_gamma.out_channels == 4
    for conv in (change.conv_0, change.conv_1, change.conv_s):
        assert is_spectrally_normalised(conv)
    assert not is_spectrally_normalised(change.norm_0.mlp_gamma)  # SPADE's own convs: plain
    assert not change.norm_0.param_free_norm.affine
    x, seg = torch.randn(2, 8, 4, 4), torch.rand(2, 3, 2, 2)
    change.eval()  # the shortcut is conv_s(SPADE_s(x)), the residual adds to it
    dx = change.conv_1(F.leaky_relu(change.norm_1(change.conv_0(
        F.leaky_relu(change.norm_0(x, seg), 0.2)), seg), 0.2))
    assert torch.allclose(change(x, seg), change.conv_s(change.norm_s(x, seg)) + dx, atol=1e-6)


# ----------------------------------------------------------------------------- parameter counts
def _spade_params(c: int, labels: int, hidden: int = 128) -> int:
    """Official SPADE: mlp_shared 3x3 labels->128 (+bias), mlp_gamma and mlp_beta 3x3 128->C."""
    return labels * hidden * 9 + hidden + 2 * (hidden * c * 9 + c)


def _block_params(fin: int, fout: int, labels: int) -> int:
    """Official SPADEResnetBlock: conv_0 3x3 fin->min, conv_1 3x3 min->fout (biases), norm_0,
    norm_1, and for fin != fout conv_s 1x1 without bias and norm_s."""
    mid = min(fin, fout)
    total = fin * mid * 9 + mid + mid * fout * 9 + fout
    total += _spade_params(fin, labels) + _spade_params(mid, labels)
    if fin != fout:
        total += fin * fout + _spade_params(fin, labels)
    return total


def _generator_params(labels: int, nf: int = 64, most: bool = False, vae: bool = False,
                      sh: int = 8, sw: int = 8, z: int = 256) -> int:
    """Official SPADEGenerator: fc (3x3 conv labels->16nf, or linear z->16nf*sh*sw), head_0,
    G_middle_0/1 at 16nf, up_0..up_3 halving to nf, [up_4 nf->nf/2], conv_img 3x3 ->3."""
    total = (z + 1) * 16 * nf * sh * sw if vae else labels * 16 * nf * 9 + 16 * nf
    total += 3 * _block_params(16 * nf, 16 * nf, labels)
    for a, b in ((16, 8), (8, 4), (4, 2), (2, 1)):
        total += _block_params(a * nf, b * nf, labels)
    final = nf
    if most:
        total += _block_params(nf, nf // 2, labels)
        final = nf // 2
    return total + final * 3 * 9 + 3


def _count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_generator_parameters_match_the_official_architecture():
    with torch.device("meta"):  # full size, never allocated
        # Cityscapes: 35 ids + instance edges, 512x256, num_upsampling_layers more (8x4 start)
        city = SPADEGenerator(36, 512, 2.0, 64, "more")
        ade = SPADEGenerator(151, 256, 1.0, 64, "normal")  # ADE20K: 150 + unlabeled
        coco_vae = SPADEGenerator(184, 256, 1.0, 64, "most", use_vae=True)
    assert (city.sh, city.sw, city.output_size) == (4, 8, (256, 512))
    assert _count(city) == _generator_params(36)  # 93.0M
    assert _count(ade) == _generator_params(151)  # 96.5M
    assert (coco_vae.sh, coco_vae.sw) == (2, 2)  # 256 / 2^7
    assert _count(coco_vae) == _generator_params(184, most=True, vae=True, sh=2, sw=2)


def test_discriminator_and_encoder_parameters_match_the_official_architecture():
    with torch.device("meta"):
        d = MultiscaleDiscriminator(36 + 3, width=64, n_layers=4, num_d=2)
        e = ConvEncoder(width=64, input_size=256)
    # NLayerDiscriminator: 4x4 convs; first (bias) and last (bias) plain, the normed ones
    # without bias (dropped before instance norm): 39->64, 64->128, 128->256, 256->512, 512->1
    per_scale = 39 * 64 * 16 + 64 + 64 * 128 * 16 + 128 * 256 * 16 + 256 * 512 * 16 + 512 * 16 + 1
    assert _count(d) == 2 * per_scale
    # ConvEncoder at 256: six 3x3 stride-2 convs without bias, 3->64->128->256->512->512->512,
    # then fc_mu and fc_var 512*4*4 -> 256
    convs = 9 * (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512 + 512 * 512 + 512 * 512)
    assert _count(e) == convs + 2 * (512 * 16 * 256 + 256)


def test_generator_sizes_and_one_line_errors():
    g = SPADEGenerator(3, 64, 1.0, 2, "normal", spade_hidden=4)
    assert (g.sh, g.sw, g.output_size) == (2, 2, (64, 64))
    assert g(torch.rand(2, 3, 64, 64)).shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="multiple of 32"):
        SPADEGenerator(3, 48, 1.0, 2)
    with pytest.raises(ValueError, match="num_upsampling_layers='many'"):
        SPADEGenerator(3, 64, 1.0, 2, "many")
    with pytest.raises(ValueError, match=r"expects semantic maps \(B, 3, 64, 64\)"):
        g(torch.rand(1, 3, 32, 32))
    vae = SPADEGenerator(3, 32, 1.0, 2, use_vae=True, z_dim=8, spade_hidden=4)
    assert vae.fc.in_features == 8 and vae(torch.rand(2, 3, 32, 32)).shape == (2, 3, 32, 32)


def test_multiscale_discriminator_returns_every_layer_and_judges_a_pooled_copy():
    torch.manual_seed(0)
    d = MultiscaleDiscriminator(5, width=4, n_layers=3, num_d=2).eval()
    x = torch.randn(2, 5, 32, 32)
    out = d(x)
    assert len(out) == 2 and all(len(scale) == 4 for scale in out)
    assert [t.shape[1] for t in out[0]] == [4, 8, 16, 1]
    # padding 2: 32 -> 17 -> 9 -> 10 (stride 1) -> 11
    assert [t.shape[-1] for t in out[0]] == [17, 9, 10, 11]
    pooled = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    assert torch.allclose(out[1][-1], d.scales[1](pooled)[-1])
    first, middle, last = d.scales[0].layers[0][0], d.scales[0].layers[1][0], \
        d.scales[0].layers[-1][0]
    assert not is_spectrally_normalised(first) and first.bias is not None
    assert is_spectrally_normalised(middle) and middle.bias is None
    assert not is_spectrally_normalised(last) and last.bias is not None
    with pytest.raises(ValueError, match="sides >= "):
        d(torch.randn(1, 5, 2, 2))


# ----------------------------------------------------------------------------- the objective
def _module(**kwargs) -> SPADEModel:
    torch.manual_seed(0)
    vae = kwargs.pop("use_vae", False)
    g = SPADEGenerator(3, 64, 1.0, 2, use_vae=vae, z_dim=4, spade_hidden=4)  # 2x2 start
    d = MultiscaleDiscriminator(6, width=2, n_layers=2)
    encoder = ConvEncoder(width=2, input_size=32, z_dim=4)
    return SPADEModel(g, d, AdversarialLoss("hinge"), label_classes=3, encoder=encoder,
                      use_vae=vae, z_dim=4, optimizers={"generator": ADAM, "discriminator": ADAM},
                      **kwargs)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, 3, (1, 64, 64), generator=g), torch.rand(1, 3, 64, 64) * 2 - 1


def _stub_discriminator(module, outputs):
    """D's outputs replaced by fixed per-scale lists of (fake; real) tensors."""
    module.discriminate = lambda x, *a, **k: [[t.clone().requires_grad_() for t in scale]
                                              for scale in outputs]


def test_generator_loss_is_hinge_plus_feature_matching_averaged_over_scales():
    module = _module(feat_weight=10.0)
    t = torch.tensor
    # two scales, batch 1: rows are (fake, real); one intermediate feature + the score
    outputs = [[t([[1.0, 2.0], [0.0, 4.0]]), t([[0.5], [9.0]])],
               [t([[3.0, 3.0], [1.0, 1.0]]), t([[-1.5], [9.0]])]]
    _stub_discriminator(module, outputs)
    terms = module.generator_step(_batch())
    adversarial = (-0.5 + 1.5) / 2  # -mean D(fake) per scale, averaged over the scales
    feat = ((1 + 2) / 2 + (2 + 2) / 2) / 2  # L1 per layer, summed over layers, / num_D
    assert terms["loss/g_adv"].item() == pytest.approx(adversarial)
    assert terms["loss/g_feat"].item() == pytest.approx(feat)
    assert terms["loss/g"].item() == pytest.approx(adversarial + 10 * feat)


def test_discriminator_loss_is_the_hinge_averaged_over_scales_on_fresh_fakes():
    module = _module()
    t = torch.tensor
    # two scales, batch 1: rows are (fake, real); one intermediate feature + the score
    outputs = [[t([[0.0], [0.0]]), t([[0.5], [0.2]])], [t([[0.0], [0.0]]), t([[-2.0], [3.0]])]]
    _stub_discriminator(module, outputs)
    calls = []
    generate = module.generate
    module.generate = lambda *a: calls.append(torch.is_grad_enabled()) or generate(*a)
    terms = module.discriminator_step(_batch())
    # scale 1: relu(1 - 0.2) + relu(1 + 0.5) = 2.3; scale 2: relu(1 - 3) + relu(1 - 2) = 0
    assert terms["loss/d"].item() == pytest.approx((2.3 + 0.0) / 2)
    assert calls == [False]  # D regenerates its fakes, without a graph (official)
    assert [p.name for p in module.phases()] == ["Gmain", "Dmain"]  # G step, then D step
    assert module.phases()[1].critic and not module.phases()[0].critic


def test_vae_mode_adds_the_official_kl_term_and_trains_the_encoder_with_g():
    module = _module(use_vae=True, kld_weight=0.05)
    mu, logvar = torch.tensor([[1.0, 0.0, 0.0, 0.0]]), torch.tensor([[0.0, math.log(2.0), 0, 0]])
    module.encoder.forward = lambda images: (mu, logvar)
    _, kld = module.generate(one_hot_semantics(_batch()[0], 3), _batch()[1])
    # -0.5 * sum(1 + logvar - mu^2 - exp(logvar)) = -0.5 * (-1 + (log 2 - 1)) = 1 - log(2) / 2
    assert kld.item() == pytest.approx(0.05 * (1 - math.log(2.0) / 2))
    generator_group = {id(p) for p in module.optimizer_groups()["generator"]}
    assert {id(p) for p in module.encoder.parameters()} <= generator_group
    assert {id(p) for p in module.generator.parameters()} <= generator_group
    assert "encoder" not in dict(_module().named_children())  # kept only in VAE mode


def test_translate_takes_label_maps_of_any_size_and_refuses_unknown_classes():
    module = _module()
    labels = torch.randint(0, 3, (2, 20, 24))
    out = module.translate(labels)  # resized to 64x64 for G, the image back to 20x24
    assert out.shape == (2, 3, 20, 24) and out.abs().max() <= 1
    assert torch.equal(module.translate(labels), out)  # eval mode: deterministic
    with pytest.raises(ValueError, match="label value 5"):
        module.translate(torch.full((1, 64, 64), 5))
    with pytest.raises(ValueError, match="direction='AtoB'"):
        module.translate(labels, "AtoB")


# ----------------------------------------------------------------------------- data
def test_palette_is_the_voc_colour_map_and_instance_edges_as_official():
    palette = label_palette(5)
    assert palette.tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128]]
    assert torch.allclose(colourize(torch.tensor([[1]]), palette)[0, :, 0, 0],
                          torch.tensor([128 / 127.5 - 1, -1.0, -1.0]), atol=1e-6)
    ids = torch.tensor([[1, 1, 2], [1, 1, 2], [3, 3, 3]])
    assert instance_edges(ids)[0].tolist() == [[0, 1, 1], [1, 1, 1], [1, 1, 1]]


def test_embedded_scenes_are_fixed_distinct_and_painted_from_their_label_maps():
    data = TextureScenesDataModule(image_size=16, num_train=30, num_test=10, batch_size=4,
                                   seed=3)
    again = TextureScenesDataModule(image_size=16, num_train=30, num_test=10, seed=7)
    assert torch.equal(data.train_tensors()[1], again.train_tensors()[1])  # not data.seed
    labels, images = data.train_tensors()
    assert labels.dtype == torch.int64 and 0 <= labels.min() and labels.max() < 6
    assert all(len(m.unique()) >= 2 for m in labels)  # never a single-class scene
    sky = MATERIALS.index(next(m for m in MATERIALS if m.name == "sky"))
    colour = torch.tensor(MATERIALS[sky].colour) * 2 - 1
    mask = labels == sky
    assert mask.any() and torch.allclose(images.permute(0, 2, 3, 1)[mask],
                                         colour.expand(int(mask.sum()), 3))
    test_maps = {m.numpy().tobytes() for m in data.eval_tensors()[0]}
    assert not test_maps & {m.numpy().tobytes() for m in labels}
    batch = next(iter(data.train_dataloader()))
    assert batch[0].shape == (4, 16, 16) and batch[1].shape == (4, 3, 16, 16)
    assert data.batch_kind == "label maps" and data.fid_view().num_classes == 6
    with pytest.raises(ValueError, match="data.num_classes=9: the embedded set has 8"):
        TextureScenesDataModule(num_classes=9)


def test_pairs_present_the_same_scenes_to_pix2pix_as_colour_coded_images():
    pairs = texture_scenes(pairs=True, image_size=16, num_train=12, num_test=4, batch_size=2)
    scenes = pairs.label_data
    assert pairs.batch_kind == "two domains" and pairs.paired and pairs.eval_paired
    a, b = pairs.train_set[3]
    labels, images = scenes.train_tensors()
    assert torch.equal(a, scenes.colourize(labels[3])[0]) and torch.equal(b, images[3])
    assert torch.equal(pairs.eval_set("B")[1][0], scenes.eval_tensors()[1][1])


def _png(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path)


def test_published_layouts_pair_files_map_unlabeled_and_refuse_missing_folders(tmp_path):
    import numpy as np
    rng = np.random.default_rng(0)
    city = tmp_path / "cityscapes"
    for split in ("train", "val"):
        for frame in ("000001", "000002"):
            stem = f"aachen_000000_{frame}"
            _png(city / "gtFine" / split / "aachen" / f"{stem}_gtFine_labelIds.png",
                 rng.integers(0, 35, (16, 32), dtype=np.uint8))
            _png(city / "gtFine" / split / "aachen" / f"{stem}_gtFine_instanceIds.png",
                 np.repeat(26000 + np.arange(32, dtype=np.uint16)[None] // 8, 16, 0))
            _png(city / "leftImg8bit" / split / "aachen" / f"{stem}_leftImg8bit.png",
                 rng.integers(0, 255, (16, 32, 3), dtype=np.uint8))
    data = LabelMapFolderDataModule("cityscapes", str(city), image_size=32, aspect_ratio=2.0,
                                    load_size=32, preprocess="fixed", instance_edges=True,
                                    num_classes=35, batch_size=2)
    labels, image, edges = data.eval_set()[0]
    assert labels.shape == (16, 32) and image.shape == (3, 16, 32) and edges.shape == (1, 16, 32)
    assert edges[0, 0].tolist() == [0] * 7 + [1, 1] + [0] * 6 + [1, 1] + [0] * 6 + [1, 1] + \
        [0] * 7  # instance ids change every 8 columns
    coco = tmp_path / "coco"
    label = np.full((8, 8), 255, dtype=np.uint8)
    label[0, 0] = 5
    for split in ("train", "val"):
        _png(coco / f"{split}_label" / "1.png", label)
        _png(coco / f"{split}_img" / "1.jpg", rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
    coco_data = LabelMapFolderDataModule("coco_stuff", str(coco), image_size=8, load_size=10,
                                         batch_size=1)
    loaded = coco_data.train_set[0][0]
    assert loaded.shape == (8, 8) and set(loaded.unique().tolist()) <= {5, 182}
    assert int((coco_data.eval_set()[0][0] == 182).sum()) == 63  # 255 -> unlabeled class 182
    with pytest.raises(ValueError, match=r"data=ade20k: no annotations/training under .*"
                                         r"ADEChallengeData2016.zip") as error:
        LabelMapFolderDataModule("ade20k", str(tmp_path / "nothing"))
    assert "\n" not in str(error.value)
    _png(coco / "train_label" / "2.png", np.full((8, 8), 200, dtype=np.uint8))
    _png(coco / "train_img" / "2.jpg", rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
    bad = LabelMapFolderDataModule("coco_stuff", str(coco), image_size=8, load_size=8)
    with pytest.raises(ValueError, match="2.png: label value 200 is not one of the 183"):
        bad.train_set[1]


def test_segmentation_scores_hand_computed():
    target = torch.tensor([[0, 0, 1, 1], [2, 2, 2, 3]])
    predicted = torch.tensor([[0, 1, 1, 1], [2, 2, 0, 3]])
    miou, accuracy = miou_and_accuracy(predicted, target, 4)
    # IoU: class 0 1/3 (TP 1; FP 1, FN 1), class 1 2/3, class 2 2/3, class 3 1
    assert miou == pytest.approx((1 / 3 + 2 / 3 + 2 / 3 + 1) / 4)
    assert accuracy == pytest.approx(6 / 8)
    # class 3 ignored: its pixel is not scored and its IoU is not in the mean
    miou, accuracy = miou_and_accuracy(predicted, target, 4, ignore_index=3)
    assert miou == pytest.approx((1 / 3 + 2 / 3 + 2 / 3) / 3)
    assert accuracy == pytest.approx(5 / 7)
    # batches accumulate into one score over the whole set
    tally = SegmentationTally(4, ignore_index=3)
    tally.update(predicted[:1], target[:1])
    tally.update(predicted[1:], target[1:])
    assert tally.compute() == pytest.approx((miou, accuracy))


# ----------------------------------------------------------------------------- end to end
def test_spade_and_pix2pix_train_on_the_same_scenes_and_are_scored_alike(tmp_path):
    cache = f"eval.cache_dir={tmp_path / 'cache'}"
    objective = run(make_cfg(tmp_path / "spade", *TINY, "iterations=2", *TINY_EVAL, cache,
                             "callbacks.samples.every=2"))
    spade = json.loads((tmp_path / "spade" / "results.json").read_text())
    assert objective == spade["segmentation/miou"]
    assert {"classifier/fid", "segmentation/accuracy", "segmentation/real_miou",
            "segmentation/real_accuracy"} <= set(spade)
    grid = Image.open(tmp_path / "spade" / "samples" / "iter_0000002.png")
    assert grid.height > 3 * 32  # rows: colour-coded label map, generated, real
    run(make_cfg(tmp_path / "pix2pix", "model=pix2pix", "data=textures", "data.pairs=true",
                 "net_width=2", "data.num_train=24", "data.num_test=8", "data.batch_size=4",
                 "iterations=1", "callbacks.samples=null", *QUIET, *TINY_EVAL, cache))
    pix2pix = json.loads((tmp_path / "pix2pix" / "results.json").read_text())
    # the same segmenter and real photos: the same ceiling
    assert pix2pix["segmentation/real_miou"] == spade["segmentation/real_miou"]


def test_spade_resumes_exactly_in_vae_mode(tmp_path):
    common = [*TINY, "model.use_vae=true", "model.z_dim=4", "model.encoder.input_size=32",
              "callbacks.checkpoint.every_n_iterations=2", "callbacks.samples=null"]
    run(make_cfg(tmp_path / "straight", *common, "iterations=4"))
    run(make_cfg(tmp_path / "half", *common, "iterations=2"))
    half = tmp_path / "half" / "checkpoints" / "last.ckpt"
    cfg = make_cfg(tmp_path / "resumed", *common, "iterations=4", f"ckpt_path={half}")
    run(cfg, overrides=["iterations=4", f"ckpt_path={half}"])
    assert_same_training_state(tmp_path / "straight" / "checkpoints" / "last.ckpt",
                               tmp_path / "resumed" / "checkpoints" / "last.ckpt")
    state = torch.load(tmp_path / "straight" / "checkpoints" / "last.ckpt", weights_only=True)
    assert any(key.startswith("encoder.") for key in state["state_dict"])


def test_vgg_loss_loads_frozen_weights_outside_checkpoints_or_refuses_in_one_line(tmp_path):
    from gan_lab.nets.vgg import _vgg19_features

    path = tmp_path / "vgg19-dcbb9e9d.pth"
    generator = torch.Generator().manual_seed(0)
    torch.save({f"features.{name}": 0.02 * torch.randn(value.shape, generator=generator)
                for name, value in _vgg19_features().state_dict().items()}, path)
    run(make_cfg(tmp_path / "vgg", *TINY, "iterations=1", "model.vgg_weight=10",
                 f"model.vgg_weights={path}", "callbacks.samples=null"))
    rows = (tmp_path / "vgg" / "metrics.csv").read_text()
    assert "loss/g_vgg" in rows.splitlines()[0]
    state = torch.load(tmp_path / "vgg" / "checkpoints" / "last.ckpt", weights_only=True)
    assert not any("frozen" in key or "vgg" in key for key in state["state_dict"])
    with pytest.raises(ConfigError, match="model.vgg_weights: no VGG19 weights") as error:
        run(make_cfg(tmp_path / "missing", *TINY, "model.vgg_weight=10",
                     f"model.vgg_weights={tmp_path / 'none.pth'}"))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("overrides", "message"), [
    (["model=spade", "data=edges2digits"], "data.num_classes"),
    (["model=spade", "data.image_size=48"], "multiple of 32"),
    (["model=spade", "data=ade20k", "data.root=/nonexistent"], "data=ade20k: no annotations"),
    (["model=spade", "data=cityscapes_labels", "data.root=/nonexistent"],
     "gtFine/train under /nonexistent; download gtFine_trainvaltest.zip"),
    (["model=pix2pix", "data=textures"], "data.channels_a|two domains|single images"),
])
def test_mismatched_options_fail_before_training_with_one_line(tmp_path, overrides, message):
    with pytest.raises((ConfigError, ValueError), match=message) as error:
        run(make_cfg(tmp_path, *overrides, "net_width=2"))
    assert "\n" not in str(error.value)


def test_translate_command_turns_label_pngs_into_images(tmp_path):
    run(make_cfg(tmp_path / "train", *TINY, "iterations=1", "callbacks.samples=null"))
    ckpt = tmp_path / "train" / "checkpoints" / "last.ckpt"
    inputs = tmp_path / "labels"
    inputs.mkdir()
    labels = torch.randint(0, 6, (20, 28), dtype=torch.uint8)
    Image.fromarray(labels.numpy(), "L").save(inputs / "scene.png")
    out = tmp_path / "out"
    done = run_cli(f"ckpt={ckpt}", f"input={inputs}", f"out={out}", cwd=tmp_path,
                   module="gan_lab.translate")
    assert done.returncode == 0, done.stderr[-2000:]
    assert Image.open(out / "scene.png").size == (28, 20)
    Image.fromarray(torch.full((8, 8), 9, dtype=torch.uint8).numpy(), "L").save(
        inputs / "unknown.png")
    wrong = run_cli(f"ckpt={ckpt}", f"input={inputs}", cwd=tmp_path, module="gan_lab.translate")
    assert wrong.returncode == 2 and "unknown.png: label value 9" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1

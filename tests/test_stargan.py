"""StarGAN: its nets against the official layer list, its objective and update order against the
official solver written out by hand, the attribute data (embedded set and the CelebA layout),
the attribute metric, exact resume, the linear lr decay, and the translate command."""

from __future__ import annotations

import functools
import json
import math
import random

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gan_lab.config import ConfigError
from gan_lab.data.attributes.celeba import CELEBA_ATTRIBUTES, CelebADataModule
from gan_lab.data.attributes.digits import (
    DIGIT_ATTRIBUTES,
    LIGHT,
    RED,
    DigitAttributesDataModule,
    render_digit_attributes,
)
from gan_lab.data.samples.digits import DigitsDataModule
from gan_lab.data.translation.embedded import digit_intensity
from gan_lab.losses import AdversarialLoss
from gan_lab.models.stargan import StarGAN, attribute_classification_loss
from gan_lab.nets.stargan import (
    StarGANDiscriminator,
    StarGANGenerator,
    single_attribute_targets,
)
from gan_lab.train import run
from tests.conftest import assert_same_training_state, make_cfg, run_cli, train

QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false"]
TINY = ["model=stargan", "net_width=4", "data.image_size=16", "data.batch_size=4",
        "model.generator.num_blocks=1", *QUIET]
ADAM = functools.partial(torch.optim.Adam, lr=1e-4, betas=(0.5, 0.999))
NAMES = ("red_ink", "thick_stroke", "dark_paper")


def _stargan(**kwargs) -> StarGAN:
    torch.manual_seed(0)
    return StarGAN(functools.partial(StarGANGenerator, width=4, num_blocks=1),
                   functools.partial(StarGANDiscriminator, image_size=16, width=4),
                   AdversarialLoss("wasserstein", gp_weight=10.0), NAMES,
                   optimizers={"generator": ADAM, "discriminator": ADAM}, n_critic=5, **kwargs)


def _batch(n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return (torch.rand(n, 3, 16, 16, generator=g) * 2 - 1,
            torch.randint(0, 2, (n, len(NAMES)), generator=g).float())


# -- nets ----------------------------------------------------------------------------------------
def test_parameter_counts_are_the_official_models_at_the_paper_settings():
    # yunjey/stargan model.py at image 128, c_dim 5, conv_dim 64, repeat_num 6 (G and D), by hand:
    # G: 7x7 conv (3 + 5 -> 64, no bias) + IN(64) affine; two 4x4 down convs + IN; six residual
    # blocks of two 3x3 convs (256 -> 256) + two IN(256); two 4x4 transposed convs + IN; 7x7 conv
    # (64 -> 3); instance norms contribute weight and bias (running stats are buffers).
    g = (49 * 8 * 64 + 2 * 64
         + 16 * 64 * 128 + 2 * 128 + 16 * 128 * 256 + 2 * 256
         + 6 * (2 * 9 * 256 * 256 + 2 * 2 * 256)
         + 16 * 256 * 128 + 2 * 128 + 16 * 128 * 64 + 2 * 64
         + 49 * 64 * 3)
    # D: six 4x4 stride-2 convs with bias (3 -> 64 -> ... -> 2048); D_src 3x3 conv 2048 -> 1 and
    # D_cls 2x2 conv (128 / 2^6) 2048 -> 5, both without bias.
    widths = [3, 64, 128, 256, 512, 1024, 2048]
    d = sum(16 * a * b + b for a, b in zip(widths, widths[1:])) + 9 * 2048 + 4 * 2048 * 5
    assert (g, d) == (8_430_528, 44_762_048)
    with torch.device("meta"):
        generator, discriminator = StarGANGenerator(c_dim=5), StarGANDiscriminator(128, c_dim=5)
    assert sum(p.numel() for p in generator.parameters()) == g
    assert sum(p.numel() for p in discriminator.parameters()) == d
    assert discriminator.num_layers == 6 and discriminator.cls.kernel_size == (2, 2)
    # RaFD's 8 expressions: the paper's Table 3 gives StarGAN 53.2M parameters (G + D).
    with torch.device("meta"):
        both = [StarGANGenerator(c_dim=8), StarGANDiscriminator(128, c_dim=8)]
    assert round(sum(p.numel() for n in both for p in n.parameters()) / 1e6, 1) == 53.2


def test_generator_is_conditioned_on_tiled_attributes_image_by_image():
    torch.manual_seed(0)
    generator = StarGANGenerator(c_dim=3, width=4, num_blocks=1)
    x, c = _batch()
    out = generator(x, c)
    assert out.shape == x.shape and out.abs().max() <= 1
    # instance norm: each image is translated on its own (no batch statistics)
    assert torch.allclose(generator(x[1:2], c[1:2]), out[1:2], atol=1e-6)
    # the attributes reach the output through constant planes: another target, another image
    assert not torch.allclose(generator(x, 1 - c), out)
    norms = [m for m in generator.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert norms and all(m.affine and m.track_running_stats for m in norms)
    assert all(m.bias is None for m in generator.modules() if isinstance(m, torch.nn.Conv2d))
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        generator(x, c[:, :2])


def test_discriminator_has_a_patch_head_and_a_whole_image_attribute_head():
    torch.manual_seed(0)
    discriminator = StarGANDiscriminator(image_size=32, c_dim=3, width=4)
    src, cls = discriminator(torch.randn(2, 3, 32, 32))
    assert discriminator.num_layers == 4  # log2(32) - 1: a 2x2 last map, as 6 layers at 128
    assert src.shape == (2, 1, 2, 2) and cls.shape == (2, 3)
    slopes = {m.negative_slope for m in discriminator.modules() if isinstance(m, torch.nn.LeakyReLU)}
    assert slopes == {0.01}
    with pytest.raises(ValueError, match="multiples of 16") as error:
        StarGANDiscriminator(image_size=40, width=4, num_layers=4)
    assert "\n" not in str(error.value)


def test_single_attribute_targets_flip_one_attribute_or_choose_one_hair_colour():
    names = ("Black_Hair", "Blond_Hair", "Male")
    source = torch.tensor([[1.0, 0.0, 1.0]])
    targets = [t.tolist()[0] for t in single_attribute_targets(source, names)]
    assert targets == [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]


# -- the objective and the update order ------------------------------------------------------------
def test_classification_loss_is_bce_summed_over_attributes_and_averaged_over_the_batch():
    logits = torch.tensor([[0.0, math.log(3.0)], [-math.log(3.0), 0.0]])
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # -log s(0) = log 2; -log(1 - s(log 3)) = log 4; -log(1 - s(-log 3)) = log 4/3
    expected = (math.log(2) + math.log(4) + math.log(4 / 3) + math.log(2)) / 2
    assert attribute_classification_loss(logits, targets).item() == pytest.approx(expected)


def _official_gp(discriminator, real, fake, alpha):
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    out = discriminator(x_hat)[0]
    (grad,) = torch.autograd.grad(out, x_hat, torch.ones_like(out), create_graph=True)
    return ((grad.flatten(1).pow(2).sum(1).sqrt() - 1) ** 2).mean()


def test_one_batch_of_d_and_g_losses_is_the_official_solver_step():
    module = _stargan()
    x, label = _batch()
    torch.manual_seed(7)
    module.prepare_batch((x, label))
    d_terms = module.discriminator_step((x, label))
    g_terms = module.generator_step((x, label))
    # The official solver.train, written out: targets are the labels in a random order, then the
    # GP's alpha is drawn; L_D = -mean D_src(x) + mean D_src(G(x, c)) + L_cls + 10 GP.
    torch.manual_seed(7)
    target = label[torch.randperm(4)]
    G, D = module.generator, module.discriminator
    fake = G(x, target).detach()
    out_src, out_cls = D(x)
    alpha = torch.rand(4, 1, 1, 1)
    bce = F.binary_cross_entropy_with_logits(out_cls, label, reduction="sum") / 4
    d_loss = (-out_src.mean() + D(fake)[0].mean() + bce
              + 10 * _official_gp(D, x, fake, alpha))
    assert torch.allclose(d_terms["loss/d"], d_loss, rtol=1e-5)
    assert torch.allclose(d_terms["loss/d_cls"], bce)
    # L_G = -mean D_src(G(x, c)) + 10 |x - G(G(x, c), c')| + L_cls(D_cls(G(x, c)), c)
    fake = G(x, target)
    out_src, out_cls = D(fake)
    g_loss = (-out_src.mean() + 10 * (x - G(fake, label)).abs().mean()
              + F.binary_cross_entropy_with_logits(out_cls, target, reduction="sum") / 4)
    assert torch.allclose(g_terms["loss/g"], g_loss, rtol=1e-5)
    assert sorted(target.tolist()) == sorted(label.tolist())  # the batch's own attribute vectors


def test_translate_takes_values_or_names_and_refuses_the_rest_in_one_line():
    module = _stargan()
    x = torch.rand(2, 3, 18, 13) * 2 - 1  # sides G cannot take: padded and cropped back
    assert module.translate(x, attributes=[1, 0, 1]).shape == x.shape
    by_names = module.translate(x, attributes=["red_ink", "dark_paper"])
    assert torch.equal(by_names, module.translate(x, attributes=[1, 0, 1]))
    assert torch.equal(module.translate(x, attributes="thick_stroke"),
                       module.translate(x, attributes=[0, 1, 0]))
    buffers = [b.clone() for b in module.generator.buffers()]
    module.translate(x, attributes=[0, 0, 0])
    assert all(torch.equal(a, b) for a, b in zip(buffers, module.generator.buffers()))
    for bad, message in (([1, 0], "has 3 attributes"), (["Male"], "not one of"),
                         ([1, "red_ink", 0], "mixes"), (None, "attributes=null"),
                         ([1, 2, 0], "has 3 attributes")):
        with pytest.raises(ValueError, match=message) as error:
            module.translate(x, attributes=bad)
        assert "\n" not in str(error.value)
    assert module.translation_channels("attributes") == 3


def test_visuals_show_each_input_and_its_single_attribute_translations():
    module = _stargan()
    data = DigitAttributesDataModule(attributes=list(NAMES), image_size=16)
    inputs = module.visual_inputs(data, 12, 8, torch.Generator())
    grid = module.visuals(inputs)["translations"]
    assert grid.nrow == 4 and grid.data.shape == (3 * 4, 3, 16, 16)  # 12 cells: 3 rows of 1 + 3
    assert torch.equal(grid.data[::4], inputs[0])


def test_check_data_refuses_other_data_and_other_attributes_in_one_line():
    module = _stargan()
    for data, message in ((DigitsDataModule(), "translates images to target attributes"),
                          (DigitAttributesDataModule(attributes=["red_ink"], image_size=16),
                           "differ from the data's")):
        with pytest.raises(ValueError, match=message) as error:
            module.check_data(data)
        assert "\n" not in str(error.value)
    module.check_data(DigitAttributesDataModule(attributes=list(NAMES), image_size=16))


# -- data --------------------------------------------------------------------------------------
def test_digit_attributes_are_rendered_as_labelled_and_independent():
    data = DigitAttributesDataModule(attributes=["framed", "red_ink", "dark_paper"])
    assert data.batch_kind == "attributes" and data.attribute_names == ("framed", "red_ink",
                                                                        "dark_paper")
    images, values = data.train_set.tensors
    assert images.shape == (1617, 3, 32, 32) and len(data.test_set) == 180
    red = torch.tensor(RED) * 2 - 1
    for image, (framed, is_red, _) in zip(images[:50], values[:50]):
        edge = image[:, 0, 16]  # the top border's middle pixel: ink where framed, else paper
        assert torch.allclose(edge, red, atol=1e-5) == bool(framed and is_red)
    corners = images[:, :, 0, 0].mean(1)  # paper, or the frame's ink
    dark = values[:, 2] == 1
    assert (corners[dark & (values[:, 0] == 0)] < -0.5).all()
    assert (corners[~dark & (values[:, 0] == 0)] > 0.5).all()
    # a thick stroke covers more paper than a thin one, for the same digit
    intensity = digit_intensity(32)[0][:20]
    thin, thick = (render_digit_attributes(intensity, torch.tensor([[0.0, t, 0.0, 0.0]] * 20))
                   for t in (0.0, 1.0))
    paper = (torch.tensor(LIGHT) * 2 - 1).view(1, 3, 1, 1)
    ink_area = [((x - paper).abs().sum(1) > 0.1).float().sum((1, 2)) for x in (thin, thick)]
    assert (ink_area[1] > ink_area[0]).all()
    # fair coins, independent of each other and of the digit (fixed seed)
    assert ((values.mean(0) - 0.5).abs() < 0.05).all()
    assert (torch.corrcoef(values.T) - torch.eye(3)).abs().max() < 0.1
    for bad in (["red_ink", "shiny"], []):
        with pytest.raises(ValueError, match="red_ink, thick_stroke, dark_paper, framed"):
            DigitAttributesDataModule(attributes=bad)
    assert DIGIT_ATTRIBUTES == ("red_ink", "thick_stroke", "dark_paper", "framed")


def _fake_celeba(root, count: int = 12, nested: bool = False):
    folder = root / "celeba" if nested else root
    (folder / "img_align_celeba").mkdir(parents=True)
    names = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Smiling", "Young"]
    g = torch.Generator().manual_seed(0)
    lines = [str(count), " ".join(names)]
    for i in range(count):
        pixels = torch.randint(0, 256, (24, 20, 3), generator=g, dtype=torch.uint8).numpy()
        Image.fromarray(pixels).save(folder / "img_align_celeba" / f"{i:06d}.jpg")
        values = [1 if (i >> k) & 1 else -1 for k in range(len(names))]
        lines.append(f"{i:06d}.jpg " + " ".join(f"{v:2d}" for v in values))
    (folder / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    return folder


CELEBA_TINY = dict(image_size=16, crop_size=18, batch_size=4, num_test=4, num_workers=0,
                   download=False)


def test_celeba_layout_split_attributes_and_preprocessing_follow_the_official_loader(tmp_path):
    folder = _fake_celeba(tmp_path, nested=True)  # torchvision's <root>/celeba layout
    data = CelebADataModule(root=str(tmp_path), attributes=["Male", "Black_Hair"], **CELEBA_TINY)
    # the official split: lines shuffled by random.seed(1234), the first num_test held out
    state = random.getstate()
    random.seed(1234)
    lines = [f"{i:06d}.jpg" for i in range(12)]
    random.shuffle(lines)
    random.setstate(state)
    assert [p.name for p in data.test_set.files] == lines[:4]
    assert [p.name for p in data.train_set.files] == lines[4:]
    image, attributes = data.test_set[0]
    i = int(lines[0][:6])
    assert attributes.tolist() == [float((i >> 3) & 1), float(i & 1)]  # Male, Black_Hair
    assert image.shape == (3, 16, 16) and -1 <= image.min() and image.max() <= 1
    # a training item is the test preprocessing, mirrored or not (drawn per epoch and item)
    train_item = data.train_set.files.index(folder / "img_align_celeba" / lines[4])
    plain = CelebADataModule(root=str(tmp_path), attributes=["Male"], flip=False, **CELEBA_TINY)
    reference = plain.train_set[train_item][0]
    seen = set()
    for nonce in range(12):
        item = data.train_set[(train_item, nonce)][0]
        assert torch.equal(item, reference) or torch.equal(item.flip(-1), reference)
        seen.add(bool(torch.equal(item, reference)))
    assert seen == {True, False}


def test_celeba_missing_files_and_unknown_attributes_are_one_line_errors(tmp_path, monkeypatch):
    from gan_lab.data.attributes import celeba

    with pytest.raises(ValueError, match="img_align_celeba/.*list_attr_celeba.txt") as error:
        CelebADataModule(root=str(tmp_path), **CELEBA_TINY)
    assert "data.download=false" in str(error.value) and "\n" not in str(error.value)
    monkeypatch.setattr(celeba, "_torchvision_download", lambda root: "OSError: no network")
    with pytest.raises(ValueError, match="downloading them failed \\(OSError: no network\\)"):
        CelebADataModule(root=str(tmp_path), **{**CELEBA_TINY, "download": True})
    # a misspelt name fails before any download, against the 40 standard names
    with pytest.raises(ValueError, match="'Blonde_Hair' is not an attribute of CelebA") as error:
        CelebADataModule(root=str(tmp_path), attributes=["Blonde_Hair"], **CELEBA_TINY)
    assert "5_o_Clock_Shadow" in str(error.value) and len(CELEBA_ATTRIBUTES) == 40
    _fake_celeba(tmp_path)
    with pytest.raises(ValueError, match="allowed: Black_Hair, Blond_Hair, Brown_Hair, Male, "
                                         "Smiling, Young$"):
        CelebADataModule(root=str(tmp_path), attributes=["Eyeglasses"], **CELEBA_TINY)
    (tmp_path / "list_attr_celeba.txt").write_text("12\nMale Young\n000000.jpg 1\n")
    with pytest.raises(ValueError, match="line 3: expected a file name and 2 values"):
        CelebADataModule(root=str(tmp_path), attributes=["Male"], **CELEBA_TINY)


# -- the metric ----------------------------------------------------------------------------------
class _PixelTranslator:
    """Writes the target attributes into pixels (0, 0, k) as +-1 (``obey``) or leaves them, and
    adds ``shift`` to the green channel everywhere."""

    directions = ("attributes",)

    def __init__(self, obey: bool, shift: float = 0.0) -> None:
        self.obey, self.shift = obey, shift

    def translate(self, images, direction, attributes):
        out = images.clone()
        out[:, 1] += self.shift
        if self.obey:
            out[:, 0, 0, : attributes.shape[1]] = attributes * 2 - 1
        return out


def test_attribute_accuracy_scores_changes_preservation_and_reconstruction():
    from types import SimpleNamespace

    from torch.utils.data import TensorDataset

    from gan_lab.metrics.attributes import AttributeAccuracy

    g = torch.Generator().manual_seed(0)
    values = torch.randint(0, 2, (10, 3), generator=g).float()
    images = torch.rand(10, 3, 4, 4, generator=g) * 0.5
    images[:, 0, 0, :3] = values * 2 - 1  # the attributes, where the stand-in classifier reads
    data = SimpleNamespace(batch_kind="attributes", attribute_names=NAMES,
                           test_set=TensorDataset(images, values))
    metric = AttributeAccuracy(chunk=4)
    metric.net = lambda x: (None, x[:, 0, 0, :3])  # a perfect classifier of this encoding
    metric.real_accuracy = metric._real_accuracy(data, NAMES)
    metric._prepared_for = data
    identity = metric(_PixelTranslator(obey=False), data, None, "t")
    # every target flips one attribute; unchanged images never carry it, nor all attributes
    assert identity["attributes/mean_accuracy"] == identity["attributes/all_accuracy"] == 0
    assert identity["attributes/reconstruction_l1"] == 0
    assert identity["attributes/real_mean_accuracy"] == 1
    obeying = metric(_PixelTranslator(obey=True, shift=0.1), data, None, "t")
    assert obeying["attributes/accuracy_dark_paper"] == obeying["attributes/all_accuracy"] == 1
    # two translations shift green by 0.2: mean |.| over 3 channels on [0, 1] = 0.2 / 3 / 2
    assert obeying["attributes/reconstruction_l1"] == pytest.approx(0.2 / 6)


class _Recolouring:
    """Swaps the red and blue channels (red ink becomes blue and back: the digit kept) or, with
    ``swap``, also hands each item the previous item's image (the digit lost)."""

    directions = ("attributes",)

    def __init__(self, swap: bool) -> None:
        self.swap = swap

    def translate(self, images, direction, attributes):
        out = images[:, [2, 1, 0]]
        return out.roll(1, dims=0) if self.swap else out


def test_content_accuracy_reads_the_digit_each_translation_keeps(tmp_path):
    from gan_lab.metrics.attributes import AttributeAccuracy
    from gan_lab.metrics.classifier import ClassifierExtractor

    data = DigitAttributesDataModule()
    view = data.class_view()
    assert view.num_classes == 10 and len(view.train_set) == 1617
    # the labels are the digits of the same items, train and test
    assert torch.equal(data.eval_labels(), digit_intensity(32)[1][data.test_indices])
    assert torch.equal(view.train_set.tensors[1], digit_intensity(32)[1][data.train_indices])
    content = ClassifierExtractor(cache_dir=str(tmp_path), width=8, epochs=3, lr=3e-3,
                                  train_batch_size=64)
    metric = AttributeAccuracy(cache_dir=str(tmp_path), width=4, epochs=1, chunk=60,
                               content_classifier=content)
    metric.prepare(data)
    assert metric.real_content_accuracy > 0.8
    kept = metric(_Recolouring(swap=False), data, None, "t")
    assert kept["attributes/real_content_accuracy"] == metric.real_content_accuracy
    assert kept["attributes/content_accuracy"] > 0.8
    assert kept["attributes/content_accuracy"] == pytest.approx(
        sum(kept[f"attributes/content_accuracy_{n}"] for n in DIGIT_ATTRIBUTES) / 4)
    assert kept["attributes/reconstruction_content_accuracy"] > 0.8  # swapped twice: the input
    lost = metric(_Recolouring(swap=True), data, None, "t")
    assert lost["attributes/content_accuracy"] < 0.3
    # rolled twice: each reconstruction is the image two items back, another digit mostly
    assert lost["attributes/reconstruction_content_accuracy"] < 0.3
    # data without content labels (CelebA) has no content scores
    metric.content_labels = None
    assert "attributes/content_accuracy" not in metric(_Recolouring(False), data, None, "t")


# -- training end to end ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """Four iterations of the embedded default (n_critic 5: 20 D and 4 G updates)."""
    folder = tmp_path_factory.mktemp("straight")
    train(folder, *TINY, "iterations=4", "callbacks.checkpoint.every_n_iterations=2",
          "model.log_every=1", "callbacks.samples.every=4")
    return folder


def test_update_counts_and_the_linear_lr_decay(straight_run):
    checkpoint = torch.load(straight_run / "checkpoints" / "last.ckpt", weights_only=True)
    g_state, d_state = checkpoint["optimizer_states"]
    # D every batch, G every n_critic-th: 4 iterations are 20 D steps and 4 G steps
    assert int(next(iter(d_state["state"].values()))["step"]) == 20
    assert int(next(iter(g_state["state"].values()))["step"]) == 4
    # lr held for the first half, then linearly to 0: 1e-4, 1e-4, 5e-5, 0 after iterations 1..4
    rows = (straight_run / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    lrs = [float(row.split(",")[header.index("lr/generator")]) for row in rows[1:]]
    assert lrs == pytest.approx([1e-4, 1e-4, 5e-5, 0.0])
    assert (straight_run / "samples" / "iter_0000004.png").is_file()


def test_resume_is_bitwise_the_uninterrupted_run(straight_run, tmp_path):
    common = [*TINY, "callbacks.checkpoint.every_n_iterations=2", "model.log_every=1",
              "callbacks.samples.every=4", "optim.schedulers.generator.iterations=4"]
    train(tmp_path / "first", *common, "iterations=2")
    half = tmp_path / "first" / "checkpoints" / "last.ckpt"
    train(tmp_path / "resumed", *common, "iterations=4", f"ckpt_path={half}")
    assert_same_training_state(straight_run / "checkpoints" / "last.ckpt",
                               tmp_path / "resumed" / "checkpoints" / "last.ckpt")


def test_trains_on_the_celeba_layout_and_scores_attribute_accuracy(tmp_path):
    _fake_celeba(tmp_path / "celeba_root")
    cfg = make_cfg(tmp_path / "run", *TINY, "data=celeba", f"data.root={tmp_path / 'celeba_root'}",
                   "data.crop_size=18", "data.num_test=4", "data.num_workers=0",
                   "data.download=false", "iterations=2", "eval=attributes",
                   f"eval.cache_dir={tmp_path / 'cache'}", "eval.metrics.attributes.width=4",
                   "eval.metrics.attributes.epochs=1")
    assert cfg.model.attributes == ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    objective = run(cfg)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert objective == results["attributes/mean_accuracy"]
    for name in cfg.model.attributes:
        assert 0 <= results[f"attributes/accuracy_{name}"] <= 1
        assert 0 <= results[f"attributes/real_accuracy_{name}"] <= 1
    assert 0 <= results["attributes/all_accuracy"] <= results["attributes/mean_accuracy"]
    assert results["attributes/reconstruction_l1"] > 0
    assert "attributes/content_accuracy" not in results  # CelebA has no content labels


def test_mismatched_data_and_eval_fail_before_training_in_one_line(tmp_path):
    for overrides, message in (([*TINY, "data=digits"], "data.attributes"),
                               (["model=pix2pix", "eval=attributes", "net_width=4", *QUIET],
                               "eval=attributes scores attri")):
        with pytest.raises((ConfigError, ValueError), match=message) as error:
            run(make_cfg(tmp_path, *overrides))
        assert "\n" not in str(error.value)


def test_translate_command_reads_a_checkpoint_alone(straight_run, tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    Image.new("RGB", (37, 23), (200, 30, 30)).save(inputs / "wide.png")
    Image.new("L", (16, 16), 128).save(inputs / "grey.jpg")
    out = tmp_path / "out"
    result = run_cli(f"ckpt={straight_run / 'checkpoints' / 'last.ckpt'}", f"input={inputs}",
                     f"out={out}", "options.attributes=[red_ink,framed]", cwd=tmp_path,
                     module="gan_lab.translate")
    assert result.returncode == 0, result.stderr[-3000:]
    assert Image.open(out / "wide.png").size == (37, 23)
    assert Image.open(out / "grey.png").mode == "RGB"


@pytest.mark.slow
def test_translate_command_refuses_wrong_attributes_in_one_line(straight_run, tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    Image.new("RGB", (16, 16)).save(inputs / "a.png")
    result = run_cli(f"ckpt={straight_run / 'checkpoints' / 'last.ckpt'}", f"input={inputs}",
                     "options.attributes=[1,0]", f"hydra.run.dir={tmp_path / 'o'}", cwd=tmp_path,
                     module="gan_lab.translate")
    assert result.returncode == 2
    assert "this StarGAN has 4 attributes (red_ink, thick_stroke, dark_paper, framed)" \
        in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_classifier_command_prepares_the_attribute_evaluation_ahead(tmp_path):
    cache = tmp_path / "cache"
    tiny = ["model=stargan", "eval=attributes", f"eval.cache_dir={cache}",
            "eval.metrics.attributes.width=4", "eval.metrics.attributes.epochs=1",
            "eval.content_classifier.width=4", "eval.content_classifier.epochs=1"]
    result = run_cli(*tiny, "hydra.run.dir=run", cwd=tmp_path, module="gan_lab.classifier")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "eval.metrics.attributes ready for DigitAttributesDataModule" in result.stdout
    assert len(list(cache.glob("attributes-*.pt"))) == len(list(cache.glob("classifier-*.pt"))) == 1
    # an evaluation without the data's classifier is one line, not a traceback
    wrong = run_cli("model=stargan", "eval=none", "hydra.run.dir=run2", cwd=tmp_path,
                    module="gan_lab.classifier")
    assert wrong.returncode == 2 and "eval=none: nothing to prepare" in wrong.stderr
    assert "Traceback" not in wrong.stderr

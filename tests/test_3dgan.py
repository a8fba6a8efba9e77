"""3D-GAN (Wu et al. 2016): the volumetric nets at the paper's size, the D-accuracy gate, the
procedural primitives and the voxel folder loader, the voxel renderer, the voxel metrics, and a
few training iterations through the config path."""

from __future__ import annotations

import csv
import math
from types import SimpleNamespace

import lightning.pytorch as pl
import numpy as np
import pytest
import torch

from gan_lab.building import build_module
from gan_lab.config import ConfigError
from gan_lab.data.voxels import (
    CLASS_NAMES,
    Primitives3DDataModule,
    VoxelFolderDataModule,
    read_binvox,
    resample_voxels,
)
from gan_lab.data.voxels.primitives import draw_parameters, primitive_voxels, voxel_centres
from gan_lab.kinds import BatchKind, SampleKind
from gan_lab.metrics.voxels import VoxelFeatures, VoxelQuality, iou_matrix, nearest_by_iou
from gan_lab.models import voxel_gan
from gan_lab.models.voxel_gan import VoxelGAN, discriminator_accuracy
from gan_lab.nets.voxel_gan import VoxelDiscriminator, VoxelGenerator
from tests.conftest import make_cfg, train

QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false"]
# 16^3, two blocks, narrow nets, 8 shapes a class: a training iteration in tens of milliseconds.
TINY = ["model=3dgan", "data.resolution=16", "data.num_samples=8", "data.num_test=2",
        "data.batch_size=8", "model.latent_dim=16", "model.generator.widths=[16,8]",
        "model.discriminator.widths=[8,16]", *QUIET]


def trainable(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------- nets
def test_the_paper_nets_at_64_have_the_papers_parameter_counts_and_no_bias():
    generator, discriminator = VoxelGenerator(), VoxelDiscriminator()  # 200-d z, 64^3, paper widths
    assert trainable(generator) == 17_569_664
    assert trainable(discriminator) == 11_048_704
    convs = [m for net in (generator, discriminator) for m in net.modules()
             if isinstance(m, torch.nn.Conv3d | torch.nn.ConvTranspose3d)]
    assert len(convs) == 10 and all(m.bias is None for m in convs)
    assert [m.kernel_size for m in convs] == [(4, 4, 4)] * 10
    # D: no batch norm after its first conv, one after each of the three others
    assert sum(isinstance(m, torch.nn.BatchNorm3d) for m in discriminator.modules()) == 3
    assert generator.widths == [512, 256, 128, 64] and discriminator.widths == [64, 128, 256, 512]


def test_at_32_one_block_fewer_and_the_shapes_fit():
    paper = VoxelGenerator(resolution=32), VoxelDiscriminator(resolution=32)
    assert paper[0].widths == [512, 256, 128] and paper[1].widths == [128, 256, 512]
    generator = VoxelGenerator(latent_dim=200, resolution=32, widths=(32, 16, 8, 4))
    discriminator = VoxelDiscriminator(resolution=32, widths=(4, 8, 16, 32))
    z = torch.rand(3, 200)
    shapes = generator(z)
    assert shapes.shape == (3, 1, 32, 32, 32)
    assert 0.0 <= float(shapes.min()) and float(shapes.max()) <= 1.0  # sigmoid occupancy
    assert discriminator(shapes).shape == (3,)
    with pytest.raises(ValueError, match=r"^resolution=24: 3D-GAN's nets make cubes"):
        VoxelGenerator(resolution=24)
    with pytest.raises(ValueError, match=r"^widths=\[8\]: a 32\^3 cube needs 3 widths"):
        VoxelDiscriminator(resolution=32, widths=[8])
    with pytest.raises(ValueError, match="expects codes"):
        generator(torch.rand(3, 200, 1, 1, 1))


# ----------------------------------------------------------------------------- the D gate
def test_discriminator_accuracy_reads_logits_by_their_sign():
    real, fake = torch.tensor([2.0, -1.0, 0.5, 3.0]), torch.tensor([-2.0, -0.1, 1.0, -5.0])
    assert float(discriminator_accuracy(real, fake)) == pytest.approx(6 / 8)
    # 160 of 200 right is 80 %, not above the threshold (float32 would put it above 0.8)
    scores = torch.cat([torch.ones(160), -torch.ones(40)])
    assert float(discriminator_accuracy(scores[:100], -scores[100:])) <= 0.8


def _fit_one_iteration(module, datamodule) -> None:
    module.budget = 1
    trainer = pl.Trainer(accelerator="cpu", max_steps=10, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, datamodule=datamodule)


@pytest.mark.parametrize(("accuracy", "steps"), [(0.9, False), (0.8, True), (0.5, True)])
def test_d_steps_only_while_its_accuracy_is_at_most_the_threshold(tmp_path, monkeypatch,
                                                                  accuracy, steps):
    cfg = make_cfg(tmp_path, *TINY)
    torch.manual_seed(0)
    module = build_module(cfg)
    assert isinstance(module, VoxelGAN) and module.d_accuracy_threshold == 0.8
    datamodule = Primitives3DDataModule(resolution=16, num_samples=8, num_test=2, batch_size=8)
    module.check_data(datamodule)
    monkeypatch.setattr(voxel_gan, "discriminator_accuracy",
                        lambda *_: torch.tensor(accuracy, dtype=torch.float64))
    d_before = [p.detach().clone() for p in module.discriminator.parameters()]
    g_before = [p.detach().clone() for p in module.generator.parameters()]
    calls = []
    module.discriminator.register_forward_hook(lambda *_: calls.append(1))
    _fit_one_iteration(module, datamodule)
    assert module.iteration == 1
    d_changed = any(not torch.equal(a, b)
                    for a, b in zip(d_before, module.discriminator.parameters(), strict=True))
    g_changed = any(not torch.equal(a, b)
                    for a, b in zip(g_before, module.generator.parameters(), strict=True))
    assert d_changed == steps and g_changed  # G steps every iteration
    # D scored reals and fakes once for the gate (its step reuses them) and fakes for G's step
    assert len(calls) == 3


def test_the_gate_logs_the_accuracy_and_the_share_of_d_steps(tmp_path):
    train(tmp_path, *TINY, "iterations=4", "model.log_every=4", "callbacks.samples=null",
          "model.d_accuracy_threshold=0.0")
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    row = next(r for r in rows if r.get("metrics/d_accuracy"))
    accuracy, ran = float(row["metrics/d_accuracy"]), float(row["phase/Dmain_ran"])
    assert 0.0 <= accuracy <= 1.0 and 0.0 <= ran <= 1.0
    if accuracy > 0.0:  # threshold 0: D steps only on batches it gets all wrong
        assert ran < 1.0


def test_gate_options_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"model.d_accuracy_threshold=1.5: must be a number"):
        build_module(make_cfg(tmp_path, *TINY, "model.d_accuracy_threshold=1.5"))
    with pytest.raises(ConfigError, match=r"model.latent_distribution='cauchy'"):
        build_module(make_cfg(tmp_path, *TINY, "model.latent_distribution=cauchy"))
    module = build_module(make_cfg(tmp_path, *TINY, "model.d_accuracy_threshold=null"))
    assert [p.condition for p in module.phase_list] == [None, None]
    assert float(module.noise(64).min()) >= 0.0  # z ~ U[0, 1) by default


# ----------------------------------------------------------------------------- primitives
def test_primitives_are_ten_classes_made_alike_from_a_seed():
    first = Primitives3DDataModule(resolution=16, num_samples=3, num_test=2, batch_size=4)
    again = Primitives3DDataModule(resolution=16, num_samples=3, num_test=2, batch_size=4)
    other = Primitives3DDataModule(resolution=16, num_samples=3, num_test=2, batch_size=4,
                                   shape_seed=1)
    for module in (first, again, other):
        module.setup("fit")
    assert first.batch_kind == BatchKind.VOXELS and first.num_classes == 10
    assert first.sample_spec.kind == SampleKind.VOXELS and first.sample_shape == (1, 16, 16, 16)
    assert first.class_names == CLASS_NAMES and len(CLASS_NAMES) == 10
    assert torch.equal(first.train_set.voxels, again.train_set.voxels)
    assert not torch.equal(first.train_set.voxels, other.train_set.voxels)
    assert not torch.equal(first.test_set.voxels, first.train_set.voxels[:len(first.test_set)])
    assert torch.equal(first.train_set.labels.bincount(), torch.full((10,), 3))
    grids, labels = next(iter(first.train_dataloader()))
    assert grids.dtype == torch.float32 and grids.shape == (4, 1, 16, 16, 16)
    assert set(grids.unique().tolist()) <= {0.0, 1.0} and labels.dtype == torch.int64


def test_every_class_is_a_sane_shape_inside_the_cube():
    rng = np.random.default_rng(0)
    for name in CLASS_NAMES:
        params = draw_parameters(name, 6, rng)
        grids = primitive_voxels(name, params, 32).float()
        filled = grids.mean(dim=(1, 2, 3, 4))
        assert bool((filled > 0.005).all()) and bool((filled < 0.3).all()), name
        borders = grids[..., 0, :, :].sum() + grids[..., -1, :, :].sum() + grids[..., 0].sum() \
            + grids[..., -1].sum() + grids[..., 0, :].sum() + grids[..., -1, :].sum()
        assert float(borders) == 0, f"{name} touches the cube's border"
    # a sphere fills 4/3 pi r^3 of the cube [-1, 1]^3 (volume 8), up to the voxels at its rim
    params = draw_parameters("sphere", 20, rng)
    filled = primitive_voxels("sphere", params, 32).float().mean(dim=(1, 2, 3, 4)).numpy()
    expected = 4 / 3 * math.pi * params["r"] ** 3 / 8
    assert np.abs(filled / expected - 1).max() < 0.08
    # a tube is hollow along its axis, a cylinder solid
    x, y, z = (t[0] for t in voxel_centres(32))
    for name, inside in (("tube", False), ("cylinder", True)):
        params = draw_parameters(name, 4, rng)
        grids = primitive_voxels(name, params, 32)[:, 0]
        for grid, (sx, sy, sz) in zip(grids, params["shift"], strict=True):
            near = ((x - sx) ** 2 + (y - sy) ** 2 + (z - sz) ** 2).flatten().argmin()
            assert bool(grid.flatten()[near]) == inside, name


def test_a_classes_filter_keeps_the_labelling_of_all_ten():
    kept = ["sphere", "box", "cylinder", "cone", "torus", "table", "chair"]
    module = Primitives3DDataModule(resolution=16, num_samples=2, num_test=1, batch_size=4,
                                    classes=kept)
    module.setup("fit")
    indices = sorted(CLASS_NAMES.index(n) for n in kept)
    assert sorted(module.train_set.labels.unique().tolist()) == indices
    assert sorted(module.test_set.labels.unique().tolist()) == indices
    assert module.num_classes == 10 and module.excluded_classes == ["pyramid", "capsule", "tube"]
    assert sorted(module.excluded_set().labels.unique().tolist()) == [5, 6, 7]


@pytest.mark.parametrize(("options", "message"), [
    ({"classes": ["sphere", "cube"]}, r"^data.classes=\['sphere', 'cube'\]: unknown class 'cube'"),
    ({"classes": []}, r"^data.classes=\[\]: empty"),
    ({"resolution": 24}, r"^data.resolution=24: must be 16, 32, 64 or 128"),
    ({"num_samples": 0}, r"^data.num_samples=0: must be an integer >= 1"),
    ({"batch_size": 100, "num_samples": 2}, r"^data.batch_size=100: larger than the training set"),
])
def test_bad_primitive_options_are_one_line_errors(options, message):
    with pytest.raises(ValueError, match=message) as error:
        Primitives3DDataModule(**{"resolution": 16, "batch_size": 4, **options})
    assert "\n" not in str(error.value)


# ----------------------------------------------------------------------------- the folder
def write_binvox(path, grid: np.ndarray) -> None:
    """``grid`` (x, y, z) as a binvox file: the header, then (value, count) runs over the voxels
    in the file's order, y fastest, then z, then x."""
    flat = grid.transpose(0, 2, 1).ravel().astype(np.uint8)
    runs, start = [], 0
    while start < flat.size:
        end = start
        while end < flat.size and flat[end] == flat[start] and end - start < 255:
            end += 1
        runs += [flat[start], end - start]
        start = end
    d, h, w = grid.shape
    header = f"#binvox 1\ndim {d} {h} {w}\ntranslate 0 0 0\nscale 1\ndata\n".encode()
    path.write_bytes(header + bytes(runs))


def test_a_voxel_folder_reads_npy_binvox_and_mat_files(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    grid = np.zeros((16, 16, 16), dtype=bool)
    grid[2:5, 3:9, 1:15] = True  # no symmetry: the axes must come out right
    for split in ("train", "test"):
        (tmp_path / "chair" / split).mkdir(parents=True)
        (tmp_path / "table" / "30" / split).mkdir(parents=True)  # 3DShapeNets' nesting
    np.save(tmp_path / "chair" / "train" / "a.npy", grid)
    write_binvox(tmp_path / "chair" / "train" / "b.binvox", grid)
    assert np.array_equal(read_binvox(tmp_path / "chair" / "train" / "b.binvox"), grid)
    instance = np.zeros((30, 30, 30), dtype=np.uint8)
    instance[10:20, 10:20, 0:5] = 1
    scipy_io.savemat(tmp_path / "table" / "30" / "train" / "c.mat", {"instance": instance})
    np.save(tmp_path / "table" / "30" / "test" / "d.npy", grid)
    module = VoxelFolderDataModule(str(tmp_path), resolution=32, batch_size=2)
    module.setup("fit")
    assert module.class_names == ("chair", "table") and len(module.train_set) == 3
    assert len(module.test_set) == 1 and module.batch_kind == BatchKind.VOXELS
    npy, label = module.train_set[0]
    assert npy.shape == (1, 32, 32, 32) and int(label) == 0
    assert torch.equal(npy[0], resample_voxels(grid, 32).float())  # 16 -> 32: each voxel twice
    assert int(npy.sum()) == int(grid.sum()) * 8
    binvox, _ = module.train_set[1]  # binvox's y is up: (x, y, z) -> (z, x, y), a rotation
    expected = np.transpose(grid, (2, 0, 1)).repeat(2, 0).repeat(2, 1).repeat(2, 2)
    assert np.array_equal(binvox[0].numpy().astype(bool), expected)
    mat, label = module.train_set[2]  # 30^3 padded to 32^3 by one empty voxel
    assert int(label) == 1 and int(mat.sum()) == instance.sum()
    assert bool(mat[0, 11:21, 11:21, 1:6].all())
    grids, labels = next(iter(module.train_dataloader()))
    assert grids.shape == (2, 1, 32, 32, 32) and grids.dtype == torch.float32


def test_a_missing_voxel_folder_is_one_line_naming_the_layout(tmp_path):
    with pytest.raises(ValueError, match=r"^data.path='/no/such' is not a folder; expected "
                                         r"<path>/<class>/\{train,test\}") as error:
        VoxelFolderDataModule("/no/such")
    assert "\n" not in str(error.value) and "modelnet.cs.princeton.edu" in str(error.value)
    (tmp_path / "chair").mkdir()
    with pytest.raises(ValueError, match="has no class folder with a train folder"):
        VoxelFolderDataModule(str(tmp_path))


# ----------------------------------------------------------------------------- the renderer
def test_the_voxel_renderer_draws_grids_and_turntables():
    pytest.importorskip("gan_lab.outputs.base")
    from gan_lab.outputs.base import FramesOutput, ImageOutput, renderer_for
    from gan_lab.outputs.renderers.voxels import interpolation_strip, nearest_panels, turntable
    from gan_lab.visuals import Visual

    entry = renderer_for(SampleKind.VOXELS)
    image = entry.render(Visual(SampleKind.VOXELS, torch.zeros(4, 1, 16, 16, 16), 2))  # empty
    assert isinstance(image, ImageOutput) and image.pixels.shape[0] == 3
    grids = primitive_voxels("chair", draw_parameters("chair", 4, np.random.default_rng(0)), 16)
    image = entry.render(Visual(SampleKind.VOXELS, grids.float(), 2))
    assert image.pixels.shape == (3, 262, 262) and float(image.pixels.min()) < 0.9
    film = turntable(grids[0].float(), frames=4, fps=6)
    assert isinstance(film, FramesOutput) and film.frames.shape[:2] == (4, 3) and film.fps == 6
    assert not torch.equal(film.frames[0], film.frames[1])  # the camera turns
    strip = interpolation_strip(grids.float())
    assert strip.pixels.shape[2] > strip.pixels.shape[1]  # one row of four
    panels = nearest_panels(grids[:2].float(), grids.float(), k=2)
    assert panels.pixels.shape[1] < panels.pixels.shape[2]  # two rows of three


# ----------------------------------------------------------------------------- the metrics
def test_iou_and_nearest_shapes():
    a = torch.zeros(3, 1, 4, 4, 4)
    a[0, 0, :2] = 1
    a[1, 0, 2:] = 1
    a[2, 0, :, :2] = 1
    ious = iou_matrix(a, a)
    assert torch.allclose(ious.diagonal(), torch.ones(3))
    assert float(ious[0, 1]) == 0.0 and float(ious[0, 2]) == pytest.approx(1 / 3)
    best, index = nearest_by_iou(a[[2, 0]], a, k=2, chunk=2)
    assert index[:, 0].tolist() == [2, 0] and best[:, 0].tolist() == [1.0, 1.0]


def test_voxel_metrics_on_tiny_data(tmp_path):
    datamodule = Primitives3DDataModule(resolution=16, num_samples=6, num_test=3, batch_size=4,
                                        classes=["sphere", "box", "tube", "chair"])
    features = VoxelFeatures(cache_dir=str(tmp_path), width=4, epochs=2, train_batch_size=8)
    evaluator = VoxelQuality(features, num_samples=12, memorization_samples=6, sample_batch=5)
    evaluator.prepare(datamodule)
    assert len(list(tmp_path.glob("voxel-classifier-*.pt"))) == 1
    training = datamodule.train_set.voxels.float()

    def copies(n):  # a generator that memorized its training set
        return training[torch.arange(n) % len(training)]

    results = evaluator(copies, datamodule, tmp_path, "final")
    assert math.isfinite(results["voxels/fid"]) and math.isfinite(results["voxels/fid_test"])
    assert results["voxels/nn_iou"] == pytest.approx(1.0)
    assert results["voxels/nn_iou_test"] < 1.0
    shares = [results[f"voxels/class_{name}"] for name in CLASS_NAMES]
    assert sum(shares) == pytest.approx(1.0) and results["voxels/class_kl"] >= 0.0
    assert 0.0 <= results["voxels/classifier_accuracy"] <= 1.0
    again = VoxelFeatures(cache_dir=str(tmp_path), width=4, epochs=2, train_batch_size=8)
    again.prepare(datamodule)  # from the cache
    assert again.accuracy == features.accuracy
    with pytest.raises(ValueError, match="eval=voxels needs labelled voxel grids"):
        VoxelFeatures(cache_dir=str(tmp_path)).prepare(
            SimpleNamespace(num_classes=1, sample_shape=(1, 16, 16, 16)))


# ----------------------------------------------------------------------------- the run
def test_3dgan_trains_renders_and_evaluates_through_the_config(tmp_path):
    cfg = make_cfg(tmp_path, "model=3dgan")
    assert cfg.data._target_.endswith("Primitives3DDataModule") and cfg.data.resolution == 32
    assert cfg.loss.objective == "nsgan" and cfg.data.batch_size == 100
    assert (cfg.optim.generator.lr, cfg.optim.discriminator.lr) == (2.5e-3, 1e-5)
    assert cfg.optim.generator.betas[0] == 0.5 and cfg.model.latent_dim == 200
    assert cfg.model.generator.resolution == 32 and cfg.quick
    train(tmp_path, *TINY, "iterations=3", "callbacks.samples.num_samples=4",
          "callbacks.samples.nrow=2", "eval=voxels", "eval.num_samples=16",
          "eval.classifier.width=4", "eval.classifier.epochs=1",
          f"eval.cache_dir={tmp_path / 'cache'}", "eval.metrics.voxels.memorization_samples=4",
          "data.classes=[sphere,box,cylinder,cone,torus,table,chair]")
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert list((tmp_path / "samples").glob("iter_0000003.*"))
    results = (tmp_path / "results.json").read_text()
    assert '"voxels/fid"' in results and '"voxels/nn_iou"' in results


def test_image_data_is_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"generates voxel grids; use data=primitives3d"):
        train(tmp_path, "model=3dgan", "data=digits", "iterations=1", *QUIET)

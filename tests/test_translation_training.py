"""pix2pix and CycleGAN end to end: the headline command on a folder in the published layout,
the embedded defaults, exact resume (pool and counters included), the evaluate and translate
commands, and the one-line errors for mismatched model, data and eval."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from gan_lab.config import ConfigError
from gan_lab.train import run
from tests.conftest import make_cfg, run_cli, train

QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false"]
# The embedded demo sets at 16x16 with narrow nets: seconds per run.
TINY_PIX2PIX = ["model=pix2pix", "net_width=4", "data.image_size=16", "data.batch_size=4",
                "model.discriminator.n_layers=2", *QUIET]
TINY_CYCLEGAN = ["model=cyclegan", "net_width=4", "data.image_size=24", "data.batch_size=2",
                 "model.pool_size=3", *QUIET]
TINY_EVAL = ["eval=translation", "eval.classifier.width=4", "eval.classifier.epochs=1",
             "eval.semantic_classifier.width=4", "eval.semantic_classifier.epochs=1",
             "eval.metrics.translation.kid_subsets=5"]


def _write_images(folder, count: int, size: tuple[int, int], colour: tuple[int, int, int]):
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(count)
    for i in range(count):
        noise = torch.randint(0, 60, (size[1], size[0], 3), generator=g)
        pixels = (torch.tensor(colour) + noise).clamp(0, 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(folder / f"{i:03d}.jpg")


@pytest.mark.slow
def test_cyclegan_trains_on_a_horse2zebra_folder_with_the_headline_command(tmp_path):
    root = tmp_path / "datasets"
    for split, count in (("trainA", 6), ("trainB", 5), ("testA", 4), ("testB", 4)):
        colour = (150, 110, 60) if split.endswith("A") else (200, 200, 200)
        _write_images(root / "horse2zebra" / split, count, (24, 20), colour)
    result = run_cli(
        "model=cyclegan", "data=horse2zebra", f"data.root={root}", "data.download=false",
        "data.load_size=26", "data.image_size=24", "net_width=4", "iterations=4",
        *TINY_EVAL, "eval.every=2", "callbacks.samples.every=2",
        f"hydra.run.dir={tmp_path / 'run'}", *QUIET, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "run"
    results = json.loads((run_dir / "results.json").read_text())
    for key in ("classifier/fid_AtoB", "classifier/fid_BtoA", "translation/cycle_l1_A",
                "translation/domain_accuracy_BtoA"):
        assert key in results, key
    assert "translation/psnr_AtoB" not in results  # unpaired test images: no ground truth
    grid = Image.open(run_dir / "samples" / "iter_0000004.png")
    assert grid.height > 6 * 24  # six rows: real_A, fake_B, rec_A, real_B, fake_A, rec_B
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


def test_published_set_offline_fails_before_training_with_the_layout(tmp_path, monkeypatch):
    from gan_lab.data.translation import published as published_translation_sets

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(published_translation_sets, "download_archive", offline)
    cfg = make_cfg(tmp_path, "model=cyclegan", "data=horse2zebra", f"data.root={tmp_path}")
    with pytest.raises(ConfigError, match="trainA") as error:
        run(cfg)
    assert "\n" not in str(error.value)


def test_pix2pix_embedded_default_trains_and_scores(tmp_path):
    cfg = make_cfg(tmp_path, *TINY_PIX2PIX, "iterations=6", *TINY_EVAL, "eval.every=3")
    assert cfg.data._target_.endswith("Edges2DigitsDataModule")
    objective = run(cfg)
    results = json.loads((tmp_path / "results.json").read_text())
    assert objective == results["classifier/fid_AtoB"]
    for key in ("translation/l1_AtoB", "translation/psnr_AtoB", "translation/ssim_AtoB",
                "translation/class_accuracy_AtoB", "translation/class_real_accuracy"):
        assert key in results, key
    assert 0.0 <= results["translation/ssim_AtoB"] <= 1.0
    assert "translation/cycle_l1_A" not in results  # pix2pix translates one way
    rows = (tmp_path / "eval" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3  # header, iterations 3 and 6 (the final evaluation reuses 6)


def test_cyclegan_resume_restores_nets_pools_and_counters_exactly(tmp_path):
    # The lr schedule is fixed to the 6-iteration run in all three runs (by default it follows
    # `iterations`, which the first half sets to 3).
    common = [*TINY_CYCLEGAN, "callbacks.checkpoint.every_n_iterations=3",
              "callbacks.samples=null", "optim.schedulers.generator.iterations=6"]
    train(tmp_path / "straight", *common, "iterations=6")
    train(tmp_path / "first_half", *common, "iterations=3")
    half = tmp_path / "first_half" / "checkpoints" / "last.ckpt"
    train(tmp_path / "resumed", *common, "iterations=6", f"ckpt_path={half}")
    straight = torch.load(tmp_path / "straight" / "checkpoints" / "last.ckpt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["gan_lab"]["iteration"] == straight["gan_lab"]["iteration"] == 6
    assert int(straight["state_dict"]["pools.A.count"]) == 3  # the pool filled and is saved
    for key, value in straight["state_dict"].items():  # both Gs, both Ds, both pools
        assert torch.equal(value, resumed["state_dict"][key]), key
    # the linear-decay schedulers resume at the same point
    assert straight["lr_schedulers"] == resumed["lr_schedulers"]


@pytest.mark.slow
def test_evaluate_and_translate_commands_on_a_pix2pix_checkpoint(tmp_path):
    run(make_cfg(tmp_path / "train", *TINY_PIX2PIX, "iterations=2"))
    ckpt = tmp_path / "train" / "checkpoints" / "last.ckpt"
    evaluated = run_cli(f"ckpt={ckpt}", *TINY_EVAL, f"hydra.run.dir={tmp_path / 'eval'}",
                        cwd=tmp_path, module="gan_lab.evaluate")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert "translation/psnr_AtoB" in evaluated.stdout
    wrong = run_cli(f"ckpt={ckpt}", f"hydra.run.dir={tmp_path / 'eval2'}", cwd=tmp_path,
                    module="gan_lab.evaluate")  # the default eval=classifier scores generators
    assert wrong.returncode == 2 and "use eval=translation" in wrong.stderr

    inputs = tmp_path / "inputs"
    (inputs / "nested").mkdir(parents=True)
    Image.new("RGB", (37, 23), (255, 255, 255)).save(inputs / "wide.png")
    Image.new("L", (16, 16), 128).save(inputs / "nested" / "grey.jpg")
    out = tmp_path / "translated"
    translated = run_cli(f"ckpt={ckpt}", f"input={inputs}", f"out={out}", cwd=tmp_path,
                         module="gan_lab.translate")
    assert translated.returncode == 0, translated.stderr[-3000:]
    assert Image.open(out / "wide.png").size == (37, 23)  # any size: padded and cropped back
    assert Image.open(out / "nested" / "grey.png").mode == "RGB"
    backwards = run_cli(f"ckpt={ckpt}", f"input={inputs}", "direction=BtoA", cwd=tmp_path,
                        module="gan_lab.translate")
    assert backwards.returncode == 2 and "translates AtoB" in backwards.stderr
    # the options other image-conditional models take are refused in one line
    attributes = run_cli(f"ckpt={ckpt}", f"input={inputs}", "options.attributes=[1,0]",
                         cwd=tmp_path, module="gan_lab.translate")
    assert attributes.returncode == 2
    assert "options.attributes=[1, 0]: a Pix2Pix does not take attributes (it takes no " \
        "translate options)" in attributes.stderr
    sampled = run_cli(f"ckpt={ckpt}", f"out={tmp_path / 's'}", cwd=tmp_path,
                      module="gan_lab.sample")
    assert sampled.returncode == 2 and "use python -m gan_lab.translate" in sampled.stderr


@pytest.mark.parametrize(("overrides", "message"), [
    (["model=pix2pix", "data=chalk2ink"], "learns from aligned pairs"),
    (["model=cyclegan", "data=digits"], "data.channels_a.*do not fit together.*a translation set"),
    (["data=chalk2ink"], "data.channels.*do not fit together"),
    (["model=cyclegan", "eval=classifier"], "use eval=translation"),
    (["model=pix2pix", "data.image_size=24"], "image_size"),
    (["model=cyclegan", "data.image_size=16"], "discriminator A needs sides of at least 24"),
])
def test_mismatched_model_data_and_eval_fail_with_one_line(tmp_path, overrides, message):
    with pytest.raises((ConfigError, ValueError), match=message) as error:
        run(make_cfg(tmp_path, *overrides, "net_width=4"))
    assert "\n" not in str(error.value)

"""The sample and evaluate commands on a tiny checkpoint, and evaluation during training."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from gan_lab.config import ConfigError
from gan_lab.loading import load_module, read_checkpoint
from gan_lab.sample import sample_labels, slerp, truncated_noise
from gan_lab.train import run
from tests.conftest import SMALL_EVAL, TINY_DCGAN, make_cfg, run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 4-iteration conditional DCGAN on the digits, evaluated (classifier features) at 2, 4."""
    root = tmp_path_factory.mktemp("cgan")
    cache = root / "cache"
    cfg = make_cfg(root / "run", "model=cgan", *TINY_DCGAN, "iterations=4", "eval.every=2",
                   *SMALL_EVAL, f"eval.cache_dir={cache}")
    objective = run(cfg)
    return {"run": root / "run", "ckpt": root / "run" / "checkpoints" / "last.ckpt",
            "cache": cache, "objective": objective}


def test_training_evaluates_on_schedule_and_logs_fid(trained):
    with (trained["run"] / "metrics.csv").open() as f:  # the CSV logger
        rows = [r for r in csv.DictReader(f) if r.get("classifier/fid")]
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert all(float(r["classifier/fid"]) > 0 for r in rows)
    assert all(0 <= float(r["classifier/class_accuracy"]) <= 1 for r in rows)
    results = json.loads((trained["run"] / "results.json").read_text())
    assert trained["objective"] == pytest.approx(results["classifier/fid"])
    with (trained["run"] / "eval" / "metrics.csv").open() as f:
        tags = [r["tag"] for r in csv.DictReader(f)]
    assert tags == ["iter_0000002", "iter_0000004"]  # the final one reused iteration 4's
    assert len(list(trained["cache"].glob("classifier-*.pt"))) == 1
    assert len(list(trained["cache"].glob("real-*.pt"))) == 1


def test_checkpoint_rebuilds_the_generator_weights_only(trained):
    module, cfg = load_module(trained["ckpt"])
    assert module.iteration == 4 and cfg.model.num_classes == 10
    state = read_checkpoint(trained["ckpt"])["state_dict"]
    for name, value in module.state_dict().items():
        assert torch.equal(value, state[name]), name
    images = module.sample(3, labels=torch.tensor([0, 1, 2]))
    assert images.shape == (3, 1, 8, 8)


def test_sample_command_writes_grid_singles_and_interpolation(trained, tmp_path):
    out = tmp_path / "samples"
    result = run_cli(f"ckpt={trained['ckpt']}", "n=10", "nrow=5", "labels=[1,2]",
                     "truncation=0.5", "interpolation_rows=3", "interpolation_steps=4",
                     f"out={out}", cwd=tmp_path, module="gan_lab.sample")
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in (out / "images").iterdir()) == [f"{i:06d}.png" for i in range(10)]
    # make_grid: 2-pixel padding around 8x8 cells.
    assert Image.open(out / "grid.png").size == (5 * 10 + 2, 2 * 10 + 2)
    assert Image.open(out / "interpolation.png").size == (4 * 10 + 2, 3 * 10 + 2)
    assert Image.open(out / "images" / "000000.png").size == (8, 8)


def test_sample_refuses_options_the_model_does_not_take(trained, tmp_path):
    # options.size without "+": the command opens its options mapping (gan_lab.cli)
    result = run_cli(f"ckpt={trained['ckpt']}", "options.size=[8,12]", f"out={tmp_path / 'o'}",
                     cwd=tmp_path, module="gan_lab.sample")
    assert result.returncode == 2
    # a plain GAN declares no sample options (style generators declare truncation and spaces)
    assert "options.size=[8, 12]: a GAN does not take size (it takes no sample options)" \
        in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_model_options_pass_what_a_model_declares():
    from gan_lab.cli import model_options

    class Takes:
        translate_options = ("mask", "scale")

    assert model_options(Takes(), OmegaConf.create({"scale": 3, "mask": None}), "translate") == {
        "mask": None, "scale": 3}
    assert model_options(Takes(), None, "translate") == {}
    with pytest.raises(ConfigError, match=r"options.attributes=\[1, 0\]: a Takes does not take "
                                          r"attributes \(its translate options: options.mask, "
                                          r"options.scale\)"):
        model_options(Takes(), OmegaConf.create({"attributes": [1, 0]}), "translate")
    with pytest.raises(ConfigError, match=r"options=3: must be a mapping"):
        model_options(Takes(), 3, "translate")


def test_evaluate_command_prints_a_table(trained, tmp_path):
    result = run_cli(f"ckpt={trained['ckpt']}", *SMALL_EVAL, f"eval.cache_dir={trained['cache']}",
                     f"hydra.run.dir={tmp_path / 'ev'}", cwd=tmp_path, module="gan_lab.evaluate")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    table = {line.split()[0]: float(line.split()[1]) for line in lines
             if line.startswith("classifier/")}
    assert {"classifier/fid", "classifier/kid", "classifier/is", "classifier/precision",
            "classifier/recall", "classifier/class_accuracy"} <= set(table)
    saved = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert saved["iteration"] == 4 and saved["ema"] is False  # what was scored: no EMA kept
    assert saved["classifier/fid"] == pytest.approx(table["classifier/fid"], rel=1e-5)
    raw = run_cli(f"ckpt={trained['ckpt']}", *SMALL_EVAL, f"eval.cache_dir={trained['cache']}",
                  "ema=false", f"hydra.run.dir={tmp_path / 'raw'}", cwd=tmp_path,
                  module="gan_lab.evaluate")
    assert raw.returncode == 0 and "generator without EMA" in raw.stdout
    assert json.loads((tmp_path / "raw" / "results.json").read_text())["ema"] is False


class Payload:
    """Not a tensor or a plain container: weights-only loading must refuse it."""


def test_untrusted_checkpoint_is_refused_without_running_it(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"gan_lab": {"config": {}}, "state_dict": {}, "extra": Payload()}, path)
    with pytest.raises(ConfigError, match="not a checkpoint torch can load as plain weights") as error:
        read_checkpoint(path)
    assert "\x1b" not in str(error.value)  # torch's terminal colour codes are dropped
    result = run_cli(f"ckpt={path}", f"out={tmp_path / 'o'}", cwd=tmp_path,
                     module="gan_lab.sample")
    assert result.returncode == 2
    assert "gan_lab: config error: ckpt=" in result.stderr


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ({"state_dict": {}}, "not a gan_lab checkpoint"),
])
def test_bad_checkpoint_paths_get_one_line(tmp_path, content, message):
    path = tmp_path / "x.ckpt"
    if content is not None:
        torch.save(content, path)
    with pytest.raises(ConfigError, match=message):
        read_checkpoint(path)


class Gaussian:
    latent_dim = 5

    def noise(self, n, generator=None):
        return torch.randn(n, self.latent_dim, generator=generator)


def test_truncation_keeps_codes_inside_the_threshold():
    z = truncated_noise(Gaussian(), 2000, 0.5, torch.Generator().manual_seed(0))
    assert z.shape == (2000, 5) and z.abs().max() <= 0.5
    # Truncated N(0, 1) on [-a, a]: variance 1 - 2 a phi(a) / (2 Phi(a) - 1).
    a = 0.5
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(a / math.sqrt(2))
    assert z.var().item() == pytest.approx(1 - 2 * a * phi / mass, rel=0.05)
    untouched = truncated_noise(Gaussian(), 4, None, torch.Generator().manual_seed(1))
    assert torch.equal(untouched, torch.randn(4, 5, generator=torch.Generator().manual_seed(1)))
    with pytest.raises(ConfigError, match="truncation"):
        truncated_noise(Gaussian(), 4, -1.0, torch.Generator())


def test_slerp_follows_the_great_circle():
    a, b = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    t = torch.tensor([0.0, 0.5, 1.0])[:, None]
    path = slerp(a, b, t)
    assert torch.allclose(path[0], a[0]) and torch.allclose(path[2], b[0])
    assert torch.allclose(path.norm(dim=-1), torch.full((3,), 2.0))
    assert torch.allclose(path[1], torch.tensor([math.sqrt(2), math.sqrt(2)]))
    same = slerp(a, a, t)  # parallel codes: falls back to the (constant) linear path
    assert torch.allclose(same, a.expand(3, 2))


def test_sample_labels():
    assert sample_labels(None, 5, 3).tolist() == [0, 1, 2, 0, 1]
    assert sample_labels(7, 3, 10).tolist() == [7, 7, 7]
    assert sample_labels([1, 4], 3, 10).tolist() == [1, 4, 1]
    assert sample_labels(None, 3, 0) is None
    with pytest.raises(ConfigError, match="unconditional"):
        sample_labels(1, 3, 0)
    with pytest.raises(ConfigError, match=r"0\.\.9"):
        sample_labels([3, 10], 3, 10)


def test_inception_weights_missing_is_one_line_before_training(tmp_path):
    result = run_cli(*TINY_DCGAN, "eval=inception",
                     "eval.metrics.image_quality.extractor.download=false",
                     f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path,
                     env={"TORCH_HOME": str(tmp_path / "torch")})
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("gan_lab:")]
    assert len(errors) == 1
    assert "eval.inception_weights" in errors[0]
    weights = tmp_path / "torch" / "hub" / "checkpoints" / "weights-inception-2015-12-05"
    assert str(weights) in errors[0]
    assert not (tmp_path / "run" / "checkpoints").exists()  # stopped before training

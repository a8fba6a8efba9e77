"""The generator export (gan_lab.export): a small weights-only file of what sampling needs, that
``load_module`` (so ``python -m gan_lab.sample``) reads as it reads a checkpoint."""

from __future__ import annotations

import pytest
import torch

from gan_lab.config import ConfigError
from gan_lab.export import export_generator, export_payload
from gan_lab.loading import EXPORT_FORMAT, EXPORT_VERSION, load_module, read_checkpoint
from tests.conftest import TINY_DCGAN, run_cli, train


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
    """A 3-iteration tiny DCGAN keeping an EMA generator (a fast one: it differs from G)."""
    run_dir = tmp_path_factory.mktemp("export") / "run"
    train(run_dir, *TINY_DCGAN, "iterations=3", "model.ema_decay=0.5")
    return run_dir


def _codes(module, n=5):
    return module.noise(n, generator=torch.Generator().manual_seed(0))


def test_an_export_samples_as_its_checkpoint_with_the_ema_weights(ema_run, tmp_path):
    module, cfg = load_module(ema_run / "checkpoints" / "last.ckpt")
    assert module.ema_ready()
    path = export_generator(module, tmp_path / "shared" / "g.pt")
    assert path == tmp_path / "shared" / "g.pt"
    assert [p.name for p in path.parent.iterdir()] == ["g.pt"]  # no temporary file left

    contents = torch.load(path, weights_only=True)  # plain containers and tensors only
    assert contents["format"] == EXPORT_FORMAT and contents["version"] == EXPORT_VERSION
    assert contents["ema"] is True
    assert contents["gan_lab"]["iteration"] == 3 and contents["gan_lab"]["config"] == module.run_config
    assert contents["gan_lab"]["sample_spec"] == module.sample_spec.as_dict()
    keys = set(contents["state_dict"])
    assert keys == {k for k in module.state_dict() if k.startswith("generator.")}
    # The EMA weights, written under the generator's names (not the trained generator's).
    ema = module.generator_ema.module.state_dict()
    for name in module.generator.state_dict():
        assert torch.equal(contents["state_dict"][f"generator.{name}"], ema[name]), name
    assert any(not torch.equal(value, ema[name])
               for name, value in module.generator.state_dict().items())

    loaded, loaded_cfg = load_module(path)
    assert loaded.iteration == 3 and loaded_cfg == cfg
    assert loaded.ema_ready()  # it samples from its EMA copy, and says so, as the checkpoint
    assert loaded.sample_spec == module.sample_spec
    codes = _codes(module)
    assert torch.equal(loaded.sample(noise=codes), module.sample(noise=codes))


def test_an_export_is_smaller_than_its_checkpoint(ema_run, tmp_path):
    ckpt = ema_run / "checkpoints" / "last.ckpt"
    module, _ = load_module(ckpt)
    size = export_generator(module, tmp_path / "g.pt").stat().st_size
    # No critic, no optimizer state, no second generator: well under half (about a quarter).
    assert size < ckpt.stat().st_size / 2


def test_a_module_without_ema_exports_its_generator(tmp_path):
    train(tmp_path / "run", *TINY_DCGAN, "iterations=1", "model.ema_decay=0.5",
          "model.ema_start=5")  # the EMA has not started: sampling uses G itself
    module, _ = load_module(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert module.generator_ema is not None and not module.ema_ready()
    payload = export_payload(module)
    assert payload["ema"] is False
    for name, value in module.generator.state_dict().items():
        assert torch.equal(payload["state_dict"][f"generator.{name}"], value), name
    export_generator(module, tmp_path / "g.pt")
    assert not load_module(tmp_path / "g.pt")[0].ema_ready()
    with pytest.raises(ValueError, match="without run_config"):
        module.run_config = None
        export_payload(module)


def test_the_export_command_writes_beside_the_checkpoint_and_sample_reads_it(ema_run, tmp_path):
    ckpt = ema_run / "checkpoints" / "last.ckpt"
    result = run_cli(f"ckpt={ckpt}", cwd=tmp_path, module="gan_lab.export")
    assert result.returncode == 0, result.stderr[-2000:]
    export = ema_run / "checkpoints" / "generator.pt"
    assert export.is_file() and "wrote the EMA generator" in result.stdout
    assert not list(tmp_path.iterdir())  # nothing in the working folder (no log, no outputs/)

    sampled = run_cli(f"ckpt={export}", "n=4", f"out={tmp_path / 'from_export'}", cwd=tmp_path,
                      module="gan_lab.sample")
    assert sampled.returncode == 0, sampled.stderr[-2000:]
    assert (tmp_path / "from_export" / "grid.png").is_file()

    again = run_cli(f"ckpt={export}", cwd=tmp_path, module="gan_lab.export")
    assert again.returncode == 2 and again.stderr.count("\n") == 1
    assert "a generator export (sampling weights only, no training state)" in again.stderr
    itself = run_cli(f"ckpt={ckpt}", f"out={ckpt}", cwd=tmp_path, module="gan_lab.export")
    assert itself.returncode == 2 and "out=" in itself.stderr and ckpt.is_file()


def test_a_resume_refuses_an_export(ema_run, tmp_path):
    module, _ = load_module(ema_run / "checkpoints" / "last.ckpt")
    path = export_generator(module, tmp_path / "g.pt")
    with pytest.raises(ConfigError, match=r"ckpt_path=.*g.pt: a generator export"):
        read_checkpoint(path, key="ckpt_path")
    assert read_checkpoint(path, exports=True)["format"] == EXPORT_FORMAT


@pytest.mark.parametrize("content, message", [
    ("text", "not a checkpoint torch can load as plain weights"),
    (torch.zeros(3), "not a gan_lab checkpoint .* or generator.pt"),
    ({"format": EXPORT_FORMAT, "version": EXPORT_VERSION + 1, "state_dict": {}},
     "format version 2; this gan_lab reads versions 1..1"),
    ({"format": EXPORT_FORMAT, "version": 1}, "without its state_dict"),
])
def test_a_file_that_is_neither_gets_one_line(tmp_path, content, message):
    path = tmp_path / "x.pt"
    if content == "text":
        path.write_text("not a checkpoint\n")
    else:
        torch.save(content, path)
    with pytest.raises(ConfigError, match=message) as error:
        load_module(path)
    assert "\n" not in str(error.value)


def test_an_export_that_does_not_fit_its_config_gets_one_line(ema_run, tmp_path):
    module, _ = load_module(ema_run / "checkpoints" / "last.ckpt")
    payload = export_payload(module)
    payload["state_dict"].pop(next(iter(payload["state_dict"])))
    torch.save(payload, tmp_path / "g.pt")
    with pytest.raises(ConfigError, match=r"does not fit the module its config builds \(1 "
                                          r"missing, 0 unexpected"):
        load_module(tmp_path / "g.pt")
    result = run_cli(f"ckpt={tmp_path / 'g.pt'}", f"out={tmp_path / 'o'}", cwd=tmp_path,
                     module="gan_lab.sample")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "does not fit" in result.stderr


def test_evaluating_an_ema_export_without_its_ema_is_refused_in_one_line(ema_run, tmp_path):
    export = ema_run / "checkpoints" / "generator.pt"  # the callback's, at the end of training
    assert read_checkpoint(export, exports=True)["ema"] is True
    result = run_cli(f"ckpt={export}", "eval=classifier", "ema=false",
                     f"hydra.run.dir={tmp_path / 'ev'}", cwd=tmp_path, module="gan_lab.evaluate")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr[-2000:]
    assert "ema=false:" in result.stderr and "export of the EMA generator" in result.stderr

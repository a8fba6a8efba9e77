"""``python -m gan_lab.sample``: one file per seed (``seeds=``), each image set by its seed alone,
and the default output folder beside the checkpoint's run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from gan_lab.cli import open_mapping_overrides
from gan_lab.config import ConfigError, config_dir
from gan_lab.kinds import SampleSpec
from gan_lab.loading import load_module
from gan_lab.resolvers import register_resolvers
from gan_lab.resume import generated_folder as sample_folder
from gan_lab.sample import parse_seeds, write_samples, write_seeds
from tests.conftest import TINY_DCGAN, run_cli, train


def _sample_cfg(*overrides: str):
    """conf/sample.yaml composed with ``overrides`` as the command line would give them."""
    register_resolvers()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            return compose("sample", overrides=open_mapping_overrides(
                ["ckpt=unused", *overrides], ("options",)))
    finally:
        GlobalHydra.instance().clear()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A 2-iteration tiny DCGAN."""
    run = tmp_path_factory.mktemp("seeds") / "run"
    train(run, *TINY_DCGAN, "iterations=2")
    return run


# ----------------------------------------------------------------------------- seeds=
@pytest.mark.parametrize("value, seeds", [
    (None, None),
    (3, [3]),
    ("0-3", [0, 1, 2, 3]),
    ("7", [7]),
    ([0, 5, 7], [0, 5, 7]),
    (["0-2", 9], [0, 1, 2, 9]),
    ("4-5,1", [4, 5, 1]),
    ([2, 2, "1-2"], [2, 1]),  # each seed once, in the order first asked
    (4294967295, [4294967295]),
])
def test_seeds_are_a_seed_a_range_or_a_list(value, seeds):
    assert parse_seeds(value) == seeds


@pytest.mark.parametrize("value, message", [
    ("5-3", r"seeds='5-3': the range '5-3' runs downwards; write it low-high \(3-5\)"),
    ("a", r"seeds='a': 'a' is no seed or range; give a seed \(seeds=3\), a range"),
    (-1, r"seeds=-1: -1 is outside 0..4294967295"),
    ("1-2-3", r"'1-2-3' is no seed or range"),
    (1.5, r"1.5 is no seed or range"),
    (True, r"True is no seed or range"),
    ([], r"seeds=\[\]: names no seed"),
    (2**32, r"is outside 0..4294967295"),
])
def test_bad_seeds_get_one_line(value, message):
    with pytest.raises(ConfigError, match=message) as error:
        parse_seeds(value)
    assert "\n" not in str(error.value)


def test_an_image_depends_on_its_seed_alone(run_dir, tmp_path):
    module, _ = load_module(run_dir / "checkpoints" / "last.ckpt")
    few = write_samples(module, _sample_cfg("seeds=[1,3]"), tmp_path / "few")
    many = write_samples(module, _sample_cfg("seeds=0-5", "seed=9"), tmp_path / "many")
    assert few == ("images", ["seed0001.png", "seed0003.png"])
    assert many[1] == [f"seed{seed:04d}.png" for seed in range(6)]
    for name in few[1]:  # the same image whatever else is asked for
        assert (tmp_path / "few" / name).read_bytes() == (tmp_path / "many" / name).read_bytes()
    assert (tmp_path / "many" / "seed0000.png").read_bytes() != \
        (tmp_path / "many" / "seed0001.png").read_bytes()
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == many[1]  # nothing else


class _Generator:
    """A module following the sampling protocol, which also draws noise of its own (from the
    global stream, as a style generator's per-layer noise), recording what it is given."""

    iteration = 2

    def __init__(self, spec: SampleSpec, num_classes: int = 0) -> None:
        self.sample_spec, self.num_classes, self.calls = spec, num_classes, []

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, 6, generator=generator)

    def sample(self, n=None, labels=None, noise=None):
        self.calls.append(labels)
        return (noise + 0.1 * torch.randn_like(noise)).reshape(-1, 1, 2, 3).tanh()


def test_seeds_seed_the_generators_own_noise_and_pick_a_class_per_seed(tmp_path):
    module = _Generator(SampleSpec("images", (1, 2, 3)), num_classes=4)
    write_seeds(module, _sample_cfg(), tmp_path / "a", [6, 1])
    write_seeds(module, _sample_cfg(), tmp_path / "b", [1])
    assert (tmp_path / "a" / "seed0001.png").read_bytes() == \
        (tmp_path / "b" / "seed0001.png").read_bytes()
    assert [labels.tolist() for labels in module.calls] == [[2], [1], [1]]  # seed mod 4
    module.calls.clear()
    write_seeds(module, _sample_cfg("labels=[3,0]"), tmp_path / "c", [6, 1, 2])
    assert [labels.tolist() for labels in module.calls] == [[3], [0], [3]]  # cycled as given
    with pytest.raises(ConfigError, match=r"labels=\[3, 9\]: classes must be integers in 0..3"):
        write_seeds(module, _sample_cfg("labels=[3,9]"), tmp_path / "d", [1])


def test_seeds_write_what_a_kind_writes_alone(tmp_path):
    tokens = _Generator(SampleSpec("tokens", (6,), "int64", vocab_size=2))
    tokens.sample = lambda n=None, labels=None, noise=None: (noise > 0).long()
    assert write_seeds(tokens, _sample_cfg(), tmp_path, [0, 12345]) == (
        "tokens", ["seed0000.txt", "seed12345.txt"])
    assert len((tmp_path / "seed0000.txt").read_text().split()) == 6
    points = _Generator(SampleSpec("points", (2,)))
    points.sample = lambda n=None, labels=None, noise=None: noise[:, :2]
    with pytest.raises(ConfigError, match="seeds: a generator of points makes no picture of one "
                                          "sample; leave seeds unset"):
        write_seeds(points, _sample_cfg(), tmp_path / "p", [0])


# ----------------------------------------------------------------------------- where
def test_the_output_folder_is_beside_the_run():
    stamp = ("2026-01-02", "03-04-05")
    assert sample_folder("r/checkpoints/last.ckpt", None, *stamp) == \
        str(Path("r/generated/last_2026-01-02_03-04-05"))
    assert sample_folder("r/checkpoints/generator.pt", None, *stamp) == \
        str(Path("r/generated/generator_2026-01-02_03-04-05"))
    assert sample_folder("r/checkpoints/last.ckpt", "elsewhere", *stamp) == "elsewhere"
    assert sample_folder("shared/g.pt", None, *stamp) == "outputs/sample/2026-01-02/03-04-05"
    assert sample_folder(None, None, *stamp) == "outputs/sample/2026-01-02/03-04-05"


def test_the_command_writes_one_file_per_seed_beside_the_run(run_dir, tmp_path):
    result = run_cli(f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", "seeds=0-2", cwd=tmp_path,
                     module="gan_lab.sample")
    assert result.returncode == 0, result.stderr[-2000:]
    (folder,) = (run_dir / "generated").iterdir()
    assert folder.name.startswith("last_")
    assert sorted(p.name for p in folder.glob("*.png")) == [f"seed{s:04d}.png" for s in range(3)]
    assert f"wrote 3 images to {folder}" in result.stdout
    assert not list(tmp_path.iterdir())  # nothing under the working folder's outputs/
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["iter_0000002.png"]

    bad = run_cli(f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", "seeds=9-3",
                  f"out={tmp_path / 'o'}", cwd=tmp_path, module="gan_lab.sample")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "gan_lab: config error: seeds='9-3': the range '9-3' runs downwards" in bad.stderr

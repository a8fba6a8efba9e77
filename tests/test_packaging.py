"""Packaging metadata: one version, a console script per command, floors and pins that say what
works, the package list, quiet builds (editable, wheel, sdist) that ship every config, the lint
setup (pyproject.toml, constraints.txt, .pre-commit-config), the Makefile's torch index choice."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tomllib
import zipfile

import pytest
import yaml

from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def requirement(name: str, requirements: list[str]) -> str:
    """The requirement string for ``name`` in a list such as ``project.dependencies``."""
    found = [r for r in requirements if re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0] == name]
    assert len(found) == 1, (name, found)
    return found[0]


def pins() -> dict[str, str]:
    lines = (REPO / "constraints.txt").read_text().splitlines()
    pairs = (line.split("#")[0].strip().split("==") for line in lines)
    return {pair[0].lower(): pair[1] for pair in pairs if len(pair) == 2}


def test_one_version_number():
    import gan_lab

    assert "version" in PROJECT["dynamic"] and "version" not in PROJECT
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gan_lab.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", gan_lab.__version__)


def test_a_console_script_for_every_command():
    scripts = PROJECT["scripts"]
    expected = {"gan-lab": "gan_lab.__main__", "gan-lab-sample": "gan_lab.sample",
                "gan-lab-evaluate": "gan_lab.evaluate", "gan-lab-translate": "gan_lab.translate",
                "gan-lab-classifier": "gan_lab.classifier",
                "gan-lab-summarize": "gan_lab.summarize", "gan-lab-study": "gan_lab.study",
                "gan-lab-export": "gan_lab.export"}
    assert {name: target.split(":")[0] for name, target in scripts.items()} == expected
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), target


def test_metadata_is_complete():
    for key in ("description", "readme", "license", "authors", "keywords", "classifiers"):
        assert PROJECT.get(key), key
    assert PROJECT["license"] == "MIT" and (REPO / "LICENSE").read_text().startswith("MIT License")
    assert "gan_lab authors" in (REPO / "LICENSE").read_text()


def test_python_and_dependency_floors_say_what_works():
    assert PROJECT["requires-python"] == ">=3.11"  # numpy 2.4, scikit-image 0.26 need it
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py311"
    deps = PROJECT["dependencies"]
    assert requirement("torch", deps) == "torch>=2.6"  # torch.nn.utils.get_total_norm
    assert requirement("torch-fidelity", deps) == "torch-fidelity>=0.4"  # metric_prc
    import torch
    import torch_fidelity.metric_prc  # noqa: F401  (the module the floor is for)

    assert hasattr(torch.nn.utils, "get_total_norm")
    # prdc: the tests' reference for density and coverage, not a runtime dependency
    assert not [r for r in deps if r.startswith("prdc")]
    requirement("prdc", PROJECT["optional-dependencies"]["dev"])


@pytest.mark.parametrize("name", ["lightning", "hydra-core", "omegaconf", "torchmetrics",
                                  "torch-fidelity", "torchdata", "wandb", "tensorboard", "torch",
                                  "torchvision", "optuna", "hydra-optuna-sweeper", "ruff"])
def test_constraints_pin_what_is_installed(name):
    """constraints.txt pins the versions the suite runs with (CI installs with it)."""
    pinned = pins()
    assert name in pinned, f"{name} is not pinned in constraints.txt"
    installed = importlib.metadata.version(name)
    assert installed.split("+")[0] == pinned[name], (name, installed, pinned[name])


def test_the_package_list_is_found_and_names_every_package():
    import runpy

    listed = set(runpy.run_path(str(REPO / "setup.py"))["packages"]())
    found = {".".join(p.parent.relative_to(REPO).parts)
             for p in (REPO / "gan_lab").rglob("__init__.py")}
    assert found <= listed, f"not found by setup.py: {sorted(found - listed)}"
    assert "gan_lab.conf" in listed
    # Every config folder is a package of its own, so setuptools has no undeclared one to warn of.
    folders = {p.parent.relative_to(REPO / "conf") for p in (REPO / "conf").rglob("*.yaml")}
    assert {".".join(("gan_lab", "conf", *f.parts)) for f in folders} <= listed


def source_copy(tmp_path):
    """What a fresh clone holds for the build, copied, so that no build/ or egg-info lands in the
    checkout and no stale build/lib can stand in for a missing file. The link gan_lab/conf ->
    ../conf is copied as a link, as git checks it out."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source)
    for name in ("gan_lab", "conf"):
        shutil.copytree(REPO / name, source / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return source


def backend_warnings(output: str) -> list[str]:
    """Lines of Python warnings of the backend ("BuildBackendWarning:", "InformationOnly:" as
    setuptools names the former, "SetuptoolsDeprecationWarning:", ...), not distutils'
    "warning: build_py: byte-compiling"."""
    return [line.strip() for line in output.splitlines()
            if re.search(r"\w(Warning|InformationOnly): ", line)]


def build_wheel(source, out):
    """pip's build of a wheel from a folder (`pip install .`); --no-build-isolation uses the
    installed setuptools (no download, a few seconds)."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    output = built.stdout + built.stderr
    assert built.returncode == 0, output[-2000:]
    assert "Package would be ignored" not in output
    assert not backend_warnings(output), backend_warnings(output)
    return next(out.glob("gan_lab-*.whl"))


def config_files() -> set[str]:
    return {f"gan_lab/conf/{p.relative_to(REPO / 'conf').as_posix()}"
            for p in (REPO / "conf").rglob("*.yaml")}


def test_gan_lab_conf_is_a_link_to_the_top_level_conf():
    """conf/ stays at the top (the layout), gan_lab/conf names it where the package expects it:
    no package_dir mapping, hence a quiet editable install (setup.py)."""
    link = REPO / "gan_lab" / "conf"
    assert link.is_symlink() and os.readlink(link) == "../conf"
    assert (link / "config.yaml").is_file()


def test_the_editable_install_is_a_quiet_pth_file(tmp_path):
    """Issue 28: `make install` printed setuptools' "Editable installation" BuildBackendWarning:
    conf/ mapped in by package_dir made setuptools install an import hook (a meta path finder)
    instead of a .pth file naming the checkout. pip calls the backend's build_editable hook;
    called here directly (what pip shows of it depends on pip's version), with Python's default
    warning filters, as pip's hook runner has them."""
    source = source_copy(tmp_path)
    out = tmp_path / "editable"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    built = subprocess.run(
        [sys.executable, "-c", "import sys, setuptools.build_meta as backend; "
         "print(backend.build_editable(sys.argv[1]))", str(out)],
        capture_output=True, text=True, cwd=source, env=env, timeout=300,
    )
    output = built.stdout + built.stderr
    assert built.returncode == 0, output[-2000:]
    assert "Editable installation" not in output, output[-2000:]
    assert not backend_warnings(output), backend_warnings(output)
    wheel = zipfile.ZipFile(out / built.stdout.strip().splitlines()[-1])
    names = wheel.namelist()
    assert not [n for n in names if n.endswith("_finder.py")], names  # no import hook
    (pth,) = [n for n in names if n.endswith(".pth")]
    assert wheel.read(pth).decode().split() == [str(source.resolve())]
    # From that path, gan_lab is the checkout's and finds the checkout's conf/.
    shown = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "from gan_lab.config import config_dir; print(config_dir())", str(source.resolve())],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert shown.stdout.strip() == str(source.resolve() / "conf"), shown.stderr[-2000:]


def test_the_wheel_builds_quietly_and_ships_every_config(tmp_path):
    """Issue 28: the build printed 13 "Package would be ignored" warnings (~540 lines), one per
    conf/ folder."""
    wheel = build_wheel(source_copy(tmp_path), tmp_path / "dist")
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert config_files() <= names, f"configs missing: {sorted(config_files() - names)}"
    sources = {p.relative_to(REPO).as_posix() for p in (REPO / "gan_lab").rglob("*.py")}
    assert sources <= names, f"modules missing from the wheel: {sorted(sources - names)}"
    # Real files, not links (a zip can hold a link; pip would not install it as one).
    assert not [i.filename for i in archive.infolist() if stat.S_ISLNK(i.external_attr >> 16)]
    # Installed without the checkout, config_dir() finds the shipped copy.
    site = tmp_path / "site"
    archive.extractall(site)
    shown = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "from gan_lab.config import config_dir; print(config_dir())", str(site)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert shown.stdout.strip() == str(site / "gan_lab" / "conf"), shown.stderr[-2000:]
    # ... and `python -m gan_lab` composes from them.
    job = subprocess.run(
        [sys.executable, "-c", "import sys, runpy; sys.path.insert(0, sys.argv[1]); "
         "sys.argv = ['gan_lab', '--cfg', 'job', 'loss=hinge']; "
         "runpy.run_module('gan_lab', run_name='__main__')", str(site)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert job.returncode == 0, job.stderr[-2000:]
    assert "objective: hinge" in job.stdout


def test_the_sdist_holds_the_configs_and_builds_the_same_wheel(tmp_path):
    """An sdist holds gan_lab/conf as a folder of real files (no link, no top-level conf/);
    setup.py finds the config packages there, so its wheel ships every config too."""
    source = source_copy(tmp_path)
    out = tmp_path / "sdist"
    out.mkdir()
    built = subprocess.run(
        [sys.executable, "-c", "import sys, setuptools.build_meta as backend; "
         "print(backend.build_sdist(sys.argv[1]))", str(out)],
        capture_output=True, text=True, cwd=source, timeout=300,
    )
    assert built.returncode == 0, (built.stdout + built.stderr)[-2000:]
    with tarfile.open(out / built.stdout.strip().splitlines()[-1]) as sdist:
        assert not [m.name for m in sdist.getmembers() if m.issym() or m.islnk()]
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.11.4+
        sdist.extractall(tmp_path / "unpacked", **safe)
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    shipped = {p.relative_to(unpacked).as_posix() for p in (unpacked / "gan_lab").rglob("*.yaml")}
    assert config_files() <= shipped, sorted(config_files() - shipped)
    wheel = build_wheel(unpacked, tmp_path / "dist")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert config_files() <= names, f"configs missing: {sorted(config_files() - names)}"


def test_pre_commit_runs_the_pinned_ruff():
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    repos = {repo["repo"].rsplit("/", 1)[-1]: repo for repo in config["repos"]}
    assert repos["ruff-pre-commit"]["rev"] == f"v{pins()['ruff']}"
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "end-of-file-fixer", "trailing-whitespace"} <= hooks
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+", repo["rev"]) for repo in config["repos"])


def test_a_users_lightning_callback_joins_the_trainer(tmp_path, monkeypatch):
    # gan_lab's Trainer is lightning.pytorch's (the package users install today), so a callback
    # of theirs from lightning.pytorch is accepted; one from the old pytorch_lightning package
    # would be refused by Lightning ("expected Callback").
    import lightning.pytorch as pl

    import gan_lab.train as train_module
    from tests.conftest import TINY_DCGAN, train

    seen = []

    class Recorder(pl.Callback):
        def on_train_batch_end(self, trainer, module, *args):
            seen.append(module.iteration)

    original = train_module.build_callbacks

    def with_recorder(cfg, evaluation):
        callbacks, show_bar = original(cfg, evaluation)
        return [*callbacks, Recorder()], show_bar

    monkeypatch.setattr(train_module, "build_callbacks", with_recorder)
    train(tmp_path, *TINY_DCGAN, "iterations=2")
    assert seen == [1, 2]


@pytest.mark.parametrize("index", ["", "https://download.pytorch.org/whl/cpu"])
def test_the_makefile_takes_torch_from_an_index_only_when_asked(tmp_path, index):
    """TORCH_INDEX_URL (README, Installation notes): empty leaves pip's indexes as they are."""
    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    shown = subprocess.run(["make", "-n", "install", f"VENV={tmp_path / 'venv'}",
                            f"TORCH_INDEX_URL={index}"],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    install = [line for line in shown.stdout.splitlines() if "-e " in line]
    assert len(install) == 1 and "-c constraints.txt" in install[0], shown.stdout
    if index:
        assert f"--extra-index-url {index}" in install[0]
    else:
        assert "index-url" not in install[0]

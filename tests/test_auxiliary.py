"""The auxiliary-net provider (gan_lab.auxiliary): each source (a configured weights file, the
torch hub cache with and without a download, trained on the data and cached), the one missing
line and the unreadable line, frozen-ness, and nets kept out of checkpoints by FrozenNets."""

from __future__ import annotations

import ast
import logging
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from gan_lab.auxiliary import (
    AuxiliarySpec,
    Published,
    Trained,
    file_identity,
    hub_path,
    locate,
    provide,
)
from gan_lab.models.frozen import FrozenNets
from tests.test_layering import PACKAGE, import_graph

FILE = "tiny-0123abcd.pth"
URL = "https://example.org/weights/" + FILE


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Dropout(0.5))


def _build(state: dict) -> nn.Module:
    net = _net()
    net.load_state_dict(state)
    return net


def _spec(weights=None, download=False, **kwargs) -> AuxiliarySpec:
    return AuxiliarySpec("Tiny", "model.tiny_weights", _build, weights=weights,
                         published=Published(FILE, URL), download=download, origin="nobody",
                         **kwargs)


@pytest.fixture
def state() -> dict:
    torch.manual_seed(0)
    return _net().state_dict()


@pytest.fixture
def hub(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    return tmp_path / "th" / "hub" / "checkpoints"


def _same(net: nn.Module, state: dict) -> bool:
    return all(torch.equal(net.state_dict()[key], value) for key, value in state.items())


def test_the_package_imports_only_torch_the_standard_library_and_kinds():
    graph = import_graph()
    rooms = [module for module in graph if module.startswith("gan_lab.auxiliary")]
    assert "gan_lab.auxiliary.provider" in rooms
    for module in rooms:
        assert graph[module] <= {"gan_lab.kinds"} | set(rooms), module
    for path in (PACKAGE / "auxiliary").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in ("torch", "gan_lab"), (path, name)


def test_a_configured_file_is_the_only_place_looked(state, hub, tmp_path):
    path = tmp_path / "mine.pth"
    torch.save(state, path)
    hub.mkdir(parents=True)
    torch.save(_net().state_dict(), hub / FILE)  # another net in the hub cache: not used
    assert locate(_spec(path)) == path
    net = provide(_spec(str(path)))
    assert _same(net, state)
    missing = tmp_path / "none.pth"
    with pytest.raises(ValueError) as error:
        provide(_spec(missing))
    assert str(error.value) == (
        f"model.tiny_weights: no Tiny weights ({FILE}) at {missing}; download {URL} to "
        f"{hub / FILE} or set model.tiny_weights=FILE")


def test_the_hub_cache_and_a_download(state, hub, monkeypatch):
    assert hub_path(FILE) == hub / FILE
    with pytest.raises(ValueError) as error:
        provide(_spec(hint="or use model.tiny=false offline"))
    assert str(error.value) == (
        f"model.tiny_weights: no Tiny weights ({FILE}) at {hub / FILE} (the torch hub cache); "
        f"download {URL} there or set model.tiny_weights=FILE, or use model.tiny=false offline")

    def offline(url, dst, **kwargs):
        Path(dst).write_bytes(b"partial")
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(ValueError) as error:
        provide(_spec(download=True))
    assert "\n" not in str(error.value)
    assert str(error.value).startswith(
        f"model.tiny_weights: no Tiny weights ({FILE}) at {hub / FILE} (the torch hub cache), "
        f"downloading {URL} failed; download")
    assert not (hub / FILE).exists()  # no partial file left behind
    fetched = []

    def online(url, dst, **kwargs):
        fetched.append(url)
        torch.save(state, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", online)
    assert _same(provide(_spec(download=True)), state) and fetched == [URL]
    assert _same(provide(_spec(download=True)), state) and fetched == [URL]  # found: no fetch
    identity = file_identity(hub / FILE)
    assert identity.startswith(f"{FILE}-{(hub / FILE).stat().st_size}-")


def test_unreadable_files_are_one_line(hub, tmp_path):
    evil = tmp_path / "evil.pth"
    torch.save({"net": _net()}, evil)  # a pickle of a module: weights_only refuses it
    with pytest.raises(ValueError) as error:
        provide(_spec(evil))
    message = str(error.value)
    assert message.startswith(f"model.tiny_weights: {evil} is not a plain weights file (")
    assert "\n" not in message
    wrong = tmp_path / "wrong.pth"
    torch.save({"0.weight": torch.zeros(1)}, wrong)
    with pytest.raises(ValueError) as error:
        provide(_spec(wrong))
    assert str(error.value).startswith(
        f"model.tiny_weights: {wrong} is not a Tiny weights file of nobody ({FILE}) "
        "(RuntimeError: Error(s) in loading state_dict")


def test_a_net_trained_on_the_data_is_cached_and_found_again(state, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="gan_lab")
    path = tmp_path / "cache" / "tiny-0a1b.pt"
    trainings = []

    def train():
        trainings.append(1)
        torch.manual_seed(123)  # training draws from (and seeds) the global streams freely
        torch.rand(5)
        return {"state_dict": state, "accuracy": 0.75}

    def build(record):
        return _build(record["state_dict"])

    spec = AuxiliarySpec("tiny classifier", "eval.cache_dir", build,
                         trained=Trained(path, train, lambda r: f"tiny trained: {r['accuracy']}"))
    before = torch.get_rng_state()
    net = provide(spec)
    assert torch.equal(torch.get_rng_state(), before)  # the run's random streams untouched
    assert _same(net, state) and trainings == [1]
    assert caplog.messages == [f"gan_lab: tiny trained: 0.75 (saved to {path})"]  # logged once
    caplog.clear()
    assert torch.load(path, weights_only=True)["accuracy"] == 0.75  # the record, as it was
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    again = provide(spec)
    assert _same(again, state) and trainings == [1] and caplog.messages == []
    path.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=f"eval.cache_dir: {path} is not a plain weights file"):
        provide(spec)
    torch.save({"accuracy": 0.5}, path)
    with pytest.raises(ValueError) as error:
        provide(spec)
    assert str(error.value) == (f"eval.cache_dir: {path} is not a cached tiny classifier (delete "
                                "it to train a new one) (KeyError: 'state_dict')")
    with pytest.raises(ValueError, match="published or trained"):
        AuxiliarySpec("x", "y", build, published=Published(FILE, URL), trained=spec.trained)


def test_provided_nets_are_frozen_and_stay_out_of_checkpoints(state, tmp_path):
    path = tmp_path / "tiny.pth"
    torch.save(state, path)
    net = provide(_spec(path), device="meta")
    assert net[0].weight.is_meta
    net = provide(_spec(path))
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    x = torch.randn(4, 2)
    assert torch.equal(net(x), net(x))  # dropout off, batch norm on its running statistics

    class Scheme(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.generator = nn.Linear(2, 2)
            self.frozen = FrozenNets()

    scheme = Scheme()
    scheme.frozen["tiny"] = net
    scheme.train()
    assert not scheme.frozen["tiny"].training
    saved = scheme.state_dict()
    assert set(saved) == {"generator.weight", "generator.bias"}
    fresh = Scheme()
    fresh.frozen["tiny"] = provide(_spec(path))
    fresh.load_state_dict(saved, strict=True)  # the checkpoint never holds it, nor asks for it
    assert _same(fresh.frozen["tiny"], state)

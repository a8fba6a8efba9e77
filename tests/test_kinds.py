"""Batch kinds are named once (gan_lab/kinds.py): every data module declares one, and shared code
compares against the names, not string literals."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import lightning.pytorch as pl
import pytest

import gan_lab.data
from gan_lab.kinds import BatchKind, batch_kind

ROOT = Path(__file__).resolve().parent.parent / "gan_lab"


def data_modules() -> list[type]:
    found = {}
    for info in pkgutil.walk_packages(gan_lab.data.__path__, "gan_lab.data."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, pl.LightningDataModule) and cls.__module__.startswith("gan_lab."):
                found[cls.__qualname__] = cls
    return list(found.values())


@pytest.mark.parametrize("cls", data_modules(), ids=lambda c: c.__name__)
def test_every_data_module_declares_a_named_kind_and_a_sample_spec(cls):
    kind = getattr(cls, "batch_kind", None)
    assert isinstance(kind, BatchKind), f"{cls.__name__}.batch_kind = {kind!r}: use gan_lab.kinds"
    assert hasattr(cls, "sample_spec"), f"{cls.__name__} declares no sample_spec"


def test_the_data_modules_are_found_in_every_sub_package():
    packages = {cls.__module__.split(".")[2] for cls in data_modules()}
    assert {"samples", "translation", "attributes", "label_maps", "single_image",
            "super_resolution"} <= packages


def test_kinds_read_as_their_names_and_default_to_samples():
    assert BatchKind.TWO_DOMAINS == "two domains" and f"{BatchKind.SUPER_RESOLUTION}" == "super-resolution"
    assert batch_kind(object()) is BatchKind.SAMPLES
    assert batch_kind(type("D", (), {"batch_kind": "label maps"})()) is BatchKind.LABEL_MAPS
    with pytest.raises(ValueError):
        batch_kind(type("D", (), {"batch_kind": "pictures"})())


def test_no_code_compares_batch_kinds_with_string_literals():
    values = {kind.value for kind in BatchKind}
    offenders = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                text = ast.unparse(node)
                if "kind" in text and any(isinstance(s, ast.Constant) and s.value in values
                                          for s in sides):
                    offenders.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: {text}")
    assert not offenders, "\n".join(offenders)


def test_sample_specs_of_embedded_data():
    from gan_lab.data import DigitsDataModule, ToyDataModule
    from gan_lab.kinds import SampleKind, SampleSpec, sample_spec

    digits = sample_spec(DigitsDataModule(batch_size=4, image_size=8))
    assert digits == SampleSpec(SampleKind.IMAGES, (1, 8, 8))
    toy = sample_spec(ToyDataModule(batch_size=4, num_samples=8))
    assert toy.kind == SampleKind.POINTS and toy.shape == (2,)
    assert SampleSpec.from_dict(toy.as_dict()) == toy
    with pytest.raises(ValueError, match="vocab_size"):
        SampleSpec(SampleKind.TOKENS, (20,))
    with pytest.raises(ValueError, match="declares no sample_spec"):
        sample_spec(object())

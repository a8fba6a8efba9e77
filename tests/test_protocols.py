"""Every ``conf/model`` option's scheme satisfies the protocols of gan_lab.protocols that it
claims: every scheme is a Scheme; one that speaks "sample" is a Sampler, one that speaks
"translate" a Translator; the GAN schemes are TrainedGenerators (and style samplers); SinGAN
samples from a scale. Built at each model's quick setting."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
import torch

import gan_lab.metrics as metrics
from gan_lab import cost
from gan_lab.building import build_module
from gan_lab.config import config_dir
from gan_lab.models import GAN, SinGAN
from gan_lab.models.base import AdversarialModule
from gan_lab.protocols import (
    Sampler,
    ScaleSampler,
    Scheme,
    StyleSampler,
    TrainedGenerator,
    Translator,
)
from tests.conftest import make_cfg

MODELS = sorted(p.stem for p in (Path(config_dir()) / "model").glob("*.yaml"))
# The protocol an evaluator names (its ``protocol``) -> the declared protocol behind it.
EVALUATOR_PROTOCOLS = {"sample": Sampler, "translate": Translator,
                       "sample_from_scale": ScaleSampler}


@pytest.fixture(scope="module")
def schemes(tmp_path_factory) -> dict[str, AdversarialModule]:
    run = tmp_path_factory.mktemp("protocols")
    built = {}
    for model in MODELS:
        quick = cost.quick_overrides(make_cfg(run, f"model={model}")) or []
        torch.manual_seed(0)
        built[model] = build_module(make_cfg(run, f"model={model}", *quick))
    return built


@pytest.mark.parametrize("model", MODELS)
def test_every_scheme_satisfies_the_protocols_it_claims(schemes, model):
    module = schemes[model]
    assert isinstance(module, Scheme)
    samples, translates = module.speaks("sample"), module.speaks("translate")
    assert samples or translates, f"{model} neither samples nor translates"
    assert isinstance(module, Sampler) == samples
    assert isinstance(module, Translator) == translates
    if translates:
        assert module.directions and all(isinstance(d, str) for d in module.directions)
        for key in ("translate_options", "sample_options"):  # optional: tuples when declared
            assert isinstance(getattr(module, key, ()), tuple), key
    generates = isinstance(module, GAN)
    assert isinstance(module, TrainedGenerator) == generates
    assert isinstance(module, StyleSampler) == generates
    assert isinstance(module, ScaleSampler) == isinstance(module, SinGAN)


def test_the_scheme_protocol_names_only_what_the_base_has(schemes):
    """Every member of Scheme is AdversarialModule's (a scheme gets it by subclassing): a class
    attribute or method of the base, or an attribute its constructor sets."""
    members = {*Scheme.__annotations__, *(n for n in vars(Scheme) if not n.startswith("_"))}
    instance_only = {name for name in members if not hasattr(AdversarialModule, name)}
    assert instance_only <= {"iteration", "budget", "log_every", "stop_reason", "run_config",
                             "progress_metrics", "log_sources", "channels_last_batches"}
    base = AdversarialModule(optimizers={})
    assert all(hasattr(base, name) for name in members)


def test_each_evaluator_names_a_declared_protocol():
    """An evaluator's ``protocol`` (the method the evaluation callback checks with ``speaks``;
    "sample" when it names none) is one that a protocol here declares."""
    found = {obj.protocol for module in _metric_modules() for obj in vars(module).values()
             if inspect.isclass(obj) and isinstance(getattr(obj, "protocol", None), str)}
    assert {"translate", "sample_from_scale"} <= found
    assert found <= set(EVALUATOR_PROTOCOLS), found - set(EVALUATOR_PROTOCOLS)
    for name, protocol in EVALUATOR_PROTOCOLS.items():
        assert name in dir(protocol), name


def _metric_modules() -> list:
    return [importlib.import_module(f"gan_lab.metrics.{info.name}")
            for info in pkgutil.iter_modules(metrics.__path__)]


@pytest.mark.parametrize("model", MODELS)
def test_a_scheme_speaks_what_the_evaluators_of_its_protocols_need(schemes, model):
    module = schemes[model]
    for name, protocol in EVALUATOR_PROTOCOLS.items():
        if module.speaks(name):
            assert isinstance(module, protocol), (model, name)

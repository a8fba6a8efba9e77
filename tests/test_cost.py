"""What a run says it costs before it trains: parameters per optimizer group, on a CPU the
estimated seconds per iteration with the model's quick setting, and every model's quick setting
itself (it composes and trains)."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from gan_lab import cost
from gan_lab.building import build, build_module
from gan_lab.config import ConfigError, config_dir, validate
from tests.conftest import TINY_DCGAN, make_cfg, train

MODELS = sorted(p.stem for p in (Path(config_dir()) / "model").glob("*.yaml"))
QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false", "callbacks.samples=null",
         "eval=none"]


# ----------------------------------------------------------------------------- quick settings
@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_a_quick_setting(tmp_path, model):
    # (that each trains, resumes and samples is the conformance suite's: test_conformance.py)
    quick = cost.quick_overrides(make_cfg(tmp_path, f"model={model}"))
    assert quick is not None, f"conf/model/{model}.yaml has no quick: [...] list"
    cfg = make_cfg(tmp_path, f"model={model}", *quick)
    validate(cfg)  # the key is accepted, and the overrides it lists compose
    assert cost.quick_overrides(cfg) == quick


def test_quick_must_be_a_list_of_overrides():
    validate(make_cfg("/tmp/run", "model=r3gan", "quick=['model.generator.width=8']"))
    with pytest.raises(ConfigError, match=r"^quick=\['width'\]: must be a list of command-line"):
        validate(make_cfg("/tmp/run", "model=r3gan", "quick=[width]"))
    with pytest.raises(ConfigError, match=r"^model.quick=.*: must be a list of command-line"):
        validate(make_cfg("/tmp/run", "model.quick=3"))


def test_quick_command_keeps_what_was_typed_and_replaces_what_quick_sets():
    typed = ["model=r3gan", "data=fashion_mnist", "model.generator.width=256", "run_dir=/tmp/x"]
    quick = ["model.generator.width=32", "model.generator.cardinality=4"]
    assert cost.quick_command(quick, typed, None) == (
        "python -m gan_lab model=r3gan data=fashion_mnist model.generator.width=32 "
        "model.generator.cardinality=4")
    assert cost.quick_command(quick, [], "r3gan").startswith("python -m gan_lab model=r3gan model.")


# ----------------------------------------------------------------------------- parameters
def test_parameters_per_optimizer_group():
    cfg = make_cfg("/tmp/run", *TINY_DCGAN)
    module = build_module(cfg)
    counts = cost.parameter_counts(module)
    assert list(counts) == ["generator", "discriminator"]
    assert counts["generator"] == sum(p.numel() for p in module.generator.parameters())
    assert cost.millions(4_372_000) == "4.37 M" and cost.millions(12_345) == "12.3 k"
    assert cost.parameters_line({"generator": 4_372_000, "discriminator": 4_281_000}) == (
        "parameters: generator 4.37 M, discriminator 4.28 M")


# ----------------------------------------------------------------------------- the estimate
def _phases_with_backward_flops(module, batch) -> float:
    """FLOPs of one iteration's phases run for real, backward passes included (the reference the
    forward-only count with its backward rule approximates)."""
    groups = {name: list(params) for name, params in module.optimizer_groups().items()}
    total = 0.0
    for phase in module.phase_list:
        for name, params in groups.items():
            for param in params:
                param.requires_grad_(name in phase.groups)
        module.prepare_batch(batch)
        with FlopCounterMode(display=False) as counter:
            terms = phase.step(batch)
            torch.autograd.backward([terms[t] for t in phase.totals])
        total += counter.get_total_flops() * (module.n_critic if phase.critic else 1) / phase.every
    return total


@pytest.mark.parametrize("overrides", [
    [*TINY_DCGAN, "model.n_critic=3"],
    ["model=biggan", "model.generator.width=8", "data.batch_size=8"],
])
def test_counted_flops_match_a_real_forward_and_backward(overrides):
    cfg = make_cfg("/tmp/run", *overrides)
    torch.manual_seed(0)
    datamodule, module = build(cfg, "data"), build_module(cfg)
    counted = cost.count_iteration(module, datamodule)
    assert counted.how == "meta"  # shapes only: no numbers computed
    batch = cost.example_batch(datamodule, int(cfg.data.batch_size))
    real = _phases_with_backward_flops(module, batch)
    assert counted.flops + counted.conv_flops == pytest.approx(real, rel=0.15)


def test_the_estimate_leaves_the_random_streams_and_the_module_as_they_were(caplog):
    cfg = make_cfg("/tmp/run", *TINY_DCGAN)
    datamodule, module = build(cfg, "data"), build_module(cfg)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    streams = torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()
    with caplog.at_level(logging.INFO, logger="gan_lab"):
        seconds = cost.report_cost(cfg, module, datamodule)
    assert seconds is not None and 0 < seconds < cost.SHOW_FROM_SECONDS
    assert torch.equal(torch.get_rng_state(), streams[0]) and random.getstate() == streams[1]
    assert np.array_equal(np.random.get_state()[1], streams[2])
    assert all(torch.equal(v, before[k]) for k, v in module.state_dict().items())
    assert all(p.device.type == "cpu" and p.requires_grad for p in module.parameters())
    # the default-sized run says its parameters and nothing about its (small) cost
    assert "parameters: generator" in caplog.text and "s/iteration" not in caplog.text


def test_a_slow_run_says_so_with_the_quick_command(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(cost, "SHOW_FROM_SECONDS", 0.0)
    with caplog.at_level(logging.INFO, logger="gan_lab"):
        train(tmp_path, "model=r3gan", "model.generator.width=16",
              "model.generator.cardinality=2", "data.batch_size=8", *QUIET, "iterations=2")
    line = next(r.getMessage() for r in caplog.records if "s/iteration" in r.getMessage())
    assert "on this CPU (estimate), 2 iterations ~" in line
    assert line.endswith("a quick run: python -m gan_lab model=r3gan data.batch_size=8 "
                         f"{' '.join(QUIET)} iterations=2 model.generator.width=32 "
                         "model.generator.cardinality=4")
    assert "parameters: generator" in caplog.text


def test_the_cpu_speed_is_measured_once():
    first = cost.cpu_speed()
    assert cost.cpu_speed() is first
    assert first.flops_per_s > 1e8 and first.conv_flops_per_s > 1e8
    assert first.elements_per_s > 1e6 and 0 < first.seconds_per_operation < 1e-2

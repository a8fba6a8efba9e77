"""Smoke tests of benchmarks/throughput.py: structure and equal work, never timings."""

from __future__ import annotations

import json
import os

import pytest
import torch

from benchmarks.throughput import (
    NVML_ENV,
    benchmark,
    compose_config,
    flops_per_iteration,
    main,
    time_lightning,
    time_plain,
)

TINY = {
    "toy": [
        "model.generator.hidden=[32,32]",
        "model.discriminator.hidden=[32,32]",
        "data.batch_size=32",
        "data.num_samples=2000",
    ],
    "pix2pix": ["net_width=4", "data.image_size=16", "data.batch_size=4",
                "model.discriminator.n_layers=2"],
    "cyclegan": ["net_width=4", "data.image_size=24", "data.batch_size=2", "model.pool_size=3"],
    "progan": ["data.image_size=8", "data.batch_size=8", "model.latent_dim=16",
               "model.generator.fmap_max=8", "model.stable_kimg=0.016", "model.fade_kimg=0.016"],
    "stylegan2": ["data.image_size=8", "data.batch_size=4", "model.latent_dim=8",
                  "model.generator.w_dim=8", "model.generator.channel_base=32",
                  "model.generator.channel_max=8", "model.generator.mapping_layers=2"],
    "sngan": ["data.image_size=8", "model.generator.width=8", "model.discriminator.width=8",
              "model.latent_dim=8", "data.batch_size=8"],
    "biggan": ["data.image_size=16", "model.generator.width=2", "model.latent_dim=9",
               "data.batch_size=8", "model.ema_start=1", "model.generator.attention=null"],
    "dcgan": [
        "data.image_size=8",
        "model.generator.width=8",
        "model.discriminator.width=8",
        "model.latent_dim=16",
        "data.batch_size=16",
    ],
}


def test_benchmark_reports_rates_and_their_ratio():
    env_before = os.environ.get(NVML_ENV)
    result = benchmark("toy", iterations=3, repeats=2, warmup=1, overrides=TINY["toy"],
                       diagnostics=["plain_frozen", "plain_no_nvml_env"])
    assert result["overrides"][0] == "experiment=toy"
    assert (result["batch_size"], result["iterations"], result["repeats"]) == (32, 3, 2)
    for side in ("plain", "lightning", "plain_frozen", "plain_no_nvml_env"):
        assert len(result[side]["rates"]) == 2
        assert all(rate > 0 for rate in result[side]["rates"])
        assert min(result[side]["rates"]) <= result[side]["median"] <= max(result[side]["rates"])
    assert result["ratio"] == pytest.approx(result["lightning"]["median"] / result["plain"]["median"])
    for side in ("plain_frozen", "plain_no_nvml_env"):
        assert result[f"ratio_{side}"] == pytest.approx(
            result["lightning"]["median"] / result[side]["median"])
    assert result["paired_ratios"] == pytest.approx(
        [lt / p for lt, p in zip(result["lightning"]["rates"], result["plain"]["rates"])])
    assert result["aim"] == 0.7
    assert os.environ.get(NVML_ENV) == env_before  # plain_no_nvml_env puts it back


@pytest.mark.parametrize("model, extra", [
    ("dcgan", ["model.log_every=2"]),
    ("progan", ["model.log_every=2"]),     # a fade and an optimizer reset inside the window
    ("stylegan2", ["model.log_every=2", "model.r1_every=2", "model.pl_every=3"]),  # lazy phases
    ("toy", ["model.packing=2", "model.n_critic=2", "loss=wgan_gp", "model.log_every=3"]),
    ("toy", ["model.packing=2", "model.replicas=2", "model.log_every=3"]),  # a joint phase
    ("pix2pix", ["model.log_every=2"]),   # G first, dropout, the linear lr decay
    ("cyclegan", ["model.log_every=2"]),  # two Gs and Ds, the history pools
    ("sngan", ["model.log_every=2", "model.n_critic=2"]),   # spectral norm's power iterations
    ("biggan", ["model.log_every=2", "model.ema_decay=0.9"]),   # the orthogonal term, EMA
])
def test_plain_loop_does_the_same_work_as_the_module(tmp_path, model, extra):
    # Same init, same batches, same noise draws, same updates: the nets end up equal, so the
    # two sides time the same computation (with and without requires_grad toggling).
    cfg = compose_config(model, [*TINY[model], *extra], run_dir=tmp_path)
    lightning = time_lightning(cfg, iterations=3, warmup=2)
    assert lightning.module.iteration == 2 + 3 + 1  # the window, its warm-up, one to close it
    for freeze in (False, True):
        plain = time_plain(cfg, iterations=3, warmup=2, freeze=freeze)
        assert plain.iterations == 3 and plain.seconds > 0 and plain.rate > 0
        for net in ("generator", "discriminator"):
            ours = getattr(plain.module, net).state_dict()
            theirs = getattr(lightning.module, net).state_dict()
            assert ours.keys() == theirs.keys()
            for key in ours:
                torch.testing.assert_close(ours[key], theirs[key], msg=f"{net}.{key}")


def test_command_line_writes_json_and_keeps_other_models(tmp_path, capsys):
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"results": {"dcgan": {"model": "dcgan", "ratio": 1.0}}}))
    assert main(["--model", "toy", "--iterations", "2", "--repeats", "1", "--warmup", "1",
                 "--out", str(out), *TINY["toy"]]) == 0
    assert "| toy | 32 |" in capsys.readouterr().out
    stored = json.loads(out.read_text())["results"]
    assert stored["dcgan"] == {"model": "dcgan", "ratio": 1.0}
    toy = stored["toy"]
    assert toy["ratio"] > 0 and toy["plain"]["median"] > 0 and toy["lightning"]["median"] > 0
    assert toy["machine"]["threads"] == 1 and toy["machine"]["torch"] == torch.__version__
    assert toy["machine"]["cpu_count"] >= 1
    assert "--model toy" in toy["command"] and toy["date"]


def test_profile_compares_both_loops(tmp_path):
    assert main(["--model", "toy", "--iterations", "2", "--warmup", "1",
                 "--profile", str(tmp_path), *TINY["toy"]]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "| toggle_optimizer |" in report and "toy lightning: top" in report
    assert "MFLOP per iteration (deterministic): plain" in report
    assert (tmp_path / "toy_plain.prof").is_file() and (tmp_path / "toy_lightning.prof").is_file()


def test_toggling_removes_work_and_lightning_does_what_plain_frozen_does(tmp_path):
    cfg = compose_config("dcgan", TINY["dcgan"], run_dir=tmp_path)
    flops = flops_per_iteration(cfg)
    assert flops["lightning"] == flops["plain_frozen"] < flops["plain"]


def test_replicas_benchmark_times_stacked_against_sequential_runs(tmp_path, capsys):
    from benchmarks.replicas import main as replicas_main

    out = tmp_path / "replicas.json"
    assert replicas_main(["--replicas", "2", "--iterations", "2", "--repeats", "1",
                          "--warmup", "1", "--out", str(out), *TINY["toy"]]) == 0
    assert "| 2 | experiment=toy" in capsys.readouterr().out
    result = json.loads(out.read_text())["results"][-1]
    assert result["ratio"] == pytest.approx(
        result["replicated"]["median"] / result["sequential"]["median"])
    assert "--replicas 2" in result["command"] and result["machine"]["threads"] == 1


def test_layer_cost_benchmark_times_each_layer_on_and_off(tmp_path, capsys):
    from benchmarks.layer_costs import COMPARISONS
    from benchmarks.layer_costs import main as layer_costs_main

    out = tmp_path / "layer_costs.json"
    assert layer_costs_main(["--iterations", "1", "--repeats", "1", "--warmup", "0",
                             "--out", str(out), "model.generator.width=8",
                             "model.discriminator.width=8", "model.latent_dim=8",
                             "data.batch_size=4", "model.n_critic=1"]) == 0
    printed = capsys.readouterr().out
    results = json.loads(out.read_text())["results"]
    assert [r["layer"] for r in results] == list(COMPARISONS)
    for result in results:
        assert f"| {result['layer']} | {result['model']} |" in printed
        assert result["ratio"] == pytest.approx(result["with"]["median"]
                                                / result["without"]["median"])
    # The variants differ in the layer only: spectral norm off in D, attention off in G and D.
    from benchmarks.throughput import compose_config
    on = compose_config("sngan", [], run_dir=tmp_path)
    off = compose_config("sngan", COMPARISONS["spectral_norm"][2], run_dir=tmp_path)
    assert on.model.discriminator.spectral_norm and not off.model.discriminator.spectral_norm

"""The GPU speed path, tested on CPU: the ``speed`` options (channels_last, torch.compile of the
nets) and bf16 mixed precision (gan_lab.speed, gan_lab.callbacks.SpeedUp).

Compiled trainings use the ``aot_eager`` backend (Dynamo + AOTAutograd, the part that cannot do
double backward, without generating code: seconds); one test compiles with inductor, which needs
a C compiler, and is skipped without one.
"""

from __future__ import annotations

import copy
import csv
import json
import pickle
import shutil
import sysconfig
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from torch import nn
from torch.optim.swa_utils import AveragedModel

from gan_lab.building import build, build_module
from gan_lab.callbacks import SpeedUp
from gan_lab.config import ConfigError
from gan_lab.losses.regularizers import gradient_penalty, r1_penalty
from gan_lab.speed import (
    CompiledForward,
    compile_net,
    eager_nets,
    is_compiled,
    to_channels_last,
    trained_nets,
    uncompile_net,
)
from tests.conftest import TINY_DCGAN, make_cfg, train

AOT = ["speed.compile=true", "speed.backend=aot_eager"]
QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false"]
TINY_CYCLEGAN = ["model=cyclegan", "net_width=4", "data.image_size=24", "data.batch_size=2",
                 "model.pool_size=3", *QUIET]
TINY_STYLEGAN2 = ["model=stylegan2", "data.image_size=8", "model.generator.channel_max=16",
                  "model.latent_dim=16", "data.batch_size=8", *QUIET]


def losses(run_dir: Path) -> list[tuple[float, float]]:
    with open(run_dir / "metrics.csv") as handle:
        return [(float(row["loss/d"]), float(row["loss/g"])) for row in csv.DictReader(handle)
                if row.get("loss/d")]


@pytest.fixture
def built(monkeypatch):
    """The modules train.run builds, in order (to look at them after training)."""
    modules = []
    real = build_module

    def spy(cfg):
        modules.append(real(cfg))
        return modules[-1]

    monkeypatch.setattr("gan_lab.train.build_module", spy)
    return modules


def assert_compiled(module, names) -> None:
    """The nets were compiled (and compiled without falling back to eager)."""
    nets = trained_nets(module)
    assert list(nets) == names
    for name, net in nets.items():
        assert is_compiled(net) and net.forward.failed is None, name


def critic() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 1))


# --------------------------------------------------------------------------- config
def test_speed_options_compose_and_resolve(tmp_path):
    cfg = make_cfg(tmp_path)
    assert (cfg.speed.channels_last, cfg.speed.compile) == ("auto", "auto")
    speed = instantiate(cfg.speed)
    assert isinstance(speed, SpeedUp)
    assert speed.resolved(cuda=False) == (False, None)  # a CPU run stays eager
    assert speed.resolved(cuda=True) == (True, "default")  # trainer=gpu: the whole path
    assert speed.resolved(cuda=True, static_nets=False) == (True, None)  # growing nets: eager
    gpu = make_cfg(tmp_path, "trainer=gpu")
    assert gpu.trainer.precision == "bf16-mixed" and gpu.speed.compile == "auto"
    eager = instantiate(make_cfg(tmp_path, "speed=eager").speed)
    assert eager.resolved(cuda=True) == (False, None)
    forced = instantiate(make_cfg(tmp_path, "speed.channels_last=true",
                                  "speed.compile=max-autotune").speed)
    assert forced.resolved(cuda=False) == (True, "max-autotune")
    with pytest.raises(ConfigError, match=r"^speed: compile='fast': must be one of auto, true"):
        build(make_cfg(tmp_path, "speed.compile=fast"), "speed")


def test_trained_nets_are_found_from_the_optimizer_groups(tmp_path):
    dcgan = build_module(make_cfg(tmp_path, *TINY_DCGAN, "model.ema_decay=0.9"))
    assert list(trained_nets(dcgan)) == ["generator", "discriminator"]  # not generator_ema
    cyclegan = build_module(make_cfg(tmp_path, *TINY_CYCLEGAN))
    assert sorted(trained_nets(cyclegan)) == ["discriminator.A", "discriminator.B",
                                              "generator.AtoB", "generator.BtoA"]
    stylegan2 = build_module(make_cfg(tmp_path, *TINY_STYLEGAN2))  # mapping, synthesis apart
    assert list(trained_nets(stylegan2)) == ["generator.mapping", "generator.synthesis",
                                             "discriminator"]


# --------------------------------------------------------------------------- mechanism
def test_compiled_net_keeps_its_state_dict_copies_and_pickles():
    net = critic()
    keys = list(net.state_dict())
    compile_net(net, "critic", backend="aot_eager")
    assert is_compiled(net) and list(net.state_dict()) == keys  # no "_orig_mod." prefixes
    x = torch.randn(2, 3, 6, 6)
    expected = net.forward.eager(x)
    torch.testing.assert_close(net(x), expected)
    # A deep copy (the EMA's AveragedModel) and a pickle get their own compiled forward.
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert isinstance(other.forward, CompiledForward)
        assert other.forward.eager.__self__ is other
        torch.testing.assert_close(other(x), expected)
    ema = AveragedModel(net)
    ema.update_parameters(net)
    torch.testing.assert_close(ema(x), expected)
    uncompile_net(net)
    assert not is_compiled(net) and "forward" not in net.__dict__


def test_a_compilation_error_leaves_the_net_eager_with_a_warning(caplog):
    def broken_backend(graph, inputs):
        raise RuntimeError("no C compiler here")

    net = compile_net(critic(), "critic", backend=broken_backend)
    x = torch.randn(2, 3, 6, 6)
    with caplog.at_level("WARNING", logger="gan_lab.speed"):
        out = net(x)
    torch.testing.assert_close(out, net.forward.eager(x))
    assert net.forward.failed is not None
    assert "torch.compile failed for critic" in caplog.text and "runs eagerly" in caplog.text


def test_penalties_differentiate_twice_through_the_eager_forward():
    torch.manual_seed(0)
    net = critic()
    reference = copy.deepcopy(net)
    compile_net(net, "critic", backend="aot_eager")
    real, fake = torch.randn(4, 3, 6, 6), torch.randn(4, 3, 6, 6)
    # Without eager_nets, a compiled forward cannot be differentiated twice (AOTAutograd
    # refuses create_graph=True or the second backward, depending on what it compiled).
    x = real.clone().requires_grad_(True)
    with pytest.raises(RuntimeError, match="double backward|create_graph=False"):
        (grad,) = torch.autograd.grad(net(x).sum(), x, create_graph=True)
        grad.square().sum().backward()
    # The penalties run the critic inside eager_nets: same values and weight gradients.
    for penalty in (lambda d: r1_penalty(d, real), lambda d: gradient_penalty(d, real, fake)):
        for module in (net, reference):
            module.zero_grad()
        torch.manual_seed(1)
        value = penalty(net)
        value.backward()
        torch.manual_seed(1)
        expected = penalty(reference)
        expected.backward()
        torch.testing.assert_close(value, expected)
        for p, q in zip(net.parameters(), reference.parameters(), strict=True):
            torch.testing.assert_close(p.grad, q.grad)
    with eager_nets():  # nests, and restores
        with eager_nets():
            pass
        x = real.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(net(x).sum(), x, create_graph=True)
        grad.square().sum().backward()


def test_batches_go_channels_last_only_for_images():
    images, labels, points = torch.randn(2, 3, 4, 4), torch.tensor([0, 1]), torch.randn(2, 2)
    out = to_channels_last([images, labels, {"p": points, "i": (images,)}])
    assert out[0].is_contiguous(memory_format=torch.channels_last) and not out[0].is_contiguous()
    assert out[1] is labels and out[2]["p"] is points
    assert out[2]["i"][0].is_contiguous(memory_format=torch.channels_last)


# --------------------------------------------------------------------------- training
def test_channels_last_trains_alike_and_its_checkpoint_loads_eagerly(tmp_path):
    common = [*TINY_DCGAN, "iterations=4", "model.log_every=1", "model.ema_decay=0.9"]
    train(tmp_path / "eager", *common)
    train(tmp_path / "nhwc", *common, "speed.channels_last=true")
    torch.testing.assert_close(losses(tmp_path / "nhwc"), losses(tmp_path / "eager"),
                               rtol=1e-4, atol=1e-5)
    eager = torch.load(tmp_path / "eager" / "checkpoints" / "last.ckpt", weights_only=False)
    nhwc = torch.load(tmp_path / "nhwc" / "checkpoints" / "last.ckpt", weights_only=False)
    assert list(nhwc["state_dict"]) == list(eager["state_dict"])
    # The run really trained in NHWC: every 4-D weight whose layout tells (several channels and
    # pixels), in G, D and the EMA copy.
    telling = {key: value for key, value in nhwc["state_dict"].items()
               if value.dim() == 4 and value.shape[1] > 1 and value.shape[2] * value.shape[3] > 1}
    assert {key.split(".")[0] for key in telling} == {"generator", "discriminator",
                                                      "generator_ema"}
    for key, weight in telling.items():
        assert weight.is_contiguous(memory_format=torch.channels_last), key
        assert not weight.is_contiguous(), key
    module = build_module(make_cfg(tmp_path, *common))
    module.load_state_dict(nhwc["state_dict"])  # strict: an eager module takes it as it is
    for name, value in module.state_dict().items():
        torch.testing.assert_close(value, eager["state_dict"][name], rtol=1e-4, atol=1e-5)


def test_an_eager_checkpoint_resumes_compiled_and_channels_last(tmp_path):
    common = [*TINY_DCGAN, "model.log_every=1", "callbacks.checkpoint.every_n_iterations=2"]
    train(tmp_path / "run", *common, "iterations=2")
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    train(tmp_path / "run", *common, "iterations=4", f"ckpt_path={ckpt}",
          "speed.channels_last=true", *AOT)  # speed may change on resume
    saved = torch.load(ckpt, weights_only=False)
    assert saved["gan_lab"]["iteration"] == 4
    assert all("_orig_mod" not in key for key in saved["state_dict"])
    assert saved["gan_lab"]["config"]["speed"]["compile"] is True


@pytest.mark.parametrize("loss", ["loss=wgan_gp", "loss.r1_gamma=10"])
def test_penalties_train_with_compiled_nets_as_eager_ones(tmp_path, loss, built):
    common = [*TINY_DCGAN, loss, "iterations=3", "model.n_critic=1", "model.log_every=1"]
    train(tmp_path / "eager", *common)
    train(tmp_path / "compiled", *common, *AOT, "speed.channels_last=true")
    assert not is_compiled(built[0].discriminator)
    assert_compiled(built[1], ["generator", "discriminator"])
    torch.testing.assert_close(losses(tmp_path / "compiled"), losses(tmp_path / "eager"),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # ~12-17 s: Dynamo traces the StyleGAN2 nets in several variants
def test_stylegan2_path_length_and_lazy_r1_with_compiled_nets(tmp_path, built):
    common = [*TINY_STYLEGAN2, "iterations=2", "model.log_every=1", "model.r1_every=1",
              "model.pl_every=1"]
    train(tmp_path / "eager", *common)
    train(tmp_path / "compiled", *common, *AOT)
    assert_compiled(built[1], ["generator.mapping", "generator.synthesis", "discriminator"])
    torch.testing.assert_close(losses(tmp_path / "compiled"), losses(tmp_path / "eager"),
                               rtol=1e-4, atol=1e-5)


def test_cyclegan_trains_channels_last(tmp_path, monkeypatch):
    common = [*TINY_CYCLEGAN, "iterations=2", "model.log_every=1"]
    train(tmp_path / "eager", *common)
    seen = []

    def spy(cfg):
        module = build_module(cfg)
        module.discriminator["B"].register_forward_pre_hook(
            lambda net, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)
                                          and not args[0].is_contiguous()))
        return module

    monkeypatch.setattr("gan_lab.train.build_module", spy)
    # the cost report's forward on a copy (hooks included) would be seen first: training's alone
    monkeypatch.setattr("gan_lab.train.report_cost", lambda *args: None)
    train(tmp_path / "nhwc", *common, "speed.channels_last=true")
    assert seen and seen[0]  # D_B's first input: the real RGB batch, converted to NHWC
    torch.testing.assert_close(losses(tmp_path / "nhwc"), losses(tmp_path / "eager"),
                               rtol=1e-4, atol=1e-5)


def test_bf16_mixed_precision_trains_on_cpu(tmp_path):
    train(tmp_path / "run", *TINY_DCGAN, "loss=wgan_gp", "model.n_critic=1", "iterations=3",
          "model.log_every=1", "trainer.precision=bf16-mixed", "speed.channels_last=true")
    values = losses(tmp_path / "run")
    assert len(values) == 3 and all(torch.isfinite(torch.tensor(v)).all() for v in values)


def _c_compiler() -> str | None:
    """Why inductor cannot compile here, or None when it can (a C++ compiler and Python.h)."""
    if not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")):
        return "no C++ compiler on PATH (inductor generates C++ for the CPU)"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file():
        return "no Python.h (the Python development headers) for inductor's C++ code"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_c_compiler() is not None, reason=str(_c_compiler()))
def test_inductor_compiled_nets_train_as_eager_ones(tmp_path, built):
    # The smallest DCGAN: inductor compiles each graph to C++ on the CPU (~20-60 s the first
    # time on one core; the inductor cache makes reruns faster).
    tiny = [*TINY_DCGAN, "model.generator.width=4", "model.discriminator.width=4",
            "model.latent_dim=8", "data.batch_size=8", "iterations=3", "model.log_every=1",
            "callbacks.samples=null"]
    train(tmp_path / "eager", *tiny)
    train(tmp_path / "compiled", *tiny, "speed.compile=true")
    assert_compiled(built[1], ["generator", "discriminator"])
    torch.testing.assert_close(losses(tmp_path / "compiled"), losses(tmp_path / "eager"),
                               rtol=1e-3, atol=1e-4)


def test_gpu_speed_benchmark_runs_its_reduced_cpu_version(tmp_path, capsys):
    from benchmarks.gpu_speed import main

    out = tmp_path / "speed.json"
    tiny = ["data.image_size=8", "data.batch_size=4", "model.generator.width=8",
            "model.discriminator.width=8", "model.latent_dim=16"]
    assert main(["--cpu", "--model", "dcgan64", "--iterations", "2", "--warmup", "1",
                 "--repeats", "2", "--variants", "fp32,bf16,bf16_cl", "--out", str(out),
                 *tiny]) == 0
    printed = capsys.readouterr().out
    assert "| dcgan64 | 8 | 4 | bf16_cl |" in printed and "GPU ratios are not measured" in printed
    result = json.loads(out.read_text())
    assert "await a run of this script on a GPU" in result["note"]
    variants = result["results"]["dcgan64"]["variants"]
    assert list(variants) == ["fp32", "bf16", "bf16_cl"]
    assert variants["fp32"]["ratio"] == 1.0
    assert all(len(v["rates"]) == 2 and v["median"] > 0 for v in variants.values())
    assert variants["bf16_cl"]["applied"] == {"channels_last": True, "compile": None, "nets": []}

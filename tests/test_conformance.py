"""The conformance suite: every ``conf/model`` option, at its quick setting on its default data,
trains a few iterations, resumes exactly across a stage or lazy-regularization boundary where it
has one (a plain iteration boundary otherwise), renders and writes its visuals, and samples or
translates from its checkpoint alone. A new model joins by adding its yaml (with a ``quick:``
list); only a model whose stages or lazy phases are too long for three iterations names the
overrides that bring a boundary into them (BOUNDARY)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_lab import cost
from gan_lab.building import build
from gan_lab.config import config_dir
from gan_lab.kinds import SampleKind
from gan_lab.loading import load_module
from gan_lab.outputs import render, write
from gan_lab.visuals import Visual
from tests.conftest import assert_same_training_state, make_cfg, train

MODELS = sorted(p.stem for p in (Path(config_dir()) / "model").glob("*.yaml"))
QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false", "callbacks.samples=null",
         "eval=none", "callbacks.checkpoint.every_n_iterations=1"]
# Overrides that put a stage or lazy boundary at iteration 2 of a 3-iteration run.
BOUNDARY = {
    "progan": ["model.stable_kimg=0.032", "model.fade_kimg=0.032", "model.batch_sizes=null",
               "data.batch_size=32"],
    "stylegan": ["model.stable_kimg=0.032", "model.fade_kimg=0.032"],  # its quick: batch 32
    "stylegan2": ["model.r1_every=2", "model.pl_every=2"],
    "srgan": ["model.pretrain_iterations=2"],
    "singan": ["model.iterations_per_scale=2"],
    # one batch per epoch: MLE at 0, D's pre-training at 1, the adversarial stage from 2
    "seqgan": ["data.num_train=32", "data.batch_size=32", "model.pretrain_epochs=1",
               "model.d_pretrain_steps=1"],
}


def _overrides(tmp_path: Path, model: str) -> list[str]:
    quick = cost.quick_overrides(make_cfg(tmp_path, f"model={model}"))
    assert quick is not None, f"conf/model/{model}.yaml has no quick: [...] list"
    return [f"model={model}", *quick, *QUIET, *BOUNDARY.get(model, [])]


@pytest.mark.parametrize("model", MODELS)
def test_every_model_trains_resumes_renders_and_generates(tmp_path, model):
    overrides = _overrides(tmp_path, model)
    # One run, checkpointed at every iteration and kept; a second run resumes its checkpoint of
    # iteration 2 (the same budget, so every schedule is the same) and must end bit for bit alike.
    train(tmp_path / "straight", *overrides, "iterations=3", "+callbacks.checkpoint.save_top_k=-1")
    cut = tmp_path / "straight" / "checkpoints" / "iter_0000002.ckpt"
    train(tmp_path / "resumed", *overrides, "iterations=3", f"ckpt_path={cut}")
    straight = tmp_path / "straight" / "checkpoints" / "last.ckpt"
    assert_same_training_state(straight, tmp_path / "resumed" / "checkpoints" / "last.ckpt")
    state = torch.load(straight, weights_only=True)["gan_lab"]
    if model in BOUNDARY:  # the boundary was crossed: a stage entered or a lazy phase ran
        assert state["stage"] > 0 or model == "stylegan2", state

    # From the checkpoint alone (the data module only for the visuals' fixed inputs).
    module, cfg = load_module(straight)
    assert module.sample_spec is not None, "the checkpoint keeps the data's sample spec"
    datamodule = build(cfg, "data")
    generator = torch.Generator().manual_seed(0)
    inputs = module.visual_inputs(datamodule, 4, 2, generator)
    visuals = module.visuals(inputs)
    assert visuals, f"{model} shows no visuals"
    for name, visual in visuals.items():
        path = write(render(visual), tmp_path / "visuals" / name)
        assert path.is_file() and path.stat().st_size > 0, name
    if module.speaks("sample"):
        with torch.no_grad():
            samples = module.sample(2)
        kind = module.sample_spec.kind
        if kind is SampleKind.POINTS and samples.dim() == 3:  # replicas: (R, n, 2)
            samples = samples[0]
        assert tuple(samples.shape[1:]) == module.sample_spec.shape, (samples.shape, module.sample_spec)
        samples = samples.float() if samples.is_floating_point() else samples  # token ids stay
        assert write(render(Visual(kind, samples, 2)), tmp_path / "sampled").is_file()
    else:
        assert module.speaks("translate"), f"{model} neither samples nor translates"

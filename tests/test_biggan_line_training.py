"""SNGAN, SAGAN and BigGAN train from their yamls: conditional, with DiffAugment and EMA, exact
resume, bf16, DDP on CPU, and BigGAN's truncated sampling from a checkpoint alone."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import assert_same_training_state, run_cli, train

QUIET = ["callbacks.progress=null", "trainer.enable_progress_bar=false", "callbacks.samples=null",
         "data.batch_size=8", "model.log_every=1"]
# The default data (16x16 digits) at widths a test affords.
TINY = {
    "sngan": ["model=sngan", "model.generator.width=8", "model.discriminator.width=8",
              "model.latent_dim=16", "model.n_critic=2"],
    "sngan_cnn": ["model=sngan_cnn", "model.generator.width=16", "model.discriminator.width=16",
                  "model.latent_dim=16", "model.n_critic=2"],
    "sagan": ["model=sagan", "model.generator.width=8", "model.discriminator.width=8",
              "model.latent_dim=16"],
    "biggan": ["model=biggan", "model.generator.width=2", "model.latent_dim=12",
               "model.ema_decay=0.9", "model.ema_start=1"],
}


# sngan_cnn trains through the same scheme as sngan (its nets: the published-layout test below).
@pytest.mark.parametrize("model", ["biggan", "sagan", "sngan"])
def test_conditional_augmented_runs_resume_exactly(tmp_path, model):
    common = [*QUIET, *TINY[model], "model.num_classes=10", "augment=diffaugment",
              "callbacks.checkpoint.every_n_iterations=2"]
    if model != "biggan":
        common += ["model.ema_decay=0.9"]
    if model == "sngan":  # its lr decay spans the budget: 2 and 4 iterations decay differently
        common += ["optim=adam_sngan"]
    train(tmp_path / "straight", *common, "iterations=4")
    train(tmp_path / "half", *common, "iterations=2")
    train(tmp_path / "resumed", "iterations=4",
          f"ckpt_path={tmp_path / 'half' / 'checkpoints' / 'last.ckpt'}")
    assert_same_training_state(tmp_path / "straight" / "checkpoints" / "last.ckpt",
                               tmp_path / "resumed" / "checkpoints" / "last.ckpt")
    state = torch.load(tmp_path / "straight" / "checkpoints" / "last.ckpt", weights_only=True)
    weights = state["state_dict"]
    # Spectral norm's power-iteration vectors are saved with the weights (exact resume).
    assert any(k.startswith("discriminator.") and k.endswith("._u") for k in weights)
    assert any(k.startswith("generator_ema.") for k in weights)


def test_biggan_logs_its_orthogonal_term_and_trains_in_bf16(tmp_path):
    train(tmp_path, *QUIET, *TINY["biggan"], "iterations=2", "trainer.precision=bf16-mixed")
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"loss/g_ortho", "loss/d", "loss/g"} <= set(header)


def test_biggan_ddp_with_accumulation_and_truncated_samples(tmp_path):
    from gan_lab.loading import load_module
    from gan_lab.sample import truncated_noise

    result = run_cli("trainer=ddp", "trainer.accelerator=cpu", *QUIET, *TINY["biggan"],
                     "model.num_classes=10", "model.accumulate=2", "iterations=2",
                     "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, weights_only=True)["gan_lab"]["iteration"] == 2
    # From the checkpoint alone: BigGAN's truncation trick (codes redrawn beyond 0.5).
    module, _ = load_module(ckpt)
    noise = truncated_noise(module, 6, 0.5, torch.Generator().manual_seed(0))
    assert noise.abs().max() <= 0.5
    images = module.sample(noise=noise, labels=torch.full((6,), 3))
    assert images.shape == (6, 1, 16, 16) and images.abs().max() <= 1


def _image_folder(root):
    from tests.test_image_folder import save
    for i in range(8):
        save(root / f"{i}.png", (40 + i, 36), (30 * i, 255 - 30 * i, 90))
    return ["data=image_folder", f"data.path={root}", "data.channels=3"]


def _cifar10(root):
    from tests.test_standard_datasets import write_cifar
    write_cifar(root)
    return ["data=cifar10", f"data.root={root}", "data.download=false", "model.num_classes=10"]


# Each model once on a published-layout set at 32 px, RGB: an image folder, or CIFAR-10's
# python layout (conditional, through the projection D).
@pytest.mark.parametrize("model, data", [("sngan", _cifar10), ("sngan_cnn", _image_folder),
                                         ("sagan", _image_folder), ("biggan", _cifar10),
                                         ("r3gan", _image_folder)])
def test_models_train_on_the_published_layouts_at_32px(tmp_path, model, data):
    tiny = TINY.get(model, ["model=r3gan", "model.generator.width=8",
                            "model.generator.cardinality=2", "model.generator.blocks=1"])
    train(tmp_path / "run", *QUIET, *tiny, *data(tmp_path / "data"), "data.image_size=32",
          "data.batch_size=4", "iterations=1")
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["gan_lab"]["iteration"] == 1

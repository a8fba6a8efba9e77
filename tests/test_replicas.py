"""Replicated nets (R runs stacked in one module) and the PacGAN toy code's training details:
the simultaneous update of ALI's algorithm and Blocks' batch normalization."""

from __future__ import annotations

import copy
import functools

import lightning.pytorch as pl
import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

from gan_lab.config import ConfigError
from gan_lab.data import ToyDataModule
from gan_lab.losses import AdversarialLoss
from gan_lab.models import GAN
from gan_lab.nets import MLPDiscriminator, MLPGenerator
from gan_lab.nets.packing import pack
from gan_lab.nets.replicated import ReplicatedBatchNorm, replica_state, stack_replicas
from gan_lab.train import STEP_BOUND, run
from tests.conftest import make_cfg
from tests.test_summarize import experiment

ADAM = functools.partial(torch.optim.Adam, lr=1e-3, betas=(0.8, 0.999))
HIDDEN_G, HIDDEN_D = [8, 8], [6, 6]


def _toy_gan(replicas: int = 1, packing: int = 1, update: str = "simultaneous", loss="nsgan"):
    g = MLPGenerator(hidden=HIDDEN_G, replicas=replicas, bn_groups=packing)
    d = MLPDiscriminator(hidden=HIDDEN_D, maxout_pieces=3, packing=packing, replicas=replicas)
    return GAN(g, d, AdversarialLoss(loss), latent_dim=2, packing=packing, update=update,
               replicas=replicas, optimizers={"generator": ADAM, "discriminator": ADAM})


def _fit(module, batches: list[torch.Tensor], noises: list[torch.Tensor]) -> None:
    """Train one iteration per batch, G's codes taken from ``noises`` in order."""
    queue = list(noises)
    module.noise = lambda n, generator=None: queue.pop(0)
    module.budget = len(batches)
    trainer = pl.Trainer(accelerator="cpu", max_steps=STEP_BOUND, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    data = torch.cat(batches)
    trainer.fit(module, train_dataloaders=DataLoader(TensorDataset(data), batch_size=len(batches[0])))
    assert not queue


# ----------------------------------------------------------------------------- Blocks' BN
def test_batch_norm_follows_blocks_per_group_statistics_and_population_stdev():
    torch.manual_seed(0)
    bn = ReplicatedBatchNorm(replicas=1, features=3, eps=1e-4, momentum=0.05, groups=2)
    x = torch.randn(8, 3) * 3 + 1
    y = bn(x)
    for slot in (0, 1):  # sample j belongs to group j % 2, normalised by that group's statistics
        xs = x[slot::2]
        stdev = (xs.var(dim=0, unbiased=False) + 1e-4).sqrt()
        torch.testing.assert_close(y[slot::2], (xs - xs.mean(0)) / stdev)
    means = torch.stack([x[0::2].mean(0), x[1::2].mean(0)]).mean(0)
    stdevs = torch.stack([(x[s::2].var(0, unbiased=False) + 1e-4).sqrt() for s in (0, 1)]).mean(0)
    # population = 0.95 population + 0.05 minibatch (PacGAN's bn_updates), from 0 and 1
    torch.testing.assert_close(bn.population_mean.flatten(), 0.05 * means)
    torch.testing.assert_close(bn.population_stdev.flatten(), 0.95 + 0.05 * stdevs)
    bn.eval()  # inference divides by the population stdev, eps not added again
    torch.testing.assert_close(bn(x), (x - bn.population_mean.flatten()) / bn.population_stdev.flatten())
    with pytest.raises(ValueError, match="does not split"):
        bn.train()(torch.randn(7, 3))


def test_toy_nets_default_to_the_official_settings():
    g = MLPGenerator()
    norms = [m for m in g.modules() if isinstance(m, ReplicatedBatchNorm)]
    assert len(norms) == 4 and all((m.eps, m.momentum) == (1e-4, 0.05) for m in norms)


# ----------------------------------------------------------------------------- update order
def test_simultaneous_update_takes_both_gradients_before_either_step():
    # PacGAN's toy code: ali_algorithm(discriminator_loss, D params, generator_loss, G params):
    # theano.grad of each loss at the same parameters, then one GradientDescent step of both.
    torch.manual_seed(0)
    module = _toy_gan(packing=2)
    reference = copy.deepcopy(module)
    real, z = torch.randn(8, 2), torch.randn(8, 2)
    _fit(module, [real], [z])

    g, d = reference.generator, reference.discriminator
    opt_g, opt_d = ADAM(g.parameters()), ADAM(d.parameters())
    fake = g(z)
    real_scores, fake_scores = d(pack(real, 2)), d(pack(fake, 2))
    loss_d = F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()
    loss_g = F.softplus(-fake_scores).mean()
    grads_d = torch.autograd.grad(loss_d, list(d.parameters()), retain_graph=True)
    grads_g = torch.autograd.grad(loss_g, list(g.parameters()))
    for p, grad in [*zip(d.parameters(), grads_d), *zip(g.parameters(), grads_g)]:
        p.grad = grad
    opt_d.step()
    opt_g.step()
    for one, two in [(module.generator, g), (module.discriminator, d)]:
        for (name, x), y in zip(one.state_dict().items(), two.state_dict().values(), strict=True):
            torch.testing.assert_close(x, y, msg=name)


def test_simultaneous_update_needs_one_critic_step():
    with pytest.raises(ValueError, match="needs model.n_critic=1"):
        GAN(MLPGenerator(hidden=[4]), MLPDiscriminator(hidden=[4]), AdversarialLoss("wasserstein"),
            latent_dim=2, update="simultaneous", n_critic=5, optimizers={})
    with pytest.raises(ValueError, match="model.update='both' is not one of"):
        _toy_gan(update="both")


# ----------------------------------------------------------------------------- replicas
@pytest.mark.parametrize(("update", "packing", "loss"), [
    ("simultaneous", 2, "nsgan"), ("alternating", 1, "hinge")])
def test_replicas_train_exactly_as_separate_runs(update, packing, loss):
    """R stacked replicas after 3 iterations equal R separate runs fed the same data and codes
    (weights and batch-norm population statistics)."""
    replicas, batch, iterations = 3, 4, 3
    singles = []
    for seed in range(replicas):
        torch.manual_seed(seed)
        singles.append(_toy_gan(packing=packing, update=update, loss=loss))
    stacked = _toy_gan(replicas, packing=packing, update=update, loss=loss)
    for net in ("generator", "discriminator"):
        getattr(stacked, net).load_state_dict(
            stack_replicas([getattr(s, net).state_dict() for s in singles]))

    gen = torch.Generator().manual_seed(7)
    data = torch.randn(iterations, batch, replicas, 2, generator=gen)
    draws = 1 if update == "simultaneous" else 2  # alternating: D's codes, then G's
    codes = torch.randn(iterations * draws, replicas, batch, 2, generator=gen)
    _fit(stacked, list(data), [c.flatten(0, 1) for c in codes])
    for r, single in enumerate(singles):
        _fit(single, [d[:, r] for d in data], [c[r] for c in codes])

    for net in ("generator", "discriminator"):
        stacked_state = getattr(stacked, net).state_dict()
        for r, single in enumerate(singles):
            for key, value in getattr(single, net).state_dict().items():
                torch.testing.assert_close(replica_state(stacked_state, r)[key], value,
                                           msg=f"{net} replica {r} {key}")


def test_replica_losses_are_scaled_so_each_replica_gets_its_own_gradient():
    module = _toy_gan(replicas=4)
    phase = module.phase_list[0]
    assert module.backward_gain(phase) == 4.0


def test_replicated_toy_run_scores_each_replica_and_the_study_reads_them(tmp_path):
    run_dir = tmp_path / "runs" / "ring" / "pacgan2"
    cfg = make_cfg(run_dir, "experiment=toy", "model.replicas=2", "model.packing=2",
                   "iterations=4", "eval.every=2", "eval.metrics.mode_coverage.num_samples=50",
                   "model.generator.hidden=[16,16]", "model.discriminator.hidden=[16,16]")
    run(cfg)
    results = (run_dir / "results.json").read_text()
    for key in ("toy/modes/replica0", "toy/modes/replica1", "toy/reverse_kl"):
        assert f'"{key}"' in results
    (run_dir / ".hydra").mkdir()
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")  # what Hydra writes for a CLI run
    summarize = experiment("toy_mode_collapse")
    summarize.main([str(tmp_path / "runs"), "--out", str(tmp_path)])
    table = (tmp_path / "table.md").read_text()
    assert "**ring** (8 modes), iteration 4" in table and "| PacGAN2 | 2 |" in table
    rows = (tmp_path / "results.csv").read_text().splitlines()
    assert rows[0] == "data,row,replica,iteration,toy/modes,toy/high_quality,toy/reverse_kl"
    assert [r.split(",")[:4] for r in rows[1:]] == [["ring", "PacGAN2", "0", "4"],
                                                     ["ring", "PacGAN2", "1", "4"]]
    assert (tmp_path / "curves.png").is_file() and (tmp_path / "samples.png").is_file()
    datamodule = ToyDataModule(dataset="ring", replicas=2, num_samples=200, batch_size=10)
    datamodule.setup("fit")
    sets = datamodule.train_set.tensors[0]
    assert sets.shape == (200, 2, 2) and not torch.equal(sets[:, 0], sets[:, 1])
    single = ToyDataModule(dataset="ring", num_samples=200, batch_size=10)
    single.setup("fit")
    assert torch.equal(single.train_set.tensors[0], sets[:, 0])  # replica 0 = the unreplicated set


def test_each_replica_is_probed_for_collapse_on_its_own_samples():
    torch.manual_seed(0)
    module = _toy_gan(replicas=3)
    datamodule = ToyDataModule(dataset="ring", replicas=3, num_samples=200, batch_size=10)
    datamodule.setup("fit")
    pairs = module.diversity_probe(datamodule, 8, seed=1)
    assert len(pairs) == 3
    samples = module.sample(noise=module.noise(24, generator=torch.Generator().manual_seed(1)))
    assert not samples.requires_grad  # sampling builds no graph
    for replica, (fake, real) in enumerate(pairs):
        assert torch.equal(fake, samples[replica].float()) and real.shape == (24, 2)
    # the same fixed codes and reals at every measurement
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
               for a, b in zip(pairs, module.diversity_probe(datamodule, 8, seed=1), strict=True))


def test_replicas_must_match_the_data_and_avoid_shared_clipping(tmp_path):
    with pytest.raises(ConfigError, match="model.replicas=2 but the data gives 1"):
        run(make_cfg(tmp_path, "experiment=toy", "model.replicas=2", "data.replicas=1",
                     "iterations=1"))
    with pytest.raises(ValueError, match="clip_grad_norm"):
        GAN(MLPGenerator(hidden=[4], replicas=2), MLPDiscriminator(hidden=[4], replicas=2),
            AdversarialLoss("nsgan"), latent_dim=2, replicas=2, clip_grad_norm=1.0, optimizers={})
    with pytest.raises(ValueError, match="unconditional"):
        MLPGenerator(replicas=2, num_classes=3)

"""BigGAN's scheme: orthogonal regularization (Brock et al. 2019, eq. 3, as BigGAN-PyTorch's
``utils.ortho``) and gradient accumulation over micro-batches in the base."""

from __future__ import annotations

import functools

import lightning.pytorch as pl
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gan_lab.losses import AdversarialLoss
from gan_lab.losses.orthogonal import orthogonal_penalty, orthogonal_weights
from gan_lab.models import GAN, BigGAN
from gan_lab.models.base import split_batch
from gan_lab.nets.spectral import spectral_norm
from gan_lab.train import STEP_BOUND


def test_orthogonal_penalty_value_and_the_official_gradient():
    w = torch.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]], requires_grad=True)
    # W W^T = [[5, -1.5], [-1.5, 10.25]]: off-diagonal entries -1.5 twice; 1/2 * 2 * 2.25.
    penalty = orthogonal_penalty([w])
    assert penalty.item() == pytest.approx(2.25)
    penalty.backward()
    gram = w.detach() @ w.detach().t()
    official = 2 * (gram * (1 - torch.eye(2))) @ w.detach()   # BigGAN-PyTorch utils.ortho
    assert torch.allclose(w.grad, official)
    # A conv weight is reshaped to (out, in * k * k); orthogonal rows cost nothing.
    assert float(orthogonal_penalty([torch.eye(4).reshape(4, 1, 2, 2)])) == 0.0


def test_orthogonal_weights_skip_the_shared_embedding_biases_and_gains():
    class G(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.shared = nn.Embedding(10, 4)
            self.conv = spectral_norm(nn.Conv2d(4, 4, 3))
            self.norm = nn.BatchNorm2d(4)

    g = G()
    chosen = orthogonal_weights(g, g.shared)
    assert [tuple(p.shape) for p in chosen] == [(4, 4, 3, 3)]
    assert chosen[0] is g.conv.parametrizations.weight.original   # the raw weight, as official


class _G(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(2, 3)

    def forward(self, z, labels=None):
        return self.net(z)


class _D(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(3, 1)

    def forward(self, x, labels=None):
        return self.net(x).flatten()


def _trained(scheme, accumulate: int, **options) -> nn.Module:
    torch.manual_seed(0)
    sgd = functools.partial(torch.optim.SGD, lr=0.5)
    module = scheme(_G(), _D(), AdversarialLoss("nsgan"), latent_dim=2, n_critic=2,
                    accumulate=accumulate, optimizers={"generator": sgd, "discriminator": sgd},
                    **options)
    stream = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    drawn = iter(range(0, 64))

    def noise(n, generator=None):   # the same codes whatever the micro-batch size
        start = next(drawn)
        for _ in range(n - 1):
            next(drawn)
        return stream[start:start + n]

    module.noise = noise
    module.budget = 1
    data = torch.randn(16, 3, generator=torch.Generator().manual_seed(2))
    trainer = pl.Trainer(accelerator="cpu", max_steps=STEP_BOUND, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.fit(module, train_dataloaders=DataLoader(TensorDataset(data), batch_size=8))
    return module


@pytest.mark.parametrize("scheme", [GAN, BigGAN])
def test_accumulated_micro_batches_step_as_the_whole_batch(scheme):
    whole, parts = _trained(scheme, 1), _trained(scheme, 4)
    assert whole.iteration == parts.iteration == 1
    for (name, a), b in zip(whole.state_dict().items(), parts.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name


def test_biggan_adds_the_orthogonal_term_to_every_generator_step():
    module = _trained(BigGAN, 1, ortho_weight=1e-2)
    real = (torch.randn(4, 3),)
    terms = module.generator_step(real)
    expected = 1e-2 * orthogonal_penalty([module.generator.net.weight])
    assert torch.allclose(terms["loss/g_ortho"], expected)
    assert "loss/g_ortho" not in _trained(BigGAN, 1, ortho_weight=0.0).generator_step(real)
    with pytest.raises(ValueError, match="model.ortho_weight=-1"):
        BigGAN(_G(), _D(), AdversarialLoss("hinge"), latent_dim=2, ortho_weight=-1, optimizers={})


def test_micro_batches_must_split_evenly_and_every_field_is_split():
    images, labels = torch.randn(8, 3), torch.arange(8)
    parts = split_batch((images, labels), 4)
    assert len(parts) == 4 and torch.equal(parts[1][1], torch.tensor([2, 3]))
    assert split_batch({"x": images}, 2)[1]["x"].shape == (4, 3)
    with pytest.raises(ValueError, match="model.accumulate=3: a batch of 8"):
        split_batch(images, 3)
    with pytest.raises(ValueError, match="model.accumulate=0"):
        GAN(_G(), _D(), AdversarialLoss(), latent_dim=2, accumulate=0, optimizers={})

"""Layers that hold R independent copies of a small net as stacked weights.

R training runs of a small model (the toy MLPs) cost little more than one when their weights are
stacked along a leading replica dimension: every matrix product becomes one batched product.
Each replica sees only its own inputs and its own weights, so the replicas never interact; Adam is
elementwise, so one optimizer over the stacked parameters is R independent optimizers.

Convention: a replicated net takes and returns *replica-major flat batches*, ``(R * N, F)`` with
replica r's samples at rows ``r*N .. r*N + N - 1``, so that everything around the nets (losses,
packing, penalties) is unchanged. With ``replicas=1`` the layers are ordinary layers.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ReplicatedBatchNorm", "ReplicatedLinear", "ReplicatedMaxout", "by_replica", "replica_state",
           "stack_replicas"]


def by_replica(x: Tensor, replicas: int) -> Tensor:
    """``(R * N, F) -> (R, N, F)``; a clear error when the batch does not split."""
    if x.dim() != 2 or x.shape[0] % replicas:
        raise ValueError(f"a net with {replicas} replicas takes a (R * N, F) batch with R = "
                         f"{replicas}, got shape {tuple(x.shape)}")
    return x.view(replicas, x.shape[0] // replicas, x.shape[1])


class ReplicatedLinear(nn.Module):
    """``y_r = x_r W_r + b_r`` for each replica r; weights ``(R, in, out)``, bias ``(R, 1, out)``.

    Initialised as the PacGAN toy code does its layers: weights N(0, ``init_std``), biases 0.
    """

    def __init__(self, replicas: int, in_features: int, out_features: int, bias: bool = True,
                 init_std: float = 0.02) -> None:
        super().__init__()
        self.replicas, self.in_features, self.out_features = int(replicas), int(in_features), int(out_features)
        self.weight = nn.Parameter(torch.randn(self.replicas, self.in_features, self.out_features) * init_std)
        self.bias = nn.Parameter(torch.zeros(self.replicas, 1, self.out_features)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        x = by_replica(x, self.replicas)
        y = torch.bmm(x, self.weight) if self.bias is None else torch.baddbmm(self.bias, x, self.weight)
        return y.reshape(-1, self.out_features)

    def extra_repr(self) -> str:
        return (f"replicas={self.replicas}, in_features={self.in_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class ReplicatedMaxout(nn.Module):
    """Maxout units (Goodfellow et al. 2013, sec. 2) per replica: unit i keeps the maximum of
    the affine outputs ``i*pieces .. (i+1)*pieces - 1`` (as gan_lab.nets.layers.Maxout and
    Blocks' LinearMaxout, which the PacGAN code uses)."""

    def __init__(self, replicas: int, in_features: int, out_features: int, pieces: int,
                 init_std: float = 0.02) -> None:
        super().__init__()
        if int(pieces) < 1:
            raise ValueError(f"pieces={pieces}: a maxout layer needs at least one piece per unit")
        self.out_features, self.pieces = int(out_features), int(pieces)
        self.linear = ReplicatedLinear(replicas, in_features, self.out_features * self.pieces,
                                       init_std=init_std)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).unflatten(-1, (self.out_features, self.pieces)).amax(dim=-1)


class ReplicatedBatchNorm(nn.Module):
    """Batch normalization (Ioffe & Szegedy 2015) with statistics per replica and per group,
    following Blocks' BatchNormalization, which the PacGAN toy code trains with.

    Training: each replica's batch is split into ``groups`` interleaved groups (sample j of a
    replica belongs to group ``j % groups``), and each group is normalised by its own mean and
    ``stdev = sqrt(biased variance + eps)``. PacGAN's code calls the generator once per pack slot,
    so with ``groups = packing`` each slot gets its own statistics, exactly as there (the packed
    discriminator takes samples ``j*m .. j*m + m - 1``: one from each group). The population
    statistics move towards the groups' average mean and stdev with rate ``momentum``
    (Blocks / PacGAN: ``0.05 * minibatch + 0.95 * population``, the minibatch value averaged
    over the generator's applications). Inference divides by the population *stdev* (eps is
    already inside it), as Blocks does. Scale 1 and shift 0 at initialisation.
    """

    def __init__(self, replicas: int, features: int, eps: float = 1e-4, momentum: float = 0.05,
                 groups: int = 1) -> None:
        super().__init__()
        if int(groups) < 1:
            raise ValueError(f"groups={groups}: batch-norm groups must be a positive integer")
        if not 0.0 < float(momentum) <= 1.0:
            raise ValueError(f"momentum={momentum}: the population update rate must be in (0, 1]")
        self.replicas, self.features, self.groups = int(replicas), int(features), int(groups)
        self.eps, self.momentum = float(eps), float(momentum)
        self.scale = nn.Parameter(torch.ones(self.replicas, 1, 1, self.features))
        self.shift = nn.Parameter(torch.zeros(self.replicas, 1, 1, self.features))
        self.register_buffer("population_mean", torch.zeros(self.replicas, 1, 1, self.features))
        self.register_buffer("population_stdev", torch.ones(self.replicas, 1, 1, self.features))

    def forward(self, x: Tensor) -> Tensor:
        x = by_replica(x, self.replicas)
        replicas, n, features = x.shape
        if self.training:
            if n % self.groups:
                raise ValueError(f"batch-norm groups={self.groups}: a replica's batch of {n} "
                                 "does not split into that many groups")
            grouped = x.view(replicas, n // self.groups, self.groups, features)
            mean = grouped.mean(dim=1, keepdim=True)
            stdev = ((grouped - mean).square().mean(dim=1, keepdim=True) + self.eps).sqrt()
            with torch.no_grad():
                rate = self.momentum
                self.population_mean.lerp_(mean.mean(dim=2, keepdim=True), rate)
                self.population_stdev.lerp_(stdev.mean(dim=2, keepdim=True), rate)
            out = (grouped - mean) / stdev * self.scale + self.shift
        else:
            out = (x[:, :, None] - self.population_mean) / self.population_stdev * self.scale + self.shift
        return out.reshape(-1, features)

    def extra_repr(self) -> str:
        return (f"replicas={self.replicas}, features={self.features}, eps={self.eps}, "
                f"momentum={self.momentum}, groups={self.groups}")


def stack_replicas(state_dicts: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    """The state dict of R stacked replicas from R nets' state dicts (each built with
    ``replicas=1``; every tensor has a leading replica dimension of 1)."""
    return {key: torch.cat([sd[key] for sd in state_dicts], dim=0) for key in state_dicts[0]}


def replica_state(state_dict: dict[str, Tensor], replica: int) -> dict[str, Tensor]:
    """One replica's state dict out of a replicated net's, loadable by the same net built with
    ``replicas=1`` (to sample, evaluate or fine-tune one run on its own)."""
    return {key: value[replica : replica + 1].clone() for key, value in state_dict.items()}

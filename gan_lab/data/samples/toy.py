"""Two-dimensional toy distributions for mode-collapse experiments.

The ring and grid mixtures follow the synthetic benchmarks of VEEGAN (Srivastava et al., 2017) as
used by PacGAN (Lin et al., 2018, sec. 5.1):

* ``ring``: 8 Gaussians with means on the unit circle at angles ``2*pi*k/8`` and standard
  deviation 0.01;
* ``grid``: 25 Gaussians with means ``{-4, -2, 0, 2, 4}^2`` and standard deviation 0.05;

both sampled uniformly over their modes, with a fixed training set of 100,000 points and batches
of 100. ``swiss_roll`` is a continuous 2-D manifold with no modes, for qualitative inspection.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from gan_lab.data.common.train_set import TrainSetDataModule
from gan_lab.kinds import SampleKind

__all__ = ["GaussianMixture2D", "ToyDataModule", "swiss_roll", "TOY_DATASETS"]

TOY_DATASETS = ("grid", "ring", "swiss_roll")


class GaussianMixture2D:
    """Equal-weight mixture of isotropic Gaussians ``N(means[k], std^2 I)``.

    Args:
        means: ``(K, 2)`` tensor of mode centres.
        std: standard deviation shared by all modes (per coordinate).
    """

    def __init__(self, means: Tensor, std: float) -> None:
        means = torch.as_tensor(means, dtype=torch.float32)
        if means.ndim != 2 or means.shape[1] != 2 or means.shape[0] < 1:
            raise ValueError(f"means must have shape (K, 2) with K >= 1, got {tuple(means.shape)}")
        if not std > 0:
            raise ValueError(f"std={std} must be positive")
        self.means = means
        self.std = float(std)

    @property
    def num_modes(self) -> int:
        return int(self.means.shape[0])

    @classmethod
    def ring(cls, n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
        """``n_modes`` Gaussians on a circle of ``radius``, mode k at angle ``2*pi*k/n_modes``."""
        angles = 2.0 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
        means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
        return cls(means.to(torch.float32), std)

    @classmethod
    def grid(cls, side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
        """``side**2`` Gaussians on a square grid centred at the origin (``{-4,...,4}^2`` by
        default), ordered row-major in (x, y)."""
        coords = spacing * (torch.arange(side, dtype=torch.float64) - (side - 1) / 2.0)
        xs, ys = torch.meshgrid(coords, coords, indexing="ij")
        means = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
        return cls(means.to(torch.float32), std)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` points, ``(n, 2)`` float32: a mode uniformly at random, plus Gaussian noise."""
        modes = torch.randint(self.num_modes, (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator)
        return self.means[modes] + self.std * noise

    def __repr__(self) -> str:
        return f"GaussianMixture2D(num_modes={self.num_modes}, std={self.std})"


def swiss_roll(n: int, noise: float = 0.05, generator: torch.Generator | None = None) -> Tensor:
    """A 2-D swiss roll, ``(n, 2)`` float32, inside roughly ``[-2, 2]^2``.

    The curve ``t * (cos t, sin t)`` for ``t = 1.5*pi*(1 + 2u)``, ``u ~ U(0, 1)`` is divided by
    7.5 (so its radius runs from about 0.63 to 1.9), then isotropic Gaussian noise of standard
    deviation ``noise`` (in those output units) is added.
    """
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    t = 1.5 * math.pi * (1.0 + 2.0 * u)
    points = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / 7.5
    points = points.to(torch.float32)
    if noise > 0:
        points = points + noise * torch.randn(n, 2, generator=generator)
    return points


class ToyDataModule(TrainSetDataModule):
    """A fixed training set drawn from a 2-D toy distribution.

    Batches are 1-tuples ``(x,)`` from a ``TensorDataset`` with ``x`` of shape
    ``(batch_size, 2)``: the training module takes ``batch[0]``.

    Args:
        dataset: ``"ring"`` (8 modes), ``"grid"`` (25 modes) or ``"swiss_roll"`` (no modes).
        batch_size: points per batch (PacGAN: 100); incomplete final batches are dropped.
        num_samples: size of the fixed training set (PacGAN: 100,000).
        seed: seeds both the draw of the training set and the loader's shuffling.
        num_workers: loader worker processes.
        replicas: R > 1 draws R independent training sets (one per replica of a replicated
            model, ``model.replicas``), stored side by side: batches are then ``(batch_size, R,
            2)``, and replica r's points come from its own set. R = 1 gives the sets of before.

    Attributes:
        mixture: the :class:`GaussianMixture2D` the points come from, or ``None`` (swiss roll).
        sample_shape: ``(2,)``.
        num_classes: ``0`` (unconditional).
    """

    sample_kind = SampleKind.POINTS

    def __init__(
        self,
        dataset: str = "ring",
        batch_size: int = 100,
        num_samples: int = 100_000,
        seed: int = 0,
        num_workers: int = 0,
        replicas: int = 1,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        if int(replicas) < 1:
            raise ValueError(f"data.replicas={replicas} must be an integer >= 1")
        self.replicas = int(replicas)
        if dataset not in TOY_DATASETS:
            raise ValueError(f"data.dataset={dataset!r} is not one of: {', '.join(TOY_DATASETS)}")
        if batch_size < 1:
            raise ValueError(f"data.batch_size={batch_size} must be at least 1")
        if num_samples < batch_size:
            raise ValueError(
                f"data.num_samples={num_samples} is smaller than data.batch_size={batch_size}"
            )
        self.dataset = dataset
        self.num_samples = num_samples
        self.sample_shape = (2,)
        self.num_classes = 0
        if dataset == "ring":
            self.mixture: GaussianMixture2D | None = GaussianMixture2D.ring()
        elif dataset == "grid":
            self.mixture = GaussianMixture2D.grid()
        else:
            self.mixture = None

    def build_train_set(self) -> TensorDataset:
        generator = torch.Generator()
        generator.manual_seed(int(self.seed))
        sets = []
        for _ in range(self.replicas):  # replica 0 draws the same set as an unreplicated run
            if self.mixture is not None:
                sets.append(self.mixture.sample(self.num_samples, generator))
            else:
                sets.append(swiss_roll(self.num_samples, generator=generator))
        points = sets[0] if self.replicas == 1 else torch.stack(sets, dim=1)
        return TensorDataset(points.to(torch.float32).contiguous())

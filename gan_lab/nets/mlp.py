"""Fully connected networks of the PacGAN / VEEGAN toy experiments (2D ring, 2D grid).

Sizes follow the PacGAN paper (Lin et al. 2018, sec. 5.1 and its appendix on the synthetic
experiments) as its official code sets them (github.com/fjxmlzn/PacGAN,
``synthetic_data_experiments/2DGrid_GAN&PacGAN``): G = 4 hidden layers of 400 units with
BatchNorm and ReLU on a 2-d N(0, I) latent; D = 3 maxout layers of 200 units with 5 pieces
and a linear score; every weight N(0, 0.02), every bias 0. G's batch normalization follows
Blocks' (which that code trains with): eps 1e-4, population statistics updated at rate 0.05,
statistics per pack slot (``bn_groups = packing``; see ReplicatedBatchNorm).

``replicas=R`` stacks R independent nets in one module (gan_lab.nets.replicated): inputs and
outputs are replica-major flat batches ``(R * N, F)``.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor, nn

from gan_lab.nets.conditioning import LabelEmbedding, ProjectionHead, discriminator_conditioning
from gan_lab.nets.replicated import ReplicatedBatchNorm, ReplicatedLinear, ReplicatedMaxout

_INIT_STD = 0.02


def _int_list(name: str, values: Iterable[int]) -> list[int]:
    """A plain list of positive ints from a list, tuple or OmegaConf ListConfig."""
    out = [int(v) for v in values]
    if any(v < 1 for v in out):
        raise ValueError(f"{name}={out}: every hidden layer needs at least one unit")
    return out


def _check_replicas(replicas: int, num_classes: int) -> int:
    if int(replicas) < 1:
        raise ValueError(f"replicas={replicas}: model.replicas must be a positive integer")
    if int(replicas) > 1 and num_classes:
        raise ValueError("model.replicas > 1 needs an unconditional model: the label embeddings "
                         "are not replicated")
    return int(replicas)


class MLPGenerator(nn.Module):
    """Toy-data generator of PacGAN (Lin et al. 2018, sec. 5.1 / appendix; VEEGAN setup).

    ``[Linear -> BatchNorm -> ReLU] * len(hidden) -> Linear``. With batch_norm the hidden
    Linear layers carry no bias (BatchNorm's shift replaces it, as in the official code);
    without it they do. ``bn_eps``, ``bn_momentum``, ``bn_groups``: see ReplicatedBatchNorm
    (the official values: 1e-4, 0.05, one group per pack slot).
    forward(z: (R * B, latent_dim)) -> (R * B, out_features).
    """

    def __init__(
        self,
        latent_dim: int = 2,
        out_features: int = 2,
        hidden: Iterable[int] = (400, 400, 400, 400),
        batch_norm: bool = True,
        num_classes: int = 0,
        embed_dim: int | None = None,
        replicas: int = 1,
        bn_eps: float = 1e-4,
        bn_momentum: float = 0.05,
        bn_groups: int = 1,
    ) -> None:
        super().__init__()
        self.replicas = _check_replicas(replicas, num_classes)
        self.condition = LabelEmbedding(num_classes, embed_dim)
        self.latent_dim = int(latent_dim)
        self.out_features = int(out_features)
        self.hidden = _int_list("hidden", hidden)
        self.batch_norm = bool(batch_norm)

        layers: list[nn.Module] = []
        width = self.latent_dim + self.condition.dim
        for units in self.hidden:
            layers.append(ReplicatedLinear(self.replicas, width, units, bias=not self.batch_norm,
                                           init_std=_INIT_STD))
            if self.batch_norm:
                layers.append(ReplicatedBatchNorm(self.replicas, units, bn_eps, bn_momentum,
                                                  bn_groups))
            layers.append(nn.ReLU())
            width = units
        layers.append(ReplicatedLinear(self.replicas, width, self.out_features, init_std=_INIT_STD))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(self.condition(z, labels))


class MLPDiscriminator(nn.Module):
    """Toy-data (packed) discriminator of PacGAN (Lin et al. 2018, sec. 3 and 5.1 / appendix).

    Input width ``in_features * packing``: it takes the output of ``pack()``. Hidden layers
    are ``Maxout(pieces=maxout_pieces)`` (Goodfellow et al. 2013) when ``maxout_pieces > 1``,
    else ``Linear -> LeakyReLU(0.2)``; a final Linear gives one raw score (a logit, no
    sigmoid). forward(x: (R * B, in_features * packing)) -> (R * B,).
    """

    def __init__(
        self,
        in_features: int = 2,
        hidden: Iterable[int] = (200, 200, 200),
        maxout_pieces: int = 5,
        packing: int = 1,
        num_classes: int = 0,
        conditioning: str = "concat",
        replicas: int = 1,
    ) -> None:
        super().__init__()
        self.replicas = _check_replicas(replicas, num_classes)
        if int(packing) < 1:
            raise ValueError(f"packing={packing}: model.packing must be a positive integer")
        if int(maxout_pieces) < 1:
            raise ValueError(
                f"maxout_pieces={maxout_pieces}: use 1 for LeakyReLU layers, >1 for maxout"
            )
        self.in_features = int(in_features)
        self.hidden = _int_list("hidden", hidden)
        self.maxout_pieces = int(maxout_pieces)
        self.packing = int(packing)
        self.label_input, extra = discriminator_conditioning(num_classes, conditioning, packing)

        layers: list[nn.Module] = []
        width = self.in_features * self.packing + extra
        for units in self.hidden:
            if self.maxout_pieces > 1:
                layers.append(ReplicatedMaxout(self.replicas, width, units, self.maxout_pieces,
                                               init_std=_INIT_STD))
            else:
                layers.extend([ReplicatedLinear(self.replicas, width, units, init_std=_INIT_STD),
                               nn.LeakyReLU(0.2)])
            width = units
        self.net = nn.Sequential(*layers)
        self.head = ReplicatedLinear(self.replicas, width, 1, init_std=_INIT_STD)
        projection = num_classes and conditioning == "projection"
        self.projection = ProjectionHead(num_classes, width) if projection else None

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        expected = self.in_features * self.packing
        if x.dim() != 2 or x.shape[1] != expected:
            raise ValueError(
                f"MLPDiscriminator expects input (B, {expected}) = in_features * packing, got "
                f"{tuple(x.shape)}; feed it pack(x, {self.packing})"
            )
        features = self.net(self.label_input(x, labels))
        scores = self.head(features).squeeze(-1)
        if self.projection is not None:
            scores = scores + self.projection(features, labels)
        return scores

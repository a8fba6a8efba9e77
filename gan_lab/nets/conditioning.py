"""Class-label conditioning shared by the generators and discriminators.

Conditional GAN (Mirza & Osindero 2014, sec. 3.2): G sees y joined with z, D sees y joined
with x. Projection discriminator (Miyato & Koyama 2018, eq. 3): D(x, y) = psi(phi(x)) +
<embed(y), phi(x)>. With num_classes = 0 every block is the identity, so one net class serves
conditional and unconditional models.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

CONDITIONINGS = ("concat", "projection")


def _require(labels: Tensor | None, num_classes: int) -> Tensor:
    if labels is None:
        raise ValueError(f"this net is conditional on {num_classes} classes: pass labels")
    return labels


class LabelEmbedding(nn.Module):
    """z -> [z, embed(y)] for a conditional generator; `dim` extra latent units (0 if none)."""

    def __init__(self, num_classes: int = 0, dim: int | None = None) -> None:
        super().__init__()
        self.num_classes = int(num_classes)
        self.dim = (int(dim) if dim else self.num_classes) if self.num_classes else 0
        self.embed = nn.Embedding(self.num_classes, self.dim) if self.num_classes else None

    def forward(self, z: Tensor, labels: Tensor | None) -> Tensor:
        if self.embed is None:
            return z
        code = self.embed(_require(labels, self.num_classes))
        if z.dim() == 4:  # (B, latent, 1, 1) codes of convolutional generators
            code = code[:, :, None, None]
        return torch.cat([z, code], dim=1)


class LabelChannels(nn.Module):
    """Concatenation conditioning for a (packed) discriminator input.

    Appends the one-hot labels of the m pack members (as constant feature maps for images),
    so the input gains `num_classes * packing` channels. Labels arrive packed: (B/m, m).
    """

    def __init__(self, num_classes: int, packing: int = 1) -> None:
        super().__init__()
        self.num_classes = int(num_classes)
        self.extra = self.num_classes * int(packing)

    def forward(self, x: Tensor, labels: Tensor | None) -> Tensor:
        if not self.num_classes:
            return x
        one_hot = F.one_hot(_require(labels, self.num_classes), self.num_classes)
        one_hot = one_hot.reshape(x.shape[0], -1).to(x.dtype)
        if x.dim() == 4:
            one_hot = one_hot[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return torch.cat([x, one_hot], dim=1)


class ProjectionHead(nn.Module):
    """<embed(y), phi(x)> of the projection discriminator (Miyato & Koyama 2018, eq. 3)."""

    def __init__(self, num_classes: int, features: int) -> None:
        super().__init__()
        self.num_classes = int(num_classes)
        self.embed = nn.Embedding(self.num_classes, features)

    def forward(self, features: Tensor, labels: Tensor | None) -> Tensor:
        labels = _require(labels, self.num_classes).reshape(-1)
        return (self.embed(labels) * features).sum(dim=1)


def discriminator_conditioning(num_classes: int, conditioning: str, packing: int):
    """The input block of a discriminator and the input channels it adds (checked options)."""
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning={conditioning!r} is not one of: {', '.join(CONDITIONINGS)}")
    if num_classes and conditioning == "projection" and packing != 1:
        raise ValueError("a projection discriminator judges one sample at a time: "
                         f"use model.packing=1 (got {packing}) or conditioning=concat")
    concat = num_classes and conditioning == "concat"
    block = LabelChannels(num_classes if concat else 0, packing)
    return block, block.extra

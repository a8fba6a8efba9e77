"""BigGAN's orthogonal regularization (Brock et al. 2019, sec. 3.1, eq. 3).

The paper's R_beta(W) = beta * ||W^T W (.) (1 - I)||_F^2 drops the diagonal of plain orthogonal
regularization, so filters are pushed towards orthogonality without constraining their norms.
The official code (ajbrock/BigGAN-PyTorch, ``utils.ortho``) does not form the loss: after G's
backward pass it adds ``beta * 2 * ((W W^T) (.) (1 - I)) W`` to the gradient of every generator
weight with two or more dimensions, reshaped to (out, -1), except the shared class embedding.
That is the gradient of beta / 2 * ||W W^T (.) (1 - I)||_F^2, which is what
:func:`orthogonal_penalty` returns (without beta), so adding beta times it to the generator loss
trains exactly as the official code does, under autograd, gradient accumulation and mixed
precision alike.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

__all__ = ["orthogonal_penalty", "orthogonal_weights"]


def orthogonal_penalty(weights: Iterable[Tensor]) -> Tensor:
    """Sum over ``weights`` of 1/2 ||W W^T (.) (1 - I)||_F^2, W = weight.reshape(out, -1)."""
    total = None
    for weight in weights:
        w = weight.reshape(weight.shape[0], -1).float()
        gram = w @ w.t()
        off_diagonal = gram - torch.diag_embed(torch.diagonal(gram))
        term = 0.5 * off_diagonal.square().sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal_penalty: no weight with two or more dimensions")
    return total


def orthogonal_weights(net: nn.Module, exempt: nn.Module | None = None) -> list[Tensor]:
    """The trained tensors BigGAN regularizes: every parameter of ``net`` with two or more
    dimensions (spectrally normalised layers: their unnormalised ``original``, as the official
    code's raw weights), except those of ``exempt`` (the shared class embedding)."""
    skip = set() if exempt is None else {id(p) for p in exempt.parameters()}
    return [p for p in net.parameters()
            if p.requires_grad and p.dim() >= 2 and id(p) not in skip]

"""Adversarial objectives as pure functions of raw discriminator scores.

Every function takes raw scores (logits for the probabilistic objectives, unbounded critic
values for the others) of any shape and reduces with a mean over all elements. Half-precision
scores (as produced under mixed-precision autocast) are promoted to float32 first, so the
returned loss is float32 in that case and keeps the input dtype otherwise.

The probabilistic objectives use ``softplus`` instead of ``log(sigmoid(.))``:
``-log(sigmoid(x)) = softplus(-x)`` and ``-log(1 - sigmoid(x)) = softplus(x)``, which stay
finite for large ``|x|``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "OBJECTIVES",
    "PAIRED_OBJECTIVES",
    "hinge_d_loss",
    "hinge_g_loss",
    "lsgan_d_loss",
    "lsgan_g_loss",
    "minimax_d_loss",
    "minimax_g_loss",
    "nsgan_d_loss",
    "nsgan_g_loss",
    "rpgan_d_loss",
    "rpgan_g_loss",
    "wasserstein_d_loss",
    "wasserstein_g_loss",
]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _promote(scores: Tensor) -> Tensor:
    """Upcast float16/bfloat16 scores to float32; leave other dtypes alone."""
    return scores.float() if scores.dtype in _LOW_PRECISION else scores


# --------------------------------------------------------------------------- minimax / NS-GAN


def minimax_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Discriminator loss of the original GAN (Goodfellow et al. 2014, eq. 1).

    D maximises ``E[log D(x)] + E[log(1 - D(G(z)))]`` with ``D = sigmoid(score)``; as a loss to
    minimise this is ``mean(softplus(-real)) + mean(softplus(fake))``.
    """
    real, fake = _promote(real), _promote(fake)
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def minimax_g_loss(fake: Tensor) -> Tensor:
    """Saturating generator loss of the original GAN (Goodfellow et al. 2014, eq. 1).

    G minimises ``E[log(1 - D(G(z)))]``; since ``log(1 - sigmoid(x)) = -softplus(x)`` this is
    ``mean(-softplus(fake))``. Its gradient vanishes when D confidently rejects the samples.
    """
    return (-F.softplus(_promote(fake))).mean()


def nsgan_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Discriminator loss of the non-saturating GAN (Goodfellow et al. 2014, eq. 1 / sec. 3).

    Identical to :func:`minimax_d_loss`: ``mean(softplus(-real)) + mean(softplus(fake))``.
    """
    return minimax_d_loss(real, fake)


def nsgan_g_loss(fake: Tensor) -> Tensor:
    """Non-saturating generator loss (Goodfellow et al. 2014, sec. 3).

    Instead of minimising ``log(1 - D(G(z)))``, G maximises ``log D(G(z))``, i.e. minimises
    ``-log(sigmoid(fake)) = softplus(-fake)``, averaged over all scores.
    """
    return F.softplus(-_promote(fake)).mean()


# --------------------------------------------------------------------------- Wasserstein


def wasserstein_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Critic loss of the Wasserstein GAN (Arjovsky et al. 2017, Alg. 1).

    The critic maximises the Kantorovich-Rubinstein dual ``E[f(x)] - E[f(G(z))]``; as a loss: ``mean(fake) - mean(real)``.
    The Lipschitz constraint is enforced separately (weight clipping or a gradient penalty).
    """
    return _promote(fake).mean() - _promote(real).mean()


def wasserstein_g_loss(fake: Tensor) -> Tensor:
    """Generator loss of the Wasserstein GAN (Arjovsky et al. 2017, Alg. 1): ``-mean(fake)``."""
    return -_promote(fake).mean()


# --------------------------------------------------------------------------- least squares


def lsgan_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Discriminator loss of LSGAN (Mao et al. 2017, eq. 2 with a=0, b=1).

    ``0.5 * mean((real - 1)^2) + 0.5 * mean(fake^2)`` on raw (un-squashed) scores.
    """
    real, fake = _promote(real), _promote(fake)
    return 0.5 * (real - 1.0).pow(2).mean() + 0.5 * fake.pow(2).mean()


def lsgan_g_loss(fake: Tensor) -> Tensor:
    """Generator loss of LSGAN (Mao et al. 2017, eq. 2 with c=1): ``0.5 * mean((fake - 1)^2)``."""
    return 0.5 * (_promote(fake) - 1.0).pow(2).mean()


# --------------------------------------------------------------------------- hinge


def hinge_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Hinge discriminator loss (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018, sec. 4).

    D maximises ``E[min(0, -1 + D(x))] + E[min(0, -1 - D(G(z)))]``; as a loss:
    ``mean(relu(1 - real)) + mean(relu(1 + fake))``.
    """
    real, fake = _promote(real), _promote(fake)
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def hinge_g_loss(fake: Tensor) -> Tensor:
    """Hinge generator loss (Lim & Ye 2017; Miyato et al. 2018, sec. 4).

    G minimises ``-E[D(G(z))]``: ``-mean(fake)``.
    """
    return -_promote(fake).mean()


# --------------------------------------------------------------------------- relativistic pairing


def _paired(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    if real.shape != fake.shape:
        raise ValueError(f"rpgan pairs real and fake scores element-wise: real "
                         f"{tuple(real.shape)} and fake {tuple(fake.shape)} must have one shape")
    return _promote(real), _promote(fake)


def rpgan_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Relativistic pairing GAN, discriminator (Jolicoeur-Martineau 2019, "The relativistic
    discriminator", RSGAN; Huang et al. 2024, "The GAN is dead; long live the GAN!", eq. 2).

    ``E[f(-(D(x_real) - D(x_fake)))]`` with ``f = softplus``, real and fake paired element-wise.
    """
    real, fake = _paired(real, fake)
    return F.softplus(fake - real).mean()


def rpgan_g_loss(fake: Tensor, real: Tensor) -> Tensor:
    """Relativistic pairing GAN, generator (Huang et al. 2024, eq. 2 with the roles swapped):
    ``E[f(-(D(x_fake) - D(x_real)))]``, ``f = softplus``, paired element-wise."""
    real, fake = _paired(real, fake)
    return F.softplus(real - fake).mean()


DLoss = Callable[[Tensor, Tensor], Tensor]
GLoss = Callable[[Tensor], Tensor]
PairedGLoss = Callable[[Tensor, Tensor], Tensor]

#: name -> (discriminator loss ``d(real, fake)``, generator loss ``g(fake)``)
OBJECTIVES: dict[str, tuple[DLoss, GLoss]] = {
    "minimax": (minimax_d_loss, minimax_g_loss),
    "nsgan": (nsgan_d_loss, nsgan_g_loss),
    "wasserstein": (wasserstein_d_loss, wasserstein_g_loss),
    "lsgan": (lsgan_d_loss, lsgan_g_loss),
    "hinge": (hinge_d_loss, hinge_g_loss),
}

#: name -> (discriminator loss ``d(real, fake)``, generator loss ``g(fake, real)``): objectives
#: whose generator loss needs D's scores on real samples too (relativistic pairing).
PAIRED_OBJECTIVES: dict[str, tuple[DLoss, PairedGLoss]] = {
    "rpgan": (rpgan_d_loss, rpgan_g_loss),
}

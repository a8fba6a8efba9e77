"""Discriminator regularisers: WGAN-GP gradient penalty, R1 / R2 penalties and weight clipping.

Why the penalties turn autocast off
-----------------------------------
Both penalties differentiate the critic's output with respect to its *input* with
``torch.autograd.grad`` and then backpropagate through that gradient (double backprop).
Lightning's mixed-precision plugin only applies its loss scaling to the outer
``loss.backward()`` (``manual_backward``); it knows nothing about an inner
``torch.autograd.grad`` call. Under float16 autocast the unscaled input gradients can underflow
to zero (or overflow), and under bfloat16 their 8-bit mantissa makes ``||grad|| - 1`` noisy,
so the penalty would be wrong in a way no scaler corrects. We therefore run the critic's forward
for the penalty with autocast disabled and the inputs cast to float32, which makes the penalty a
plain float32 quantity that is independent of the surrounding precision setting.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from gan_lab.speed import eager_nets

__all__ = ["clip_weights_", "gradient_penalty", "penalty_input", "r1_penalty", "r2_penalty",
           "zero_centered_penalty", "zero_centered_penalty_of"]

Critic = Callable[[Tensor], Tensor]


def _input_gradient(critic: Critic, x: Tensor) -> Tensor:
    """Gradient of ``critic(x).sum()`` w.r.t. ``x`` (float32), with a graph for double backprop.

    Summing the scores is valid because sample ``i``'s score depends only on input ``i``
    (no batch-mixing layers such as BatchNorm in training mode), so the gradient of the sum
    w.r.t. ``x[i]`` is the per-sample gradient.
    """
    # See the module docstring: autocast off, float32 inputs, because the mixed-precision
    # scaler never sees this inner autograd.grad call.
    # Compiled nets run eagerly here: compiled graphs cannot be differentiated twice.
    with torch.autocast(device_type=x.device.type, enabled=False), eager_nets():
        x = x.detach().float().requires_grad_(True)
        scores = critic(x)
        (grad,) = torch.autograd.grad(
            outputs=scores.float().sum(),
            inputs=x,
            create_graph=True,  # keep the graph so the penalty trains the critic's weights
        )
    return grad


def gradient_penalty(critic: Critic, real: Tensor, fake: Tensor, center: float = 1.0) -> Tensor:
    """WGAN-GP gradient penalty (Gulrajani et al. 2017, eq. 3), without the lambda weight.

    ``E_xhat[(||grad_xhat D(xhat)||_2 - center)^2]`` with ``xhat = eps * real + (1 - eps) * fake``,
    one ``eps ~ U[0, 1]`` per sample broadcast over the non-batch dimensions. The norm runs over
    all non-batch dimensions; the expectation is the mean over the batch. ``center=0`` gives the
    zero-centred variant.

    Args:
        critic: any callable ``Tensor -> Tensor`` returning scores with the batch first.
        real: real samples, shape ``(B, ...)``.
        fake: generated samples, same shape; detached so no gradient reaches the generator.
        center: target gradient norm (1 for the two-sided Lipschitz penalty).

    Returns:
        A float32 scalar, differentiable w.r.t. the critic's parameters.
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"gradient_penalty: real {tuple(real.shape)} and fake {tuple(fake.shape)} "
            "must have the same shape"
        )
    real = real.detach().float()
    fake = fake.detach().float()
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, device=real.device, dtype=torch.float32)
    x_hat = eps * real + (1.0 - eps) * fake
    grad = _input_gradient(critic, x_hat)
    grad_norm = torch.linalg.vector_norm(grad.flatten(1), ord=2, dim=1)
    return (grad_norm - center).pow(2).mean()


def zero_centered_penalty(critic: Critic, x: Tensor) -> Tensor:
    """``E_x[||grad_x D(x)||_2^2]`` at the samples ``x`` (squared norm over all non-batch
    dimensions, mean over the batch), without a weight: R1 at real data, R2 at generated data.

    Returns:
        A float32 scalar, differentiable w.r.t. the critic's parameters (``x`` is detached).
    """
    grad = _input_gradient(critic, x)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


def penalty_input(x: Tensor, penalized: bool) -> Tensor:
    """``x`` as the input of a forward whose scores a zero-centred penalty differentiates:
    float32 (see the module docstring), and, when ``penalized``, a tensor autograd can take the
    gradient at: ``x`` itself when it already has a graph (the fakes of a simultaneous update,
    attached to G), else a detached leaf that requires grad (the official R3GAN's
    ``RealSamples.detach().requires_grad_(True)``)."""
    x = x.float()
    if penalized and not x.requires_grad:
        x = x.detach().requires_grad_(True)
    return x


def zero_centered_penalty_of(x: Tensor, scores: Tensor) -> Tensor:
    """``E_x[||grad_x D(x)||_2^2]`` from scores already computed on ``x`` (an input made by
    :func:`penalty_input`): the penalty of :func:`zero_centered_penalty` without a second
    forward, as the official R3GAN (training loss: ``ZeroCenteredGradientPenalty(Samples,
    Critics)`` on the logits of the adversarial loss) and Mescheder et al.'s code do.
    Differentiable w.r.t. the critic's parameters (``create_graph``)."""
    (grad,) = torch.autograd.grad(outputs=scores.float().sum(), inputs=x, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


def r1_penalty(critic: Critic, real: Tensor) -> Tensor:
    """R1 penalty (Mescheder et al. 2018, eq. 9) without the ``gamma / 2`` factor.

    ``E_x[||grad_x D(x)||_2^2]`` at real data, the squared norm over all non-batch dimensions,
    averaged over the batch.

    Returns:
        A float32 scalar, differentiable w.r.t. the critic's parameters.
    """
    return zero_centered_penalty(critic, real)


def r2_penalty(critic: Critic, fake: Tensor) -> Tensor:
    """R2 penalty (Mescheder et al. 2018, eq. 10; Huang et al. 2024, "The GAN is dead; long live
    the GAN!", sec. 3) without the ``gamma / 2`` factor: ``E[||grad D(x)||_2^2]`` at generated
    samples (detached, so no gradient reaches the generator)."""
    return zero_centered_penalty(critic, fake)


def clip_weights_(module: nn.Module, clip_value: float) -> None:
    """Clamp every parameter of ``module`` to ``[-clip_value, clip_value]`` in place.

    The weight clipping of the original WGAN (Arjovsky et al. 2017, Alg. 1, line 7), applied
    after each critic update.
    """
    if not clip_value > 0:
        raise ValueError(f"clip_weights_: clip_value={clip_value!r} must be > 0")
    with torch.no_grad():
        for param in module.parameters():
            param.clamp_(-clip_value, clip_value)

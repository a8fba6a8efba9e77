"""Spectral normalization (Miyato et al. 2018, "Spectral Normalization for GANs", sec. 2.1).

W_SN = W / sigma(W), sigma estimated by power iteration (Alg. 1) on the weight reshaped to
(out, in * k * k). torch's parametrization does the work: one power iteration per forward call
in training mode (as the official chainer code, which updates u on every call), none in eval
mode, and its vectors u, v are buffers, so they are saved in checkpoints and resume exactly. The
trainable tensor is ``<layer>.parametrizations.weight.original``.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils import parametrizations

# Layers whose weight a spectrally normalised net normalises (Miyato & Koyama 2018 also
# normalise the projection embedding; BigGAN the shared linear maps and embeddings of D).
NORMALISED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)


def spectral_norm(layer: nn.Module, enabled: bool = True, eps: float = 1e-12) -> nn.Module:
    """``layer`` with its weight spectrally normalised (one power iteration per training
    forward); ``layer`` itself when ``enabled`` is false, so one net class serves both."""
    if not enabled:
        return layer
    # ConvTranspose2d keeps its output channels in dim 1; torch picks dim 1 for it itself.
    return parametrizations.spectral_norm(layer, n_power_iterations=1, eps=eps)


def spectral_norm_all(net: nn.Module, eps: float = 1e-12) -> nn.Module:
    """Spectrally normalise every linear, conv and embedding layer of ``net`` in place that is
    not normalised yet (SNGAN: every layer of D); returns ``net``."""
    for module in list(net.modules()):
        if isinstance(module, NORMALISED) and not parametrizations_of(module):
            spectral_norm(module, eps=eps)
    return net


def parametrizations_of(module: nn.Module) -> list[str]:
    """The names of ``module``'s parametrized tensors (empty when none)."""
    return list(getattr(module, "parametrizations", {}).keys())


def is_spectrally_normalised(module: nn.Module) -> bool:
    """Whether ``module``'s weight goes through spectral normalization."""
    chain = getattr(getattr(module, "parametrizations", None), "weight", [])
    return any(type(p).__name__ == "_SpectralNorm" for p in chain)

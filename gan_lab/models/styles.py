"""Latent spaces of style generators and the sampling options they offer.

StyleGAN (Karras et al. 2019, "A Style-Based Generator Architecture for GANs", sec. 2) names
the spaces z ~ N(0, I) (``z_dim``) and the intermediate latent space W, w = f(z) of the mapping
network (``w_dim``); w+ (Abdal et al. 2019, "Image2StyleGAN: How to Embed Images Into the
StyleGAN Latent Space?") is one w per synthesis layer (``num_ws`` x ``w_dim``), the extended
space that inversion searches. Sampling takes codes in any of them, the truncation trick in W
(Karras et al. 2019, appendix B: w' = w_avg + psi (w - w_avg) on the first
``truncation_cutoff`` layers) and style mixing (sec. 3.1: the layers from a crossover point on
take the w of a second code). Inversion and latent steering build on these, through
gan_lab.protocols.TrainedGenerator. Any generator with ``mapping`` (z, labels -> w+) and
``synthesis`` (w+ -> images) fits.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

LATENT_SPACES = ("z", "w", "w+")
# The sampling options of a style generator (``python -m gan_lab.sample options.<name>=...``):
# truncation in W (Karras et al. 2019, appendix B), the space of the codes, the noise inputs.
STYLE_SAMPLE_OPTIONS = ("truncation_psi", "truncation_cutoff", "space", "noise_mode")


def is_style_generator(net: nn.Module) -> bool:
    return hasattr(net, "mapping") and hasattr(net, "synthesis")


def latent_spaces(net: nn.Module) -> tuple[str, ...]:
    """The code spaces ``net`` synthesizes from: z, w and w+ for a style generator, z otherwise."""
    return LATENT_SPACES if is_style_generator(net) else LATENT_SPACES[:1]


def check_space(net: nn.Module, space: str) -> None:
    """ValueError (one line) unless ``net`` has the latent space ``space``."""
    spaces = latent_spaces(net)
    if space in spaces:
        return
    if space in LATENT_SPACES:
        raise ValueError(f"space={space!r}: {type(net).__name__} has the latent space z only; "
                         "w and w+ are a style generator's (model=stylegan2 or model=stylegan)")
    raise ValueError(f"space={space!r}: must be one of {', '.join(spaces)} "
                     f"(the latent spaces of {type(net).__name__})")


def noise_buffers(net: nn.Module) -> dict[str, Tensor]:
    """The fixed per-layer noise maps of ``net`` (the buffers ``noise_mode="const"`` reads),
    by their names in ``net.named_buffers()`` (``synthesis.blocks.1.conv0.noise_const``), as the
    official StyleGAN2 projector collects ``noise_bufs``; the live buffers, not copies. Empty for
    a net without per-layer noise."""
    return {name: buffer for name, buffer in net.named_buffers()
            if name.rpartition(".")[2] == "noise_const"}


def to_w_plus(net: nn.Module, codes: Tensor, labels: Tensor | None, space: str = "z",
              update_w_avg: bool = False) -> Tensor:
    """Codes of ``space`` as w+ (B, num_ws, w_dim): z through the mapping, w repeated per layer."""
    if space not in LATENT_SPACES:
        raise ValueError(f"space={space!r}: must be one of {', '.join(LATENT_SPACES)}")
    if space == "z":
        return net.mapping(codes, labels, update_w_avg=update_w_avg)
    if space == "w":
        if codes.dim() != 2 or codes.shape[1] != net.w_dim:
            raise ValueError(f"w codes must be (B, {net.w_dim}), got {tuple(codes.shape)}")
        return codes[:, None, :].repeat(1, net.num_ws, 1)
    if codes.dim() != 3 or tuple(codes.shape[1:]) != (net.num_ws, net.w_dim):
        raise ValueError(f"w+ codes must be (B, {net.num_ws}, {net.w_dim}), "
                         f"got {tuple(codes.shape)}")
    return codes


def truncate(net: nn.Module, ws: Tensor, psi: float = 1.0, cutoff: int | None = None) -> Tensor:
    """The truncation trick in W: w_avg + psi (w - w_avg) on layers below ``cutoff`` (all)."""
    if psi == 1:
        return ws
    cutoff = ws.shape[1] if cutoff is None else int(cutoff)
    layer = torch.arange(ws.shape[1], device=ws.device)[None, :, None]
    return torch.where(layer < cutoff, net.mapping.w_avg.to(ws.dtype).lerp(ws, psi), ws)


def mix_styles(net: nn.Module, ws: Tensor, labels: Tensor | None, probability: float,
               active_layers: int | None = None) -> Tensor:
    """Style mixing regularization (Karras et al. 2019, sec. 3.1), as the official code.

    With ``probability`` one crossover point per batch is drawn uniformly from
    1 .. active_layers - 1; the layers from it on take the w of a fresh code (whose mapping does
    not move w_avg). Tensor ops only: no host sync.
    """
    layers = ws.shape[1] if active_layers is None else int(active_layers)
    if probability <= 0 or layers < 2:
        return ws
    cutoff = torch.randint(1, layers, (), device=ws.device)
    mixing = torch.rand((), device=ws.device) < probability
    cutoff = torch.where(mixing, cutoff, torch.full_like(cutoff, ws.shape[1]))
    other = net.mapping(torch.randn(ws.shape[0], net.z_dim, device=ws.device), labels)
    layer = torch.arange(ws.shape[1], device=ws.device)[None, :, None]
    return torch.where(layer >= cutoff, other.to(ws.dtype), ws)


def style_generate(net: nn.Module, codes: Tensor, labels: Tensor | None, *,
                   space: str = "z", truncation_psi: float = 1.0,
                   truncation_cutoff: int | None = None, mixing: float = 0.0,
                   active_layers: int | None = None, update_w_avg: bool = False,
                   **synthesis: Any) -> Tensor:
    """Images of a style generator from codes in ``space`` with truncation and mixing."""
    ws = to_w_plus(net, codes, labels, space, update_w_avg=update_w_avg)
    ws = mix_styles(net, ws, labels, mixing, active_layers)
    ws = truncate(net, ws, truncation_psi, truncation_cutoff)
    return net.synthesis(ws, **synthesis)

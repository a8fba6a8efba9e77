"""PacGAN packing: the discriminator judges m samples at once.

Lin, Khetan, Fanti & Oh, "PacGAN: The power of two samples in generative adversarial
networks" (NeurIPS 2018), sec. 3: the packed discriminator maps m samples, all real or all
generated, concatenated into one input, to a single score.
"""

from __future__ import annotations

from torch import Tensor


def pack(x: Tensor, packing: int) -> Tensor:
    """Concatenate ``packing`` consecutive samples along dim 1 (PacGAN, Lin et al. 2018, sec. 3).

    ``(B, C, *rest) -> (B // m, m * C, *rest)`` and ``(B, F) -> (B // m, m * F)``. Packed
    sample ``i`` holds samples ``i*m, i*m + 1, ..., i*m + m - 1`` in that order, so for
    images its channels are ``[x[i*m] channels, x[i*m + 1] channels, ...]``. ``packing=1``
    returns ``x`` itself.
    """
    m = int(packing)
    if m < 1:
        raise ValueError(f"packing={packing}: model.packing must be a positive integer")
    if m == 1:
        return x
    if x.dim() < 2:
        raise ValueError(f"pack() needs a batch of shape (B, C, ...), got shape {tuple(x.shape)}")
    batch = x.shape[0]
    if batch % m != 0:
        raise ValueError(
            f"batch size {batch} is not divisible by packing {m}: "
            "the batch size must be a multiple of model.packing"
        )
    return x.reshape(batch // m, m * x.shape[1], *x.shape[2:])

"""Normalisation choices shared by the convolutional nets.

pix2pix (Isola et al. 2017, appendix 6.1) uses BatchNorm; CycleGAN (Zhu et al. 2017, appendix
7.2) uses instance normalisation (Ulyanov et al. 2016), as in the official code: without affine
parameters and with statistics always taken from the current image (no running averages).
Critics trained with a gradient penalty use layer norm (Gulrajani et al. 2017, sec. 4 and their
code: normalisation over channels and positions of each sample, a scale and shift per channel,
i.e. ``GroupNorm(1, C)``), because batch norm makes each score depend on the whole batch.
"""

from __future__ import annotations

from torch import nn

NORMS = ("batch", "instance", "layer", "none")


def check_norm(kind: str, key: str = "norm") -> str:
    """``kind`` if it is one of NORMS; ValueError naming ``key`` otherwise."""
    if kind not in NORMS:
        raise ValueError(f"{key}={kind!r}: must be one of {', '.join(NORMS)}")
    return kind


def norm_layer(kind: str, channels: int, key: str = "norm") -> nn.Module:
    """A 2-d normalisation layer over ``channels`` feature maps: batch, instance, layer or none."""
    kind = check_norm(kind, key)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


def conv_bias(kind: str, key: str = "norm") -> bool:
    """Whether a conv followed by ``kind`` norm needs a bias: BatchNorm's shift replaces it.

    Instance norm without affine parameters subtracts the per-image mean, so a bias there is
    inert too; it is kept (as the official code does) so the parameter layout matches theirs.
    """
    return check_norm(kind, key) != "batch"

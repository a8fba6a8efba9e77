"""Conditional batch normalization of the generators of SAGAN and BigGAN.

Batch norm without its own affine parameters whose per-channel gain and bias come from the
condition (de Vries et al. 2017; Dumoulin et al. 2017):

- ``ClassConditionalBatchNorm2d``: one gain and one bias per class (a lookup table; SNGAN's and
  SAGAN's conditional generators, Miyato & Koyama 2018 sec. 4, Zhang et al. 2019 sec. 5); with
  ``num_classes=0`` it is plain batch norm with its affine parameters.
- ``LinearConditionalBatchNorm2d``: gain = 1 + W_g c and bias = W_b c from a conditioning vector
  c (BigGAN, Brock et al. 2019, sec. 3 and appendix B: c = [shared class embedding, z chunk] in
  every block; the maps are spectrally normalised linear layers without bias, as BigGAN-PyTorch's
  ``ccbn``).
"""

from __future__ import annotations

from torch import Tensor, nn

from gan_lab.nets.spectral import spectral_norm as normalised


class ClassConditionalBatchNorm2d(nn.Module):
    """BN with a gain (initialised to 1) and a bias (0) per class; plain BN when unconditional."""

    def __init__(self, channels: int, num_classes: int = 0, eps: float = 1e-5,
                 momentum: float = 0.1) -> None:
        super().__init__()
        self.num_classes = int(num_classes)
        self.norm = nn.BatchNorm2d(channels, eps=eps, momentum=momentum,
                                   affine=not self.num_classes)
        if self.num_classes:
            self.gain = nn.Embedding(self.num_classes, channels)
            self.bias = nn.Embedding(self.num_classes, channels)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        out = self.norm(x)
        if not self.num_classes:
            return out
        if labels is None:
            raise ValueError(f"this batch norm is conditional on {self.num_classes} classes: "
                             "pass labels")
        return out * self.gain(labels)[:, :, None, None] + self.bias(labels)[:, :, None, None]


class LinearConditionalBatchNorm2d(nn.Module):
    """BN whose gain 1 + W_g c and bias W_b c are linear in a condition vector c (BigGAN)."""

    def __init__(self, channels: int, condition_dim: int, eps: float = 1e-5,
                 momentum: float = 0.1, spectral_norm: bool = True) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, eps=eps, momentum=momentum, affine=False)
        self.gain = normalised(nn.Linear(condition_dim, channels, bias=False), spectral_norm)
        self.bias = normalised(nn.Linear(condition_dim, channels, bias=False), spectral_norm)

    def forward(self, x: Tensor, condition: Tensor) -> Tensor:
        gain = 1.0 + self.gain(condition)
        return self.norm(x) * gain[:, :, None, None] + self.bias(condition)[:, :, None, None]



__all__ = ["ClassConditionalBatchNorm2d", "LinearConditionalBatchNorm2d"]

"""Self-attention block of SAGAN (Zhang et al. 2019, "Self-Attention GANs", sec. 3, eqs. 1-3).

f(x) = W_f x, g(x) = W_g x (1x1 convs to C/8 channels), h(x) = W_h x; beta_{j,i} =
softmax_i(f(x_i)^T g(x_j)); o_j = W_v sum_i beta_{j,i} h(x_i); y = x + gamma * o, gamma a learned
scalar starting at 0, so the block begins as the identity and the net learns to use attention.

As both official implementations (brain-research/self-attention-gan and BigGAN-PyTorch's
``Attention``), keys and values are max-pooled 2x2 (a quarter of the positions; the paper's
eq. 1 without pooling is ``pool=False``), h has C/2 channels and a last 1x1 conv W_v maps them
back to C. Every conv is spectrally normalised when ``spectral_norm`` is true (SAGAN applies
SN in G and D), and none has a bias, as in the official code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.nets.spectral import spectral_norm as normalised


class SelfAttention(nn.Module):
    """SAGAN self-attention over the H x W positions of a (B, C, H, W) map; C >= 8."""

    def __init__(self, channels: int, spectral_norm: bool = True, pool: bool = True) -> None:
        super().__init__()
        if int(channels) < 8:
            raise ValueError(f"SelfAttention: channels={channels} must be >= 8 (keys get C/8)")
        c = int(channels)
        self.pool = bool(pool)
        conv = lambda c_in, c_out: normalised(nn.Conv2d(c_in, c_out, 1, bias=False), spectral_norm)  # noqa: E731
        self.query = conv(c, c // 8)   # f in the paper (theta in the official code)
        self.key = conv(c, c // 8)     # g (phi)
        self.value = conv(c, c // 2)   # h (g)
        self.out = conv(c // 2, c)     # W_v (o)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        query = self.query(x).flatten(2)                       # (B, C/8, N)
        key, value = self.key(x), self.value(x)
        if self.pool:
            key, value = F.max_pool2d(key, 2), F.max_pool2d(value, 2)
        key, value = key.flatten(2), value.flatten(2)          # (B, C/8, N'), (B, C/2, N')
        # beta[b, j, i]: how much position j attends to position i (softmax over i).
        beta = torch.softmax(torch.bmm(query.transpose(1, 2), key), dim=-1)   # (B, N, N')
        attended = torch.bmm(value, beta.transpose(1, 2)).view(b, c // 2, h, w)
        return x + self.gamma * self.out(attended)

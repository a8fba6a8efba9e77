"""DCGAN generator and (packed) discriminator.

Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks" (ICLR 2016). Sec. 3 guidelines: strided convolutions instead
of pooling, fractional-strided (transposed) convolutions in G, BatchNorm in both nets except
G's output and D's input layer, ReLU in G with a tanh output, LeakyReLU(0.2) in D, no fully
connected hidden layers. Sec. 4: weights ~ N(0, 0.02).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from gan_lab.nets.conditioning import LabelEmbedding, ProjectionHead, discriminator_conditioning
from gan_lab.nets.layers import init_dcgan_weights_, positive_int
from gan_lab.nets.norm import check_norm, norm_layer


def _power_of_two(n: object) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 1 and n & (n - 1) == 0


def image_geometry(image_size: int | Sequence[int]) -> tuple[int, tuple[int, int]]:
    """(k, (h0, w0)): the image is (h0 * 2^k, w0 * 2^k) with k >= 1 stride-2 layers and a first
    map of h0 x w0, the smaller of h0, w0 being 4. ``image_size`` is a side (square) or
    [height, width] with a power-of-two ratio (32x64: k = 3 from a 4x8 map); ValueError
    otherwise."""
    sides = [image_size] * 2 if isinstance(image_size, int) else list(image_size)
    small = min(sides) if len(sides) == 2 and all(isinstance(s, int) for s in sides) else 0
    ok = len(sides) == 2 and small >= 8 and all(_power_of_two(s // 4) and s % 4 == 0 for s in sides)
    if not ok:
        raise ValueError(
            f"image_size={image_size}: DCGAN makes images of 4 * 2^k pixels, k >= 1 (8, 16, 32, "
            "64, ...), or [height, width] of such sides (e.g. [32, 64])")
    k = (small // 4).bit_length() - 1
    return k, (sides[0] >> k, sides[1] >> k)


def image_shape(image_size: int | Sequence[int]) -> tuple[int, int]:
    """(height, width) of an ``image_size`` given as a side or a pair."""
    return (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)




class DCGANGenerator(nn.Module):
    """DCGAN generator (Radford et al. 2016, sec. 3 and fig. 1).

    z (B, latent_dim) -> ConvTranspose2d(latent_dim, C0, 4, 1, 0) to 4x4, BN, ReLU; then
    stride-2 ConvTranspose2d(4, 2, 1) + BN + ReLU stages halving the channels down to
    ``width``; a last stride-2 ConvTranspose2d to ``channels`` and tanh. With
    image_size = 4 * 2^k there are k stride-2 layers and C0 = width * 2^(k-1) (64 px: 512).
    No conv has a bias (each but the last feeds a BatchNorm, whose shift plays that role), as
    the reference pytorch/examples dcgan (3,576,704 parameters at 64 px, nz 100, ngf 64, 3
    channels). Non-square images ([height, width], e.g. [32, 64]) start from a 4x8 first map.
    With ``num_classes`` > 0 the code is [z, embed(y)] (conditional GAN, Mirza & Osindero 2014).
    forward(z, labels=None) -> (B, channels, height, width) in [-1, 1].
    """

    def __init__(
        self, latent_dim: int = 100, image_size: int = 64, channels: int = 3, width: int = 64,
        num_classes: int = 0, embed_dim: int | None = None,
    ) -> None:
        super().__init__()
        k, first_map = image_geometry(image_size)
        self.condition = LabelEmbedding(num_classes, embed_dim)
        self.latent_dim = positive_int("latent_dim", latent_dim)
        self.image_size = image_shape(image_size)
        self.channels = positive_int("channels", channels)
        self.width = positive_int("width", width)

        ch = self.width * 2 ** (k - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(self.latent_dim + self.condition.dim, ch, first_map, 1, 0,
                               bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(inplace=True),
        ]
        for _ in range(k - 1):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(inplace=True),
            ]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, self.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights_(self)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.net(self.condition(z, labels))


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator (Radford et al. 2016, sec. 3), packed (PacGAN, Lin et al. 2018, sec. 3).

    Input (B, channels * packing, height, width), i.e. the output of ``pack()``.
    Stride-2 Conv2d(4, 2, 1) layers from image_size down to 4x4 (4x8 for [32, 64]) with
    channels doubling from ``width`` (no BatchNorm on the first), LeakyReLU(0.2) throughout,
    then Conv2d(C, 1, 4, 1, 0). No conv has a bias, as the reference pytorch/examples dcgan
    (2,765,568 parameters at 64 px, ndf 64, 3 channels). ``norm``: "batch" (DCGAN), "layer"
    (the WGAN-GP critic: a gradient penalty needs scores that depend on their own sample only),
    "instance" or "none" (the middle convs then get a bias). With ``num_classes`` > 0 it is conditional: ``concat`` appends
    one-hot label maps to the input (Mirza & Osindero 2014), ``projection`` adds
    <embed(y), sum-pooled features> to the score (Miyato & Koyama 2018, eq. 3).
    forward(x, labels=None) -> (B,) raw scores (logits, no sigmoid).
    """

    def __init__(
        self, image_size: int = 64, channels: int = 3, width: int = 64, packing: int = 1,
        num_classes: int = 0, conditioning: str = "concat", norm: str = "batch",
    ) -> None:
        super().__init__()
        k, last_map = image_geometry(image_size)
        self.norm = check_norm(norm, "norm")
        self.image_size = image_shape(image_size)
        self.channels = positive_int("channels", channels)
        self.width = positive_int("width", width)
        self.packing = positive_int("packing", packing)
        self.label_input, extra = discriminator_conditioning(num_classes, conditioning, packing)

        ch = self.width
        layers: list[nn.Module] = [
            nn.Conv2d(self.channels * self.packing + extra, ch, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for _ in range(k - 1):
            layers += [
                nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=self.norm == "none"),
                norm_layer(self.norm, ch * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            ch *= 2
        self.net = nn.Sequential(*layers)
        self.head = nn.Conv2d(ch, 1, last_map, 1, 0, bias=False)
        projection = num_classes and conditioning == "projection"
        self.projection = ProjectionHead(num_classes, ch) if projection else None
        init_dcgan_weights_(self)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        expected = (self.channels * self.packing, *self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"DCGANDiscriminator expects input (B, {expected[0]}, {expected[1]}, {expected[2]})"
                f" (channels * packing = {self.channels} * {self.packing}), got {tuple(x.shape)};"
                f" feed it pack(x, {self.packing})"
            )
        features = self.net(self.label_input(x, labels))
        scores = self.head(features).flatten()
        if self.projection is not None:
            scores = scores + self.projection(features.sum(dim=(2, 3)), labels)
        return scores

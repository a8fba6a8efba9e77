"""3D-GAN's volumetric generator and discriminator.

Wu, Zhang, Xue, Freeman & Tenenbaum, "Learning a Probabilistic Latent Space of Object Shapes via
3D Generative-Adversarial Modeling" (NeurIPS 2016), sec. 3.1 and fig. 1.

From the paper (sec. 3.1, fig. 1): a 200-d latent code; G is five volumetric fully convolutional
(transposed) layers of 4x4x4 kernels and stride 2, channels 512-256-128-64-1 over feature maps
4^3-8^3-16^3-32^3-64^3, with batch norm and ReLU between them and a sigmoid at the end; D
"basically mirrors the generator" with leaky ReLUs, and has no pooling or linear layer.

From the reimplementations (the official release, zck119/3dgan-release, ships only the Torch7
sampling script main.lua and the trained G; training details therefore come from meetps/tf-3dgan
and rimchang/3DGAN-Pytorch, which follow the same layer list):

* the first G layer maps the (N, 200, 1, 1, 1) code to 4^3 with a 4x4x4 transposed conv of
  stride 1 and no padding (tf-3dgan's "VALID" first layer); every later layer has kernel 4,
  stride 2, padding 1;
* D's last layer is a 4x4x4 conv of stride 1 from the 4^3 map to one value per shape (tf-3dgan);
  it is returned as a logit (no sigmoid) so the loss is BCE-with-logits;
* leaky ReLU slope 0.2 (tf-3dgan's leak_value, rimchang's default);
* no biases anywhere: main.lua zeroes every convolution bias of the released G ("convolution bias
  is removed during training"), and tf-3dgan's ``3dgan_mit_biasfree.py`` has none;
* no batch norm after D's first conv, as DCGAN (Radford et al. 2016, sec. 3) and as in the
  brief of this port (tf-3dgan and rimchang normalise there too);
* PyTorch's default initialisation (rimchang; tf-3dgan uses Xavier; the paper says nothing).

At 64^3 with the paper's widths G has 17,569,664 parameters and D 11,048,704 (weights plus the
batch-norm scales and shifts; tests/test_3dgan.py checks both).

Other resolutions: a 4 * 2^k cube has k stride-2 layers. G uses the first k of ``widths`` (the
paper's 512-256-128-64 at 64^3; 512-256-128 at 32^3, the 64-channel block dropped), D the last k
(64-128-256-512 at 64^3; 128-256-512 at 32^3, the 64-channel block dropped), so the code always
enters at G's widest map and D always ends on its widest, as the mirror of each other.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from gan_lab.nets.layers import positive_int
from gan_lab.nets.norm import check_norm

__all__ = ["VoxelDiscriminator", "VoxelGenerator", "voxel_blocks"]

PAPER_LATENT_DIM = 200
PAPER_GENERATOR_WIDTHS = (512, 256, 128, 64)
PAPER_DISCRIMINATOR_WIDTHS = (64, 128, 256, 512)


def voxel_blocks(resolution: int) -> int:
    """k, the stride-2 layers of a net for a ``resolution``^3 cube = 4 * 2^k (k >= 1);
    ValueError otherwise (naming the resolution)."""
    ok = (isinstance(resolution, int) and not isinstance(resolution, bool) and resolution >= 8
          and resolution % 4 == 0 and (resolution // 4) & (resolution // 4 - 1) == 0)
    if not ok:
        raise ValueError(f"resolution={resolution!r}: 3D-GAN's nets make cubes of 4 * 2^k voxels "
                         "a side, k >= 1 (8, 16, 32, 64, 128)")
    return (resolution // 4).bit_length() - 1


def _widths(widths: Sequence[int], k: int, resolution: int, key: str) -> list[int]:
    values = [positive_int(f"{key}[{i}]", w) for i, w in enumerate(widths)]
    if len(values) < k:
        raise ValueError(f"{key}={list(widths)}: a {resolution}^3 cube needs {k} widths (one per "
                         "stride-2 layer)")
    return values


def _norm3d(kind: str, channels: int) -> nn.Module:
    """A 3-d normalisation over ``channels``: batch (3D-GAN), layer (critics with a gradient
    penalty: GroupNorm(1, C), per sample), instance, or none."""
    if kind == "batch":
        return nn.BatchNorm3d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.InstanceNorm3d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


class VoxelGenerator(nn.Module):
    """3D-GAN's generator (Wu et al. 2016, sec. 3.1, fig. 1): z -> an occupancy cube.

    z (N, latent_dim) is read as (N, latent_dim, 1, 1, 1); ConvTranspose3d(latent_dim,
    widths[0], 4, 1, 0) makes the 4^3 map; then stride-2 ConvTranspose3d(4, 2, 1) layers through
    ``widths[1:k]`` and a last one to one channel, batch norm + ReLU after every layer but the
    last, and a sigmoid. k = log2(resolution / 4): the first k widths are used (see the module's
    docstring). No layer has a bias.
    forward(z, labels=None) -> (N, 1, R, R, R) in [0, 1].
    """

    def __init__(self, latent_dim: int = PAPER_LATENT_DIM, resolution: int = 64,
                 widths: Sequence[int] = PAPER_GENERATOR_WIDTHS) -> None:
        super().__init__()
        k = voxel_blocks(resolution)
        self.latent_dim = positive_int("latent_dim", latent_dim)
        self.resolution = resolution
        self.widths = _widths(widths, k, resolution, "widths")[:k]
        layers: list[nn.Module] = []
        c_in = self.latent_dim
        for index, c_out in enumerate(self.widths):
            stride, padding = (1, 0) if index == 0 else (2, 1)
            layers += [nn.ConvTranspose3d(c_in, c_out, 4, stride, padding, bias=False),
                       nn.BatchNorm3d(c_out), nn.ReLU(inplace=True)]
            c_in = c_out
        layers += [nn.ConvTranspose3d(c_in, 1, 4, 2, 1, bias=False), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is not None:
            raise ValueError("VoxelGenerator is unconditional: it takes no labels")
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"VoxelGenerator expects codes (N, {self.latent_dim}), got "
                             f"{tuple(z.shape)}")
        return self.net(z[:, :, None, None, None])


class VoxelDiscriminator(nn.Module):
    """3D-GAN's discriminator (Wu et al. 2016, sec. 3.1): the generator's mirror.

    Stride-2 Conv3d(4, 2, 1) layers from the cube down to 4^3 through the last k of ``widths``
    (no normalisation after the first), leaky ReLU(0.2) after each, then Conv3d(C, 1, 4, 1, 0):
    one logit per shape (no sigmoid: the loss takes logits). ``norm``: "batch" (3D-GAN),
    "layer" (a critic trained with a gradient penalty, whose scores must be per sample), "instance"
    or "none" (the middle convs then get a bias, the only biases of the net). ``packing``:
    PacGAN's m shapes judged at once (m input channels).
    forward(x, labels=None) -> (N,) logits.
    """

    def __init__(self, resolution: int = 64, widths: Sequence[int] = PAPER_DISCRIMINATOR_WIDTHS,
                 norm: str = "batch", packing: int = 1, leak: float = 0.2) -> None:
        super().__init__()
        k = voxel_blocks(resolution)
        self.resolution = resolution
        self.norm = check_norm(norm, "norm")
        self.packing = positive_int("packing", packing)
        self.widths = _widths(widths, k, resolution, "widths")[-k:]
        layers: list[nn.Module] = []
        c_in = self.packing
        for index, c_out in enumerate(self.widths):
            first = index == 0
            layers.append(nn.Conv3d(c_in, c_out, 4, 2, 1, bias=not first and self.norm == "none"))
            if not first:
                layers.append(_norm3d(self.norm, c_out))
            layers.append(nn.LeakyReLU(float(leak), inplace=True))
            c_in = c_out
        self.net = nn.Sequential(*layers)
        self.head = nn.Conv3d(c_in, 1, 4, 1, 0, bias=False)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is not None:
            raise ValueError("VoxelDiscriminator is unconditional: it takes no labels")
        expected = (self.packing, *(self.resolution,) * 3)
        if x.dim() != 5 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"VoxelDiscriminator expects (N, {', '.join(map(str, expected))}) "
                             f"(packing = {self.packing}), got {tuple(x.shape)}")
        return self.head(self.net(x)).flatten()

"""torch.nn networks: DCGAN, the PacGAN toy MLPs, maxout, label conditioning, PacGAN packing."""

from gan_lab.nets.conditioning import LabelChannels, LabelEmbedding, ProjectionHead
from gan_lab.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_lab.nets.layers import Maxout, init_dcgan_weights_
from gan_lab.nets.mlp import MLPDiscriminator, MLPGenerator
from gan_lab.nets.packing import pack

__all__ = [
    "DCGANDiscriminator",
    "DCGANGenerator",
    "LabelChannels",
    "LabelEmbedding",
    "MLPDiscriminator",
    "MLPGenerator",
    "Maxout",
    "ProjectionHead",
    "init_dcgan_weights_",
    "pack",
]

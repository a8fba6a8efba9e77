"""torch.nn networks.

DCGAN, the PacGAN toy MLPs, maxout, label conditioning, PacGAN packing; for image-to-image
translation the pix2pix U-Net and PatchGAN and the CycleGAN ResNet generator; the Karras
family: ProGAN, StyleGAN and StyleGAN2 (equalized learning rate, mapping network, FIR filters);
for sequences SeqGAN's LSTM generator and text-CNN discriminator.
"""

from gan_lab.nets.biggan import BigGANDiscriminator, BigGANGenerator
from gan_lab.nets.conditioning import LabelChannels, LabelEmbedding, ProjectionHead
from gan_lab.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_lab.nets.equalized import MappingNetwork
from gan_lab.nets.layers import init_dcgan_weights_
from gan_lab.nets.mlp import MLPDiscriminator, MLPGenerator
from gan_lab.nets.packing import pack
from gan_lab.nets.patchgan import PatchDiscriminator
from gan_lab.nets.progan import ProGANDiscriminator, ProGANGenerator
from gan_lab.nets.r3gan import R3GANDiscriminator, R3GANGenerator
from gan_lab.nets.replicated import ReplicatedMaxout as Maxout
from gan_lab.nets.resnet_gan import ResNetDiscriminator, ResNetGenerator
from gan_lab.nets.resnet_translator import ResnetGenerator
from gan_lab.nets.seqgan import SequenceGenerator, TextCNNDiscriminator
from gan_lab.nets.sngan_cnn import SNGANCNNDiscriminator, SNGANCNNGenerator
from gan_lab.nets.stylegan import StyleGANDiscriminator, StyleGANGenerator
from gan_lab.nets.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator
from gan_lab.nets.unet import UnetGenerator

__all__ = [
    "BigGANDiscriminator",
    "BigGANGenerator",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "SNGANCNNDiscriminator",
    "SNGANCNNGenerator",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "LabelChannels",
    "LabelEmbedding",
    "MLPDiscriminator",
    "MappingNetwork",
    "MLPGenerator",
    "Maxout",
    "PatchDiscriminator",
    "ProGANDiscriminator",
    "ProGANGenerator",
    "ProjectionHead",
    "R3GANDiscriminator",
    "R3GANGenerator",
    "ResnetGenerator",
    "SequenceGenerator",
    "StyleGAN2Discriminator",
    "StyleGAN2Generator",
    "StyleGANDiscriminator",
    "StyleGANGenerator",
    "TextCNNDiscriminator",
    "UnetGenerator",
    "init_dcgan_weights_",
    "pack",
]

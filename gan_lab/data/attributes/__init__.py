"""Images with binary attributes (batch kind ``attributes``): StarGAN's CelebA and the embedded
digit-attribute set."""

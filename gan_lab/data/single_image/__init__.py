"""One image as a training set (batch kind ``single image``): SinGAN's data."""

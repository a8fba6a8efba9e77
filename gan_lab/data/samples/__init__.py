"""Data sets of plain samples (batch kind ``samples``): image sets (digits, Fashion-MNIST,
MNIST, CIFAR-10, any image folder, inpainting crops) and 2-D toy point sets."""

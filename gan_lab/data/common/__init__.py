"""The pieces every data module shares: the resumable loader, the one-training-set base, tensor
transforms, option checks, the data fingerprint, and the bundled photos."""

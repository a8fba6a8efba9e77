"""Speed benchmarks: each script times gan_lab against a baseline in the same run."""

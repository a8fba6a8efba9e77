"""Evaluation metrics (no dependency on models, callbacks, training or Hydra)."""

from gan_lab.metrics.toy import ModeCoverage, mode_statistics, scatter_plot

__all__ = ["ModeCoverage", "mode_statistics", "scatter_plot"]

"""Mode-collapse metrics for the 2-D Gaussian mixtures (PacGAN / VEEGAN protocol).

PacGAN (Lin, Khetan, Fanti, Oh, NeurIPS 2018, sec. 5.1, after VEEGAN) evaluates a generator on
the ring and grid mixtures with 2,500 generated samples and three numbers: the modes captured, the
percentage of high-quality samples and the reverse KL divergence between the histogram of the
samples over the modes and the uniform distribution. See :func:`mode_statistics` for the exact
definitions, which follow the authors' code (github.com/fjxmlzn/PacGAN).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = ["ModeCoverage", "mode_statistics", "scatter_plot"]

#: PacGAN's evaluation sample size, also the largest chunk :class:`ModeCoverage` asks for.
PACGAN_NUM_SAMPLES = 2500


def mode_statistics(
    samples: Tensor, means: Tensor, std: float, threshold_sigmas: float = 3.0
) -> dict[str, float]:
    r"""Modes captured, percentage of high-quality samples and reverse KL to uniform.

    With ``N`` samples :math:`x_i`, ``K`` mode means :math:`\mu_k` and the shared per-coordinate
    standard deviation :math:`\sigma`:

    * each sample is assigned to its nearest mode, :math:`k(i) = \arg\min_k \|x_i - \mu_k\|_2`;
    * it is *high quality* when :math:`\|x_i - \mu_{k(i)}\|_2 < t\sigma` (``t =
      threshold_sigmas``, 3 in the paper; strict inequality, as in the official code);
    * :math:`c_k` = number of high-quality samples assigned to mode ``k``;
    * ``"modes"`` :math:`= |\{k : c_k > 0\}|` (a mode is captured if it has at least one
      high-quality sample);
    * ``"high_quality"`` :math:`= 100 \cdot \sum_k c_k / N` (a percentage, 0..100);
    * ``"reverse_kl"`` :math:`= \mathrm{KL}(p \,\|\, u) = \sum_{k: p_k > 0} p_k \log(K p_k)`,
      with :math:`p_k = c_k / \sum_j c_j` the histogram of the high-quality samples over the
      modes and :math:`u_k = 1/K` (natural log; empty bins contribute 0 by the convention
      :math:`0 \log 0 = 0`, so no epsilon is needed since :math:`u` is never 0). It lies in
      :math:`[0, \log K]`: 0 for a perfectly balanced histogram, :math:`\log K` when every
      high-quality sample sits on one mode.

    Source: ``MetricLogger.do`` in ``synthetic_data_experiments/PacGAN/pacgan/extensions.py`` of
    github.com/fjxmlzn/PacGAN (nearest mode by variance-normalised distance, which for a shared
    isotropic :math:`\sigma` is the Euclidean nearest mode; a point counts in the mode histogram
    only when within ``dis_thre = 3`` standard deviations) and ``JSD.KLD(p, q)`` in
    ``stacked_MNIST_experiments/VEEGAN_experiment/model.py`` of the same repository (their KL to
    uniform: ``sum(p * log(p / q) for p != 0)``, with ``p`` the generated histogram).

    Convention of this implementation where the official code is undefined (it divides 0 by 0):
    when no sample is high quality the histogram is empty and ``"reverse_kl"`` is reported as
    its worst attainable value :math:`\log K`. Non-finite samples are never high quality.

    Args:
        samples: ``(N, D)`` generated points (``D = 2`` for the toy sets).
        means: ``(K, D)`` mode means.
        std: standard deviation of every mode.
        threshold_sigmas: high-quality radius in units of ``std``.

    Returns:
        ``{"modes": float, "high_quality": float, "reverse_kl": float}``.
    """
    samples = torch.as_tensor(samples).detach().to("cpu", torch.float64)
    means = torch.as_tensor(means).detach().to("cpu", torch.float64)
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise ValueError(f"samples must have shape (N, D) with N >= 1, got {tuple(samples.shape)}")
    if means.ndim != 2 or means.shape[0] == 0 or means.shape[1] != samples.shape[1]:
        raise ValueError(
            f"means must have shape (K, {samples.shape[1]}) with K >= 1, got {tuple(means.shape)}"
        )
    if not std > 0:
        raise ValueError(f"std={std} must be positive")
    num_samples, num_modes = samples.shape[0], means.shape[0]

    # Squared distances by explicit differences (exact for points on a mean, unlike cdist's
    # matrix-product path), chunked so that memory stays small for large N.
    nearest = torch.empty(num_samples, dtype=torch.long)
    min_sq = torch.empty(num_samples, dtype=torch.float64)
    for start in range(0, num_samples, 4096):
        chunk = samples[start : start + 4096]
        sq = (chunk[:, None, :] - means[None, :, :]).pow(2).sum(dim=-1)
        sq = torch.nan_to_num(sq, nan=math.inf)
        min_sq[start : start + 4096], nearest[start : start + 4096] = sq.min(dim=1)

    radius = threshold_sigmas * std
    high_quality = min_sq < radius * radius
    counts = torch.bincount(nearest[high_quality], minlength=num_modes).to(torch.float64)
    num_good = float(counts.sum())

    if num_good > 0:
        p = counts[counts > 0] / num_good
        reverse_kl = float((p * torch.log(p * num_modes)).sum())
        reverse_kl = max(reverse_kl, 0.0)  # rounding can give -1e-17 for a uniform histogram
    else:
        reverse_kl = math.log(num_modes)
    return {
        "modes": float((counts > 0).sum()),
        "high_quality": 100.0 * num_good / num_samples,
        "reverse_kl": reverse_kl,
    }


def scatter_plot(
    samples: Tensor,
    means: Tensor | None,
    path: str | Path,
    title: str | None = None,
    titles: list[str] | None = None,
) -> Path:
    """Save a PNG of ``samples`` (small dots) over the mode centres ``means`` (crosses):
    the points renderer (gan_lab/outputs/renderers/points.py) and the PNG writer.

    ``samples``: (N, 2), or (R, N, 2) for one panel per replica (``titles``, one each). ``means``
    may be ``None`` (distributions without modes). The parent folder is created if needed.
    Returns the path written.
    """
    from gan_lab.kinds import SampleKind
    from gan_lab.outputs import render, write
    from gan_lab.visuals import Visual

    path = Path(path)
    points = torch.as_tensor(samples).detach().to("cpu", torch.float32)
    count = 1 if points.dim() == 2 else len(points)
    visual = Visual(SampleKind.POINTS, points,
                    options={"means": means, "titles": titles or [title] * count})
    return write(render(visual), path.with_suffix(""))


class ModeCoverage:
    """Evaluator: PacGAN's mode statistics of a generator on a toy mixture.

    Called by the generic evaluation callback as
    ``evaluator(sample_fn, datamodule, out_dir, tag)``: it draws ``num_samples`` points with
    ``sample_fn(n) -> Tensor (n, 2)`` (CPU, no grad; asked for at most 2,500 at a time), reads the
    mixture from ``datamodule.mixture`` and returns ``{"toy/modes", "toy/high_quality",
    "toy/reverse_kl"}`` (see :func:`mode_statistics`). When ``plot`` and ``out_dir`` are set it
    writes ``out_dir / f"scatter_{tag}.png"``. For a data module without modes
    (``mixture is None``, the swiss roll) it returns ``{}`` but still saves the scatter plot.

    A replicated model (``sample_fn(n) -> (R, n, 2)``) is scored replica by replica: the
    ``toy/...`` values are the means over replicas, and ``toy/<metric>/replica<r>`` each
    replica's own (the runs a study reports); the scatter plot has one panel per replica.

    Args:
        num_samples: generated points per evaluation (PacGAN: 2,500).
        threshold_sigmas: high-quality radius in standard deviations (PacGAN: 3).
        plot: whether to save the scatter plot.
    """

    def __init__(
        self,
        num_samples: int = PACGAN_NUM_SAMPLES,
        threshold_sigmas: float = 3.0,
        plot: bool = True,
    ) -> None:
        if num_samples < 1:
            raise ValueError(f"num_samples={num_samples} must be at least 1")
        self.num_samples = int(num_samples)
        self.threshold_sigmas = float(threshold_sigmas)
        self.plot = bool(plot)

    def draw(self, sample_fn: Callable[[int], Tensor]) -> Tensor:
        """``num_samples`` points from ``sample_fn``, in chunks of at most 2,500, on the CPU:
        ``(R, num_samples, 2)``, with R = 1 for an unreplicated model."""
        chunks = []
        remaining = self.num_samples
        while remaining > 0:
            n = min(remaining, PACGAN_NUM_SAMPLES)
            chunk = torch.as_tensor(sample_fn(n)).detach().to("cpu", torch.float32)
            chunk = chunk[None] if chunk.dim() == 2 else chunk
            if chunk.dim() != 3 or chunk.shape[1] != n:
                raise ValueError(f"sample_fn({n}) returned shape {tuple(chunk.shape)}; expected "
                                 f"({n}, 2) or (replicas, {n}, 2)")
            chunks.append(chunk)
            remaining -= n
        return torch.cat(chunks, dim=1)

    def __call__(
        self,
        sample_fn: Callable[[int], Tensor],
        datamodule: Any,
        out_dir: Path | None,
        tag: str,
    ) -> dict[str, float]:
        samples = self.draw(sample_fn)
        mixture = getattr(datamodule, "mixture", None)
        metrics: dict[str, float] = {}
        titles = [tag] * len(samples)
        if mixture is not None:
            per_replica = [mode_statistics(replica, mixture.means, mixture.std,
                                           self.threshold_sigmas) for replica in samples]
            for key in per_replica[0]:
                values = [stats[key] for stats in per_replica]
                metrics[f"toy/{key}"] = sum(values) / len(values)
                if len(values) > 1:
                    metrics.update({f"toy/{key}/replica{r}": v for r, v in enumerate(values)})
            titles = [
                f"{tag}: {stats['modes']:.0f}/{mixture.means.shape[0]} modes, "
                f"{stats['high_quality']:.1f}% high quality, reverse KL {stats['reverse_kl']:.3f}"
                for stats in per_replica]
        if self.plot and out_dir is not None:
            means = mixture.means if mixture is not None else None
            scatter_plot(samples, means, Path(out_dir) / f"scatter_{tag}.png", titles=titles)
        return metrics

    def __repr__(self) -> str:
        return (
            f"ModeCoverage(num_samples={self.num_samples}, "
            f"threshold_sigmas={self.threshold_sigmas}, plot={self.plot})"
        )

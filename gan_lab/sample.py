"""`python -m gan_lab.sample ckpt=FILE n=64`: image grid, single PNGs and a latent interpolation
grid from a generator checkpoint, with optional labels and truncation. Needs no dataset.

Interpolation is spherical (slerp, White 2016, "Sampling Generative Networks", sec. 2.2), which
keeps intermediate Gaussian codes at a typical norm. Truncation redraws every code entry whose
magnitude exceeds the threshold (Brock et al. 2019, BigGAN, sec. 3.1: the "truncation trick").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, ListConfig
from torch import Tensor

from gan_lab.cli import command, model_options
from gan_lab.config import ConfigError, config_errors

# The keys of conf/sample.yaml that only some models take (their ``sample_options``), passed to
# both ``module.noise`` and ``module.sample``.
SAMPLE_OPTIONS = ("size",)

__all__ = ["SAMPLE_OPTIONS", "main", "resolve_device", "sample_labels", "slerp", "truncated_noise"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError as error:
        raise ConfigError(f"device={name!r}: not a torch device (auto, cpu, cuda, cuda:1...)") from error


def truncated_noise(module: Any, n: int, threshold: float | None,
                    generator: torch.Generator, **options: Any) -> Tensor:
    """``module.noise(n, **options)`` with every entry of magnitude above ``threshold`` redrawn
    until none is left (for N(0, I) codes: the truncated normal on [-threshold, threshold])."""
    z = module.noise(n, generator=generator, **options)
    if threshold is None:
        return z
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
        raise ConfigError(f"truncation={threshold!r}: must be null or a number > 0")
    outside = z.abs() > threshold
    while outside.any():
        z = torch.where(outside, module.noise(n, generator=generator, **options), z)
        outside = z.abs() > threshold
    return z


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between rows of ``a`` and ``b`` at fractions ``t`` (broadcast)."""
    a_unit, b_unit = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_unit * b_unit).sum(-1, keepdim=True).clamp(-1.0, 1.0))
    sin = torch.sin(omega)
    linear = (1.0 - t) * a + t * b  # where the codes are (anti)parallel slerp is undefined
    spherical = (torch.sin((1.0 - t) * omega) * a + torch.sin(t * omega) * b) / sin.clamp_min(1e-7)
    return torch.where(sin.abs() < 1e-6, linear, spherical)


def sample_labels(labels: Any, n: int, num_classes: int) -> Tensor | None:
    """Labels for ``n`` images: ``labels`` (one class or a list, cycled), else 0..K-1 cycled."""
    if not num_classes:
        if labels is not None:
            raise ConfigError(f"labels={labels}: this generator is unconditional")
        return None
    if labels is None:
        return torch.arange(n) % num_classes
    values = list(labels) if isinstance(labels, Sequence | ListConfig) else [labels]
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int)
           or not 0 <= v < num_classes]
    if not values or bad:
        raise ConfigError(f"labels={labels}: classes must be integers in 0..{num_classes - 1}")
    return torch.tensor(values)[torch.arange(n) % len(values)]


def style_options(cfg: DictConfig) -> dict[str, Any]:
    """Truncation in W (Karras et al. 2019, appendix B) for style generators."""
    if cfg.truncation_psi is None:
        return {}
    return {"truncation_psi": float(cfg.truncation_psi),
            "truncation_cutoff": cfg.truncation_cutoff}


def style_mixing_grid(module: Any, cfg: DictConfig, rng: torch.Generator) -> Tensor:
    """The style-mixing figure (Karras et al. 2019, fig. 3): row i, column j takes the styles of
    code A_i below ``style_mixing_crossover`` and of B_j from it on; the first row shows the
    B codes, the first column the A codes (a blank corner)."""
    rows = cfg.interpolation_rows
    codes = module.noise(2 * rows, generator=rng)
    with config_errors():
        ws = module.w_plus(codes, None, cfg.truncation_psi or 1.0, cfg.truncation_cutoff)
    crossover = cfg.style_mixing_crossover or ws.shape[1] // 2
    a, b = ws[:rows], ws[rows:]
    layer = torch.arange(ws.shape[1], device=ws.device)[None, None, :, None]
    mixed = torch.where(layer >= crossover, b[None, :], a[:, None]).flatten(0, 1)
    draw = lambda w: module.sample(noise=w, space="w+").float().cpu()  # noqa: E731
    sources_a, sources_b, images = draw(a), draw(b), draw(mixed)
    blank = torch.ones_like(sources_b[:1])
    grid = [blank, sources_b]
    for i in range(rows):
        grid += [sources_a[i:i + 1], images[i * rows:(i + 1) * rows]]
    return torch.cat(grid)


def _save_grid(images: Tensor, path: Path, nrow: int) -> None:
    from torchvision.utils import save_image

    save_image(images, path, nrow=nrow, normalize=True, value_range=(-1, 1), pad_value=1.0)


@command("sample")
def main(cfg: DictConfig) -> str:
    from torchvision.utils import save_image

    from gan_lab.loading import load_module

    for key in ("n", "nrow", "interpolation_rows", "interpolation_steps"):
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{key}={value!r}: must be an integer >= 1")
    module, _ = load_module(cfg.ckpt, resolve_device(cfg.device))
    if not module.speaks("sample"):
        raise ConfigError(f"ckpt={cfg.ckpt}: a {type(module).__name__} translates images, it does "
                          "not sample them; use python -m gan_lab.translate ckpt=... input=FOLDER")
    classes = int(getattr(module, "num_classes", 0) or 0)
    rng = torch.Generator().manual_seed(int(cfg.seed))
    out = Path(cfg.out)
    (out / "images").mkdir(parents=True, exist_ok=True)

    labels = sample_labels(cfg.labels, cfg.n, classes)
    extra = model_options(module, cfg, SAMPLE_OPTIONS, "sample_options")  # e.g. SinGAN's size
    style = {**style_options(cfg), **extra}
    with config_errors():
        images = module.sample(noise=truncated_noise(module, cfg.n, cfg.truncation, rng, **extra),
                               labels=labels, **style).float().cpu()
    if images.dim() != 4:
        raise ConfigError(f"ckpt={cfg.ckpt}: the generator makes samples of shape "
                          f"{tuple(images.shape[1:])}, not images")
    _save_grid(images, out / "grid.png", cfg.nrow)
    for i, image in enumerate(images):
        save_image(image, out / "images" / f"{i:06d}.png", normalize=True, value_range=(-1, 1))

    rows, steps = cfg.interpolation_rows, cfg.interpolation_steps
    ends = truncated_noise(module, 2 * rows, cfg.truncation, rng, **extra).cpu()
    t = torch.linspace(0.0, 1.0, steps)[None, :, None]
    codes = slerp(ends[:rows, None, :], ends[rows:, None, :], t).reshape(rows * steps, -1)
    row_labels = sample_labels(cfg.labels, rows, classes)  # one class per row
    path_labels = None if row_labels is None else row_labels.repeat_interleave(steps)
    _save_grid(module.sample(noise=codes, labels=path_labels, **style).float().cpu(),
               out / "interpolation.png", steps)
    written = "grid.png, images/, interpolation.png"
    if cfg.style_mixing:
        _save_grid(style_mixing_grid(module, cfg, rng), out / "style_mixing.png", rows + 1)
        written += ", style_mixing.png"
    print(f"gan_lab: wrote {cfg.n} images to {out} ({written}) "
          f"from {cfg.ckpt} (iteration {module.iteration})")
    return str(out)


if __name__ == "__main__":
    main()

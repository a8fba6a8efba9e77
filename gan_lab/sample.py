"""`python -m gan_lab.sample ckpt=FILE n=64`: a grid, single samples and a latent interpolation
from a generator checkpoint, with optional labels, truncation and the model's own options
(``options.<name>=value``). Needs no dataset.

What is written follows the kind of sample the generator makes (``module.sample_spec``, images
when the module has none): each batch is wrapped in a Visual of that kind, rendered by its
renderer (gan_lab.outputs) and written by the writer of the output: images as PNG
(``grid.png``, ``images/NNNNNN.png``, ``interpolation.png``), clips as GIF (``video_format=mp4``:
MP4; ``clips/NNNNNN.gif``), token sequences as text (``grid.txt``, ``tokens.txt`` with one line per
sequence), points as one scatter plot (no single files: one point is no picture).

Conditioning: a label-conditional module (``num_classes`` > 0) gets ``labels=`` (``labels=3``
or a list, cycled; else 0..K-1 cycled). A module may instead declare
``sample_condition(n, options) -> condition`` (with the option names it reads in
``condition_options``): the command then passes ``condition=`` to ``module.sample``.

One file per seed (``seeds=0-35``, ``seeds=[0,5,7]``, ``seeds=3``), as NVlabs'
stylegan2-ada-pytorch ``generate.py --seeds``: ``seed0000.png``, ... instead of the grid, each
seed's code drawn by a random generator of its own seeded with it (and the generator's own noise
too), so an image depends on its seed alone, not on the other seeds asked for.

Where: beside the run when the checkpoint is in ``RUN/checkpoints/`` (``RUN/generated/<checkpoint
name>_<date>_<time>/``; the training grids are ``RUN/samples/iter_*.png``), else
``outputs/sample/<date>/<time>/``; ``out=`` (or ``hydra.run.dir=``) chooses another folder.
``ckpt`` may be a checkpoint or a generator export (gan_lab.export).

Interpolation is spherical (slerp, White 2016, "Sampling Generative Networks", sec. 2.2), which
keeps intermediate Gaussian codes at a typical norm. Truncation redraws every code entry whose
magnitude exceeds the threshold (Brock et al. 2019, BigGAN, sec. 3.1: the "truncation trick").
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import Tensor

from gan_lab.cli import command, model_options
from gan_lab.config import ConfigError, config_errors
from gan_lab.kinds import SampleKind, SampleSpec

# The options of the style-mixing figure (Karras et al. 2019, fig. 3), which the command draws
# for modules that have a w space (``module.w_plus``); the other options go to ``module.sample``.
STYLE_MIXING_OPTIONS = ("style_mixing", "style_mixing_crossover")

# The largest seed: NumPy's RandomState (NVlabs' generate.py) takes 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1

__all__ = ["STYLE_MIXING_OPTIONS", "main", "parse_seeds", "resolve_device",
           "sample_conditioning", "sample_labels", "sample_spec_of", "slerp",
           "truncated_noise", "write_samples", "write_seeds"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError as error:
        raise ConfigError(f"device={name!r}: not a torch device (auto, cpu, cuda, cuda:1...)") from error


# How seeds= is written, for its error lines.
_SEEDS_FORM = ("give a seed (seeds=3), a range with both ends included (seeds=0-35) or a list "
               f"(seeds=[0,5,7]) of integers in 0..{MAX_SEED}")


def parse_seeds(value: Any) -> list[int] | None:
    """The seeds of ``seeds=`` in order, each once: a seed (``3``), an inclusive range
    (``0-35``), a list (``[0,5,7]``, whose entries may be ranges), or a quoted comma list
    (``'0-3,7'``); None for null. One ConfigError line for anything else."""
    if value is None:
        return None
    shown = OmegaConf.to_container(value) if isinstance(value, ListConfig) else value
    parts = list(value) if isinstance(value, Sequence | ListConfig) and not isinstance(value, str) \
        else [value]
    seeds: list[int] = []
    for part in parts:
        pieces = part.split(",") if isinstance(part, str) else [part]
        for piece in pieces:
            seeds += _seed_range(piece, shown)
    if not seeds:
        raise ConfigError(f"seeds={shown!r}: names no seed; {_SEEDS_FORM}")
    return list(dict.fromkeys(seeds))  # a seed asked twice is written once


def _seed_range(piece: Any, shown: Any) -> list[int]:
    """The seeds of one entry of ``seeds=``: an integer, or a string ``a`` or ``a-b``."""
    if isinstance(piece, int) and not isinstance(piece, bool):
        low = high = piece
    else:
        text = piece.strip() if isinstance(piece, str) else None
        ends = text.split("-") if text else []
        if not 1 <= len(ends) <= 2 or not all(end.strip().isdigit() for end in ends):
            raise ConfigError(f"seeds={shown!r}: {piece!r} is no seed or range; {_SEEDS_FORM}")
        low, high = int(ends[0]), int(ends[-1])
    if not 0 <= low <= MAX_SEED or not 0 <= high <= MAX_SEED:
        raise ConfigError(f"seeds={shown!r}: {piece!r} is outside 0..{MAX_SEED}; {_SEEDS_FORM}")
    if low > high:
        raise ConfigError(f"seeds={shown!r}: the range {piece!r} runs downwards; write it "
                          f"low-high ({high}-{low})")
    return list(range(low, high + 1))


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
    """Labels for ``n`` samples: ``labels`` (one class or a list, cycled), else 0..K-1 cycled."""
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


def sample_spec_of(module: Any, samples: Any = None) -> SampleSpec:
    """What the module's generator makes (``module.sample_spec``, kept in its checkpoint). For a
    module without one (a checkpoint written before the specs): points when ``samples`` are
    (N, 2) or a replicated model's (R, N, 2), else images."""
    spec = getattr(module, "sample_spec", None)
    if spec is not None:
        return spec if isinstance(spec, SampleSpec) else SampleSpec.from_dict(spec)
    if isinstance(samples, Tensor) and samples.dim() in (2, 3) and samples.shape[-1] == 2:
        return SampleSpec(SampleKind.POINTS, (2,))
    return SampleSpec(SampleKind.IMAGES, ())


def sample_conditioning(module: Any, labels: Any, options: Mapping[str, Any],
                        n: int) -> dict[str, Any]:
    """The conditioning keyword of ``module.sample`` for ``n`` samples: ``{"condition": ...}``
    from the module's ``sample_condition(n, options)`` when it has one (``options``: the command
    options it names in ``condition_options``), else ``{"labels": ...}`` for a label-conditional
    module (see :func:`sample_labels`), else nothing."""
    make_condition = getattr(module, "sample_condition", None)
    if make_condition is not None:
        if labels is not None:
            names = ", ".join(f"options.{k}" for k in getattr(module, "condition_options", ()))
            raise ConfigError(f"labels={labels}: a {type(module).__name__} is conditioned through "
                              f"its options ({names or 'none'}), not labels")
        with config_errors():
            condition = make_condition(n, dict(options))
        return {} if condition is None else {"condition": condition}
    found = sample_labels(labels, n, int(getattr(module, "num_classes", 0) or 0))
    return {} if found is None else {"labels": found}


def _repeat_each(value: Any, times: int) -> Any:
    """Each of a batch's entries ``times`` times in a row (tensors, lists, tuples, dicts)."""
    if isinstance(value, Tensor):
        return value.repeat_interleave(times, dim=0)
    if isinstance(value, Mapping):
        return {key: _repeat_each(entry, times) for key, entry in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(entry for entry in value for _ in range(times))
    return value


def _named_by(function: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options ``function`` takes by name (all of them when it takes ``**options``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return dict(options)
    names = {p.name for p in parameters}
    return {key: value for key, value in options.items() if key in names}


def style_mixing_grid(module: Any, rows: int, rng: torch.Generator,
                      truncation_psi: float | None = None, truncation_cutoff: int | None = None,
                      crossover: int | None = None) -> Tensor:
    """The style-mixing figure (Karras et al. 2019, fig. 3): row i, column j takes the styles of
    code A_i below ``crossover`` (default: half the layers) and of B_j from it on; the first row
    shows the B codes, the first column the A codes (a blank corner)."""
    codes = module.noise(2 * rows, generator=rng)
    with config_errors():
        ws = module.w_plus(codes, None, truncation_psi or 1.0, truncation_cutoff)
    crossover = crossover or ws.shape[1] // 2
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


class _Writer:
    """Writes batches of one sample kind: render (gan_lab.outputs) -> file."""

    def __init__(self, spec: SampleSpec, out: Path, video_format: str) -> None:
        from gan_lab.outputs import renderer_for

        with config_errors():
            self.entry = renderer_for(spec.kind)
        self.kind, self.out, self.video_format = spec.kind, out, video_format
        self.options = dict(spec.extras)  # the renderer's settings (a vocabulary, fps, ...)

    def render(self, samples: Any, nrow: int) -> Any:
        from gan_lab.outputs import render
        from gan_lab.visuals import Visual

        with config_errors():
            return render(Visual(self.kind, samples, nrow, dict(self.options)))

    def write(self, samples: Any, name: str, nrow: int) -> str:
        from gan_lab.outputs import write

        with config_errors():
            return write(self.render(samples, nrow), self.out / name, self.video_format).name

    def singles(self, samples: Any) -> str | None:
        """Each sample on its own: a file per sample in ``<kind>/`` (``images/000000.png``), or
        for text one file with a line per sample (``tokens.txt``); None for kinds whose single
        samples are no picture (points)."""
        from gan_lab.outputs import TextOutput, write

        if not self.entry.singles:
            return None
        first = self.render(samples[:1], 1)
        if isinstance(first, TextOutput):  # one line per sample already
            return self.write(samples, str(self.kind), 1)
        folder = self.out / str(self.kind)
        with config_errors():
            for i in range(len(samples)):
                output = first if i == 0 else self.render(samples[i:i + 1], 1)
                write(output, folder / f"{i:06d}", self.video_format)
        return f"{folder.name}/"


@command("sample", open_mappings=("options",))
def main(cfg: DictConfig) -> str:
    from hydra.core.hydra_config import HydraConfig

    from gan_lab.loading import load_module
    from gan_lab.outputs import VIDEO_FORMATS

    for key in ("n", "nrow", "interpolation_rows", "interpolation_steps"):
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{key}={value!r}: must be an integer >= 1")
    if cfg.video_format not in VIDEO_FORMATS:
        raise ConfigError(f"video_format={cfg.video_format!r}: must be one of "
                          f"{', '.join(VIDEO_FORMATS)}")
    seeds = parse_seeds(cfg.get("seeds"))  # before loading: a bad range costs nothing
    module, _ = load_module(cfg.ckpt, resolve_device(cfg.device))
    if not module.speaks("sample"):
        raise ConfigError(f"ckpt={cfg.ckpt}: a {type(module).__name__} translates images, it does "
                          "not sample them; use python -m gan_lab.translate ckpt=... input=FOLDER")
    out = Path(str(cfg.out)) if cfg.get("out") else Path(HydraConfig.get().runtime.output_dir)
    kind, written = write_samples(module, cfg, out)
    shown = written if len(written) <= 4 else [written[0], "...", written[-1]]
    print(f"gan_lab: wrote {len(seeds) if seeds else cfg.n} {kind} to {out} ({', '.join(shown)}) "
          f"from {cfg.ckpt} (iteration {module.iteration})")
    return str(out)


def write_samples(module: Any, cfg: DictConfig, out: Path) -> tuple[SampleKind, list[str]]:
    """What the command writes for a loaded ``module`` (``cfg``: conf/sample.yaml's keys) into
    ``out``: the grid, the single samples, the interpolation and, when asked, the style-mixing
    figure; or with ``seeds`` one file per seed (:func:`write_seeds`). The sample kind and the
    names written."""
    from gan_lab.callbacks.evaluation import to_cpu

    seeds = parse_seeds(cfg.get("seeds"))
    if seeds is not None:
        return write_seeds(module, cfg, out, seeds)
    # The options: the style-mixing figure's (for modules with a w space), the condition's
    # (``condition_options``), and the rest for module.sample (and module.noise, where it names
    # them: SinGAN's size).
    figure = STYLE_MIXING_OPTIONS if "w" in getattr(module, "spaces", ()) else ()  # style nets
    options = model_options(module, cfg.get("options"), "sample", handled=figure)
    mixing = {key: options.pop(key) for key in figure if key in options}
    condition_options = {key: options.pop(key)
                         for key in tuple(getattr(module, "condition_options", ()) or ())
                         if key in options}
    noise_options = _named_by(module.noise, options)
    if mixing.get("style_mixing"):  # a generator without a w space: one line before any work
        with config_errors():
            module.w_plus(module.noise(1, generator=torch.Generator()))
    rng = torch.Generator().manual_seed(int(cfg.seed))

    conditioning = sample_conditioning(module, cfg.labels, condition_options, cfg.n)
    with config_errors():
        noise = truncated_noise(module, cfg.n, cfg.truncation, rng, **noise_options)
        samples = to_cpu(module.sample(noise=noise, **conditioning, **options))
    spec = sample_spec_of(module, samples)
    writer = _Writer(spec, out, cfg.video_format)
    written = [writer.write(samples, "grid", cfg.nrow)]
    singles = writer.singles(samples)
    written += [singles] if singles else []

    rows, steps = cfg.interpolation_rows, cfg.interpolation_steps
    with config_errors():
        ends = truncated_noise(module, 2 * rows, cfg.truncation, rng, **noise_options).cpu()
    flat = ends.flatten(1)
    t = torch.linspace(0.0, 1.0, steps)[None, :, None]
    # spherical for Gaussian codes; a scheme whose codes are otherwise names its own path
    interpolate = getattr(module, "interpolate_codes", slerp)
    codes = interpolate(flat[:rows, None, :], flat[rows:, None, :], t).reshape(rows * steps,
                                                                               *ends.shape[1:])
    row_conditioning = sample_conditioning(module, cfg.labels, condition_options, rows)
    path_conditioning = {key: _repeat_each(value, steps)  # one condition per row
                         for key, value in row_conditioning.items()}
    with config_errors():
        path = to_cpu(module.sample(noise=codes, **path_conditioning, **options))
    written.append(writer.write(path, "interpolation", steps))
    if mixing.get("style_mixing"):
        grid = style_mixing_grid(module, rows, rng, options.get("truncation_psi"),
                                 options.get("truncation_cutoff"),
                                 mixing.get("style_mixing_crossover"))
        images = _Writer(SampleSpec(SampleKind.IMAGES, ()), out, cfg.video_format)
        written.append(images.write(grid, "style_mixing", rows + 1))
    return spec.kind, written


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """The global random streams seeded with ``seed`` for the block (what a generator draws
    itself: per-layer noise, a condition), the caller's restored after."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _seed_labels(module: Any, labels: Any, seeds: list[int]) -> Tensor | None:
    """A label-conditional module's class for each seed: ``labels`` cycled over the seeds as
    given, else ``seed mod K``, so that a seed's image does not depend on the other seeds."""
    num_classes = int(getattr(module, "num_classes", 0) or 0)
    if labels is not None or not num_classes:
        return sample_labels(labels, len(seeds), num_classes)
    return torch.tensor(seeds) % num_classes


def write_seeds(module: Any, cfg: DictConfig, out: Path,
                seeds: list[int]) -> tuple[SampleKind, list[str]]:
    """One file per seed in ``out`` (``seed0000.png``; ``.gif`` for clips, ``.txt`` for tokens):
    the code of seed s is ``truncated_noise(module, 1, ...)`` drawn with a generator seeded with
    s, and the sample is drawn with the global streams seeded with s too (a generator's own
    noise, a module's condition), one seed at a time, so an image depends on its seed alone (as
    stylegan2-ada-pytorch's generate.py: ``z = RandomState(seed).randn(1, z_dim)``). The sample
    kind and the names written."""
    from gan_lab.callbacks.evaluation import to_cpu

    figure = STYLE_MIXING_OPTIONS if "w" in getattr(module, "spaces", ()) else ()
    options = model_options(module, cfg.get("options"), "sample", handled=figure)
    if options.get("style_mixing"):
        raise ConfigError("options.style_mixing=true: the style-mixing figure mixes random codes, "
                          "not one code per seed; leave seeds unset for it")
    for key in figure:
        options.pop(key, None)
    condition_options = {key: options.pop(key)
                         for key in tuple(getattr(module, "condition_options", ()) or ())
                         if key in options}
    noise_options = _named_by(module.noise, options)
    labels = None if getattr(module, "sample_condition", None) is not None else \
        _seed_labels(module, cfg.labels, seeds)
    device = torch.device(getattr(module, "device", "cpu"))
    writer, written = None, []
    for index, seed in enumerate(seeds):
        with _seeded(seed, device), config_errors():
            codes = truncated_noise(module, 1, cfg.truncation,
                                    torch.Generator().manual_seed(seed), **noise_options)
            conditioning = ({"labels": labels[index:index + 1]} if labels is not None else
                            sample_conditioning(module, cfg.labels, condition_options, 1))
            samples = to_cpu(module.sample(noise=codes, **conditioning, **options))
        if writer is None:
            spec = sample_spec_of(module, samples)
            writer = _Writer(spec, out, cfg.video_format)
            if not writer.entry.singles:
                raise ConfigError(f"seeds: a generator of {spec.kind} makes no picture of one "
                                  "sample; leave seeds unset for one plot of n samples")
        written.append(writer.write(samples, f"seed{seed:04d}", 1))
    return spec.kind, written


if __name__ == "__main__":
    main()

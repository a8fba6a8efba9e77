"""`python -m gan_lab.export ckpt=RUN/checkpoints/last.ckpt [out=FILE]`: the sampling generator of
a checkpoint as one small weights-only file, for sharing and for ``python -m gan_lab.sample``.

The file (``torch.save``; it loads with ``torch.load(weights_only=True)``) holds a format marker
and version (gan_lab.loading.EXPORT_FORMAT, EXPORT_VERSION), whether the weights are the EMA
generator's, the module's ``gan_lab`` entry as checkpoints keep it (the counters, the resolved
run config, the sample spec) and the ``state_dict`` of what sampling needs
(gan_lab.loading.sampling_keys): the generator nets and the module's own tensors. Where the
module samples from its EMA generator (Karras et al. 2018, sec. 4: ``ema_ready``), that copy's
weights are written under the generator's names, so the loaded module samples exactly as the
checkpoint's did; the discriminators, the EMA copy and the optimizer states are left out, as in
the exported generators of NVlabs' stylegan2-ada-pytorch (``G_ema`` alone).

``gan_lab.loading.load_module`` (so the sample, translate and evaluate commands) reads an
export as it reads a checkpoint; a resume refuses one (it has no training state).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import Tensor

from gan_lab.cli import command
from gan_lab.config import ConfigError
from gan_lab.loading import (
    EXPORT_FORMAT,
    EXPORT_NAME,
    EXPORT_VERSION,
    module_from,
    read_checkpoint,
    sampling_keys,
)

__all__ = ["export_generator", "export_payload", "main", "sampling_state"]


def _uses_ema(module: Any) -> bool:
    """Whether the module samples from its EMA generator (updated at least once)."""
    ready = getattr(module, "ema_ready", None)
    return bool(ready()) if callable(ready) else False


def _path_of(module: Any, net: Any) -> str:
    """The dotted name of submodule ``net`` of ``module`` (ValueError if it is not one)."""
    for name, child in module.named_modules():
        if child is net and name:
            return name
    raise ValueError(f"{type(module).__name__}.ema_source() is no submodule of the scheme; "
                     "its EMA weights cannot be exported under its name")


def sampling_state(module: Any) -> tuple[dict[str, Tensor], bool]:
    """The ``state_dict`` entries sampling needs (gan_lab.loading.sampling_keys), copied to the
    CPU, with the EMA generator's weights in place of the trained generator's where sampling
    uses them; and whether it does."""
    full = module.state_dict()
    state = {key: full[key] for key in sampling_keys(module)}
    ema = _uses_ema(module)
    if ema:
        source = _path_of(module, module.ema_source()) + "."
        averaged = "generator_ema.module."  # torch's AveragedModel keeps its copy as .module
        for key in [k for k in state if k.startswith(source)]:
            twin = averaged + key[len(source):]
            if twin not in full:
                raise ValueError(f"the EMA generator has no {twin} for {key}; it is no copy of "
                                 f"{source[:-1]} and cannot be exported under its names")
            state[key] = full[twin]
    # Own CPU copies: a compact storage per tensor (no larger storage saved with a view) and a
    # file that loads on a machine without the training GPU.
    return {key: value.detach().to("cpu", copy=True) for key, value in state.items()}, ema


def export_payload(module: Any) -> dict[str, Any]:
    """What :func:`export_generator` writes for ``module`` (plain containers and tensors only,
    so ``torch.load(weights_only=True)`` reads it)."""
    if not isinstance(getattr(module, "run_config", None), dict):
        raise ValueError(f"a {type(module).__name__} without run_config (the resolved config as a "
                         "plain dict, set by gan_lab.building.build_module) cannot be exported: "
                         "its file could not be rebuilt")
    state, ema = sampling_state(module)
    spec = getattr(module, "sample_spec", None)
    counters = tuple(getattr(module, "counters", ("iteration",)))
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "ema": ema,
        # The shape of a checkpoint's entry (without the RNG state): restore_counters reads it.
        "gan_lab": {
            **{name: int(getattr(module, name)) for name in counters},
            "config": module.run_config,
            "sample_spec": None if spec is None else spec.as_dict(),
        },
        "state_dict": state,
    }


def export_generator(module: Any, path: str | Path) -> Path:
    """Write the sampling generator of ``module`` (see the module's docstring) to ``path``
    atomically (a temporary file beside it, then ``os.replace``: a crash leaves the previous
    file intact); the path."""
    path = Path(path)
    payload = export_payload(module)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(payload, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def default_out(ckpt: Path) -> Path:
    """Beside the checkpoint: ``generator.pt`` for ``last.ckpt`` (the file training writes
    beside it), ``generator_<stem>.pt`` for another (``iter_0001000.ckpt``), so one
    checkpoint's export does not replace another's."""
    name = EXPORT_NAME if ckpt.stem == "last" else f"{Path(EXPORT_NAME).stem}_{ckpt.stem}.pt"
    return ckpt.with_name(name)


def _megabytes(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.2f} MB"


@command("export")
def main(cfg: DictConfig) -> str:
    ckpt = Path(str(cfg.ckpt)).expanduser()
    checkpoint = read_checkpoint(ckpt)  # an export is refused: it would only be copied
    out = Path(str(cfg.out)).expanduser() if cfg.out else default_out(ckpt)
    if out.resolve() == ckpt.resolve():
        raise ConfigError(f"out={out}: that is the checkpoint itself; name another file")
    module = module_from(checkpoint, ckpt)
    export_generator(module, out)
    which = "EMA generator" if _uses_ema(module) else "generator"
    print(f"gan_lab: wrote the {which} of {ckpt} (iteration {module.iteration}) to {out}: "
          f"{_megabytes(out)} (the checkpoint: {_megabytes(ckpt)})")
    return str(out)


if __name__ == "__main__":
    main()

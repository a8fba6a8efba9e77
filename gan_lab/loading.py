"""Rebuild a trained module from a gan_lab checkpoint alone, without running pickled code.

Checkpoints carry the run's resolved config (``checkpoint["gan_lab"]["config"]``), so the
networks are rebuilt from it and the weights loaded with ``torch.load(weights_only=True)``:
a file from an untrusted source can hold only tensors and plain containers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from gan_lab.config import ConfigError

__all__ = ["load_module", "read_checkpoint"]


def read_checkpoint(path: str | Path, key: str = "ckpt") -> dict[str, Any]:
    """The checkpoint's contents, loaded weights-only; one ConfigError line if unusable.

    ``key`` names the setting the path came from in that line (``ckpt``, ``ckpt_path``).
    """
    path = Path(str(path)).expanduser()
    if not path.is_file():
        raise ConfigError(f"{key}={path}: no such file; point it at a run's "
                          "checkpoints/last.ckpt (or iter_NNNNNNN.ckpt)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        # torch.load of a file that is not a checkpoint fails in many ways (a text file: an
        # IndexError deep in the legacy loader); all mean the same to the user.
        reason = re.sub(r"\x1b\[[0-9;]*m", "", " ".join(str(error).split()))[:160]
        raise ConfigError(
            f"{key}={path}: not a checkpoint torch can load as plain weights "
            f"({type(error).__name__}: {reason}); point it at a run's checkpoints/last.ckpt"
        ) from error
    payload = checkpoint.get("gan_lab") if isinstance(checkpoint, dict) else None
    if not isinstance(payload, dict) or not isinstance(payload.get("config"), dict):
        raise ConfigError(f"{key}={path}: not a gan_lab checkpoint (it has no gan_lab config); "
                          "point it at a run's checkpoints/last.ckpt")
    return checkpoint


def load_module(path: str | Path, device: str | torch.device = "cpu") -> tuple[Any, DictConfig]:
    """The trained module (eval mode, on ``device``) and the config it was trained with."""
    from gan_lab.building import build_module

    checkpoint = read_checkpoint(path)
    cfg = OmegaConf.create(checkpoint["gan_lab"]["config"])
    module = build_module(cfg)
    module.load_state_dict(checkpoint["state_dict"])
    module.restore_counters(checkpoint["gan_lab"])
    return module.to(device).eval(), cfg

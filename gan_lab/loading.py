"""Rebuild a trained module from a gan_lab checkpoint alone, without running pickled code.

Checkpoints carry the run's resolved config (``checkpoint["gan_lab"]["config"]``), so the
networks are rebuilt from it and the weights loaded with ``torch.load(weights_only=True)``:
a file from an untrusted source can hold only tensors and plain containers.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from gan_lab.config import ConfigError

__all__ = ["load_module", "read_checkpoint"]


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, loaded weights-only; one ConfigError line if unusable."""
    path = Path(str(path)).expanduser()
    if not path.is_file():
        raise ConfigError(f"ckpt={path}: no such file")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as error:
        reason = " ".join(str(error).split())[:200]
        raise ConfigError(
            f"ckpt={path}: not loadable as plain weights (refused or corrupt: "
            f"{type(error).__name__}: {reason})"
        ) from error
    payload = checkpoint.get("gan_lab") if isinstance(checkpoint, dict) else None
    if not isinstance(payload, dict) or not isinstance(payload.get("config"), dict):
        raise ConfigError(f"ckpt={path}: not a gan_lab checkpoint (it has no gan_lab config)")
    return checkpoint


def load_module(path: str | Path, device: str | torch.device = "cpu") -> tuple[Any, DictConfig]:
    """The trained module (eval mode, on ``device``) and the config it was trained with."""
    from gan_lab.train import build_module

    checkpoint = read_checkpoint(path)
    cfg = OmegaConf.create(checkpoint["gan_lab"]["config"])
    module = build_module(cfg)
    module.load_state_dict(checkpoint["state_dict"])
    module.iteration = int(checkpoint["gan_lab"].get("iteration", 0))
    return module.to(device).eval(), cfg

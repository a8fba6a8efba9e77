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

# Modules of gan_lab.data that moved into its sub-packages by kind (issue 22): the config of a
# checkpoint written before names them by their old paths in its ``_target_`` entries.
MOVED_DATA_MODULES = {
    "loader": "common.loader",
    "train_set": "common.train_set",
    "transforms": "common.transforms",
    "fingerprint": "common.fingerprint",
    "option_checks": "common.option_checks",
    "labelled_view": "common.labelled_view",
    "photos": "common.photos",
    "digits": "samples.digits",
    "fashion_mnist": "samples.fashion_mnist",
    "image_folder": "samples.image_folder",
    "torchvision_sets": "samples.torchvision_sets",
    "toy": "samples.toy",
    "inpainting": "samples.inpainting",
    "translation": "translation.base",
    "translation_folders": "translation.folders",
    "translation_folder_sets": "translation.folder_sets",
    "translation_layouts": "translation.layouts",
    "translation_preprocess": "translation.preprocess",
    "translation_sampling": "translation.sampling",
    "published_translation_sets": "translation.published",
    "embedded_translation": "translation.embedded",
    "attributes": "attributes.base",
    "celeba": "attributes.celeba",
    "digit_attributes": "attributes.digits",
    "label_maps": "label_maps.base",
    "label_map_folders": "label_maps.folders",
    "texture_scenes": "label_maps.textures",
    "single_image": "single_image.image",
    "super_resolution": "super_resolution.pairs",
}
_OLD_TARGET = re.compile(r"^gan_lab\.data\.(" + "|".join(sorted(MOVED_DATA_MODULES, key=len, reverse=True))
                         + r")\.(\w+)$")


def updated_targets(config: Any) -> Any:
    """``config`` (plain containers) with every ``_target_`` of a moved module renamed."""
    if isinstance(config, dict):
        return {key: (_OLD_TARGET.sub(lambda m: f"gan_lab.data.{MOVED_DATA_MODULES[m.group(1)]}"
                                       f".{m.group(2)}", value)
                      if key == "_target_" and isinstance(value, str) else updated_targets(value))
                for key, value in config.items()}
    if isinstance(config, list):
        return [updated_targets(value) for value in config]
    return config


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
    payload["config"] = updated_targets(payload["config"])
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

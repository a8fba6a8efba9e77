"""Rebuild a trained module from a gan_lab checkpoint alone, without running pickled code.

Checkpoints carry the run's resolved config (``checkpoint["gan_lab"]["config"]``), so the
networks are rebuilt from it and the weights loaded with ``torch.load(weights_only=True)``:
a file from an untrusted source can hold only tensors and plain containers. A generator export
(gan_lab.export: the config, the counters and the weights sampling needs) loads the same way
for the sampling commands; the training state (critics, optimizers) is only in checkpoints.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from gan_lab.config import ConfigError

__all__ = ["EXPORT_FORMAT", "EXPORT_NAME", "EXPORT_VERSION", "is_export", "load_module",
           "module_from", "read_checkpoint", "sampling_keys"]

# A generator export (gan_lab.export) says what it is with ``format`` and ``version``: the
# weights sampling needs, the run config and the counters, no training state.
EXPORT_FORMAT = "gan_lab.generator"
EXPORT_VERSION = 1
# Its file name beside a run's checkpoints (RUN/checkpoints/generator.pt).
EXPORT_NAME = "generator.pt"

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


def is_export(contents: Any) -> bool:
    """Whether loaded file ``contents`` are a generator export (gan_lab.export), not a checkpoint."""
    return isinstance(contents, dict) and contents.get("format") == EXPORT_FORMAT


def read_checkpoint(path: str | Path, key: str = "ckpt", exports: bool = False) -> dict[str, Any]:
    """The checkpoint's contents, loaded weights-only; one ConfigError line if unusable.

    ``key`` names the setting the path came from in that line (``ckpt``, ``ckpt_path``).
    ``exports``: a generator export (gan_lab.export) is accepted too (what sampling commands
    read); else it is refused, as it holds no training state (a resume, a new export).
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
    if is_export(checkpoint):
        _check_export(checkpoint, path, key, exports)
    payload = checkpoint.get("gan_lab") if isinstance(checkpoint, dict) else None
    if not isinstance(payload, dict) or not isinstance(payload.get("config"), dict):
        also = f" or {EXPORT_NAME} (a generator export)" if exports else ""
        raise ConfigError(f"{key}={path}: not a gan_lab checkpoint (it has no gan_lab config); "
                          f"point it at a run's checkpoints/last.ckpt{also}")
    payload["config"] = updated_targets(payload["config"])
    return checkpoint


def _check_export(contents: dict[str, Any], path: Path, key: str, exports: bool) -> None:
    """ConfigError (one line) for an export where only checkpoints do, or of a newer format."""
    if not exports:
        raise ConfigError(f"{key}={path}: a generator export (sampling weights only, no training "
                          "state); point it at a run's checkpoints/last.ckpt")
    version = contents.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= EXPORT_VERSION:
        raise ConfigError(f"{key}={path}: a generator export of format version {version!r}; this "
                          f"gan_lab reads versions 1..{EXPORT_VERSION} (a newer gan_lab wrote it?)")
    if not isinstance(contents.get("state_dict"), dict):
        raise ConfigError(f"{key}={path}: a generator export without its state_dict (a damaged "
                          "file?); export it again: python -m gan_lab.export ckpt=...")


def sampling_keys(module: Any) -> list[str]:
    """The ``state_dict`` keys sampling needs: the generator nets' (every top-level child named
    ``generator*``, the EMA copy excepted; or the children a scheme names in ``sampling_nets``)
    and the module's own tensors (SinGAN's noise amplitudes, a context encoder's fill). No
    critic, augmentation, image pool or EMA copy: what a generator export holds."""
    named = getattr(module, "sampling_nets", None)
    ema = getattr(module, "generator_ema", None)
    nets = {name for name, child in module.named_children()
            if (name in named if named is not None else name.startswith("generator"))
            and child is not ema}
    return [key for key in module.state_dict()  # a key without a dot: the module's own tensor
            if "." not in key or key.split(".", 1)[0] in nets]


def module_from(checkpoint: dict[str, Any], path: str | Path = "", key: str = "ckpt") -> Any:
    """The module a checkpoint or a generator export was taken of (from ``read_checkpoint``):
    built from its config, its weights (an export's: the generator's alone) and counters loaded.
    ``path`` and ``key`` name the file in the error line of an export that does not fit."""
    from gan_lab.building import build_module

    module = build_module(OmegaConf.create(checkpoint["gan_lab"]["config"]))
    state = checkpoint["state_dict"]
    if is_export(checkpoint):
        expected = set(sampling_keys(module))
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        if missing or extra:
            first = f"missing {missing[0]}" if missing else f"unexpected {extra[0]}"
            raise ConfigError(f"{key}={path}: this generator export does not fit the module its "
                              f"config builds ({len(missing)} missing, {len(extra)} unexpected "
                              f"entries: {first}); export it again with this gan_lab")
        # The critics keep their fresh values: nothing that samples reads them.
        module.load_state_dict(state, strict=False)
        if checkpoint.get("ema") and getattr(module, "generator_ema", None) is not None:
            _restore_ema(module)
    else:
        module.load_state_dict(state)
    module.restore_counters(checkpoint["gan_lab"])
    return module


def _restore_ema(module: Any) -> None:
    """An export of EMA weights (written under the generator's names) loaded back into the EMA
    copy too, counted as updated: the module samples from it and says so (``ema_ready``), as the
    checkpoint's did. The trained generator's own weights are not in the export."""
    module.generator_ema.module.load_state_dict(module.ema_source().state_dict())
    module.generator_ema.n_averaged.fill_(1)


def load_module(path: str | Path, device: str | torch.device = "cpu") -> tuple[Any, DictConfig]:
    """The trained module (eval mode, on ``device``) and the config it was trained with, from a
    checkpoint or a generator export (gan_lab.export: the generator's weights alone)."""
    checkpoint = read_checkpoint(path, exports=True)
    module = module_from(checkpoint, path)
    return module.to(device).eval(), OmegaConf.create(checkpoint["gan_lab"]["config"])

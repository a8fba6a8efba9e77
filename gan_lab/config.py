"""Config checks that run before anything is built.

Every problem becomes one `ConfigError` line naming the key, the value and what is allowed,
instead of a traceback from deep inside a constructor or a forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationKeyError

CONFIG_DIR_IN_WHEEL = Path(__file__).resolve().parent / "conf"
CONFIG_DIR_IN_CHECKOUT = Path(__file__).resolve().parent.parent / "conf"


class ConfigError(ValueError):
    """A bad config value; its message is one line meaning 'key=value: what is allowed'."""


@contextmanager
def config_errors():
    """A ValueError from a check or a setting becomes one ConfigError line."""
    try:
        yield
    except ConfigError:
        raise
    except ValueError as error:
        raise ConfigError(str(error)) from error


def config_dir() -> str:
    """conf/ of a checkout, else the copy shipped inside the installed package."""
    for candidate in (CONFIG_DIR_IN_CHECKOUT, CONFIG_DIR_IN_WHEEL):
        if (candidate / "config.yaml").is_file():
            return str(candidate)
    raise ConfigError(f"no gan_lab configs found in {CONFIG_DIR_IN_CHECKOUT} or {CONFIG_DIR_IN_WHEEL}")


def _int(minimum: int) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= minimum

    check.allowed = f"an integer >= {minimum}"  # type: ignore[attr-defined]
    return check


def _optional_float(low: float, high: float | None = None) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if value is None:
            return True
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return value > low and (high is None or value < high)

    upper = f" and < {high}" if high is not None else ""
    check.allowed = f"null or a number > {low}{upper}"  # type: ignore[attr-defined]
    return check


def _side_or_pair(value: object) -> bool:
    sides = list(value) if isinstance(value, ListConfig | list | tuple) else [value]
    return len(sides) in (1, 2) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in sides)


_side_or_pair.allowed = (  # type: ignore[attr-defined]
    "an integer >= 1, or [height, width] (image_folder, DCGAN, StyleGAN2)")


def _overrides(value: object) -> bool:
    return isinstance(value, ListConfig | list) and all(
        isinstance(v, str) and "=" in v and not v.startswith("=") for v in value)


_overrides.allowed = (  # type: ignore[attr-defined]
    "a list of command-line overrides such as [model.generator.width=32] (a model's quick "
    "setting: printed, never applied by itself)")

# key -> check; a key absent from the config is skipped (not every model has every option).
CHECKS: dict[str, Callable[[object], bool]] = {
    "seed": _int(0),
    "iterations": _int(1),
    "model.n_critic": _int(1),
    "model.packing": _int(1),
    "model.latent_dim": _int(1),
    "model.ema_decay": _optional_float(0.0, 1.0),
    "model.ema_start": _int(0),
    "model.clip_grad_norm": _optional_float(0.0),
    "model.log_every": _int(1),
    "data.batch_size": _int(1),
    "data.image_size": _side_or_pair,
    "data.num_workers": _int(0),
    "callbacks.checkpoint.every_n_iterations": _int(1),
    "callbacks.samples.every": _int(1),
    "eval.every": _int(1),
    "quick": _overrides,  # conf/model/*.yaml: the overrides of a quick run (gan_lab/cost.py)
    "model.quick": _overrides,  # the same in the yamls of the model package (dcgan, ...)
}


def unresolvable(error: InterpolationKeyError) -> ConfigError:
    """One line for a ``${...}`` that points at a key the chosen options do not provide: most
    often a model whose config reads a key of the data (``${data.channels}``) that the chosen
    data set does not give. Names the model and data chosen, where Hydra knows them."""
    from hydra.core.hydra_config import HydraConfig

    reason = str(error).splitlines()[0]
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    chosen = " and ".join(f"{group}={choices[group]}" for group in ("model", "data")
                          if choices.get(group))
    return ConfigError(f"{error.full_key}: {reason}; {chosen or 'the chosen options'} do not "
                       "fit together (the image GANs need single-image sets such as data=digits; "
                       "model=pix2pix / cyclegan a translation set such as data=chalk2ink; "
                       "model=stargan attribute data such as data=digit_attributes; the other "
                       "image-conditional models their own: README, Image-conditional models)")


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError for the first bad value found."""
    try:
        OmegaConf.to_container(cfg, resolve=True)
    except InterpolationKeyError as error:
        raise unresolvable(error) from error
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(f"{missing[0]} is required (it is ??? in its config): set {missing[0]}=...")
    for key, check in CHECKS.items():
        value = OmegaConf.select(cfg, key, default="__absent__", throw_on_missing=False)
        if value == "__absent__":
            continue
        if not check(value):
            raise ConfigError(f"{key}={value!r}: must be {check.allowed}")  # type: ignore[attr-defined]
    packing = OmegaConf.select(cfg, "model.packing", default=1)
    batch = OmegaConf.select(cfg, "data.batch_size", default=None)
    if batch is not None and batch % packing:
        raise ConfigError(
            f"data.batch_size={batch}: must be a multiple of model.packing={packing} "
            "(the discriminator judges packs of that many samples)"
        )
    check_accelerator(OmegaConf.select(cfg, "trainer.accelerator", default=None))
    ckpt = cfg.get("ckpt_path")
    if ckpt is not None and not Path(ckpt).is_file():
        raise ConfigError(f"ckpt_path={ckpt!r}: no such checkpoint file")


def check_data_folders(cfg: DictConfig) -> None:
    """``data.path`` set to a path that does not exist (image folders, translation folders, a
    single image): the data module's own message, before it is imported."""
    path = OmegaConf.select(cfg, "data.path", default=None, throw_on_missing=False)
    if not isinstance(path, str) or Path(path).expanduser().exists():
        return
    target = str(OmegaConf.select(cfg, "data._target_", default="") or "")
    if target.endswith("ImageFolderDataModule"):
        what = "a folder of images (searched recursively)"
    elif "SingleImage" in target:
        what = "an image file"
    else:
        what = "the data's folder"
    raise ConfigError(f"data: data.path={path!r} does not exist: point data.path at {what}")


def _no_gpu_device_files() -> bool:
    """True where no GPU can be visible (Linux without /dev/nvidia* or /dev/kfd, or
    CUDA_VISIBLE_DEVICES empty or -1): decided without importing torch."""
    import os
    import sys

    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return True
    if not sys.platform.startswith("linux"):
        return False
    dev = Path("/dev")
    return not any(dev.glob("nvidia[0-9]*")) and not (dev / "kfd").exists()


def check_accelerator(accelerator: object) -> None:
    """``trainer.accelerator=gpu`` (``trainer=gpu``) where torch sees no GPU: say so now, not
    in Lightning's traceback."""
    if str(accelerator).lower() not in ("gpu", "cuda"):
        return
    if _no_gpu_device_files():
        raise ConfigError(f"trainer.accelerator={accelerator}: no GPU is visible to torch on this "
                          "machine (torch.cuda.is_available() is False); use trainer=cpu, or "
                          "trainer.accelerator=auto to take a GPU only when there is one")
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"trainer.accelerator={accelerator}: no GPU is visible to torch on this "
                          "machine (torch.cuda.is_available() is False); use trainer=cpu, or "
                          "trainer.accelerator=auto to take a GPU only when there is one")


def is_config_group(name: str) -> bool:
    """Whether ``name`` (``loss``, ``hydra/launcher``, ...) is a config group of gan_lab's."""
    return (Path(config_dir()) / name.replace(".", "/")).is_dir()


def flatten(value: object, prefix: str = "") -> dict[str, object]:
    """A plain nested config as ``{"dotted.key": leaf}`` (an empty mapping is a leaf ``{}``)."""
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}{key}."))
        return out or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): value}


# Resolvers whose value depends on the moment or the Hydra run that composed the config: a
# portable config keeps their resolved value.
_MOMENT_RESOLVERS = ("${hydra:", "${now:")


def portable_config(cfg: DictConfig) -> dict:
    """``cfg`` as a plain mapping that keeps its interpolations (``${iterations}``, ``${mul:...}``),
    except those of Hydra's run and the clock, which are replaced by their values.

    A checkpoint keeps this beside the resolved config, so that a resume which changes the budget
    re-derives what depends on it (a schedule's ``iterations: ${iterations}``) as a fresh run of
    that budget would.
    """
    source = OmegaConf.to_container(cfg, resolve=False)

    def fix(value: object, key: str) -> object:
        if isinstance(value, dict):
            return {k: fix(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v, f"{key}.{i}") for i, v in enumerate(value)]
        if isinstance(value, str) and any(m in value for m in _MOMENT_RESOLVERS):
            return OmegaConf.select(cfg, key)
        return value

    return fix(source, "")

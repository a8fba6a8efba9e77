"""The shared shape of gan_lab's commands: a Hydra entry point whose config errors, misspelled
keys, missing required values and interruptions end in one line on stderr and an exit status
(2 for bad input, 128 + the signal for a signalled stop)."""

from __future__ import annotations

import difflib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationKeyError

from gan_lab.config import ConfigError, config_dir, flatten, is_config_group, unresolvable
from gan_lab.resolvers import register_resolvers
from gan_lab.resume import RunInterrupted

log = logging.getLogger("gan_lab")


def fail(message: str, status: int) -> None:
    """Print ``gan_lab: message`` once (stderr) and record it in the run's log file, then exit."""
    record = logging.LogRecord("gan_lab", logging.ERROR, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:  # Hydra's file handler, not the console one
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
    print(f"gan_lab: {message}", file=sys.stderr, flush=True)
    sys.exit(status)


def command(config_name: str) -> Callable[[Callable[[DictConfig], Any]], Callable[[], Any]]:
    """Decorator: ``fn(cfg)`` becomes a Hydra main composed from ``conf/<config_name>.yaml``."""

    def wrap(fn: Callable[[DictConfig], Any]) -> Callable[[], Any]:
        @hydra.main(version_base="1.3", config_path=config_dir(), config_name=config_name)
        def hydra_main(cfg: DictConfig) -> Any:
            # again here: a launcher's worker process (joblib, submitit) runs the jobs of a
            # multirun through this function alone, not through main() below
            register_resolvers()
            try:
                missing = sorted(OmegaConf.missing_keys(cfg))
                if missing:
                    raise ConfigError(f"{missing[0]} is required (it is ??? in its config): "
                                      f"set {missing[0]}=...; see --help")
                return fn(cfg)
            except ConfigError as error:
                fail(f"config error: {error}", 2)
            except InterpolationKeyError as error:  # e.g. in missing_keys, before validate
                fail(f"config error: {unresolvable(error)}", 2)
            except RunInterrupted as error:
                signum = getattr(signal.Signals, error.signal_name or "", None)
                fail(str(error), 128 + int(signum) if signum is not None else 1)
            except KeyboardInterrupt:
                fail("interrupted; checkpoints already written are intact", 128 + signal.SIGINT)

        def main() -> Any:
            register_resolvers()
            try:
                check_override_keys(config_name, sys.argv[1:])
            except ConfigError as error:
                fail(f"config error: {error}", 2)
            return hydra_main()

        return main

    return wrap


def check_override_keys(config_name: str, argv: Sequence[str]) -> None:
    """ConfigError for a ``key=value`` whose key is not in the config, with the nearest keys.

    Hydra would say only "use +key=value to append", which is the wrong advice for a typo. The
    config is composed here with the command line's group choices (the first value of a sweep)
    to know which keys exist; anything this check cannot compose is left to Hydra's own errors.
    """
    from hydra import compose, initialize_config_dir
    from hydra._internal.utils import get_args_parser
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType

    try:
        args = get_args_parser().parse_args(list(argv))
        overrides = OverridesParser.create().parse_overrides(args.overrides)
    except Exception:  # noqa: BLE001 - malformed input: Hydra reports it itself
        return
    if args.help or args.hydra_help or args.info or args.shell_completion:
        return
    from pathlib import Path

    root = Path(config_dir())
    choices, keys = [], []
    for override in overrides:
        name = override.key_or_group
        if name.startswith("hydra.") or name == "hydra" or override.package:
            continue
        if is_config_group(name):
            first = next(iter(override.sweep_string_iterator())) if override.is_sweep_override() \
                else override.value()
            choices.append(f"{'+' if override.type == OverrideType.ADD else ''}{name}={first}")
        elif override.type == OverrideType.CHANGE:
            keys.append((name, override.input_line))
    if not keys:
        return
    register_resolvers()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(root), version_base="1.3"):
            cfg = compose(config_name, overrides=choices)
    except Exception:  # noqa: BLE001 - a bad group option: Hydra's message lists the options
        return
    finally:
        GlobalHydra.instance().clear()
    known = list(flatten(OmegaConf.to_container(cfg, resolve=False)))
    for key, line in keys:
        if key in known or any(k.startswith(key + ".") for k in known):
            continue
        near = difflib.get_close_matches(key, known, n=3, cutoff=0.8)
        if not near:
            parent = key.rpartition(".")[0]
            near = sorted(k for k in known if k.rpartition(".")[0] == parent)[:6]
        hint = f"did you mean {' or '.join(near)}?" if near else "see --cfg job for the keys"
        raise ConfigError(f"{line}: there is no key {key}; {hint} (to add a new key on purpose: "
                          f"+{line})")


def model_options(module: Any, cfg: DictConfig, keys: Sequence[str],
                  declared: str) -> dict[str, Any]:
    """The command options among ``keys`` that the module takes (those its attribute
    ``declared`` names, e.g. ``translate_options``), as plain values, whatever they are set to;
    one ConfigError line for an option set (not null) that the module does not take."""
    takes = tuple(getattr(module, declared, ()))
    options: dict[str, Any] = {}
    for key in keys:
        value = cfg.get(key)
        if isinstance(value, DictConfig) or OmegaConf.is_list(value):
            value = OmegaConf.to_container(value)
        if key in takes:
            options[key] = value
        elif value is not None:
            taken = ", ".join(takes) if takes else "none of them"
            raise ConfigError(f"{key}={value!r}: a {type(module).__name__} does not take {key} "
                              f"(of {', '.join(keys)} it takes {taken})")
    return options

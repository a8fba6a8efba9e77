"""The shared shape of gan_lab's commands: a Hydra entry point whose config errors, misspelled
keys, missing required values and interruptions end in one line on stderr and an exit status
(2 for bad input, 128 + the signal for a signalled stop)."""

from __future__ import annotations

import difflib
import inspect
import logging
import re
import shutil
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationKeyError

from gan_lab.config import ConfigError, config_dir, flatten, is_config_group, unresolvable
from gan_lab.quiet import silence_chatter
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


def remove_unstarted_output_dir() -> None:
    """Remove the folder Hydra made for this job when the job wrote nothing of its own (only
    Hydra's ``.hydra/`` and log file): a run refused for bad input leaves no empty run folder
    behind (the error is on stderr). Parent folders left empty by that go too (the date folder,
    ``outputs/``), up to the working directory."""
    try:
        from hydra.core.hydra_config import HydraConfig

        folder = Path(HydraConfig.get().runtime.output_dir)
    except (ImportError, ValueError):  # not inside a Hydra job
        return
    if not folder.is_dir() or any(p.name != ".hydra" and p.suffix != ".log" for p in folder.iterdir()):
        return
    for handler in logging.getLogger().handlers:  # Hydra's log file lives in the folder
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename).parent == folder:
            logging.getLogger().removeHandler(handler)
            handler.close()
    shutil.rmtree(folder, ignore_errors=True)
    cwd = Path.cwd().resolve()
    for parent in folder.resolve().parents:
        if parent == cwd or cwd not in parent.parents or any(parent.iterdir()):
            break
        parent.rmdir()


def command(config_name: str, open_mappings: Sequence[str] = ()
            ) -> Callable[[Callable[[DictConfig], Any]], Callable[[], Any]]:
    """Decorator: ``fn(cfg)`` becomes a Hydra main composed from ``conf/<config_name>.yaml``.
    ``open_mappings``: top-level keys of free-form mappings (a command's ``options``), whose
    keys are set without ``+`` (:func:`open_mapping_overrides`)."""

    def wrap(fn: Callable[[DictConfig], Any]) -> Callable[[], Any]:
        @hydra.main(version_base="1.3", config_path=config_dir(), config_name=config_name)
        def hydra_main(cfg: DictConfig) -> Any:
            # again here: a launcher's worker process (joblib, submitit) runs the jobs of a
            # multirun through this function alone, not through main() below
            register_resolvers()
            silence_chatter()  # one console format for every command's library lines
            try:
                missing = sorted(OmegaConf.missing_keys(cfg))
                if missing:
                    raise ConfigError(f"{missing[0]} is required (it is ??? in its config): "
                                      f"set {missing[0]}=...; see --help")
                return fn(cfg)
            except ConfigError as error:
                remove_unstarted_output_dir()
                fail(f"config error: {error}", 2)
            except InterpolationKeyError as error:  # e.g. in missing_keys, before validate
                remove_unstarted_output_dir()
                fail(f"config error: {unresolvable(error)}", 2)
            except RunInterrupted as error:
                signum = getattr(signal.Signals, error.signal_name or "", None)
                fail(str(error), 128 + int(signum) if signum is not None else 1)
            except KeyboardInterrupt:
                fail("interrupted; checkpoints already written are intact", 128 + signal.SIGINT)

        def main() -> Any:
            register_resolvers()
            sys.argv[1:] = open_mapping_overrides(sys.argv[1:], open_mappings)
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


# The arguments of each protocol method that are not options: sample(n, labels, noise, condition)
# and translate(inputs, direction) (the first two parameters, whatever their names).
PROTOCOL_ARGUMENTS = {"sample": ("n", "labels", "noise", "condition")}
PROTOCOL_POSITIONALS = {"translate": 2}


def open_mapping_overrides(argv: Sequence[str], mappings: Sequence[str]) -> list[str]:
    """``options.size=[40,60]`` (or ``options={...}``) for a key of a free-form mapping of the
    command's config (``options: {}``) as ``++options.size=[40,60]``.

    Hydra puts the composed config in struct mode, which closes every mapping, ``{}`` included,
    so that only ``+``/``++`` add a key to one; the model options are free-form on purpose (the
    model validates them: :func:`model_options`), so they are set without the ``+``."""
    if not mappings:
        return list(argv)
    pattern = re.compile(rf"^(?:{'|'.join(re.escape(m) for m in mappings)})(?:\.[^=]+)?=")
    return ["++" + arg if pattern.match(arg) else arg for arg in argv]


def _takes(module: Any, command: str) -> tuple[set[str], bool]:
    """The option names ``module.<command>`` takes beyond its protocol's own arguments, and
    whether it takes any keyword (``**options``)."""
    method = getattr(module, command, None)
    try:
        parameters = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):  # no method, or one without a signature
        return set(), False
    parameters = parameters[PROTOCOL_POSITIONALS.get(command, 0):]
    skip = set(PROTOCOL_ARGUMENTS.get(command, ()))
    names = {p.name for p in parameters if p.name not in skip and p.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    return names, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def model_options(module: Any, options: Any, command: str,
                  handled: Sequence[str] = ()) -> dict[str, Any]:
    """The command's ``options`` mapping (``options.<name>=value`` on the command line) as plain
    values, each checked against what the module takes; one ConfigError line naming
    ``options.<name>`` and what the module takes for a name it does not take.

    What a module takes: the names it declares in ``<command>_options`` (``sample_options``,
    ``translate_options``; for ``sample`` also ``condition_options``, the options its
    ``sample_condition`` reads), plus ``handled`` (names the command itself serves for this
    module, e.g. the style-mixing figure). A module that declares no ``<command>_options`` takes
    the keyword parameters of its ``<command>`` method beyond the protocol's own, and any name
    when that method takes ``**options`` (the scheme then refuses, with a ValueError, what it
    cannot use).
    """
    if options is None:
        return {}
    if isinstance(options, DictConfig):
        options = OmegaConf.to_container(options, resolve=True)
    if not isinstance(options, dict):
        raise ConfigError(f"options={options!r}: must be a mapping of option names to values "
                          "(set one as options.<name>=value)")
    declared = getattr(module, f"{command}_options", None)
    if declared is not None:
        names, any_name = set(declared), False
    else:
        names, any_name = _takes(module, command)
    if command == "sample":
        names |= set(getattr(module, "condition_options", ()) or ())
    names |= set(handled)
    for key, value in options.items():
        if any_name or key in names:
            continue
        taken = (f"its {command} options: " + ", ".join(f"options.{n}" for n in sorted(names))
                 if names else f"it takes no {command} options")
        raise ConfigError(f"options.{key}={value!r}: a {type(module).__name__} does not take "
                          f"{key} ({taken})")
    return dict(options)

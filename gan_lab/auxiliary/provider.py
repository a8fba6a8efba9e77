"""One provider of frozen auxiliary nets (see the package docstring)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)

__all__ = ["AuxiliarySpec", "Published", "Trained", "atomic_save", "file_identity", "hub_path",
           "locate", "provide", "unreadable"]


def hub_path(file: str) -> Path:
    """Where torch hub keeps a downloaded weights file: ``$TORCH_HOME/hub/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / file


def file_identity(path: Path) -> str:
    """``<name>-<size>-<mtime_ns>`` of a file: changes whenever the file is replaced (caches of
    what a net computes are keyed by it)."""
    stat = os.stat(path)
    return f"{path.name}-{stat.st_size}-{stat.st_mtime_ns}"


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename: parallel runs never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(obj, partial)
    os.replace(partial, path)


def unreadable(option: str, path: object, what: str, error: Exception | str) -> ValueError:
    """``OPTION: PATH is not a WHAT (why)`` as a ValueError: ``option`` is the config key that
    names the file (or its folder), ``error`` the exception that reading raised or a sentence
    saying what is wrong."""
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    reason = " ".join(reason.split())[:200]
    return ValueError(f"{option}: {path} is not a {what} ({reason})")


@dataclass(frozen=True)
class Published:
    """A published weights file: its name in the torch hub cache and the URL it comes from."""

    file: str
    url: str


@dataclass(frozen=True)
class Trained:
    """A net trained on the run's data and cached at ``path`` (the caller keys the file name by
    the data and the settings, so changed data or settings get a new net).

    ``train()`` returns the record to cache (anything ``torch.load(weights_only=True)`` reads
    back: a state_dict, or a dict holding one and what the caller keeps beside it); the spec's
    ``build`` reads the record, fresh or cached, alike. ``announce(record)``, when given, is the
    console line printed after training: ``gan_lab: <announce(record)> (saved to PATH)``.
    """

    path: Path
    train: Callable[[], Any]
    announce: Callable[[Any], str] | None = None


@dataclass(frozen=True)
class AuxiliarySpec:
    """What a frozen auxiliary net is and where it comes from.

    Args:
        name: the net, for messages (``VGG19``, ``dinov2-vit-s-14``, ``FID classifier``).
        option: the config key that names its file (``model.vgg_weights``), or for a trained
            net the folder of its cache (``eval.cache_dir``).
        build: the contents of the file (read with ``torch.load(weights_only=True)``) -> the
            net; anything it raises is the one "is not a ... file" line.
        weights: the file the config names (the value of ``option``); when given, the only
            place looked.
        published: else this file in the torch hub cache, fetched from its URL first when
            ``download`` is on.
        download: fetch the published file when the cache lacks it.
        trained: else (instead of ``published``) the net trained on the run's data, cached.
        origin: whose file the published one is, for messages (``torchvision``).
        hint: a clause ending the missing-file line (``or use eval=classifier offline``).
    """

    name: str
    option: str
    build: Callable[[Any], nn.Module]
    weights: str | Path | None = None
    published: Published | None = None
    download: bool = False
    trained: Trained | None = None
    origin: str = ""
    hint: str = ""

    def __post_init__(self) -> None:
        if self.trained is not None and self.published is not None:
            raise ValueError(f"{self.name}: a net is published or trained on the run's data, "
                             "not both")

    @property
    def configured(self) -> Path | None:
        """The file the config names, ``~`` expanded; None when it names none."""
        return None if self.weights in (None, "") else Path(str(self.weights)).expanduser()

    def what(self) -> str:
        """``<name> weights file[ of <origin>][ (<file>)]``: what a file must be."""
        return (f"{self.name} weights file" + (f" of {self.origin}" if self.origin else "")
                + (f" ({self.published.file})" if self.published else ""))

    def missing(self, looked: Path | None, fetched: bool) -> ValueError:
        """The one line when the weights cannot be had: the net, every place looked, how to
        get the file and the option to set."""
        hub = None if self.published is None else hub_path(self.published.file)
        line = f"{self.option}: no {self.name} weights"
        if self.published is not None:
            line += f" ({self.published.file})"
        if looked is not None:
            line += f" at {looked}" + (" (the torch hub cache)" if looked == hub else "")
        if fetched:
            line += f", downloading {self.published.url} failed"
        line += "; "
        if hub is not None:
            line += f"download {self.published.url} {'there' if looked == hub else f'to {hub}'} or "
        line += f"set {self.option}=FILE" + (f", {self.hint}" if self.hint else "")
        return ValueError(line)


def _fetch(url: str, path: Path) -> None:
    """``url`` to ``path`` (torch.hub's downloader). Offline, or on any other failure, nothing
    is left at ``path``: the caller reports the missing file in one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(path), progress=False)
    except Exception:  # offline: urllib's URLError, an OSError, a partial file...
        path.unlink(missing_ok=True)


def locate(spec: AuxiliarySpec) -> Path:
    """The weights file of ``spec`` (one without ``trained``): the configured file, else the
    published file in the torch hub cache, fetched there first when ``download`` is on; one
    ValueError line (:meth:`AuxiliarySpec.missing`) when there is none."""
    path = spec.configured
    if path is None and spec.published is not None:
        path = hub_path(spec.published.file)
        if not path.is_file() and spec.download:
            _fetch(spec.published.url, path)
            if not path.is_file():
                raise spec.missing(path, fetched=True)
    if path is None or not path.is_file():
        raise spec.missing(path, fetched=False)
    return path


def _random_streams_kept():
    """A context in which building or training draws from the global random streams without
    moving them: a run that trains a net draws the same noise as one that finds it cached."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    return torch.random.fork_rng(devices=devices)


def _read(option: str, path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a pickle that would run code, a truncated file...
        raise unreadable(option, path, "plain weights file", error) from error


def provide(spec: AuxiliarySpec, device: torch.device | str | None = None) -> nn.Module:
    """The net of ``spec``, in eval mode, without gradients, on ``device`` (None: the CPU).

    Its weights come from the configured file; else from the published file in the torch hub
    cache (fetched first when allowed); else, for a trained net, from its cache file, or from
    training it (then cached with :func:`atomic_save`, and announced). One ValueError line when
    the file is missing (:meth:`AuxiliarySpec.missing`) or is not what ``build`` reads
    (:func:`unreadable`). The global random streams are left as they were.
    """
    trained = spec.trained
    if trained is not None and spec.configured is None:
        path, what = trained.path, f"cached {spec.name} (delete it to train a new one)"
        if path.is_file():
            record = _read(spec.option, path)
        else:
            with _random_streams_kept():
                record = trained.train()
            atomic_save(record, path)
            if trained.announce is not None:
                log.info("gan_lab: %s (saved to %s)", trained.announce(record), path)
    else:
        path, what = locate(spec), spec.what()
        record = _read(spec.option, path)
    try:
        with _random_streams_kept():
            net = spec.build(record)
    except Exception as error:
        raise unreadable(spec.option, path, what, error) from error
    net = net.eval().requires_grad_(False)
    return net if device is None else net.to(device)

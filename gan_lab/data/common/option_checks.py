"""Checks of ``data.`` options: each returns the value or raises a one-line ``ValueError``.

``check_int``, ``check_choice``, ``check_bool`` and ``check_channels`` name the offending
``data.<key>`` and what it must be, so a data module can check its constructor arguments before
it reads anything.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["check_bool", "check_channels", "check_choice", "check_int"]


def check_int(key: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"data.{key}={value!r}: must be an integer >= {minimum}")
    return value


def check_choice(key: str, value: object, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"data.{key}={value!r}: must be one of {', '.join(choices)}")
    return str(value)


def check_bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"data.{key}={value!r}: must be true or false")
    return value


def check_channels(key: str, value: object) -> int:
    if isinstance(value, bool) or value not in (1, 3):
        raise ValueError(f"data.{key}={value!r}: must be 1 (grayscale) or 3 (RGB)")
    return int(value)

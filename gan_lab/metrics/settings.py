"""Checks of the evaluators' settings (``eval.*``): each raises a one-line ValueError that names
the key, the value and what it must be, when the evaluation is built, before training starts."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_fraction", "check_int", "check_optional_int", "check_positive"]


def check_int(key: str, value: Any, low: int = 1) -> int:
    """An integer (not a bool) at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{key}={value!r}: must be an integer >= {low}")
    return value


def check_optional_int(key: str, value: Any, low: int = 1) -> int | None:
    """None, or an integer at least ``low``."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < low):
        raise ValueError(f"{key}={value!r}: must be null or an integer >= {low}")
    return value


def _number(value: Any) -> float:
    """``value`` as a float (YAML may hand ``1e-3`` over as text); NaN where it is none."""
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def check_positive(key: str, value: Any) -> float:
    """A number above 0 (a learning rate)."""
    number = _number(value)
    if not number > 0:
        raise ValueError(f"{key}={value!r}: must be positive")
    return number


def check_fraction(key: str, value: Any) -> float:
    """A number strictly between 0 and 1 (a held-out share)."""
    number = _number(value)
    if not 0.0 < number < 1.0:
        raise ValueError(f"{key}={value!r}: must be between 0 and 1")
    return number

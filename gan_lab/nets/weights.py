"""The one error line for a pretrained weights file that does not load, shared by the nets that
load published weights (VGG19, :mod:`gan_lab.nets.vgg`) and the metrics' feature extractors
(InceptionV3, DINOv2, SIFID's Inception stem); it lives with the nets because metrics may import
nets but not the other way round."""

from __future__ import annotations

__all__ = ["unreadable_weights"]


def unreadable_weights(key: str, path: object, what: str, error: Exception | str) -> ValueError:
    """``key: PATH is not a WHAT (why)`` as a ValueError: ``key`` is the config key that names the
    file, ``error`` the exception that loading raised or a sentence saying what is wrong."""
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    reason = " ".join(reason.split())[:200]
    return ValueError(f"{key}: {path} is not a {what} ({reason})")

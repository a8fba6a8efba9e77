"""The kinds of data batch a data module gives, named once.

Every data module declares ``batch_kind`` (one of :class:`BatchKind`); schemes (``check_data``),
evaluators and commands compare against these names, never against string literals. A
:class:`BatchKind` is a ``str`` (its value reads as before in messages and configs), so
``datamodule.batch_kind == BatchKind.SAMPLES`` holds for a module that still declares
``"samples"``. The kinds after the image families (clips, token sequences, voxels, captioned
images) are named here ahead of their data modules, so each lands as a registration.

Each data module also declares a :class:`SampleSpec`: what one sample of the thing a generator
learns is (its sample kind, shape, dtype, vocabulary size). Schemes take the kind of their
visuals from it, renderers and writers (gan_lab.outputs) dispatch on it, and a checkpoint keeps
it so that the commands know what a generator makes without the data.

This module imports nothing of gan_lab: data, models, metrics and commands all sit above it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class BatchKind(StrEnum):
    """What one batch holds."""

    SAMPLES = "samples"                    # (x,) or (x, labels): images or points
    TWO_DOMAINS = "two domains"            # (a, b) images of two domains, paired or not
    ATTRIBUTES = "attributes"              # (image, attribute vector)
    LABEL_MAPS = "label maps"              # (label map, image[, instance edges])
    SINGLE_IMAGE = "single image"          # one image, at the scales of a pyramid
    SUPER_RESOLUTION = "super-resolution"  # (low-resolution, high-resolution) pairs
    CLIPS = "clips"                        # (T, C, H, W) videos
    TOKEN_SEQUENCES = "token sequences"    # integer token ids over a vocabulary
    VOXELS = "voxels"                      # (C, D, H, W) occupancy grids
    CAPTIONED_IMAGES = "captioned images"  # (image, caption)


def batch_kind(datamodule: Any) -> BatchKind:
    """The kind a data module declares; ``samples`` for one that declares none (plain image or
    point sets written before the kinds were named)."""
    return BatchKind(getattr(datamodule, "batch_kind", BatchKind.SAMPLES))


class SampleKind(StrEnum):
    """What one generated (or real) sample is; each kind has a renderer (gan_lab.outputs)."""

    IMAGES = "images"    # (C, H, W) in [-1, 1]
    POINTS = "points"    # (D,) coordinates (2-D toy sets)
    CLIPS = "clips"      # (T, C, H, W) frames in [-1, 1]
    VOXELS = "voxels"    # (C, D, H, W) occupancy in [0, 1]
    TOKENS = "tokens"    # (L,) integer ids over ``vocab_size``


@dataclass(frozen=True)
class SampleSpec:
    """One sample of a data set: its kind, shape (without the batch), dtype and, for token
    sequences, the vocabulary size. Plain values only, so it is stored in checkpoints as is."""

    kind: SampleKind
    shape: tuple[int, ...]
    dtype: str = "float32"
    vocab_size: int | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", SampleKind(self.kind))
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))
        if self.kind is SampleKind.TOKENS and not self.vocab_size:
            raise ValueError("a token sample spec needs vocab_size (the number of token ids)")

    def as_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "shape": list(self.shape), "dtype": self.dtype,
                "vocab_size": self.vocab_size, "extras": dict(self.extras)}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> SampleSpec:
        return cls(kind=state["kind"], shape=tuple(state["shape"]),
                   dtype=state.get("dtype", "float32"), vocab_size=state.get("vocab_size"),
                   extras=dict(state.get("extras") or {}))


def sample_spec(datamodule: Any) -> SampleSpec:
    """The sample spec a data module declares (``sample_spec``); for one that declares only a
    ``sample_shape`` (written before the specs), images for (C, H, W) and points for (D,).
    ValueError (one line) for a module that declares neither."""
    spec = getattr(datamodule, "sample_spec", None)
    if spec is not None:
        return spec if isinstance(spec, SampleSpec) else SampleSpec.from_dict(spec)
    shape = tuple(getattr(datamodule, "sample_shape", ()) or ())
    if len(shape) == 3:
        return SampleSpec(SampleKind.IMAGES, shape)
    if len(shape) == 1:
        return SampleSpec(SampleKind.POINTS, shape)
    raise ValueError(f"data: {type(datamodule).__name__} declares no sample_spec (gan_lab.kinds."
                     "SampleSpec: kind, shape, dtype)")

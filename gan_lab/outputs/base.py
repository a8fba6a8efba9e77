"""Output types and the renderer registry: a :class:`~gan_lab.visuals.Visual` of a sample kind
becomes an image, frames or text.

A renderer is a function ``Visual -> ImageOutput | FramesOutput | TextOutput`` registered for one
:class:`~gan_lab.kinds.SampleKind` with :func:`register_renderer`, in a module of
gan_lab/outputs/renderers/ (one per kind). The modules there are imported on the first
:func:`render` (pkgutil), so adding a kind is adding one file::

    # gan_lab/outputs/renderers/voxels.py
    @register_renderer(SampleKind.VOXELS, example=lambda: Visual("voxels", torch.rand(2, 1, 8, 8, 8)))
    def render_voxels(visual: Visual) -> ImageOutput: ...

``example`` (a small visual of the kind) lets tests render and write every registered kind.
gan_lab.outputs.writers writes each output type (PNG, GIF or MP4, text); gan_lab.loggers'
``log_output`` sends it to the loggers.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from gan_lab.kinds import SampleKind
from gan_lab.visuals import Visual

__all__ = ["FramesOutput", "ImageOutput", "Output", "Renderer", "RendererEntry", "TextOutput",
           "register_renderer", "render", "renderers"]

RENDERERS_PACKAGE = "gan_lab.outputs.renderers"


@dataclass(frozen=True)
class ImageOutput:
    """One RGB picture: ``pixels`` (3, H, W), float in [0, 1]."""

    pixels: Tensor

    def __post_init__(self) -> None:
        if self.pixels.dim() != 3 or self.pixels.shape[0] != 3 or \
                not self.pixels.is_floating_point():
            raise ValueError(f"an ImageOutput holds float (3, H, W) pixels in [0, 1], got "
                             f"{self.pixels.dtype} {tuple(self.pixels.shape)}")


@dataclass(frozen=True)
class FramesOutput:
    """A short film: ``frames`` (T, 3, H, W), float in [0, 1], shown at ``fps`` frames/second."""

    frames: Tensor
    fps: int = 8

    def __post_init__(self) -> None:
        if self.frames.dim() != 4 or self.frames.shape[1] != 3 or len(self.frames) == 0 or \
                not self.frames.is_floating_point():
            raise ValueError(f"a FramesOutput holds float (T, 3, H, W) frames in [0, 1], got "
                             f"{self.frames.dtype} {tuple(self.frames.shape)}")
        if isinstance(self.fps, bool) or not isinstance(self.fps, int) or self.fps < 1:
            raise ValueError(f"fps={self.fps!r}: must be an integer >= 1")


@dataclass(frozen=True)
class TextOutput:
    """Text (token sequences: one line per sequence)."""

    text: str


Output = ImageOutput | FramesOutput | TextOutput
Renderer = Callable[[Visual], Output]


@dataclass(frozen=True)
class RendererEntry:
    """A registered renderer: its kind, the function, an example visual of the kind (or None),
    and whether one sample of the kind is worth writing on its own (``singles``: an image, a
    clip, a voxel grid are; a single 2-D point is not)."""

    kind: SampleKind
    render: Renderer
    example: Callable[[], Visual] | None = None
    singles: bool = True


_REGISTRY: dict[SampleKind, RendererEntry] = {}
_discovered = False


def register_renderer(kind: SampleKind | str, example: Callable[[], Visual] | None = None, *,
                      singles: bool = True) -> Callable[[Renderer], Renderer]:
    """Decorator: the function renders visuals of ``kind`` (a :class:`SampleKind`, named once in
    gan_lab/kinds.py). ``example``: a zero-argument callable returning a small Visual of the kind
    (the tests render and write it); ``singles``: see :class:`RendererEntry`. A second, different
    renderer for the same kind is a ValueError."""
    try:
        sample_kind = SampleKind(kind)
    except ValueError:
        raise ValueError(f"register_renderer({kind!r}): not a sample kind; name it in "
                         f"gan_lab/kinds.py SampleKind first (known: "
                         f"{', '.join(k.value for k in SampleKind)})") from None

    def wrap(function: Renderer) -> Renderer:
        existing = _REGISTRY.get(sample_kind)
        if existing is not None and _name(existing.render) != _name(function):
            raise ValueError(f"two renderers for visuals of kind '{sample_kind}': "
                             f"{_name(existing.render)} and {_name(function)}")
        _REGISTRY[sample_kind] = RendererEntry(sample_kind, function, example, bool(singles))
        return function

    return wrap


def _name(function: Callable) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def discover() -> None:
    """Import every module of gan_lab/outputs/renderers/ once (each registers its kind)."""
    global _discovered
    if _discovered:
        return
    package = importlib.import_module(RENDERERS_PACKAGE)
    for module in pkgutil.iter_modules(package.__path__, RENDERERS_PACKAGE + "."):
        importlib.import_module(module.name)
    _discovered = True


def renderers() -> dict[SampleKind, RendererEntry]:
    """Every registered renderer by kind (after importing the renderer modules)."""
    discover()
    return dict(_REGISTRY)


def renderer_for(kind: SampleKind | str) -> RendererEntry:
    """The entry of ``kind``; ValueError (one line naming the known kinds and where a renderer
    goes) for a kind without one."""
    entry = renderers().get(kind)  # a SampleKind equals (and hashes as) its string value
    if entry is None:
        known = ", ".join(sorted(str(k) for k in _REGISTRY)) or "none"
        raise ValueError(f"no renderer for visuals of kind '{kind}'; known kinds: {known} (add "
                         f"one: a module in gan_lab/outputs/renderers/ with a function decorated "
                         f"@register_renderer(SampleKind...) from gan_lab.outputs.base)")
    return entry


def render(visual: Visual) -> Output:
    """The visual drawn by the renderer of its kind: an ImageOutput, FramesOutput or TextOutput."""
    entry = renderer_for(visual.kind)
    output = entry.render(visual)
    if not isinstance(output, ImageOutput | FramesOutput | TextOutput):
        raise TypeError(f"{_name(entry.render)} returned a {type(output).__name__}, not an "
                        "ImageOutput, FramesOutput or TextOutput")
    return output


def to_uint8(pixels: Tensor) -> Tensor:
    """Float pixels in [0, 1] (any layout) as uint8 0..255, on the CPU."""
    return (pixels.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)

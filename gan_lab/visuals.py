"""What a scheme shows: named visuals of a given kind, and the renderers that draw each kind.

A module's ``visuals(inputs)`` returns ``{name: Visual}``; the sample callback renders each one
with the renderer for its kind into an RGB image for the PNGs and the loggers. A new kind
(video, voxels, token sequences) is a new renderer here, not a branch in a callback; a kind
without a renderer is an error, never a silent skip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torchvision.utils import make_grid


@dataclass
class Visual:
    """``kind`` "images": (N, C, H, W) in [-1, 1], drawn as a grid of ``nrow`` per row (rows of
    different channel counts are fine: grey is repeated to RGB). ``kind`` "points": (N, 2)
    samples drawn as a scatter plot, or (R, N, 2): one panel per replica of a replicated model."""

    kind: str
    data: Tensor
    nrow: int = 8


def render_images(visual: Visual) -> Tensor:
    images = visual.data.detach().float().cpu()
    if images.dim() != 4:
        raise ValueError(f"an 'images' visual needs (N, C, H, W), got {tuple(images.shape)}")
    if images.shape[1] not in (1, 3):
        images = images[:, :3] if images.shape[1] > 3 else images[:, :1]
    return make_grid(images.expand(-1, 3, -1, -1), nrow=visual.nrow, normalize=True,
                     value_range=(-1, 1), pad_value=1.0)


def render_points(visual: Visual) -> Tensor:
    """A scatter plot per replica, drawn with matplotlib's object API (``Figure`` on the Agg
    canvas): no pyplot, no global backend switch, nothing left open in pyplot's figure list."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    points = visual.data.detach().float().cpu()
    if points.dim() == 2:
        points = points[None]
    if points.dim() != 3 or points.shape[-1] != 2:
        raise ValueError(f"a 'points' visual needs (N, 2) or (R, N, 2), got {tuple(points.shape)}")
    figure = Figure(figsize=(4 * len(points), 4), dpi=100)
    canvas = FigureCanvasAgg(figure)
    panels = figure.subplots(1, len(points), squeeze=False)
    for index, (axes, replica) in enumerate(zip(panels[0], points, strict=True)):
        axes.scatter(replica[:, 0].numpy(), replica[:, 1].numpy(), s=4, alpha=0.5)
        axes.set_aspect("equal")
        if len(points) > 1:
            axes.set_title(f"replica {index}", fontsize=9)
    figure.tight_layout()
    canvas.draw()
    rgba = torch.from_numpy(np.asarray(canvas.buffer_rgba()).copy())  # (H, W, 4) uint8
    return rgba[..., :3].permute(2, 0, 1).float() / 255


RENDERERS: dict[str, Callable[[Visual], Tensor]] = {
    "images": render_images,
    "points": render_points,
}


def render(visual: Visual) -> Tensor:
    """The visual as an RGB image (3, H, W) in [0, 1]."""
    if visual.kind not in RENDERERS:
        raise ValueError(f"no renderer for visuals of kind {visual.kind!r}; known kinds: "
                         f"{', '.join(sorted(RENDERERS))} (add one in gan_lab/visuals.py)")
    return RENDERERS[visual.kind](visual)

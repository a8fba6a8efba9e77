"""``points``: (N, 2) samples as a scatter plot, or (R, N, 2): one panel per replica of a
replicated model. ``options``: ``means`` (K, 2), reference centres drawn as red crosses under
the samples (a toy mixture's modes); ``titles``, one per panel. Drawn with matplotlib's object API (``Figure`` on the Agg canvas): no pyplot,
no global backend switch, nothing left open in pyplot's figure list. One point alone is no
picture, so the commands write no single items of this kind (``singles=False``)."""

from __future__ import annotations

import numpy as np
import torch

from gan_lab.kinds import SampleKind
from gan_lab.outputs.base import ImageOutput, register_renderer
from gan_lab.visuals import Visual


def _example() -> Visual:
    points = torch.randn(2, 50, 2, generator=torch.Generator().manual_seed(0))
    return Visual(SampleKind.POINTS, points, options={"means": torch.zeros(1, 2),
                                                      "titles": ["a", "b"]})


@register_renderer(SampleKind.POINTS, example=_example, singles=False)
def render_points(visual: Visual) -> ImageOutput:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    points = visual.data.detach().float().cpu()
    if points.dim() == 2:
        points = points[None]
    if points.dim() != 3 or points.shape[-1] != 2:
        raise ValueError(f"a 'points' visual needs (N, 2) or (R, N, 2), got {tuple(points.shape)}")
    means = visual.options.get("means")
    titles = list(visual.options.get("titles") or
                  ([f"replica {i}" for i in range(len(points))] if len(points) > 1 else []))
    figure = Figure(figsize=(4 * len(points), 4), dpi=100)
    canvas = FigureCanvasAgg(figure)
    panels = figure.subplots(1, len(points), squeeze=False)
    for index, (axes, replica) in enumerate(zip(panels[0], points, strict=True)):
        axes.scatter(replica[:, 0].numpy(), replica[:, 1].numpy(), s=4, alpha=0.5, zorder=2)
        if means is not None:
            centres = torch.as_tensor(means).detach().to("cpu", torch.float32).numpy()
            axes.scatter(centres[:, 0], centres[:, 1], s=60, c="tab:red", marker="x",
                         linewidths=0.8, zorder=1)
        axes.set_aspect("equal")
        if index < len(titles) and titles[index]:
            axes.set_title(titles[index], fontsize=9)
    figure.tight_layout()
    canvas.draw()
    rgba = torch.from_numpy(np.asarray(canvas.buffer_rgba()).copy())  # (H, W, 4) uint8
    return ImageOutput(rgba[..., :3].permute(2, 0, 1).float() / 255)

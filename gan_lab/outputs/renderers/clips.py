"""``clips``: (N, T, C, H, W) frames in [-1, 1] as a film (FramesOutput): frame t is the grid of
the N clips at time t (``nrow`` clips per row, as the images grid). ``options["fps"]``: frames per
second (8 when not given)."""

from __future__ import annotations

import torch
from torchvision.utils import make_grid

from gan_lab.kinds import SampleKind
from gan_lab.outputs.base import FramesOutput, register_renderer
from gan_lab.visuals import Visual

DEFAULT_FPS = 8


def _example() -> Visual:
    # Two clips of 5 frames: a bright square moving right over a dark field (no two frames alike).
    clips = -torch.ones(2, 5, 1, 8, 8)
    for t in range(5):
        clips[0, t, :, 2:5, t:t + 3] = 1.0
        clips[1, t, :, t:t + 3, 3:6] = 0.5
    return Visual(SampleKind.CLIPS, clips, nrow=2, options={"fps": 4})


@register_renderer(SampleKind.CLIPS, example=_example)
def render_clips(visual: Visual) -> FramesOutput:
    clips = visual.data.detach().float().cpu()
    if clips.dim() != 5:
        raise ValueError(f"a 'clips' visual needs (N, T, C, H, W), got {tuple(clips.shape)}")
    if clips.shape[2] not in (1, 3):
        clips = clips[:, :, :3] if clips.shape[2] > 3 else clips[:, :, :1]
    clips = clips.expand(-1, -1, 3, -1, -1)
    frames = torch.stack([make_grid(clips[:, t], nrow=visual.nrow, normalize=True,
                                    value_range=(-1, 1), pad_value=1.0)
                          for t in range(clips.shape[1])])
    return FramesOutput(frames, fps=int(visual.options.get("fps") or DEFAULT_FPS))

"""Outputs by sample kind: render a Visual (gan_lab.visuals) with the renderer of its kind
(gan_lab/outputs/renderers/<kind>.py) into an image, frames or text; write it (PNG, GIF/MP4,
text); gan_lab.loggers.log_output sends it to the loggers. The sample callback, the sample and
translate commands and the evaluators that save pictures all go this way."""

from gan_lab.outputs.base import (
    FramesOutput,
    ImageOutput,
    Output,
    RendererEntry,
    TextOutput,
    register_renderer,
    render,
    renderer_for,
    renderers,
)
from gan_lab.outputs.writers import VIDEO_FORMATS, gif_bytes, suffix_for, write

__all__ = ["VIDEO_FORMATS", "FramesOutput", "ImageOutput", "Output", "RendererEntry",
           "TextOutput", "gif_bytes", "register_renderer", "render", "renderer_for", "renderers",
           "suffix_for", "write"]
